/* flowgraph.h - the Flow Graph of TCP states: Statistics > Flow Graph "TCP states",
 * tshark -z flow,tcpstate,standard|network[,filter]
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TCPSTATE_FLOWGRAPH_H
#define TCPSTATE_FLOWGRAPH_H

#define TS_FLOW_NAME    "tcpstate"      /* -z flow,tcpstate,... */
#define TS_FLOW_UI_NAME "TCP states"    /* the Flow Graph's "Flow type" */

/* Register the sequence analysis (from proto_register; proto: tcpstate's
 * protocol id).  Registers nothing on a release whose layout of the
 * sequence analysis types tcpstate has not verified (compat.h). */
void ts_flowgraph_register(int proto);

#endif /* TCPSTATE_FLOWGRAPH_H */
