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

/* Not gated: a stat-tap table's init callback (stat_tap_table_ui's
 * stat_tap_init_cb member) returns void in 4.0 to 4.6 alike; what became
 * bool in 4.6 is the stat_tap_init_cb *typedef* of a stat_tap_ui's -z
 * argument parser, which tcpstate does not register itself (checked against
 * the 4.6.9 headers, tests/compat/run-suite.sh 4.6). */

/* 4.4: stats_tree_register_plugin() returns its config (and submenus are
 * separated by "//" instead of "/"; tcpstate uses none). */
#define TS_STATS_TREE_REGISTER(tap, abbr, name, flags, packet, init, cleanup) \
    (void)stats_tree_register_plugin(tap, abbr, name, flags, packet, init, cleanup)

#endif /* TCPSTATE_COMPAT_H */
