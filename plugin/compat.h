/* compat.h - every Wireshark version gate of tcpstate, in one place
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Gates come from ws_version.h (pulled in by wireshark.h); config.h is not
 * installed.  Supported: Wireshark 4.0 to 4.6.
 */
#ifndef TCPSTATE_COMPAT_H
#define TCPSTATE_COMPAT_H

#include <wireshark.h>

#define TS_WS_AT_LEAST(ma, mi)                                                   \
    (WIRESHARK_VERSION_MAJOR > (ma) ||                                           \
     (WIRESHARK_VERSION_MAJOR == (ma) && WIRESHARK_VERSION_MINOR >= (mi)))

#if !TS_WS_AT_LEAST(4, 0)
#error "tcpstate needs Wireshark 4.0 or later"
#endif

/* 4.2: field_info.value became a pointer to an opaque fvalue_t. */
#if TS_WS_AT_LEAST(4, 2)
#define TS_FI_FVALUE(fi) ((fi)->value)
#else
#define TS_FI_FVALUE(fi) (&(fi)->value)
#endif

/* 4.4: plugins may describe themselves (tshark -G plugins shows the type). */
#define TS_HAVE_PLUGIN_DESCRIBE TS_WS_AT_LEAST(4, 4)

/* 4.6: a stat_tap_ui's -z argument parser (the stat_tap_init_cb typedef)
 * returns bool, false when it refuses its argument; 4.0 and 4.4 return
 * void (checked against the 4.4.19 and 4.6.9 headers).  records.c's parser
 * is declared TS_STAT_INIT_RET name(...) and ends in TS_STAT_INIT_DONE(ok);
 * it refuses with TS_STAT_INIT_FAILED(): return false from 4.6, exit(1)
 * before, as Wireshark's own -z parsers of those releases do.
 * (A stat-tap table's init callback, stat_tap_table_ui's stat_tap_init_cb
 * member, returns void in 4.0 to 4.6 alike: not gated.) */
#if TS_WS_AT_LEAST(4, 6)
#define TS_STAT_INIT_RET bool
#define TS_STAT_INIT_DONE(ok) return (ok)
#define TS_STAT_INIT_FAILED() return false
#else
#define TS_STAT_INIT_RET void
#define TS_STAT_INIT_DONE(ok) do { (void)(ok); return; } while (0)
#define TS_STAT_INIT_FAILED() exit(1)
#endif

/* 4.2: epan_get_interface_name() and _description() take the record's
 * section number (checked against the 4.4.19 and 4.6.9 headers; 4.0.17
 * takes none). */
#if TS_WS_AT_LEAST(4, 2)
#define TS_INTERFACE_NAME(pinfo, id) \
    epan_get_interface_name((pinfo)->epan, (id), (pinfo)->rec->section_number)
#define TS_INTERFACE_DESCRIPTION(pinfo, id) \
    epan_get_interface_description((pinfo)->epan, (id), (pinfo)->rec->section_number)
#else
#define TS_INTERFACE_NAME(pinfo, id) epan_get_interface_name((pinfo)->epan, (id))
#define TS_INTERFACE_DESCRIPTION(pinfo, id) epan_get_interface_description((pinfo)->epan, (id))
#endif

/* 4.2 (seen on 4.4 and 4.6): the TCP dissector starts a new tcp.stream at
 * any SYN (with or without ACK) whose sequence number is not its
 * direction's base_seq, or after a FIN+ACK or a RST; 4.0 only at a SYN
 * without ACK whose sequence number differs (docs/compat.md).  Continuity
 * follows the same rule when a connection of the previous file meets its
 * 4-tuple again (ts_facts_ws_splits()). */
#define TS_WS_SPLITS_AFTER_CLOSE TS_WS_AT_LEAST(4, 2)

/* 4.4: stats_tree_register_plugin() returns its config (and submenus are
 * separated by "//" instead of "/"; tcpstate uses none). */
#define TS_STATS_TREE_REGISTER(tap, abbr, name, flags, packet, init, cleanup) \
    (void)stats_tree_register_plugin(tap, abbr, name, flags, packet, init, cleanup)

/* ==== Sequence analysis (Flow Graph) types: per release ====================
 *
 * epan/sequence_analysis.h is installed by no release, although libwireshark
 * exports register_seq_analysis() and the sequence_analysis_*() helpers.
 * flowgraph.c needs the two structures it fills; they are declared here, per
 * release, from each release's documented layout, and nowhere else.  Each
 * layout was measured on that release with a probe (what
 * sequence_analysis_create_sai_with_addresses() fills in, where
 * sequence_analysis_get_nodes() reads "display" and writes the nodes, the
 * allocation sizes), and is guarded by tests/tshark/test_flowgraph.py's
 * golden output on the release:
 *
 *   4.0 (4.0.17)  gboolean has_color_filter and display; sizeof item 144
 *   4.4 (4.4.19)  bool has_color_filter and display;     sizeof item 136
 *   4.6 (4.6.9)   as 4.4, plus free_info_ptr;            sizeof item 144
 *   (4.4 and 4.6 also add occurrence[] to the info, after nodes[])
 *
 * Any other release (4.2, the development releases, 4.8 and later) gets no
 * Flow Graph: TS_HAVE_FLOWGRAPH is 0 and flowgraph.c registers nothing
 * rather than write into a structure whose layout nobody checked.  A
 * runtime self-check in flowgraph.c catches a point release that changed
 * the layout anyway (it draws nothing and says so once).
 */
