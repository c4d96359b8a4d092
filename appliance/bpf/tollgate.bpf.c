// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tollgate's kernel data path: GENEVE decap on the uplink (tcx ingress) and encap on gwi-X/gwo-X
 * (tcx egress), the same contract as the user-space data path (appliance/src/datapath).
 *
 * tg_decap, uplink ingress: a GENEVE datagram to a local address and the GENEVE port is validated
 * exactly like appliance/src/geneve/codec.ts (same drop reasons, per-CPU counters). A valid one of
 * a known, ready endpoint has its outer header stored in tg_flows (key: endpoint tag +
 * direction-independent tuple, like flow/key.ts) and its inner packet redirected into gwi-X's
 * ingress, as if the tun had received it. Everything the program does not handle returns
 * TCX_NEXT and takes the normal path up to the daemon's socket, which keeps today's logic for
 * it: unknown or not yet ready endpoints (the daemon creates the interfaces, holds the packets,
 * then adds the endpoint to tg_endpoints), sources outside gwlbCidrs, fragments, unknown
 * critical options, IPv6 extension headers, headers longer than FLOW_HDR_MAX, GRO-merged
 * datagrams (gso_segs > 1), anything that looks like the health canary (inner UDP to its port)
 * but the daemon's own, bad outer checksums (the stack drops and counts them).
 *
 * The daemon's health canary: the daemon runs tg_decap itself (BPF_PROG_TEST_RUN) on a
 * GENEVE-wrapped canary with a secret per-daemon skb mark (tg_config.canary_mark). Only that
 * datagram is decapsulated although it carries the canary port; its flow is stored with
 * FLOW_CANARY, and tg_encap encapsulates the canary like any reply but hands the result to the
 * tun (the daemon) instead of the uplink. Neither counts it as traffic (own counter slots).
 *
 * tg_encap, gwi-X/gwo-X egress: a packet of a flow in tg_flows gets the stored outer header
 * pushed back (Ethernet, IPv4 with DF and TTL 64, UDP from the GWLB's source port to 6081 with a
 * full checksum, the GENEVE header byte for byte) and leaves through the uplink the flow came
 * in on (the daemon's canary flow: to the tun, see above). Everything else goes up to the daemon
 * through the tun descriptor (TCX_NEXT): canary-port packets of other flows, ICMP errors (matched by the packet they quote), fragments, unknown flows, IPv6 extension
 * headers, packets over 8500 bytes.
 *
 * Built with clang -target bpfel from the kernel's uapi headers only (no vmlinux.h, no CO-RE):
 * the object is the same for x86_64 and arm64. Attaching needs tcx (Linux >= 6.6), which also
 * guarantees BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (>= 6.3).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Newer than Debian 12's uapi headers. */
#define ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#define TCX_NEXT -1
#define TCX_DROP 2
#define TCX_REDIRECT 7
#define EEXIST 17

#define GENEVE_BASE 8
#define AWS_CLASS 0x0108
#define FLOW_HDR_MAX 64
#define MAX_PACKET 8500
#define CANARY_PORT 29799
#define CSUM_CHUNK 256
#define CSUM_CHUNKS 36 /* 9216 bytes */

/* Counter slots; mirrored by appliance/src/datapath/kernel.ts (KernelCounter). */
enum {
    C_RX_DATAGRAMS,
    C_RX_BYTES,
    C_TUN_TX_PACKETS,
    C_TUN_TX_BYTES,
    C_TUN_RX_PACKETS,
    C_TUN_RX_BYTES,
    C_TX_DATAGRAMS,
    C_TX_BYTES,
    C_PUNT_DECAP,
    C_PUNT_ENCAP,
    C_REDIRECT_ERRORS,
    C_FLOWS_CREATED, /* flows tg_decap inserted into tg_flows (lookup missed, BPF_NOEXIST insert won) */
    /* the daemon's health canary (never counted as traffic); slots from 15 downwards */
    C_CANARY_ENCAP = 14,
    C_CANARY_DECAP = 15,
    /* GENEVE drop reasons, in codec.ts GENEVE_DROP_REASONS order */
    C_DROP_BASE = 16,
    C_TOO_SHORT = C_DROP_BASE,
    C_BAD_VERSION,
    C_BAD_OPTLEN,
    C_BAD_OPTION,
    C_UNKNOWN_CRITICAL_OPTION, /* never counted here: punted */
    C_UNSUPPORTED_PROTOCOL,
    C_OAM,
    C_MISSING_AWS_OPTION,
    C_DUPLICATE_AWS_OPTION,
    C_EMPTY_PAYLOAD,
    C_INNER_VERSION_MISMATCH,
    C_COUNT = 32,
};

struct config {
    __u16 port;      /* GENEVE port, network order */
    __u16 restrict_sources; /* 1: only sources in tg_sources */
    __u32 canary_mark; /* the daemon's secret skb mark of its canary (test run only); 0: none */
};

#define FLOW_CANARY 1 /* flow_val.flags: the daemon's canary flow (see tg_encap) */

struct endpoint {
    __u32 gwi_ifindex;
    __u32 tag;
};

struct flow_key {
    __u16 tag;
    __u8 family;
    __u8 proto;
    __u16 port_a; /* network order */
    __u16 port_b;
    __u8 a[16];
    __u8 b[16];
};

struct flow_val {
    __u32 ifindex;   /* uplink the flow came in on */
    __u32 local;     /* our address the GWLB sent to (network order) */
    __u32 gwlb;      /* GWLB address (network order) */
    __u16 gwlb_port; /* GWLB source port (network order) */
    __u16 hlen;      /* GENEVE header length */
    __u8 mac_gwlb[6];
    __u8 mac_local[6];
    __u32 flags;     /* FLOW_CANARY */
    __u64 endpoint;  /* endpoint id (wire order): a stale flow never serves another endpoint */
    __u8 hdr[FLOW_HDR_MAX];
};

struct iface {
    __u32 tag;
    __u32 pad;
    __u64 endpoint;
};

struct ep_stats {
    __u64 last_ns;
    __u64 packets_in;
    __u64 packets_out;
};

struct lpm_v4 {
    __u32 prefixlen;
    __u32 addr;
};

struct scratch {
    __u8 buf[CSUM_CHUNK + 8];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct config);
} tg_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64); /* endpoint id, wire byte order */
    __type(value, struct endpoint);
} tg_endpoints SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 131072);
    __type(key, __u32); /* gwi-X / gwo-X ifindex */
    __type(value, struct iface);
} tg_ifaces SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 262144); /* set from flows.maxEntries before loading */
    __type(key, struct flow_key);
    __type(value, struct flow_val);
} tg_flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u32); /* local IPv4 address, network order */
    __type(value, __u8);
} tg_local SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 256);
    __type(key, struct lpm_v4);
    __type(value, __u8);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} tg_sources SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, C_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} tg_counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32); /* endpoint tag */
    __type(value, struct ep_stats);
} tg_ep_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} tg_scratch SEC(".maps");

