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

/* 4.6: a stat-tap table's init callback returns bool. */
#if TS_WS_AT_LEAST(4, 6)
#define TS_STAT_TAP_INIT_RET    bool
#define TS_STAT_TAP_INIT_RETURN return true
#else
#define TS_STAT_TAP_INIT_RET    void
#define TS_STAT_TAP_INIT_RETURN return
#endif

/* 4.4: stats_tree_register_plugin() returns its config (and submenus are
 * separated by "//" instead of "/"; tcpstate uses none). */
#define TS_STATS_TREE_REGISTER(tap, abbr, name, flags, packet, init, cleanup) \
    (void)stats_tree_register_plugin(tap, abbr, name, flags, packet, init, cleanup)

#endif /* TCPSTATE_COMPAT_H */
