/* text.h - the words tcpstate shows for a record: state names, step tags, the Info tag
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One place for the texts that several outputs share: the packet tree, the
 * Info column, the expert infos, the Flow Graph (flowgraph.c).  Tables are made once, at
 * registration (ts_text_init), in static storage: the plugin is unloaded at
 * exit, so nothing here may live on the heap.  Lifetime: the program.
 */
#ifndef TCPSTATE_TEXT_H
#define TCPSTATE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

enum { TS_STEPS_HANDSHAKE = 0, TS_STEPS_TEARDOWN = 1 };

/* Make the tables (proto_register). */
void ts_text_init(void);

/* "ESTABLISHED", ...; "?" for a value that is no state. */
const char *ts_text_state(uint8_t state);

/* The tag of a set of step bits (bit n = step n): "Handshake 1/3",
 * "Teardown 2+3/4"; "" for no bit. */
const char *ts_text_step_tag(int kind, uint8_t bits);

/* Its long form, for the expert info: "Teardown 2+3/4: ACK of the first
 * FIN, second FIN". */
const char *ts_text_step_text(int kind, uint8_t bits);

/* The name of one step, "SYN", "ACK of the first FIN", ... (value_string
 * texts of tcpstate.handshake and tcpstate.teardown). */
const char *ts_text_step_name(int kind, unsigned step);

/* "Handshake 1/3", "Teardown 2+3/4", "Handshake 3/3, Teardown 1/4" or "". */
void ts_text_steps(const ts_record *r, char *buf, size_t len);

/* The Info tag's notation: "C:FIN_WAIT1 S:ESTABLISHED" and, if steps is
 * not empty, " " steps.  Returns buf. */
char *ts_text_states(const ts_record *r, const char *steps, char *buf, size_t len);

/* A segment's TCP flags as Wireshark's TCP Flows write them: "FIN, ACK",
 * "SYN", "<None>"; FIN SYN RST PSH ACK URG ECE CWR AE, then "Reserved" for
 * any reserved bit.  flags: the 12 bits of tcp.flags.  Returns buf. */
char *ts_text_flags(uint16_t flags, char *buf, size_t len);

/* Anomalies by their names in the anomaly list (anomalies.h), without the
 * "tcpstate." of their filter names, joined by ", "; illegal_flags with
 * the combination, "illegal_flags: SYN+FIN".  bits: TS_AN_BIT()s; "" for
 * none.  Returns buf. */
char *ts_text_anomalies(uint32_t bits, uint8_t illegal, char *buf, size_t len);

/* The whole Info tag, " [C:FIN_WAIT1 S:ESTABLISHED Teardown 1/4]", as
 * ts_text_states() with ts_text_steps() would make it, with copies of
 * precomputed parts (it is on every other segment).  Returns its length. */
size_t ts_text_info_tag(const ts_record *r, char *buf, size_t len);

#endif /* TCPSTATE_TEXT_H */