static __always_inline void count(__u32 slot, __u64 n)
{
    __u64 *c = bpf_map_lookup_elem(&tg_counters, &slot);
    if (c) *c += n;
}

static __always_inline void ep_seen(__u32 tag, int out)
{
    struct ep_stats *s = bpf_map_lookup_elem(&tg_ep_stats, &tag);
    if (!s) {
        struct ep_stats z = {};
        bpf_map_update_elem(&tg_ep_stats, &tag, &z, BPF_NOEXIST);
        s = bpf_map_lookup_elem(&tg_ep_stats, &tag);
        if (!s) return;
    }
    s->last_ns = bpf_ktime_get_ns();
    if (out) s->packets_out++;
    else s->packets_in++;
}

static __always_inline __u32 fold(__u64 s)
{
    s = (s & 0xffffffff) + (s >> 32);
    s = (s & 0xffffffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (__u32)s;
}

/* Ones' complement sum (unfolded, seeded) of skb bytes [off, off + len), read in chunks. */
static __always_inline __s64 sum_bytes(struct __sk_buff *skb, __u32 off, __u32 len, __u32 seed)
{
    __u32 zero = 0;
    struct scratch *s = bpf_map_lookup_elem(&tg_scratch, &zero);
    if (!s) return -1;
    __s64 sum = seed;
    for (int i = 0; i < CSUM_CHUNKS; i++) {
        if (len < CSUM_CHUNK) break;
        if (bpf_skb_load_bytes(skb, off, s->buf, CSUM_CHUNK) < 0) return -1;
        sum = bpf_csum_diff(NULL, 0, (void *)s->buf, CSUM_CHUNK, (__u32)sum);
        if (sum < 0) return -1;
        off += CSUM_CHUNK;
        len -= CSUM_CHUNK;
    }
    if (len >= CSUM_CHUNK) return -1;
    __u64 n = len;
    /* a mask the compiler cannot fold away: the verifier needs n's bound in the register */
    asm volatile("%0 &= 255" : "+r"(n));
    if (n > 0) {
        /* zero the word the last bytes share (csum_diff sums whole words), then load over it */
        *(__u32 *)&s->buf[n & (CSUM_CHUNK - 4)] = 0;
        if (bpf_skb_load_bytes(skb, off, s->buf, n) < 0) return -1;
        sum = bpf_csum_diff(NULL, 0, (void *)s->buf, (n + 3) & (CSUM_CHUNK * 2 - 4), (__u32)sum);
        if (sum < 0) return -1;
    }
    return sum;
}

static __always_inline int cmp_u32(__u32 x, __u32 y)
{
    return (x > y) - (x < y);
}

/*
 * Direction-independent key: (a, port_a) is the endpoint that sorts first, address bytes then
 * port, like flow/key.ts. Addresses are 16 bytes, an IPv4 one zero-padded on both sides, so four
 * big-endian words compare them (constant offsets: no CAP_PERFMON needed, few verifier states).
 */
static __always_inline void order_key(struct flow_key *k, const __u8 *src, const __u8 *dst,
                                      __u16 sport, __u16 dport)
{
    const __u32 *s = (const __u32 *)src, *d = (const __u32 *)dst;
    int cmp = cmp_u32(bpf_ntohl(s[0]), bpf_ntohl(d[0]));
    if (cmp == 0) cmp = cmp_u32(bpf_ntohl(s[1]), bpf_ntohl(d[1]));
    if (cmp == 0) cmp = cmp_u32(bpf_ntohl(s[2]), bpf_ntohl(d[2]));
    if (cmp == 0) cmp = cmp_u32(bpf_ntohl(s[3]), bpf_ntohl(d[3]));
    if (cmp == 0) cmp = cmp_u32(bpf_ntohs(sport), bpf_ntohs(dport));
    int swap = cmp > 0;
    __builtin_memcpy(k->a, swap ? dst : src, 16);
    __builtin_memcpy(k->b, swap ? src : dst, 16);
    k->port_a = swap ? dport : sport;
    k->port_b = swap ? sport : dport;
}

struct inner {
    struct flow_key key;
    __u32 len;
    __u32 l4; /* offset of the transport header */
    __u8 icmp_error;
    __u8 canary_port;
};

/*
 * The flow key of the IP packet at skb offset `off` (length `len`), or -1 when the kernel path
 * does not handle it (fragments, IPv6 extension headers, lengths that do not add up, truncated
 * transport headers): the daemon decides about those.
 */
static __always_inline int parse_inner(struct __sk_buff *skb, __u32 off, __u32 len, __u16 tag,
                                       struct inner *in)
{
    __u8 v;
    if (bpf_skb_load_bytes(skb, off, &v, 1) < 0) return -1;
    __builtin_memset(&in->key, 0, sizeof in->key);
    in->key.tag = tag;
    in->icmp_error = 0;
    in->canary_port = 0;
    in->len = len;
    __u32 src[4] = {}, dst[4] = {};
    __u32 l4, alen;
    __u8 proto;
    if ((v >> 4) == 4) {
        struct iphdr ip;
        if (len < sizeof ip || bpf_skb_load_bytes(skb, off, &ip, sizeof ip) < 0) return -1;
        __u32 ihl = ip.ihl * 4;
        if (ihl < 20 || bpf_ntohs(ip.tot_len) != len) return -1;
        if (ip.frag_off & bpf_htons(0x3fff)) return -1;
        proto = ip.protocol;
        l4 = off + ihl;
        alen = 4;
        in->key.family = 4;
        __builtin_memcpy(src, &ip.saddr, 4);
        __builtin_memcpy(dst, &ip.daddr, 4);
    } else if ((v >> 4) == 6) {
        struct ipv6hdr ip;
        if (len < sizeof ip || bpf_skb_load_bytes(skb, off, &ip, sizeof ip) < 0) return -1;
        if (bpf_ntohs(ip.payload_len) + 40 != len) return -1;
        proto = ip.nexthdr;
        if (proto == 0 || proto == 43 || proto == 44 || proto == 51 || proto == 60) return -1;
        l4 = off + 40;
        alen = 16;
        in->key.family = 6;
        __builtin_memcpy(src, &ip.saddr, 16);
        __builtin_memcpy(dst, &ip.daddr, 16);
    } else {
        return -1;
    }
    in->key.proto = proto;
    in->l4 = l4;
    __u16 ports[2] = {};
    if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
        if (l4 + 4 > off + len || bpf_skb_load_bytes(skb, l4, ports, 4) < 0) return -1;
        if (proto == IPPROTO_UDP && ports[1] == bpf_htons(CANARY_PORT)) in->canary_port = 1;
    } else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
        __u8 type;
        if (bpf_skb_load_bytes(skb, l4, &type, 1) < 0) return -1;
        in->icmp_error = proto == IPPROTO_ICMP ? (alen == 4 && (type == 3 || type == 11 || type == 12))
                                                 : (alen == 16 && type >= 1 && type <= 4);
    }
    order_key(&in->key, (__u8 *)src, (__u8 *)dst, ports[0], ports[1]);
    return 0;
}

