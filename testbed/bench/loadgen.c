/*
 * tollgate-loadgen: GWLB-side traffic source for `npm run bench`.
 *
 * Sends GWLB-style GENEVE datagrams (RFC 8926 header, AWS options class 0x0108: endpoint id,
 * attachment id, flow cookie) carrying inner IPv4/UDP packets of -s bytes over -f flows to
 * DST:6081 at a paced rate, receives what comes back on its own UDP port 6081 and checks every
 * returned datagram byte for byte (GENEVE header + inner packet must equal what was sent).
 * Prints one JSON line (cpu_s: this process's user+system CPU seconds, which on veth include the
 * receive path that runs in softirq on its CPU).
 *
 *   loadgen [-d DST] [-l LOCAL] [-o OFFSET] [-s SIZE] [-f FLOWS] [-e ENDPOINTS] [-S SOURCE_PORTS] [-r PPS] [-t SEC] [-w SEC] [-b BATCH] [-H HOPS]
 *
 * -l binds every socket to LOCAL (the reply socket to LOCAL:6081), so that several loadgens, each
 * with its own address, can run at once (one per CPU); -o shifts the flows' inner addresses, ports
 * and flow cookies by OFFSET so that they send distinct flows.
 * -H HOPS: the appliance routes the inner packets (kernel forwarding, e.g. a rules file's
 * `inspect` mode or Suricata inline): expect the inner TTL HOPS lower, with its IPv4 header
 * checksum updated; everything else must still be equal.
 *
 * Inner payload: "TGLG" | run id | flow | seq (8) | send time ns (8) | fill. The inner UDP
 * checksum is 0 (allowed for IPv4), so stamping seq/time needs no checksum update.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GH 40
#define SLOT 9216
#define MAXB 256
#define META 28 /* magic 4, run 4, flow 4, seq 8, ts 8 */

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}
static void p16(uint8_t *p, uint32_t v) { p[0] = v >> 8; p[1] = v; }
static void p32(uint8_t *p, uint32_t v) { p16(p, v >> 16); p16(p + 2, v); }
static void p64(uint8_t *p, uint64_t v) { p32(p, v >> 32); p32(p + 4, (uint32_t)v); }
static uint32_t g32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint64_t g64(const uint8_t *p) { return (uint64_t)g32(p) << 32 | g32(p + 4); }
static uint32_t mix(uint32_t x)
{
    x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
    return x;
}

static int size = 512, nflows = 64, neps = 1, nsrc = 1, batch = 32, hops = 0, offset = 0;
static double rate = 20000, dur = 10, warm = 1;
static uint32_t run;
static uint8_t *tmpl;   /* per flow, GH + size bytes apart: GENEVE header + inner packet with seq/ts = 0 */
#define TMPL(i) (tmpl + (size_t)(i) * (size_t)(GH + size))
static uint8_t *seen;
static uint64_t seen_cap;
static struct { uint64_t tx, rx, ok, bad, dup, foreign, t0, tlast; } st;
static uint64_t hist[100000]; /* 1 us buckets up to 100 ms */
static uint64_t hist_n;

static void build(int i)
{
    uint8_t *g = TMPL(i), *ip = g + GH, *u = ip + 20, *m = u + 8;
    int e = i % neps;
    uint32_t v = (uint32_t)(i + offset); /* what makes the flow distinct on the wire */
    memset(g, 0, GH + size);
    g[0] = (GH - 8) / 4;
    p16(g + 2, 0x0800);
    p16(g + 8, 0x0108); g[10] = 1; g[11] = 2; p64(g + 12, 0x2b8ee1d4db0c5100ull + (uint64_t)e);
    p16(g + 20, 0x0108); g[22] = 2; g[23] = 2; p64(g + 24, 0x0a77ac4e00000000ull + (uint64_t)e * 0x10001);
    p16(g + 32, 0x0108); g[34] = 3; g[35] = 1; p32(g + 36, mix(0x9e3779b9u ^ v) | 1);
    ip[0] = 0x45; p16(ip + 2, size); p16(ip + 4, v); p16(ip + 6, 0x4000); ip[8] = 64; ip[9] = 17;
    p32(ip + 12, 0x0a640001u + v); p32(ip + 16, 0x0ac80001u);
    uint32_t s = 0;
    for (int k = 0; k < 20; k += 2) s += (uint32_t)ip[k] << 8 | ip[k + 1];
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    p16(ip + 10, ~s & 0xffff);
    p16(u, 1024 + v % 60000); p16(u + 2, 5001); p16(u + 4, size - 20);
    p32(m, 0x54474c47u); p32(m + 4, run); p32(m + 8, i);
    for (int k = 20 + 8 + META; k < size; k++) ip[k] = (uint8_t)(k * 7 + 1);
}

