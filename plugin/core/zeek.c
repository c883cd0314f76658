/* zeek.c - emulation of Zeek's conn.log conn_state and history
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Written from a reading of Zeek (github.com/zeek/zeek, commit a13de64f);
 * no Zeek code is copied.  The Zeek functions each part emulates are
 * named in the comments:
 *   TCPAnalyzer::WantConnection        src/packet_analysis/protocol/tcp/TCP.cc
 *   TCPSessionAdapter::Process, update_history, update_window,
 *     init_endpoint, init_peer, update_last_seq, UpdateStateMachine and
 *     its Update*State helpers, ConnectionClosed, IsReuse, the timers
 *                                      src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc
 *   TCP_Endpoint::CheckHistory, SetState, DidRxmit, ZeroWindow, Gap,
 *     ChecksumError                    src/analyzer/protocol/tcp/TCP_Endpoint.cc
 *   TCP_Reassembler::AckReceived, Undelivered, Gap
 *                                      src/analyzer/protocol/tcp/TCP_Reassembler.cc
 *   Session::CheckHistory, ScaledHistoryEntry
 *                                      src/session/Session.{h,cc}
 *   Connection::FlipRoles              src/Conn.cc
 *   conn_state()                       scripts/base/protocols/conn/main.zeek
 *   port_inactivity_timeouts           scripts/base/protocols/conn/inactivity.zeek
 * docs/zeek-mapping.md explains the rules and the approximations.
 */
#include "zeek.h"

#include <string.h>

typedef char ts_zeek_is_24_bytes[sizeof(ts_zeek) == 24 ? 1 : -1];

/* ---- Zeek's constants (scripts/base/init-bare.zeek defaults) ---------- */

#define TICKS_PER_SEC     128u                 /* timer resolution: 1/128 s */
#define T_ATTEMPT         (5u * TICKS_PER_SEC)  /* tcp_attempt_delay */
#define T_CLOSE           (5u * TICKS_PER_SEC)  /* tcp_close_delay */
#define T_RESET_EXPIRE    (5u * TICKS_PER_SEC)  /* RST after FIN: expire timer, ~tcp_connection_linger */
#define T_PARTIAL_CLOSE   (3u * TICKS_PER_SEC)  /* tcp_partial_close_delay */
#define T_NOTHING_VALID   (11u * TICKS_PER_SEC) /* ExpireTimer: tcp_SYN_timeout + tcp_session_timer */
#define T_INACT_HANDSHAKE (60u * TICKS_PER_SEC) /* udp_inactivity_timeout (sic: set for TCP too) */
#define T_INACT           (300u * TICKS_PER_SEC) /* tcp_inactivity_timeout */
#define T_INACT_LONG      (3600u * TICKS_PER_SEC) /* port_inactivity_timeouts */

/* ---- packed fields ---------------------------------------------------- */

#define SEQ_BITS   20u
#define SEQ_MASK   ((1u << SEQ_BITS) - 1u)
#define RX_SHIFT   20u
#define RX_MASK    0x7Fu
#define ST_SHIFT   27u
#define PV_SHIFT   30u

#define TM_BITS    29u
#define TM_MASK    ((1u << TM_BITS) - 1u)
#define TK_SHIFT   29u
#define TK_INACT   0u
#define TK_ATTEMPT 1u
#define TK_DELETE  2u
#define TK_EMPTY   3u   /* ExpireTimer of a connection with no valid segment */
#define TM_LONG    0x80000000u

#define CNT_TRUNC  0x80u

#define HB_ORIG_IS_SECOND 75u
#define HB_DID_CLOSE      76u  /* + endpoint */
#define HB_HOLE           78u  /* + endpoint */

/* coarse previous state */
enum { PV_INACTIVE = 0, PV_ESTABLISHED = 1, PV_CLOSED = 2, PV_OTHER = 3 };

static unsigned hbits_get(const ts_zeek *z, unsigned off, unsigned width)
{
    unsigned byte = off / 8u, sh = off % 8u;
    unsigned v = z->hist[byte];
    if (byte + 1u < sizeof z->hist)
        v |= (unsigned)z->hist[byte + 1u] << 8;
    return (v >> sh) & ((1u << width) - 1u);
}

static void hbits_set(ts_zeek *z, unsigned off, unsigned width, unsigned val)
{
    unsigned i;
    for (i = 0; i < width; i++) {
        unsigned bit = off + i, byte = bit / 8u, m = 1u << (bit % 8u);
        if (val & (1u << i))
            z->hist[byte] = (uint8_t)(z->hist[byte] | m);
        else
            z->hist[byte] = (uint8_t)(z->hist[byte] & ~m);
    }
}