/* True when the inner TCP or UDP segment's checksum verifies (pseudo-header from the flow key:
 * the sum does not depend on the address order, and IPv4 addresses are zero-padded); an IPv4 UDP
 * checksum of 0 (none) verifies. */
static __always_inline int l4_checksum_ok(struct __sk_buff *skb, const struct inner *in)
{
    if (in->l4 >= in->len) return 0;
    __u32 seg = in->len - in->l4;
    if (in->key.proto == IPPROTO_UDP && in->key.family == 4) {
        __u16 check;
        if (bpf_skb_load_bytes(skb, in->l4 + 6, &check, 2) < 0) return 0;
        if (check == 0) return 1;
    }
    const __u32 *a = (const __u32 *)in->key.a, *b = (const __u32 *)in->key.b;
    __u64 pseudo = bpf_htons(in->key.proto) + bpf_htons(seg);
    for (int i = 0; i < 4; i++) pseudo += (__u64)a[i] + b[i];
    __s64 sum = sum_bytes(skb, in->l4, seg, fold(pseudo));
    return sum >= 0 && fold(sum) == 0xffff;
}

static __always_inline int drop(__u32 slot)
{
    count(slot, 1);
    return TCX_DROP;
}

/* Checks the GENEVE header at `g` (payload length `plen`); returns 0, a drop slot, or -1 (punt). */
static __always_inline int check_geneve(struct __sk_buff *skb, __u32 g, __u32 plen, __u64 *endpoint,
                                        __u32 *hlen_out, __u16 *proto_out)
{
    __u8 base[GENEVE_BASE];
    if (plen < GENEVE_BASE) return C_TOO_SHORT;
    if (bpf_skb_load_bytes(skb, g, base, GENEVE_BASE) < 0) return -1;
    if (base[0] >> 6) return C_BAD_VERSION;
    __u32 hlen = GENEVE_BASE + ((base[0] & 0x3f) << 2);
    if (hlen > plen) return C_BAD_OPTLEN;
    if (base[1] & 0x80) return C_OAM;
    __u16 proto = ((__u16)base[2] << 8) | base[3];
    if (proto != ETH_P_IP && proto != ETH_P_IPV6) return C_UNSUPPORTED_PROTOCOL;
    __u32 seen = 0;
    __u32 p = GENEVE_BASE;
    for (int i = 0; i < 63; i++) {
        if (p >= hlen) break;
        __u8 opt[4];
        if (p + 4 > hlen) return C_BAD_OPTION;
        if (bpf_skb_load_bytes(skb, g + (p & 0xff), opt, 4) < 0) return -1;
        __u16 cls = ((__u16)opt[0] << 8) | opt[1];
        __u8 type = opt[2];
        __u32 dlen = (opt[3] & 0x1f) << 2;
        __u32 data = p + 4;
        if (data + dlen > hlen) return C_BAD_OPTION;
        if (cls == AWS_CLASS && type >= 1 && type <= 3) {
            __u32 bit = 1u << (type - 1);
            if (dlen != (type == 3 ? 4 : 8)) return C_BAD_OPTION;
            if (seen & bit) return C_DUPLICATE_AWS_OPTION;
            seen |= bit;
            if (type == 1 && bpf_skb_load_bytes(skb, g + (data & 0xff), endpoint, 8) < 0) return -1;
        } else if (type & 0x80) {
            return -1; /* unknown critical option: the daemon drops it (UNKNOWN_CRITICAL_OPTION) */
        }
        p = data + dlen;
    }
    if (seen != 7) return C_MISSING_AWS_OPTION;
    if (plen == hlen) return C_EMPTY_PAYLOAD;
    __u8 v;
    if (bpf_skb_load_bytes(skb, g + hlen, &v, 1) < 0) return -1;
    if ((v >> 4) != (proto == ETH_P_IP ? 4 : 6)) return C_INNER_VERSION_MISMATCH;
    *hlen_out = hlen;
    *proto_out = proto;
    return 0;
}