#define TS_SEQ_MAX_NUM_NODES 40     /* MAX_NUM_NODES, the same in 4.0 to 4.6 */

#if WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR == 0
#define TS_HAVE_FLOWGRAPH 1
#define TS_SEQ_BOOL gboolean
#define TS_SEQ_ITEM_TAIL                                                      \
    guint32  info_type;                                                       \
    gpointer info_ptr;
#define TS_SEQ_INFO_OCCURRENCE
#define TS_SEQ_ITEM_SIZE 144
#elif WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR == 4
#define TS_HAVE_FLOWGRAPH 1
#define TS_SEQ_BOOL bool
#define TS_SEQ_ITEM_TAIL                                                      \
    int   info_type;                /* ga_info_type */                        \
    void *info_ptr;
#define TS_SEQ_INFO_OCCURRENCE uint8_t occurrence[TS_SEQ_MAX_NUM_NODES];
#define TS_SEQ_ITEM_SIZE 136
#elif WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR == 6
#define TS_HAVE_FLOWGRAPH 1
#define TS_SEQ_BOOL bool
#define TS_SEQ_ITEM_TAIL                                                      \
    int   info_type;                /* ga_info_type */                        \
    void *info_ptr;                                                           \
    void (*free_info_ptr)(void *);
#define TS_SEQ_INFO_OCCURRENCE uint8_t occurrence[TS_SEQ_MAX_NUM_NODES];
#define TS_SEQ_ITEM_SIZE 144
#else
#define TS_HAVE_FLOWGRAPH 0
#endif

/* Test builds only (tests/CMakeLists.txt: tcpstate-wronglayout): declare
 * the other width of the two booleans, so that a test sees what a release
 * with another layout gets (flowgraph.c's self-check). */
#if TS_HAVE_FLOWGRAPH && defined(TCPSTATE_FLOWGRAPH_WRONG_LAYOUT)
#undef TS_SEQ_BOOL
#undef TS_SEQ_ITEM_SIZE
#define TS_SEQ_ITEM_SIZE sizeof(ts_seq_item)
#if WIRESHARK_VERSION_MINOR == 0
#define TS_SEQ_BOOL bool
#else
#define TS_SEQ_BOOL gboolean
#endif
#endif

#if TS_HAVE_FLOWGRAPH
#include <stddef.h>
#include <epan/packet_info.h>
#include <epan/tap.h>

typedef TS_SEQ_BOOL ts_seq_bool;

/* seq_analysis_item_t: one arrow. */
typedef struct ts_seq_item {
    guint32     frame_number;
    address     src_addr;
    guint16     port_src;
    address     dst_addr;
    guint16     port_dst;
    gchar      *frame_label;        /* the label on the arrow (g_malloc) */
    gchar      *time_str;           /* filled by create_sai_with_addresses */
    gchar      *comment;            /* right of the graph (g_malloc) */
    guint16     conv_num;
    unsigned    fg_color;
    unsigned    bg_color;
    ts_seq_bool has_color_filter;
    ts_seq_bool display;
    unsigned    src_node;
    unsigned    dst_node;
    guint16     line_style;
    TS_SEQ_ITEM_TAIL
} ts_seq_item;

/* seq_analysis_info_t: the graph a tap listener fills. */
typedef struct ts_seq_info {
    const char *name;
    ts_seq_bool any_addr;           /* pinfo->net_src/dst, else pinfo->src/dst */
    int         nconv;
    GQueue     *items;              /* of ts_seq_item */
    GHashTable *ht;
    address     nodes[TS_SEQ_MAX_NUM_NODES];
    TS_SEQ_INFO_OCCURRENCE
    guint32     num_nodes;
} ts_seq_info;

_Static_assert(sizeof(ts_seq_item) == TS_SEQ_ITEM_SIZE, "seq_analysis_item_t as measured");
_Static_assert(offsetof(ts_seq_item, time_str) == 80 && offsetof(ts_seq_item, line_style) ==
                   (sizeof(ts_seq_bool) == 1 ? 120 : 124),
               "seq_analysis_item_t as measured");
_Static_assert(offsetof(ts_seq_info, items) == 16, "seq_analysis_info_t as measured");

/* The Flow Graph reads the TCP header from the "tcp" protocol item at the
 * top of the tree.  Up to 4.4 a tree's top-level items are never faked;
 * 4.6 fakes protocol items too unless the tap listener asks for them with
 * TL_REQUIRES_PROTOCOLS (new in 4.6; the -z io,phs tap uses it). */
#if TS_WS_AT_LEAST(4, 6)
#define TS_TL_REQUIRES_PROTOCOLS TL_REQUIRES_PROTOCOLS
#else
#define TS_TL_REQUIRES_PROTOCOLS 0
#endif

/* The exported functions flowgraph.c calls, as every release declares them. */
extern void register_seq_analysis(const char *name, const char *ui_name, const int proto_id,
                                  const char *tap_listener, guint tap_flags,
                                  tap_packet_cb tap_func);
extern ts_seq_item *sequence_analysis_create_sai_with_addresses(packet_info *pinfo,
                                                                 ts_seq_info *sainfo);
extern ts_seq_info *sequence_analysis_info_new(void);
extern void sequence_analysis_info_free(ts_seq_info *sainfo);
extern int sequence_analysis_get_nodes(ts_seq_info *sainfo);
#endif /* TS_HAVE_FLOWGRAPH */
/* ==== end of the sequence analysis types ================================== */

#endif /* TCPSTATE_COMPAT_H */
