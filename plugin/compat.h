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

#endif /* TCPSTATE_COMPAT_H */