/* Stores what the return path needs to rebuild the outer header (the GENEVE header verbatim). */
static __always_inline int fill_flow(struct __sk_buff *skb, struct flow_val *v, const struct ethhdr *eth,
                                     const struct iphdr *ip, const struct udphdr *udp, __u32 g,
                                     __u32 hlen, __u64 endpoint)
{
    v->endpoint = endpoint;
    v->ifindex = skb->ifindex;
    v->local = ip->daddr;
    v->gwlb = ip->saddr;
    v->gwlb_port = udp->source;
    v->hlen = hlen;
    __builtin_memcpy(v->mac_gwlb, eth->h_source, 6);
    __builtin_memcpy(v->mac_local, eth->h_dest, 6);
    if (hlen < GENEVE_BASE || hlen > FLOW_HDR_MAX) return -1;
    return bpf_skb_load_bytes(skb, g, v->hdr, hlen);
}

static __always_inline int same_flow(const struct flow_val *a, const struct flow_val *b)
{
    const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
    __u64 diff = 0;
#pragma clang loop unroll(full)
    for (int i = 0; i < (int)(sizeof *a / 8); i++) diff |= x[i] ^ y[i];
    return diff == 0;
}

SEC("tc")
int tg_decap(struct __sk_buff *skb)
{
    __u32 zero = 0;
    struct config *cfg = bpf_map_lookup_elem(&tg_config, &zero);
    if (!cfg || cfg->port == 0) return TCX_NEXT;
    if (skb->protocol != bpf_htons(ETH_P_IP) || skb->pkt_type != 0 /* PACKET_HOST */)
        return TCX_NEXT;
    struct ethhdr eth;
    struct iphdr ip;
    struct udphdr udp;
    if (bpf_skb_load_bytes(skb, 0, &eth, sizeof eth) < 0) return TCX_NEXT;
    if (bpf_skb_load_bytes(skb, sizeof eth, &ip, sizeof ip) < 0) return TCX_NEXT;
    /* outer IPv4 without options, not a fragment, UDP to the GENEVE port of a local address */
    if (ip.version != 4 || ip.ihl != 5 || ip.protocol != IPPROTO_UDP) return TCX_NEXT;
    if (ip.frag_off & bpf_htons(0x3fff)) return TCX_NEXT;
    if (bpf_skb_load_bytes(skb, sizeof eth + sizeof ip, &udp, sizeof udp) < 0) return TCX_NEXT;
    if (udp.dest != cfg->port) return TCX_NEXT;
    if (!bpf_map_lookup_elem(&tg_local, &ip.daddr)) return TCX_NEXT;
    if (cfg->restrict_sources) {
        struct lpm_v4 k = { .prefixlen = 32, .addr = ip.saddr };
        if (!bpf_map_lookup_elem(&tg_sources, &k)) return TCX_NEXT; /* SOURCE_NOT_ALLOWED */
    }
    if (skb->gso_segs > 1) goto punt;
    __u32 tot = bpf_ntohs(ip.tot_len);
    __u32 ulen = bpf_ntohs(udp.len);
    if (tot + sizeof eth > skb->len || ulen != tot - sizeof ip || ulen < sizeof udp) goto punt;
    /* what ip_rcv and udp_rcv would check before the socket: header and UDP checksums */
    __s64 ipsum = bpf_csum_diff(NULL, 0, (void *)&ip, sizeof ip, 0);
    if (ipsum < 0 || fold(ipsum) != 0xffff) goto punt;
    if (udp.check && bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY) < 0) {
        /* Not verified by the NIC (CHECKSUM_UNNECESSARY): verify it. A virtual sender's
         * CHECKSUM_PARTIAL datagram (veth with TX checksum offload) carries only the folded
         * pseudo-header sum, which the stack trusts too; no NIC delivers that. */
        __u64 pseudo = (__u64)ip.saddr + ip.daddr + bpf_htons(IPPROTO_UDP) + udp.len;
        __u32 seed = fold(pseudo);
        if (udp.check != (__u16)seed) {
            __s64 s = sum_bytes(skb, sizeof eth + sizeof ip, ulen, seed);
            if (s < 0 || fold(s) != 0xffff) goto punt;
        }
    }
    __u32 g = sizeof eth + sizeof ip + sizeof udp;
    __u32 plen = ulen - sizeof udp;
    __u64 epid = 0;
    __u32 hlen = 0;
    __u16 gproto = 0;
    int r = check_geneve(skb, g, plen, &epid, &hlen, &gproto);
    if (r < 0) goto punt;
    if (r > 0) {
        count(C_RX_DATAGRAMS, 1);
        count(C_RX_BYTES, plen);
        return drop(r);
    }
    struct endpoint *ep = bpf_map_lookup_elem(&tg_endpoints, &epid);
    if (!ep || hlen > FLOW_HDR_MAX) goto punt;
    struct inner in;
    if (parse_inner(skb, g + hlen, plen - hlen, ep->tag, &in) < 0) goto punt;
    /* Inner UDP to the canary port goes up to the daemon (which drops it: CANARY_SPOOFED),
     * except the daemon's own canary: run through this program by BPF_PROG_TEST_RUN with the
     * daemon's secret mark (no packet from the wire carries a mark at tcx ingress). */
    int canary = 0;
    if (in.canary_port) {
        if (cfg->canary_mark == 0 || skb->mark != cfg->canary_mark) goto punt;
        canary = 1;
    }

    /* Built on the stack and written only when it changed (the usual packet writes nothing):
     * one pointer kind per instruction, as the verifier wants without CAP_PERFMON. */
    struct flow_val fresh = {};
    if (fill_flow(skb, &fresh, &eth, &ip, &udp, g, hlen, epid) < 0) goto punt;
    fresh.flags = canary ? FLOW_CANARY : 0;
    /* A new flow is inserted with BPF_NOEXIST and counted (C_FLOWS_CREATED) only when this CPU's
     * insert won: two CPUs racing on one new flow count it once (the loser gets -EEXIST and goes
     * on with the winner's entry). A known flow whose header changed is replaced (BPF_EXIST), not
     * counted. The daemon derives the kernel's evictions from this count and the map's element
     * count (kernel.ts). */
    struct flow_val *v = bpf_map_lookup_elem(&tg_flows, &in.key);
    if (!v) {
        long r = bpf_map_update_elem(&tg_flows, &in.key, &fresh, BPF_NOEXIST);
        if (r == 0) count(C_FLOWS_CREATED, 1);
        else if (r != -EEXIST) goto punt;
    } else if (!same_flow(v, &fresh)) {
        if (bpf_map_update_elem(&tg_flows, &in.key, &fresh, BPF_EXIST) < 0) goto punt;
    }
    __u32 gwi = ep->gwi_ifindex;
    if (canary) {
        count(C_CANARY_DECAP, 1); /* not traffic: no activity, no traffic counters */
    } else {
        ep_seen(ep->tag, 0);
        count(C_RX_DATAGRAMS, 1);
        count(C_RX_BYTES, plen);
    }
    if (bpf_skb_adjust_room(skb, -(__s32)(sizeof ip + sizeof udp + hlen), BPF_ADJ_ROOM_MAC,
                            gproto == ETH_P_IP ? ADJ_ROOM_DECAP_L3_IPV4 : ADJ_ROOM_DECAP_L3_IPV6) < 0)
        return drop(C_REDIRECT_ERRORS);
    if (!canary) {
        count(C_TUN_TX_PACKETS, 1);
        count(C_TUN_TX_BYTES, plen - hlen);
    }
    return bpf_redirect(gwi, BPF_F_INGRESS);