static void stamp(uint8_t *dst, int i, uint64_t seq, uint64_t ts)
{
    memcpy(dst, TMPL(i), GH + size);
    uint8_t *m = dst + GH + 28;
    p64(m + 12, seq);
    p64(m + 20, ts);
}

/* The inner IPv4 header after `hops` routers: TTL lower, header checksum recomputed. */
static void route(uint8_t *ip)
{
    uint32_t sum = 0;
    ip[8] -= hops;
    ip[10] = ip[11] = 0;
    for (int i = 0; i < 20; i += 2) sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    p16(ip + 10, ~sum & 0xffff);
}

static void check(const uint8_t *p, int n, uint64_t t, int counting)
{
    static uint8_t exp[SLOT];
    if (n != GH + size || g32(p + GH + 28) != 0x54474c47u || g32(p + GH + 32) != run) { st.foreign++; return; }
    uint32_t f = g32(p + GH + 36);
    if (f >= (uint32_t)nflows) { st.foreign++; return; }
    uint64_t seq = g64(p + GH + 40), ts = g64(p + GH + 48);
    if (!counting) return;
    if (seq < seen_cap * 8) {
        uint8_t bit = 1 << (seq & 7);
        if (seen[seq >> 3] & bit) { st.dup++; return; }
        seen[seq >> 3] |= bit;
    }
    st.rx++;
    stamp(exp, f, seq, ts);
    if (hops) route(exp + GH);
    if (memcmp(p, exp, n) == 0) st.ok++; else st.bad++;
    if (t > ts) { uint64_t us = (t - ts) / 1000; hist[us < 99999 ? us : 99999]++; hist_n++; }
}

static int rxfd, *txfd;
static struct mmsghdr rm[64], tm[MAXB];
static struct iovec rv[64], tv[MAXB];
static uint8_t (*rb)[SLOT], (*tb)[SLOT];

static int drain(int counting)
{
    int total = 0;
    for (;;) {
        for (int k = 0; k < 64; k++) rm[k].msg_len = 0;
        int r = recvmmsg(rxfd, rm, 64, MSG_DONTWAIT, NULL);
        if (r <= 0) break;
        uint64_t t = now_ns();
        for (int k = 0; k < r; k++) check(rb[k], rm[k].msg_len, t, counting);
        st.tlast = t;
        total += r;
        if (r < 64) break;
    }
    return total;
}

static void phase(double d, double r, int b, int counting)
{
    static uint64_t seq;
    static int fi;
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(d * 1e9), t;
    double next = t0, gap = r > 0 ? 1e9 / r : 0;
    st.t0 = t0;
    while ((t = now_ns()) < end) {
        if (r <= 0 || t >= next) {
            int nb = b;
            if (r > 0) { double due = (t - next) / gap + 1; if (due < nb) nb = due < 1 ? 1 : (int)due; }
            if (seq + nb >= seen_cap * 8) {
                uint64_t nc = seen_cap ? seen_cap * 2 : 1 << 20;
                seen = realloc(seen, nc); memset(seen + seen_cap, 0, nc - seen_cap); seen_cap = nc;
            }
            /* one sendmmsg per source socket: flows are assigned round robin */
            int s = fi % nsrc, m = 0;
            for (int k = 0; k < nb; k++) {
                while (fi % nsrc != s) fi = (fi + 1) % nflows;
                stamp(tb[m], fi, seq + m, t);
                tv[m].iov_len = GH + size;
                m++;
                fi = (fi + 1) % nflows;
            }
            int sent = sendmmsg(txfd[s], tm, m, MSG_DONTWAIT);
            if (sent < 0) sent = 0;
            seq += sent;
            if (counting) st.tx += sent;
            if (r > 0) next += gap * (sent ? sent : 1);
        }
        int got = drain(counting);
        if (r > 0 && !got) {
            /* Sleep until the next packet is due or a reply arrives: a paced sender must not spin,
             * or the whole-machine CPU figures would count a busy core that does no work. */
            int64_t wait_ns = (int64_t)next - (int64_t)now_ns();
            if (wait_ns > 0) {
                struct pollfd pf = { rxfd, POLLIN, 0 };
                struct timespec ts = { wait_ns / 1000000000, wait_ns % 1000000000 };
                ppoll(&pf, 1, &ts, NULL);
            }
        }
    }
    uint64_t last = now_ns(), stop = last + 3000000000ull;
    while ((t = now_ns()) < stop && t - last < 200000000ull) {
        struct pollfd pf = { rxfd, POLLIN, 0 };
        if (poll(&pf, 1, 20) > 0 && drain(counting)) last = now_ns();
    }
}

static double pct(double p)
{
    uint64_t want = (uint64_t)(p / 100 * hist_n), c = 0;
    for (int i = 0; i < 100000; i++) if ((c += hist[i]) > want) return i + 0.5;
    return -1;
}