static uint32_t last_seq(const ts_zeek *z, unsigned e) { return z->ep[e] & SEQ_MASK; }
static void set_last(ts_zeek *z, unsigned e, uint32_t s)
{
    z->ep[e] = (z->ep[e] & ~SEQ_MASK) | (s & SEQ_MASK);
}
static unsigned st(const ts_zeek *z, unsigned e) { return (z->ep[e] >> ST_SHIFT) & 7u; }
static unsigned pv(const ts_zeek *z, unsigned e) { return (z->ep[e] >> PV_SHIFT) & 3u; }

/* TCP_Endpoint::SetState: remember the previous state on a change. */
static void set_state(ts_zeek *z, unsigned e, unsigned s)
{
    unsigned old = st(z, e), p;
    if (s == old)
        return;
    p = old == TS_ZEEK_INACTIVE ? PV_INACTIVE
      : old == TS_ZEEK_ESTABLISHED ? PV_ESTABLISHED
      : old == TS_ZEEK_CLOSED ? PV_CLOSED : PV_OTHER;
    z->ep[e] = (z->ep[e] & ~(0x1Fu << ST_SHIFT)) | (s << ST_SHIFT) | (p << PV_SHIFT);
}

static unsigned orig_ep(const ts_zeek *z) { return hbits_get(z, HB_ORIG_IS_SECOND, 1); }
static void flip_roles_bit(ts_zeek *z) { hbits_set(z, HB_ORIG_IS_SECOND, 1, orig_ep(z) ^ 1u); }
static bool did_close(const ts_zeek *z, unsigned e) { return hbits_get(z, HB_DID_CLOSE + e, 1) != 0; }
static bool hole(const ts_zeek *z, unsigned e) { return hbits_get(z, HB_HOLE + e, 1) != 0; }
static void set_hole(ts_zeek *z, unsigned e, bool v) { hbits_set(z, HB_HOLE + e, 1, v ? 1u : 0u); }
static bool hole_truncated(const ts_zeek *z, unsigned e) { return (z->cnt[e] & CNT_TRUNC) != 0; }
static void set_hole_truncated(ts_zeek *z, unsigned e, bool v)
{
    z->cnt[e] = (uint8_t)(v ? (z->cnt[e] | CNT_TRUNC) : (z->cnt[e] & ~CNT_TRUNC));
}

static uint32_t deadline(const ts_zeek *z) { return z->timer & TM_MASK; }
static unsigned tkind(const ts_zeek *z) { return (z->timer >> TK_SHIFT) & 3u; }
static void set_timer(ts_zeek *z, unsigned kind, uint32_t when)
{
    z->timer = (z->timer & TM_LONG) | (kind << TK_SHIFT) | (when & TM_MASK);
}

/* Signed difference of two 20-bit sequence numbers (Zeek's seq_delta). */
static int32_t sdelta(uint32_t a, uint32_t b)
{
    uint32_t d = (a - b) & SEQ_MASK;
    return (d & (1u << (SEQ_BITS - 1u))) ? (int32_t)d - (int32_t)(1u << SEQ_BITS) : (int32_t)d;
}

/* ---- history letters -------------------------------------------------- */

static const char letters[] = "SHADFRCGTWIQXshadfrcgtwiqx^";

static unsigned hist_code(const ts_zeek *z, unsigned i) { return hbits_get(z, 5u * i, 5); }

/* letter -> 1 + its index in letters[], 0 for none; made on first use. */
static uint8_t letter_codes[256];

static unsigned letter_code(char c)
{
    if (!letter_codes[(unsigned char)letters[0]])
        for (unsigned i = 0; letters[i]; i++)
            letter_codes[(unsigned char)letters[i]] = (uint8_t)(i + 1u);
    return letter_codes[(unsigned char)c];
}

static bool has_letter(const ts_zeek *z, char c)
{
    unsigned i, code = letter_code(c);
    for (i = 0; i < TS_ZEEK_HIST_MAX; i++) {
        unsigned h = hist_code(z, i);
        if (h == 0)
            break;
        if (h == code)
            return true;
    }
    return false;
}