punt:
    count(C_PUNT_DECAP, 1);
    return TCX_NEXT;
}

SEC("tc")
int tg_encap(struct __sk_buff *skb)
{
    __u32 ifindex = skb->ifindex;
    struct iface *ifc = bpf_map_lookup_elem(&tg_ifaces, &ifindex);
    if (!ifc) return TCX_NEXT;
    __u32 tag = ifc->tag;
    __u64 endpoint = ifc->endpoint;
    __u32 len = skb->len;
    if (len > MAX_PACKET || skb->gso_segs > 1) goto punt;
    struct inner in;
    if (parse_inner(skb, 0, len, tag, &in) < 0 || in.icmp_error) goto punt;
    /* TCP or UDP from a socket (a transparent proxy or a server on the appliance, a kernel RST)
     * may carry a partial checksum that the device's transmit path completes only after this
     * hook: an outer checksum computed now would freeze it wrong. Such a segment does not verify
     * here; it goes to the tun, whose transmit path completes it, and the daemon encapsulates it. */
    if (skb->sk && (in.key.proto == IPPROTO_TCP || in.key.proto == IPPROTO_UDP) &&
        !l4_checksum_ok(skb, &in))
        goto punt;
    struct flow_val *f = bpf_map_lookup_elem(&tg_flows, &in.key);
    if (!f || f->endpoint != endpoint) goto punt;
    /* Inner UDP to the canary port is encapsulated only on the daemon's canary flow (which only
     * a test run with the daemon's mark creates), and that flow never leaves (below). */
    if (in.canary_port && !(f->flags & FLOW_CANARY)) goto punt;
    struct flow_val v = *f;
    __u32 hlen = v.hlen;
    if (hlen < GENEVE_BASE || hlen > FLOW_HDR_MAX) goto punt;
    __u32 outer = sizeof(struct iphdr) + sizeof(struct udphdr) + hlen;
    if (bpf_skb_adjust_room(skb, outer, BPF_ADJ_ROOM_MAC,
                            BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP) < 0)
        goto punt;
    if (bpf_skb_change_head(skb, sizeof(struct ethhdr), 0) < 0) return drop(C_REDIRECT_ERRORS);

    struct {
        struct ethhdr eth;
        struct iphdr ip;
        struct udphdr udp;
    } __attribute__((packed)) h = {};
    __builtin_memcpy(h.eth.h_dest, v.mac_gwlb, 6);
    __builtin_memcpy(h.eth.h_source, v.mac_local, 6);
    h.eth.h_proto = bpf_htons(ETH_P_IP);
    h.ip.version = 4;
    h.ip.ihl = 5;
    h.ip.tot_len = bpf_htons(outer + len);
    h.ip.frag_off = bpf_htons(0x4000); /* DF: GWLB drops fragments anyway */
    h.ip.ttl = 64;
    h.ip.protocol = IPPROTO_UDP;
    h.ip.saddr = v.local;
    h.ip.daddr = v.gwlb;
    h.ip.check = ~fold(bpf_csum_diff(NULL, 0, (void *)&h.ip, sizeof h.ip, 0)) & 0xffff;
    h.udp.source = v.gwlb_port;
    h.udp.dest = bpf_htons(6081);
    h.udp.len = bpf_htons(sizeof(struct udphdr) + hlen + len);
    if (bpf_skb_store_bytes(skb, 0, &h, sizeof h, 0) < 0) return drop(C_REDIRECT_ERRORS);
    if (bpf_skb_store_bytes(skb, sizeof h, v.hdr, hlen, 0) < 0)
        return drop(C_REDIRECT_ERRORS);
    __u64 pseudo = (__u64)v.local + v.gwlb + bpf_htons(IPPROTO_UDP) + h.udp.len;
    __u32 ulen = sizeof(struct udphdr) + hlen + len;
    __s64 s = sum_bytes(skb, sizeof h.eth + sizeof h.ip, ulen, fold(pseudo));
    if (s < 0) return drop(C_REDIRECT_ERRORS);
    __u16 c = ~fold(s) & 0xffff;
    if (c == 0) c = 0xffff;
    if (bpf_skb_store_bytes(skb, sizeof h.eth + sizeof h.ip + 6, &c, 2, 0) < 0)
        return drop(C_REDIRECT_ERRORS);
    if (v.flags & FLOW_CANARY) {
        /* The daemon's canary, encapsulated like every reply: it goes on to the tun, where the
         * daemon reads it and checks it byte for byte. Never redirected: it cannot reach the
         * uplink or come through this program again. */
        count(C_CANARY_ENCAP, 1);
        return TCX_NEXT;
    }
    ep_seen(tag, 1);
    count(C_TUN_RX_PACKETS, 1);
    count(C_TUN_RX_BYTES, len);
    count(C_TX_DATAGRAMS, 1);
    count(C_TX_BYTES, hlen + len);
    return bpf_redirect(v.ifindex, 0);
punt:
    count(C_PUNT_ENCAP, 1);
    return TCX_NEXT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