int main(int argc, char **argv)
{
    const char *dst = "10.250.0.2", *local = NULL;
    int c, one = 1, buf = 64 << 20;
    while ((c = getopt(argc, argv, "d:l:o:s:f:e:S:r:t:w:b:H:")) != -1) {
        switch (c) {
        case 'd': dst = optarg; break;
        case 'l': local = optarg; break;
        case 'o': offset = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'f': nflows = atoi(optarg); break;
        case 'e': neps = atoi(optarg); break;
        case 'S': nsrc = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 't': dur = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'H': hops = atoi(optarg); break;
        default: fprintf(stderr, "usage: loadgen [-d DST] [-l LOCAL] [-o OFFSET] [-s SIZE] [-f FLOWS] [-e EPS] [-S PORTS] [-r PPS] [-t SEC] [-w SEC] [-b BATCH] [-H HOPS]\n"); return 2;
        }
    }
    if (size < 20 + 8 + META || size > SLOT - GH || nflows < 1 || neps < 1 || neps > nflows || nsrc < 1 || nsrc > nflows || offset < 0 ||
        batch < 1 || batch > MAXB || hops < 0 || hops > 63) { fprintf(stderr, "loadgen: bad arguments\n"); return 2; }
    struct sockaddr_in da = { .sin_family = AF_INET, .sin_port = htons(6081) }, la = da;
    la.sin_addr.s_addr = INADDR_ANY;
    if (inet_pton(AF_INET, dst, &da.sin_addr) != 1) { fprintf(stderr, "loadgen: bad -d\n"); return 2; }
    if (local && inet_pton(AF_INET, local, &la.sin_addr) != 1) { fprintf(stderr, "loadgen: bad -l\n"); return 2; }
    struct sockaddr_in sa = la;
    sa.sin_port = 0;
    rxfd = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(rxfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(rxfd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf)) setsockopt(rxfd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (bind(rxfd, (struct sockaddr *)&la, sizeof la)) { perror("loadgen: bind 6081"); return 1; }
    txfd = calloc(nsrc, sizeof(int));
    for (int s = 0; s < nsrc; s++) {
        txfd[s] = socket(AF_INET, SOCK_DGRAM, 0);
        if (setsockopt(txfd[s], SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf)) setsockopt(txfd[s], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
        if (local && bind(txfd[s], (struct sockaddr *)&sa, sizeof sa)) { perror("loadgen: bind -l"); return 1; }
        if (connect(txfd[s], (struct sockaddr *)&da, sizeof da)) { perror("loadgen: connect"); return 1; }
    }
    tmpl = calloc(nflows, GH + size);
    if (!tmpl) { fprintf(stderr, "loadgen: out of memory for %d flows\n", nflows); return 1; }
    rb = calloc(64, SLOT);
    tb = calloc(MAXB, SLOT);
    for (int k = 0; k < 64; k++) { rv[k] = (struct iovec){ rb[k], SLOT }; rm[k].msg_hdr = (struct msghdr){ .msg_iov = &rv[k], .msg_iovlen = 1 }; }
    for (int k = 0; k < MAXB; k++) { tv[k] = (struct iovec){ tb[k], 0 }; tm[k].msg_hdr = (struct msghdr){ .msg_iov = &tv[k], .msg_iovlen = 1 }; }
    prctl(PR_SET_TIMERSLACK, 1UL); /* wake when the next packet is due, not up to 50 us later */
    run = mix((uint32_t)now_ns() ^ (uint32_t)getpid());
    for (int i = 0; i < nflows; i++) build(i);
    if (warm > 0) phase(warm, 1000, 1, 0);
    memset(&st, 0, sizeof st);
    if (seen) memset(seen, 0, seen_cap);
    run++;
    for (int i = 0; i < nflows; i++) build(i);
    phase(dur, rate, batch, 1);
    double active = st.tlast > st.t0 ? (st.tlast - st.t0) / 1e9 : dur;
    if (active < dur) active = dur;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    double loss = st.tx ? 100.0 * ((double)st.tx - (double)st.rx) / (double)st.tx : 0;
    printf("{\"size\":%d,\"flows\":%d,\"rate\":%.0f,\"dur\":%.1f,\"tx\":%llu,\"rx\":%llu,\"ok\":%llu,\"bad\":%llu,\"dup\":%llu,"
           "\"foreign\":%llu,\"loss_pct\":%.4f,\"rx_pps\":%.0f,\"rtt_p50_us\":%.1f,\"rtt_p99_us\":%.1f,\"cpu_s\":%.3f}\n",
           size, nflows, rate, dur, (unsigned long long)st.tx, (unsigned long long)st.rx, (unsigned long long)st.ok,
           (unsigned long long)st.bad, (unsigned long long)st.dup, (unsigned long long)st.foreign, loss, st.rx / active,
           hist_n ? pct(50) : -1, hist_n ? pct(99) : -1, cpu);
    return st.bad ? 3 : 0;
}