/* Session::AddHistory.  Beyond 15 letters the letter is dropped. */
static void add_letter(ts_zeek *z, char c)
{
    unsigned i;
    for (i = 0; i < TS_ZEEK_HIST_MAX; i++)
        if (hist_code(z, i) == 0) {
            hbits_set(z, 5u * i, 5, letter_code(c));
            return;
        }
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* The letter for endpoint e in its current role (upper case = originator). */
static char role_letter(const ts_zeek *z, unsigned e, char up)
{
    return e == orig_ep(z) ? up : lower(up);
}

static bool hist_is(const ts_zeek *z, const char *s)
{
    unsigned i = 0;
    for (; *s; s++, i++)
        if (i >= TS_ZEEK_HIST_MAX || hist_code(z, i) != letter_code(*s))
            return false;
    return i >= TS_ZEEK_HIST_MAX || hist_code(z, i) == 0;
}

static void hist_replace(ts_zeek *z, const char *s)
{
    unsigned i;
    for (i = 0; i < TS_ZEEK_HIST_MAX; i++)
        hbits_set(z, 5u * i, 5, 0);
    for (; *s; s++)
        add_letter(z, *s);
}

/* Connection::FlipRoles: swap originator and responder, append '^'. */
static void flip_roles(ts_zeek *z)
{
    flip_roles_bit(z);
    add_letter(z, '^');
}

/* TCP_Endpoint::CheckHistory + Session::CheckHistory: the letter once per
 * direction.  Zeek's "seen" mask is kept in the orientation of the moment
 * a letter was added, exactly like the letter's case, so the letters
 * themselves serve as the mask.  Returns true if it was already seen.
 * 'A' or 'D' on a connection whose history is just "H" (it began with a
 * SYN-ACK) flips the roles first and rewrites the history to "^h". */
static bool check_history(ts_zeek *z, unsigned e, char up, char alt_up)
{
    char c, a;
    if ((up == 'A' || up == 'D') && hist_is(z, "H")) {
        flip_roles_bit(z);
        hist_replace(z, "^h");
    }
    c = role_letter(z, e, up);
    a = alt_up ? role_letter(z, e, alt_up) : 0;
    if (has_letter(z, c) || (a && has_letter(z, a)))
        return true;
    add_letter(z, c);
    return false;
}

/* Session::ScaledHistoryEntry: the letter at the 1st, 10th, 100th ...
 * event.  cnt is the saturating counter, max its ceiling. */
static void scaled(ts_zeek *z, unsigned e, char up, unsigned cnt)
{
    if (cnt == 1u || cnt == 10u || cnt == 100u)
        add_letter(z, role_letter(z, e, up));
}

static void did_rxmit(ts_zeek *z, unsigned e)       /* TCP_Endpoint::DidRxmit */
{
    unsigned c = (z->ep[e] >> RX_SHIFT) & RX_MASK;
    if (c < RX_MASK) {
        c++;
        z->ep[e] = (z->ep[e] & ~(RX_MASK << RX_SHIFT)) | (c << RX_SHIFT);
        scaled(z, e, 'T', c);
    }
}

/* cnt[e]: bits 0..6 = W * 11 + G, each counter saturating at 10 (only
 * the 1st and 10th event add a letter below 100); bit 7 (CNT_TRUNC) = the
 * endpoint's hole comes from a payload that was not captured. */
static void bump_wg(ts_zeek *z, unsigned e, bool gap)
{
    unsigned v = z->cnt[e] & 0x7Fu, w = v / 11u, g = v % 11u, c;
    if (gap) {
        if (g == 10u)
            return;
        c = ++g;
    } else {
        if (w == 10u)
            return;
        c = ++w;
    }
    z->cnt[e] = (uint8_t)((z->cnt[e] & CNT_TRUNC) | (w * 11u + g));
    scaled(z, e, gap ? 'G' : 'W', c);
}

static void zero_window(ts_zeek *z, unsigned e) { bump_wg(z, e, false); } /* TCP_Endpoint::ZeroWindow */
static void content_gap(ts_zeek *z, unsigned e) { bump_wg(z, e, true); }  /* TCP_Endpoint::Gap */

/* ---- likely_server_ports ---------------------------------------------- */

/* TCP ports registered with Analyzer::register_for_ports() by Zeek's
 * default scripts (scripts/base/protocols/<proto>/main.zeek: dce-rpc dnp3
 * dns finger ftp http imap irc krb ldap modbus mqtt mysql postgresql rdp
 * redis smb smtp socks ssh ssl syslog xmpp); sorted. */
static const uint16_t default_server_ports[] = {
    21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502,
    514, 563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434,
    1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666,
    6667, 6668, 6669, 8000, 8080, 8888, 20000
};

static uint16_t custom_ports[64];
static size_t n_custom_ports;
static bool use_custom_ports;

void ts_zeek_set_server_ports(const uint16_t *ports, size_t n)
{
    if (!ports) {
        use_custom_ports = false;
        return;
    }
    if (n > sizeof custom_ports / sizeof custom_ports[0])
        n = sizeof custom_ports / sizeof custom_ports[0];
    memcpy(custom_ports, ports, n * sizeof ports[0]);
    n_custom_ports = n;
    use_custom_ports = true;
}

bool ts_zeek_likely_server_port(uint16_t port)
{
    size_t i;
    if (use_custom_ports) {
        for (i = 0; i < n_custom_ports; i++)
            if (custom_ports[i] == port)
                return true;
        return false;
    }
    for (i = 0; i < sizeof default_server_ports / sizeof default_server_ports[0]; i++)
        if (default_server_ports[i] == port)
            return true;
    return false;
}

/* scripts/base/protocols/conn/inactivity.zeek: port_inactivity_timeouts */
static bool long_timeout_port(uint16_t p)
{
    return p == 21 || p == 22 || p == 23 || p == 513;
}

/* ---- helpers on the whole connection ---------------------------------- */

static uint32_t ticks(const ts_zeek_seg *s)
{
    uint64_t t = (uint64_t)s->ts_sec * TICKS_PER_SEC + s->ts_nsec / (1000000000u / TICKS_PER_SEC);
    return (uint32_t)t & TM_MASK;
}

static bool started(const ts_zeek *z)
{
    return hist_code(z, 0) != 0 || st(z, 0) != TS_ZEEK_INACTIVE || st(z, 1) != TS_ZEEK_INACTIVE;
}

static bool in_handshake(unsigned s)
{
    return s == TS_ZEEK_INACTIVE || s == TS_ZEEK_SYN_SENT || s == TS_ZEEK_SYN_ACK_SENT;
}

/* TCPSessionAdapter::AttemptTimer's condition. */
static bool attempt_pending(const ts_zeek *z)
{
    unsigned o = orig_ep(z);
    return (st(z, o) == TS_ZEEK_SYN_SENT || st(z, o) == TS_ZEEK_SYN_ACK_SENT)
        && st(z, o ^ 1u) == TS_ZEEK_INACTIVE;
}

/* TCPAnalyzer::WantConnection: flip the roles of a connection whose
 * first packet is not a bare SYN and comes from a likely server port. */
static bool want_flip(const ts_zeek_seg *s)
{
    bool syn = (s->flags & TS_ZEEK_SYN) != 0, ack = (s->flags & TS_ZEEK_ACK) != 0;
    if (syn && !ack)
        return false;
    if (!ts_zeek_likely_server_port(s->sport))
        return false;
    if (ts_zeek_likely_server_port(s->dport))
        return !syn && s->sport < s->dport;
    return true;
}

/* A new Zeek connection begins with segment s, sent by endpoint e. */
static void begin(ts_zeek *z, const ts_zeek_seg *s, unsigned e, uint32_t now)
{
    memset(z, 0, sizeof *z);
    if (e == 1)
        flip_roles_bit(z);         /* the first packet's sender is orig */
    if (want_flip(s))
        flip_roles(z);             /* IPBasedAnalyzer::NewConn -> FlipRoles */
    set_timer(z, TK_INACT, now + T_INACT_HANDSHAKE);
}

/* TCPSessionAdapter::IsReuse: a SYN that starts a new connection. */
static bool is_reuse(const ts_zeek *z, const ts_zeek_seg *s, uint32_t end)
{
    unsigned o = orig_ep(z), r = o ^ 1u, co = o;
    uint32_t seq = s->seq & SEQ_MASK;
    if (!(s->flags & TS_ZEEK_SYN))
        return false;
    if (s->flags & TS_ZEEK_ACK) {
        if (st(z, o) != TS_ZEEK_INACTIVE)
            return false;          /* not a half connection */
        co = r;
    }
    if (!did_close(z, o) && !did_close(z, r)) {
        /* same SYN as the one that opened it (StartSeq, approximated by
         * LastSeq: SYN-only endpoints have LastSeq = ISN + 1) */
        if (st(z, co) == TS_ZEEK_INACTIVE ? seq == last_seq(z, co)
                                          : (end & SEQ_MASK) == last_seq(z, co))
            return false;
        /* SYN and SYN-ACK seen in reverse order */
        if (!(s->flags & TS_ZEEK_ACK) && st(z, co) == TS_ZEEK_SYN_ACK_SENT
            && st(z, r) == TS_ZEEK_INACTIVE && seq == last_seq(z, r))
            return false;
    }
    return true;
}

/* Whether the pending timer, now due, makes Zeek forget the connection. */
static bool timer_expires(const ts_zeek *z, uint32_t now)
{
    uint32_t d = (now - deadline(z)) & TM_MASK;
    if (d >= (1u << (TM_BITS - 1u)))
        return false;              /* not yet due */
    switch (tkind(z)) {
    case TK_ATTEMPT: return attempt_pending(z);
    case TK_EMPTY: return st(z, 0) == TS_ZEEK_INACTIVE && st(z, 1) == TS_ZEEK_INACTIVE;
    default: return true;
    }
}

/* is_clean() in TCP_Reassembler.cc: gaps are only recorded while both
 * endpoints are established or cleanly closing. */
static bool clean(const ts_zeek *z, unsigned e)
{
    return st(z, e) == TS_ZEEK_ESTABLISHED
        || (st(z, e) == TS_ZEEK_CLOSED && pv(z, e) == PV_ESTABLISHED);
}

struct arm {
    uint32_t close_delay;  /* nonzero: a close/delete timer was armed */
    bool attempt;          /* the attempt timer was armed */
};

/* TCPSessionAdapter::ConnectionClosed (without the reassembler's
 * "data pending" deferral). */
static void conn_closed(ts_zeek *z, unsigned e, struct arm *arm)
{
    unsigned p = e ^ 1u;
    if (did_close(z, e))
        return;
    hbits_set(z, HB_DID_CLOSE + e, 1, 1);
    if (st(z, e) == TS_ZEEK_RESET || did_close(z, p) || st(z, p) == TS_ZEEK_INACTIVE)
        arm->close_delay = T_CLOSE;              /* ConnDeleteTimer */
    else if (pv(z, e) == PV_INACTIVE)
        arm->close_delay = T_PARTIAL_CLOSE;      /* PartialCloseTimer */
    /* else: an ExpireTimer that only removes it once a later event
     * (which arms a timer of its own here) completes the close */
}

/* connection_established: inactivity.zeek picks the service port for the
 * timeout. */
static void established_timeout(ts_zeek *z, const ts_zeek_seg *s, unsigned e)
{
    unsigned o = orig_ep(z);
    uint16_t resp_p = (e == o) ? s->dport : s->sport;
    uint16_t orig_p = (e == o) ? s->sport : s->dport;
    uint16_t svc = resp_p;

    if (st(z, o) == TS_ZEEK_INACTIVE && !ts_zeek_likely_server_port(resp_p) &&
        ts_zeek_likely_server_port(orig_p))
        svc = orig_p;
    if (long_timeout_port(svc))
        z->timer |= TM_LONG;
}

/* UpdateInactiveState, for a SYN: the originator's opens the attempt;
 * the responder's answer establishes both. */
static void inactive_syn(ts_zeek *z, const ts_zeek_seg *s, unsigned e, bool is_orig, bool ack,
                         struct arm *arm)
{
    unsigned p = e ^ 1u;

    if (is_orig) {
        set_state(z, e, ack ? TS_ZEEK_SYN_ACK_SENT : TS_ZEEK_SYN_SENT);
        arm->attempt = true;
        return;
    }
    if (!ack && st(z, p) == TS_ZEEK_SYN_ACK_SENT) {
        /* SYN/SYN-ACK reversal (the SYN's sequence number is this
         * endpoint's start by construction) */
        flip_roles(z);
        set_state(z, p, TS_ZEEK_ESTABLISHED);
    }
    if (st(z, p) == TS_ZEEK_SYN_SENT)
        set_state(z, p, TS_ZEEK_ESTABLISHED);
    set_state(z, e, TS_ZEEK_ESTABLISHED);
    if (st(z, p) != TS_ZEEK_PARTIAL)
        established_timeout(z, s, e);
}

/* UpdateInactiveState.  Returns whether the endpoint closed. */
static bool inactive_state(ts_zeek *z, const ts_zeek_seg *s, unsigned e, bool is_orig,
                           struct arm *arm)
{
    unsigned p = e ^ 1u;
    bool ack = (s->flags & TS_ZEEK_ACK) != 0, do_close = false;

    if (s->flags & TS_ZEEK_SYN)
        inactive_syn(z, s, e, is_orig, ack, arm);
    if (s->flags & TS_ZEEK_FIN) {
        set_state(z, e, TS_ZEEK_CLOSED);
        do_close = true;
    }
    if (s->flags & TS_ZEEK_RST) {
        set_state(z, e, TS_ZEEK_RESET);
        do_close = true;
    }
    if (st(z, e) == TS_ZEEK_INACTIVE) {
        if (!is_orig && s->len == 0 && st(z, orig_ep(z)) == TS_ZEEK_SYN_SENT)
            ;                                    /* ACK of a SYN before the SYN-ACK */
        else if (ack && st(z, p) == TS_ZEEK_ESTABLISHED)
            set_state(z, e, TS_ZEEK_ESTABLISHED);  /* missed the SYN */
        else
            set_state(z, e, TS_ZEEK_PARTIAL);
    }
    return do_close;
}

/* UpdateSYN_SentState.  Returns whether the endpoint closed. */
static bool syn_sent_state(ts_zeek *z, const ts_zeek_seg *s, unsigned e)
{
    bool do_close = false;

    if (s->flags & TS_ZEEK_FIN) {
        set_state(z, e, TS_ZEEK_CLOSED);
        do_close = true;
    }
    if (s->flags & TS_ZEEK_RST) {
        set_state(z, e, TS_ZEEK_RESET);
        do_close = true;
    }
    return do_close;
}

/* UpdateEstablishedState (and PARTIAL).  Returns whether it closed. */
static bool established_state(ts_zeek *z, const ts_zeek_seg *s, unsigned e)
{
    unsigned p = e ^ 1u;
    bool syn = (s->flags & TS_ZEEK_SYN) != 0, fin = (s->flags & TS_ZEEK_FIN) != 0;
    bool rst = (s->flags & TS_ZEEK_RST) != 0, ack = (s->flags & TS_ZEEK_ACK) != 0;
    bool do_close = false;

    if (syn && st(z, e) == TS_ZEEK_PARTIAL && st(z, p) == TS_ZEEK_INACTIVE && !ack)
        set_state(z, e, TS_ZEEK_SYN_SENT);       /* SYN_after_partial */
    if (fin && !rst) {
        set_state(z, e, TS_ZEEK_CLOSED);
        if (st(z, p) == TS_ZEEK_RESET && pv(z, p) == PV_CLOSED)
            set_state(z, p, TS_ZEEK_CLOSED);     /* peer's FIN+RST was a normal close */
        do_close = true;
    }
    if (rst) {
        set_state(z, e, TS_ZEEK_RESET);
        do_close = true;
    }
    return do_close;
}

/* UpdateClosedState.  Returns whether the endpoint closed (again). */
static bool closed_state(ts_zeek *z, const ts_zeek_seg *s, unsigned e, struct arm *arm)
{
    if (!(s->flags & TS_ZEEK_RST) || st(z, e ^ 1u) == TS_ZEEK_CLOSED)
        return false;
    set_state(z, e, TS_ZEEK_RESET);
    if (!did_close(z, e))
        return true;
    if (!arm->close_delay)
        arm->close_delay = T_RESET_EXPIRE;
    return false;
}

/* TCPSessionAdapter::UpdateStateMachine.  is_orig is the sender's role as
 * computed before update_history (stale if that flipped the connection,
 * as in Zeek). */
static void state_machine(ts_zeek *z, const ts_zeek_seg *s, unsigned e, bool is_orig,
                          struct arm *arm)
{
    bool do_close;

    switch (st(z, e)) {
    case TS_ZEEK_INACTIVE:
        do_close = inactive_state(z, s, e, is_orig, arm);
        break;
    case TS_ZEEK_SYN_SENT:
    case TS_ZEEK_SYN_ACK_SENT:
        do_close = syn_sent_state(z, s, e);
        break;
    case TS_ZEEK_ESTABLISHED:
    case TS_ZEEK_PARTIAL:
        do_close = established_state(z, s, e);
        break;
    case TS_ZEEK_CLOSED:
        do_close = closed_state(z, s, e, arm);
        break;
    default:                                     /* TCP_ENDPOINT_RESET */
        do_close = false;
        break;
    }
    if (do_close)
        conn_closed(z, e, arm);
}

/* What one segment is, for the steps of ts_zeek_segment().  Lifetime: one
 * call. */
struct seg {
    const ts_zeek_seg *s;
    unsigned e, p;              /* sender, and its peer */
    uint32_t now;               /* ticks */
    uint32_t seq, end;          /* 20-bit sequence numbers: first, after it */
    bool syn, fin, rst, ack;
};

static void seg_of(struct seg *g, const ts_zeek_seg *s)
{
    uint32_t seg_len;

    g->s = s;
    g->e = s->from_first ? 0u : 1u;
    g->p = g->e ^ 1u;
    g->now = ticks(s);
    g->syn = (s->flags & TS_ZEEK_SYN) != 0;
    g->fin = (s->flags & TS_ZEEK_FIN) != 0;
    g->rst = (s->flags & TS_ZEEK_RST) != 0;
    g->ack = (s->flags & TS_ZEEK_ACK) != 0;
    seg_len = s->len + (g->syn ? 1u : 0u) + (g->fin ? 1u : 0u);
    if (g->rst)
        seg_len -= s->len;                       /* get_segment_len */
    g->seq = s->seq & SEQ_MASK;
    g->end = (s->seq + seg_len) & SEQ_MASK;
}

/* init_endpoint: only its effect on LastSeq is kept. */
static void init_endpoint(ts_zeek *z, const struct seg *g, unsigned state_before)
{
    switch (state_before) {
    case TS_ZEEK_INACTIVE:
        set_last(z, g->e, g->syn ? g->end : g->seq);
        break;
    case TS_ZEEK_SYN_SENT:
    case TS_ZEEK_SYN_ACK_SENT:
        if (g->syn && g->end != last_seq(z, g->e))   /* SYN_seq_jump */
            set_last(z, g->e, g->end);
        break;
    case TS_ZEEK_ESTABLISHED:
    case TS_ZEEK_PARTIAL:
        if (g->syn)
            set_last(z, g->e, g->end);
        break;
    case TS_ZEEK_RESET:
        if (g->syn && pv(z, g->e) == PV_INACTIVE)
            set_last(z, g->e, g->end);
        break;
    default:
        break;
    }
}

/* update_history. */
static void update_history(ts_zeek *z, const struct seg *g)
{
    const unsigned e = g->e;

    if ((g->syn ? 1 : 0) + (g->fin ? 1 : 0) + (g->rst ? 1 : 0) > 1) {
        check_history(z, e, (g->fin && g->rst) ? 'I' : 'Q', 0);
    } else if (g->syn) {
        /* s/h share one mask; a repeat with another sequence number is
         * practically never added (IsReuse or a re-based sequence
         * space intervene), so: once per direction */
        check_history(z, e, g->ack ? 'H' : 'S', g->ack ? 'S' : 'H');
    } else if (g->fin) {
        /* again only if the FIN sits elsewhere than the last one: the
         * last FIN is LastSeq - 1 */
        if (check_history(z, e, 'F', 0) && g->end != last_seq(z, e))
            add_letter(z, role_letter(z, e, 'F'));
    } else if (g->rst) {
        if (check_history(z, e, 'R', 0) && g->seq != last_seq(z, e))
            add_letter(z, role_letter(z, e, 'R'));
    } else if (g->s->len) {
        check_history(z, e, 'D', 0);
    } else if (g->ack) {
        check_history(z, e, 'A', 0);
    }
}

/* update_last_seq: retransmissions, and (for the gap emulation) where
 * this endpoint's payload has holes. */
static void update_last_seq(ts_zeek *z, const struct seg *g, unsigned state_before)
{
    const unsigned e = g->e;
    const ts_zeek_seg *s = g->s;

    if (s->truncated && s->len > 0 && !g->rst) {
        set_hole(z, e, true);                    /* not reassemblable */
        set_hole_truncated(z, e, true);
    }
    if (st(z, e) == TS_ZEEK_RESET)
        return;
    if (sdelta(g->end, last_seq(z, e)) > 0) {
        int32_t ds = sdelta(g->seq, last_seq(z, e));
        if (state_before != TS_ZEEK_INACTIVE && !g->rst && ds > 0) {
            set_hole(z, e, true);                /* jumped over unseen data */
            set_hole_truncated(z, e, s->truncated);
        } else if (ds < 0 && s->len > 0 && !s->truncated && !g->rst) {
            set_hole(z, e, false);               /* overlaps, presumably refills */
        }
        set_last(z, e, g->end);
    } else if (s->len > 0) {
        did_rxmit(z, e);
        if (!s->truncated && !g->rst)
            set_hole(z, e, false);               /* presumably filled */
    }
}

/* peer->AckReceived -> TCP_Reassembler::Undelivered -> Gap: the ACK
 * covers payload of the peer that was never seen.  (With the peer still
 * inactive, Zeek's rel_ack is 1: nothing to do.) */
static void ack_received(ts_zeek *z, const struct seg *g)
{
    const unsigned p = g->p;
    bool pfin = st(z, p) == TS_ZEEK_CLOSED || (st(z, p) == TS_ZEEK_RESET && pv(z, p) == PV_CLOSED);
    uint32_t data_end = (last_seq(z, p) - (pfin ? 1u : 0u)) & SEQ_MASK;
    uint32_t a = g->s->ack & SEQ_MASK;
    bool gap = false;
    int32_t d;

    if (pfin && sdelta(a, data_end) > 0)
        a = data_end;                            /* don't count the FIN */
    d = sdelta(a, data_end);
    if (d > 0) {
        gap = true;
        set_last(z, p, a);
    } else if (hole(z, p) && (d == 0 || hole_truncated(z, p))) {
        /* a hole left by a jump is reported once the ACK covers all the
         * peer sent (the hole's start is not kept); one left by an
         * uncaptured payload at the next ACK, which in all likelihood
         * acknowledges it */
        gap = true;
    }
    if (gap) {
        set_hole(z, p, false);
        if (clean(z, g->e) && clean(z, p))
            content_gap(z, p);
    }
}

/* The timers.  Only the one that would fire first is kept. */
static void arm_timers(ts_zeek *z, uint32_t now, const struct arm *arm)
{
    uint32_t t = T_INACT;

    if (arm->close_delay) {
        set_timer(z, TK_DELETE, now + arm->close_delay);
    } else if (tkind(z) == TK_DELETE) {
        /* keep it */
    } else if (arm->attempt) {
        set_timer(z, TK_ATTEMPT, now + T_ATTEMPT);
    } else if (tkind(z) == TK_ATTEMPT && attempt_pending(z)) {
        /* keep it */
    } else {
        if (in_handshake(st(z, 0)) && in_handshake(st(z, 1)))
            t = T_INACT_HANDSHAKE;
        else if (z->timer & TM_LONG)
            t = T_INACT_LONG;
        set_timer(z, TK_INACT, now + t);
    }
}

/* TCPAnalyzer::ValidateChecksum: the segment is dropped, history c/C
 * (the first one only). */
static unsigned bad_checksum(ts_zeek *z, const struct seg *g, unsigned ret)
{
    char c = role_letter(z, g->e, 'C');

    if (!has_letter(z, c))
        add_letter(z, c);
    if (ret & TS_ZEEK_NEW)
        set_timer(z, TK_EMPTY, g->now + T_NOTHING_VALID);
    return ret;
}

unsigned ts_zeek_segment(ts_zeek *z, const ts_zeek_seg *s)
{
    struct seg g;
    struct arm arm = { 0, false };
    unsigned ret = 0, state_before;
    bool is_orig, peer_inactive;

    seg_of(&g, s);
    /* Session lookup: timers due before this packet, then IsReuse. */
    if (!started(z) || timer_expires(z, g.now) || is_reuse(z, s, g.end)) {
        begin(z, s, g.e, g.now);
        ret |= TS_ZEEK_NEW;
    }
    if (s->bad_checksum)
        return bad_checksum(z, &g, ret);

    is_orig = g.e == orig_ep(z);
    state_before = st(z, g.e);
    init_endpoint(z, &g, state_before);
    update_history(z, &g);
    /* update_window: zero windows */
    if (s->win == 0 && !g.rst && st(z, g.p) != TS_ZEEK_CLOSED && st(z, g.e) != TS_ZEEK_RESET)
        zero_window(z, g.e);
    /* init_peer */
    peer_inactive = st(z, g.p) == TS_ZEEK_INACTIVE;
    if (g.ack && peer_inactive)
        set_last(z, g.p, s->ack - 1u);
    update_last_seq(z, &g, state_before);
    state_machine(z, s, g.e, is_orig, &arm);
    if (g.ack && !peer_inactive)
        ack_received(z, &g);
    arm_timers(z, g.now, &arm);
    return ret;
}

/* ---- results ------------------------------------------------------------ */

const char *ts_zeek_history(const ts_zeek *z, char buf[TS_ZEEK_HIST_BUFSZ])
{
    unsigned i;
    for (i = 0; i < TS_ZEEK_HIST_MAX; i++) {
        unsigned c = hist_code(z, i);
        if (c == 0 || c > sizeof letters - 1u)
            break;
        buf[i] = letters[c - 1u];
    }
    buf[i] = '\0';
    return buf;
}

bool ts_zeek_orig_is_first(const ts_zeek *z) { return orig_ep(z) == 0; }

enum ts_zeek_ep_state ts_zeek_orig_state(const ts_zeek *z)
{
    return (enum ts_zeek_ep_state)st(z, orig_ep(z));
}

enum ts_zeek_ep_state ts_zeek_resp_state(const ts_zeek *z)
{
    return (enum ts_zeek_ep_state)st(z, orig_ep(z) ^ 1u);
}

const char *ts_zeek_ep_state_name(enum ts_zeek_ep_state s)
{
    static const char *const names[] = {
        "TCP_INACTIVE", "TCP_SYN_SENT", "TCP_SYN_ACK_SENT", "TCP_PARTIAL",
        "TCP_ESTABLISHED", "TCP_CLOSED", "TCP_RESET"
    };
    return (unsigned)s < 7u ? names[s] : "?";
}

/* The history matches /^?S[^HAFGIQ]*R.* / (Zeek's pattern == string is
 * an anchored match of the whole string). */
static bool rstos0_history(const char *h)
{
    if (*h == '^')
        h++;
    if (*h++ != 'S')
        return false;
    for (; *h; h++) {
        if (*h == 'R')
            return true;
        if (strchr("HAFGIQ", *h))
            return false;
    }
    return false;
}

/* Payload seen from either side (stands in for c$orig$size/c$resp$size,
 * which come from sequence numbers). */
static bool any_data(const char *h)
{
    return strchr(h, 'D') != NULL || strchr(h, 'd') != NULL;
}

/* conn_state() of scripts/base/protocols/conn/main.zeek. */
const char *ts_zeek_conn_state(const ts_zeek *z)
{
    char h[TS_ZEEK_HIST_BUFSZ];
    unsigned os, rs;
    bool o_inactive, r_inactive;

    if (!started(z))
        return "";
    os = ts_zeek_orig_state(z);
    rs = ts_zeek_resp_state(z);
    o_inactive = os == TS_ZEEK_INACTIVE || os == TS_ZEEK_PARTIAL;
    r_inactive = rs == TS_ZEEK_INACTIVE || rs == TS_ZEEK_PARTIAL;
    ts_zeek_history(z, h);

    if (rs == TS_ZEEK_RESET) {
        if (os == TS_ZEEK_SYN_SENT || os == TS_ZEEK_SYN_ACK_SENT
            || (os == TS_ZEEK_RESET && !any_data(h)))
            return "REJ";
        return o_inactive ? "RSTRH" : "RSTR";
    }
    if (os == TS_ZEEK_RESET) {
        if (r_inactive)
            return rstos0_history(h) ? "RSTOS0" : "OTH";
        return "RSTO";
    }
    if (rs == TS_ZEEK_CLOSED && os == TS_ZEEK_CLOSED)
        return "SF";
    if (os == TS_ZEEK_CLOSED)
        return r_inactive ? "SH" : "S2";
    if (rs == TS_ZEEK_CLOSED)
        return o_inactive ? "SHR" : "S3";
    if (os == TS_ZEEK_SYN_SENT && rs == TS_ZEEK_INACTIVE)
        return "S0";
    if (os == TS_ZEEK_ESTABLISHED && rs == TS_ZEEK_ESTABLISHED)
        return "S1";
    return "OTH";
}
