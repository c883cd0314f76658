/* anomalies.h - the one list of everything tcpstate reports as expert info
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99.  Each entry:
 *   X(ID, name, group, severity, summary, rule, doc)
 *     ID        enum ts_anomaly value TS_AN_<ID>; bit (1 << ID) in ts_record
 *     name      the expert info's filter name is "tcpstate.<name>"
 *     group     PI_<group> (Wireshark expert group)
 *     severity  PI_<severity>
 *     summary   the expert info's text (some are formatted with details)
 *     rule      what it breaks or which rule describes it
 *     doc       what it means and what to do about it (docs/expert.md)
 *
 * The dissector's expert array, docs/expert.md (tests/docgen) and the Lua
 * twin are all made from this list.
 */
#ifndef TCPSTATE_ANOMALIES_H
#define TCPSTATE_ANOMALIES_H

#include <stdint.h>

#define TS_ANOMALIES(X)                                                                          \
    X(ILLEGAL_FLAGS, "illegal_flags", SECURITY, WARN,                                            \
      "Illegal TCP flag combination",                                                            \
      "RFC 9293 3.1 and 3.10.7; Linux conntrack tcp_valid_flags; Snort 116:400-423",             \
      "No TCP stack sends these flags: with PSH, ECE and CWR masked off, only SYN, SYN+URG, "    \
      "SYN+ACK, RST, RST+ACK, FIN+ACK, FIN+ACK+URG, ACK and ACK+URG are valid, and after the "   \
      "handshake every segment but a bare RST carries ACK. tcpstate.illegal names the "          \
      "combination and the scan it belongs to (NULL, FIN, Xmas). Almost always a port scanner "  \
      "(nmap -sN, -sF, -sX, --scanflags) or a crafted packet: find its source. Such segments "   \
      "change no state, as in the Linux receiver, except that a RST among the flags still "      \
      "resets.")                                                                                 \
    X(RESERVED_BITS, "reserved_bits", PROTOCOL, NOTE,                                            \
      "Reserved TCP header bits are set",                                                        \
      "RFC 9293 3.1: reserved bits must be zero when sent and ignored when received",            \
      "A sender set bits the TCP header reserves. Receivers ignore them; they can fingerprint "  \
      "a scanner or a broken middlebox, or be a newer extension this Wireshark does not know.")  \
    X(HANDSHAKE_STEP, "handshake_step", SEQUENCE, CHAT,                                          \
      "Handshake step",                                                                          \
      "RFC 9293 3.5",                                                                            \
      "A step of the three-way handshake: 1/3 SYN, 2/3 SYN-ACK, 3/3 the ACK that completes it " \
      "(see tcpstate.handshake). Informational.")                                                \
    X(TEARDOWN_STEP, "teardown_step", SEQUENCE, CHAT,                                            \
      "Teardown step",                                                                           \
      "RFC 9293 3.6",                                                                            \
      "A step of the close: 1/4 first FIN, 2/4 its ACK, 3/4 second FIN, 4/4 its ACK (see "       \
      "tcpstate.teardown). Informational.")                                                      \
    X(CLIENT_CLOSE, "client_close", SEQUENCE, CHAT,                                              \
      "The client closed first",                                                                 \
      "RFC 9293 3.6 (active close)",                                                             \
      "On the client's FIN when the server has sent none: the usual, orderly end of a "         \
      "connection. Informational.")                                                              \
    X(SERVER_CLOSE, "server_close", SEQUENCE, WARN,                                              \
      "The server closed first",                                                                 \
      "RFC 9293 3.6 (active close by the server)",                                               \
      "On the server's FIN when the client has sent none: the server ended the connection, "    \
      "e.g. a game server kicking a player, an idle timeout, a server-side error. The client "   \
      "is not at fault. Check the server's logs at that time; filter "                           \
      "tcpstate.server_close to list every such connection.")                                    \
    X(CLIENT_RESET, "client_reset", SEQUENCE, NOTE,                                              \
      "The client reset the connection",                                                         \
      "RFC 9293 3.10.7.4 (abort)",                                                               \
      "A RST from the client aborted an established or closing connection: SO_LINGER 0, "       \
      "close() with unread data, a crashed or killed client. Data in flight is lost.")           \
    X(SERVER_RESET, "server_reset", SEQUENCE, WARN,                                              \
      "The server reset the connection",                                                         \
      "RFC 9293 3.10.7.4 (abort)",                                                               \
      "A RST from the server aborted an established or closing connection: the server "         \
      "application aborted, crashed or closed with unread data, or a middlebox on its side "     \
      "reset it. Data in flight is lost; look at the server side.")                              \
    X(REFUSED, "refused", SEQUENCE, NOTE,                                                        \
      "Connection refused: the SYN was answered with a RST",                                     \
      "RFC 9293 3.10.7.1 (segment to a CLOSED port)",                                            \
      "Nothing listens on the server port (or a firewall rejects with RST). Check the "          \
      "service and the port.")                                                                   \
    X(ROLES_GUESSED, "roles_guessed", ASSUMPTION, NOTE,                                          \
      "No SYN seen: client and server guessed from the ports (the lower port is the server), "   \
      "both endpoints assumed ESTABLISHED",                                                      \
      "Zeek's well-known-port heuristic",                                                        \
      "The capture starts in the middle of the connection. Roles and the starting states are "  \
      "guesses (tcpstate.midstream is set on every segment); later transitions are exact.")      \
    X(SYN_WITH_DATA, "syn_with_data", PROTOCOL, NOTE,                                            \
      "SYN carries data",                                                                        \
      "RFC 9293 3.4 (data on a SYN is allowed, held until the handshake completes); "            \
      "RFC 7413 (TCP Fast Open)",                                                                \
      "Legal, and normal with TCP Fast Open. Outside TFO it can be an evasion attempt against "  \
      "devices that ignore SYN payloads.")                                                       \
    X(DATA_AFTER_FIN, "data_after_fin", PROTOCOL, WARN,                                          \
      "Data sent after the sender's own FIN",                                                    \
      "RFC 9293 3.10.4: after CLOSE (FIN) the user may not SEND; the FIN is the last sequence "  \
      "number",                                                                                  \
      "New payload beyond the sender's FIN. No correct stack does this: a broken stack, a "      \
      "middlebox rewriting sequence numbers, or injection.")                                     \
    X(SEGMENT_AFTER_CLOSE, "segment_after_close", SEQUENCE, WARN,                                \
      "Segment from an endpoint whose connection is already closed",                             \
      "RFC 9293 3.10.7.1: a CLOSED endpoint answers anything but a RST with a RST",              \
      "The sender was CLOSED (after a RST, or after its last ACK) and still sends. Usually the " \
      "closing segment was lost after the capture point, or one side believes the connection "   \
      "is still open (a half-open connection).")                                                 \
    X(CLOSE_BEFORE_HANDSHAKE, "close_before_handshake", SEQUENCE, NOTE,                          \
      "FIN or RST before the handshake completed",                                               \
      "RFC 9293 3.10.4 (CLOSE in SYN-SENT deletes the TCB, sends no FIN) and 3.10.7.3",          \
      "The connection was abandoned during the handshake. A RST from the client right after "   \
      "the SYN-ACK is the signature of a half-open (SYN) scan such as nmap -sS.")                \
    X(SYN_IN_SYNCHRONIZED, "syn_in_synchronized", SEQUENCE, WARN,                                \
      "SYN on a synchronized connection",                                                        \
      "RFC 9293 3.10.7.4 and RFC 5961 4: answer with a challenge ACK, change nothing",           \
      "A SYN arrived on a connection already past its handshake, in the same tcp.stream "        \
      "(Wireshark did not see a new connection): a delayed duplicate SYN, a peer that "         \
      "restarted with the same ISN, or a blind in-window SYN attack. The receiver answers with " \
      "a challenge ACK (tcpstate.challenge_ack).")                                               \
    X(CHALLENGE_ACK, "challenge_ack", SEQUENCE, NOTE,                                            \
      "Challenge ACK",                                                                           \
      "RFC 5961 3.2 and 4",                                                                      \
      "The ACK that answers a SYN without ACK, or a RST whose sequence number is in the window " \
      "but not exact, on a synchronized connection. A legitimate peer that lost its state then " \
      "resets with the right sequence number.")                                                         \
    X(RST_IN_WINDOW, "rst_in_window", SEQUENCE, NOTE,                                            \
      "RST in the window but not at the expected sequence number",                               \
      "RFC 5961 3.2: not accepted; the receiver sends a challenge ACK",                          \
      "Linux and other RFC 5961 stacks ignore it and send a challenge ACK. Often a RST that "    \
      "crossed data in flight; repeated ones can be a blind reset attack.")                      \
    X(RST_OUT_OF_WINDOW, "rst_out_of_window", SECURITY, WARN,                                    \
      "RST outside the receiver's window: suspected injected reset",                             \
      "RFC 9293 3.10.7.4 and RFC 5961 3.2: an out-of-window RST is dropped",                     \
      "The receiver ignores it. Its sequence number does not fit the connection: a forged RST " \
      "(censorship or an attack on long-lived connections) or a RST for an older incarnation "   \
      "of the connection.")                                                                      \
    X(TIME_WAIT_ASSASSINATION, "time_wait_assassination", SEQUENCE, WARN,                        \
      "RST into TIME_WAIT (TIME-WAIT assassination)",                                            \
      "RFC 1337; RFC 9293 3.10.7.4 (TIME-WAIT: a RST closes)",                                   \
      "A RST ended an endpoint's TIME_WAIT early (Linux does so unless "                         \
      "net.ipv4.tcp_rfc1337=1). Old duplicates of the connection can then corrupt a new one "    \
      "on the same 4-tuple.")                                                                    \
    X(HALF_OPEN, "half_open", SEQUENCE, WARN,                                                    \
      "SYN-ACK retransmitted and the handshake ACK never came (half-open)",                      \
      "RFC 9293 3.5; RFC 4987 (SYN flooding)",                                                   \
      "The server keeps retransmitting its SYN-ACK: the client's ACK is lost, the client is "    \
      "gone, or the SYN was spoofed (a SYN flood). Shown where the capture never shows the "     \
      "ACK after the retransmission (single-pass tshark can only say: not so far).")             \
    X(ACK_BEYOND_FIN, "ack_beyond_fin", PROTOCOL, WARN,                                          \
      "ACK beyond the peer's FIN",                                                               \
      "RFC 9293 3.10.7.4: an ACK of something not yet sent (SEG.ACK > SND.NXT) is dropped",      \
      "The ack number passes the peer's FIN, so it acknowledges a FIN or data the peer never "   \
      "sent: sequence numbers rewritten by a middlebox, or a forged segment.")                   \
    X(SYN_FLOOD, "syn_flood", SECURITY, WARN,                                                    \
      "SYN flood",                                                                               \
      "RFC 4987",                                                                                \
      "Raised on the segment whose SYN takes one server (address and port) to the threshold "    \
      "of half-open connections (SYN-ACK sent or SYN unanswered, no final ACK) within the "      \
      "window (preferences tcpstate.syn_flood_threshold and tcpstate.syn_flood_window). The "    \
      "text gives the count and the number of distinct sources: many random-looking sources "    \
      "mean a spoofed flood. Check the server's SYN backlog and SYN cookies.")                   \
    X(UNEXPECTED_SEGMENT, "unexpected_segment", SEQUENCE, NOTE,                                  \
      "Segment unexpected in its sender's state",                                                \
      "RFC 9293 3.10.7 (segment arrives)",                                                       \
      "The segment makes no sense for the state tcpstate inferred for its sender (e.g. a SYN-"   \
      "ACK from the client): tcpstate ignored it. Often a lost segment before the capture "      \
      "point; see tcpstate.client.prev/server.prev.")                                          \
    X(CROSSED_RETRANSMISSION, "crossed_retransmission", ASSUMPTION, NOTE,                        \
      "FIN retransmitted after the peer's retransmitted FIN acknowledged it: taken as crossing "  \
      "it, sender still TIME_WAIT",                                                              \
      "RFC 9293 3.6 (simultaneous close); both retransmission timers started with the crossing " \
      "FINs",                                                                                    \
      "After a simultaneous close whose ACKs were lost, both endpoints retransmit their FINs at " \
      "about the same moment, each now acknowledging the other's (Linux takes such a FIN in "    \
      "CLOSING to TIME_WAIT and answers nothing). This endpoint's FIN comes after the peer's "    \
      "retransmission, which acknowledged it: tcpstate takes the two as crossed and keeps the "  \
      "sender in TIME_WAIT, where the peer's retransmission put it. That is a guess: if the "    \
      "peer's retransmission was lost after the capture point, the sender is still CLOSING "     \
      "until the next ACK of its FIN, and the capture cannot tell the two apart.")

typedef enum ts_anomaly {
#define TS_AN_ENUM(id, name, group, severity, summary, rule, doc) TS_AN_##id,
    TS_ANOMALIES(TS_AN_ENUM)
#undef TS_AN_ENUM
    TS_AN_COUNT
} ts_anomaly;

#define TS_AN_BIT(id) ((uint32_t)1u << (TS_AN_##id))

/* The anomalies of severity Warn or worse: a connection's "warnings". */
#define TS_AN_SEVERE_CHAT    0u
#define TS_AN_SEVERE_NOTE    0u
#define TS_AN_SEVERE_WARN    1u
#define TS_AN_SEVERE_ERROR   1u
#define TS_AN_WARN_BIT(id, name, group, severity, summary, rule, doc) \
    | (TS_AN_SEVERE_##severity << TS_AN_##id)
#define TS_AN_WARNINGS ((uint32_t)(0u TS_ANOMALIES(TS_AN_WARN_BIT)))

#endif /* TCPSTATE_ANOMALIES_H */
