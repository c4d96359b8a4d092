/*
 * tollgate_native: the small Node-API addon behind Tollgate's data path.
 *
 * Node has no API for tun descriptors, batched datagram syscalls (recvmmsg/sendmmsg) or a raw
 * socket, so this file provides exactly those and nothing else; every per-packet decision
 * (GENEVE decoding, flow lookup, encapsulation) stays in TypeScript. All packet data lives in
 * caller-owned Buffers addressed by offsets, so no call allocates per packet.
 *
 *   tunOpen(name, multiQueue)            -> { fd, name }   O_NONBLOCK, IFF_TUN | IFF_NO_PI
 *   ifConfigure(name, mtu, up, noQueue)                    SIOCSIFMTU + SIOCSIFFLAGS (+ default qdisc noqueue)
 *   ifFlags(name)                         -> flags | -1    SIOCGIFFLAGS (-1: no such interface)
 *   udpOpen(address, port, bufBytes)      -> { fd, rcvbuf, sndbuf }   bound, O_NONBLOCK, IP_PKTINFO
 *   rawOpen(bufBytes)                     -> { fd, sndbuf }   AF_INET/SOCK_RAW/IPPROTO_RAW, send only
 *   closeFd(fd)
 *   recvBatch(fd, buf, slot, max, meta)   -> n             recvmmsg; meta[4k..4k+3] = len (bit 31: truncated),
 *                                                          source address, source port, local address
 *   writeEach(fds, buf, offs, lens, n, errs) -> ok         write() per packet, errs[k] = errno or 0
 *   readEach(fd, buf, base, stride, cap, max, lens) -> n   read() until EAGAIN or max; -errno on error
 *   sendRawBatch(fd, buf, meta, n)        -> sent          meta[6k..6k+5] = offset, length, saddr, daddr,
 *                                                          sport, dport: writes IPv4 + UDP headers (with the
 *                                                          UDP checksum) in the 28 bytes before offset, sendmmsg
 *   watch(fd, callback)                   -> handle        libuv poll (readable) calling callback()
 *   unwatch(handle)
 * Addresses are IPv4 as unsigned 32-bit numbers in host order (10.0.0.1 = 0x0a000001).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_BATCH 1024
#define HDR_ROOM 28 /* IPv4 (20) + UDP (8) */

/* ---------- helpers ---------- */

static napi_value throw_errno(napi_env env, const char *what, int err)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
    napi_value code, text, error;
    const char *name = "EUNKNOWN";
    switch (err) {
    case EPERM: name = "EPERM"; break;
    case EACCES: name = "EACCES"; break;
    case ENOENT: name = "ENOENT"; break;
    case ENODEV: name = "ENODEV"; break;
    case EBUSY: name = "EBUSY"; break;
    case EINVAL: name = "EINVAL"; break;
    case EADDRINUSE: name = "EADDRINUSE"; break;
    case EADDRNOTAVAIL: name = "EADDRNOTAVAIL"; break;
    case EBADF: name = "EBADF"; break;
    }
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, code, text, &error);
    napi_value errnoval;
    napi_create_int32(env, err, &errnoval);
    napi_set_named_property(env, error, "errno", errnoval);
    napi_throw(env, error);
    return NULL;
}

static napi_value throw_type(napi_env env, const char *msg)
{
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
    size_t argc = want;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
        throw_type(env, "missing arguments");
        return -1;
    }
    return 0;
}

static int get_i32(napi_env env, napi_value v, int32_t *out)
{
    if (napi_get_value_int32(env, v, out) != napi_ok) {
        throw_type(env, "expected a number");
        return -1;
    }
    return 0;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out)
{
    if (napi_get_value_uint32(env, v, out) != napi_ok) {
        throw_type(env, "expected a number");
        return -1;
    }
    return 0;
}

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len)
{
    void *d;
    if (napi_get_buffer_info(env, v, &d, len) != napi_ok) {
        throw_type(env, "expected a Buffer");
        return -1;
    }
    *data = d;
    return 0;
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len)
{
    napi_typedarray_type t;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok || t != want) {
        throw_type(env, want == napi_uint32_array ? "expected a Uint32Array" : "expected an Int32Array");
        return -1;
    }
    return 0;
}

static int get_ifname(napi_env env, napi_value v, char *name)
{
    size_t n;
    char tmp[64];
    if (napi_get_value_string_utf8(env, v, tmp, sizeof tmp, &n) != napi_ok) {
        throw_type(env, "expected an interface name");
        return -1;
    }
    if (n == 0 || n > IFNAMSIZ - 1 || strchr(tmp, '/') || strchr(tmp, ' ')) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "interface name must be 1-15 characters");
        return -1;
    }
    memcpy(name, tmp, n + 1);
    return 0;
}

static napi_value num(napi_env env, double v)
{
    napi_value r;
    napi_create_double(env, v, &r);
    return r;
}

static void set_buf(int fd, int opt_force, int opt, int bytes)
{
    if (bytes <= 0) return;
    if (setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

static int get_sockopt_int(int fd, int opt)
{
    int v = 0;
    socklen_t l = sizeof v;
    getsockopt(fd, SOL_SOCKET, opt, &v, &l);
    return v;
}

/* ---------- tun and interfaces ---------- */

static napi_value TunOpen(napi_env env, napi_callback_info info)
{
    napi_value argv[2];
    char name[IFNAMSIZ];
    bool mq = false;
    if (get_args(env, info, 2, argv) || get_ifname(env, argv[0], name)) return NULL;
    napi_get_value_bool(env, argv[1], &mq);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return throw_errno(env, "open /dev/net/tun", errno);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (mq ? IFF_MULTI_QUEUE : 0);
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        close(fd);
        return throw_errno(env, "TUNSETIFF", e);
    }
    napi_value obj, n;
    napi_create_object(env, &obj);
    napi_set_named_property(env, obj, "fd", num(env, fd));
    napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &n);
    napi_set_named_property(env, obj, "name", n);
    return obj;
}

/*
 * noQueue: a tun gets pfifo_fast as its default qdisc, which only adds an enqueue/dequeue and a
 * lock per packet (the tun driver never pushes back; it drops when its ring is full). A device
 * brought up with txqueuelen 0 gets "noqueue" as its default qdisc instead; the queue length is
 * restored right after, so a hook's `tc qdisc add dev X root ...` still works (the default qdisc
 * is replaceable) and gets the usual limits.
 */
static napi_value IfConfigure(napi_env env, napi_callback_info info)
{
    napi_value argv[4];
    char name[IFNAMSIZ];
    int32_t mtu;
    bool up = false, noqueue = false;
    if (get_args(env, info, 3, argv) || get_ifname(env, argv[0], name) || get_i32(env, argv[1], &mtu)) return NULL;
    napi_get_value_bool(env, argv[2], &up);
    size_t argc = 4;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc >= 4) napi_get_value_bool(env, argv[3], &noqueue);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return throw_errno(env, "socket", errno);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strlen(name));
    if (mtu > 0) {
        ifr.ifr_mtu = mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) != 0) {
            int e = errno;
            close(s);
            return throw_errno(env, "SIOCSIFMTU", e);
        }
    }
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
        int e = errno;
        close(s);
        return throw_errno(env, "SIOCGIFFLAGS", e);
    }
    short flags = ifr.ifr_flags;
    int qlen = -1;
    if (up && noqueue && !(flags & IFF_UP) && ioctl(s, SIOCGIFTXQLEN, &ifr) == 0) {
        qlen = ifr.ifr_qlen;
        ifr.ifr_qlen = 0;
        if (ioctl(s, SIOCSIFTXQLEN, &ifr) != 0) qlen = -1;
    }
    ifr.ifr_flags = up ? (flags | IFF_UP) : (flags & ~IFF_UP);
    int r = ioctl(s, SIOCSIFFLAGS, &ifr);
    int e = errno;
    if (qlen >= 0) {
        ifr.ifr_qlen = qlen;
        ioctl(s, SIOCSIFTXQLEN, &ifr);
    }
    close(s);
    if (r != 0) return throw_errno(env, "SIOCSIFFLAGS", e);
    return NULL;
}

static napi_value IfFlags(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    char name[IFNAMSIZ];
    if (get_args(env, info, 1, argv) || get_ifname(env, argv[0], name)) return NULL;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return throw_errno(env, "socket", errno);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strlen(name));
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    close(s);
    return num(env, r == 0 ? (double)(unsigned short)ifr.ifr_flags : -1);
}

/* ---------- sockets ---------- */

static napi_value UdpOpen(napi_env env, napi_callback_info info)
{
    napi_value argv[3];
    char addr[64];
    size_t alen;
    int32_t port, bytes;
    if (get_args(env, info, 3, argv)) return NULL;
    if (napi_get_value_string_utf8(env, argv[0], addr, sizeof addr, &alen) != napi_ok)
        return throw_type(env, "expected an IPv4 address");
    if (get_i32(env, argv[1], &port) || get_i32(env, argv[2], &bytes)) return NULL;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        napi_throw_range_error(env, "ERR_INVALID_IP_ADDRESS", "invalid IPv4 listen address");
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return throw_errno(env, "socket", errno);
    /* no SO_REUSEADDR: a second daemon on the same port must fail to start, not steal traffic */
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
    set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return throw_errno(env, "bind", e);
    }
    napi_value obj;
    napi_create_object(env, &obj);
    napi_set_named_property(env, obj, "fd", num(env, fd));
    napi_set_named_property(env, obj, "rcvbuf", num(env, get_sockopt_int(fd, SO_RCVBUF)));
    napi_set_named_property(env, obj, "sndbuf", num(env, get_sockopt_int(fd, SO_SNDBUF)));
    return obj;
}

static napi_value RawOpen(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    int32_t bytes;
    if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &bytes)) return NULL;
    /* IPPROTO_RAW: send only (never receives), IP_HDRINCL implied */
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0) return throw_errno(env, "raw socket", errno);
    set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
    napi_value obj;
    napi_create_object(env, &obj);
    napi_set_named_property(env, obj, "fd", num(env, fd));
    napi_set_named_property(env, obj, "sndbuf", num(env, get_sockopt_int(fd, SO_SNDBUF)));
    return obj;
}

static napi_value CloseFd(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    int32_t fd;
    if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd)) return NULL;
    if (close(fd) != 0) return throw_errno(env, "close", errno);
    return NULL;
}

/* ---------- batched I/O ---------- */

static struct mmsghdr g_msgs[MAX_BATCH];
static struct iovec g_iov[MAX_BATCH];
static struct sockaddr_in g_addr[MAX_BATCH];
static union {
    char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
    struct cmsghdr align;
} g_ctl[MAX_BATCH];

static napi_value RecvBatch(napi_env env, napi_callback_info info)
{
    napi_value argv[5];
    int32_t fd;
    uint32_t slot, max;
    uint8_t *buf;
    size_t blen, mlen;
    uint32_t *meta;
    if (get_args(env, info, 5, argv) || get_i32(env, argv[0], &fd) || get_buffer(env, argv[1], &buf, &blen) ||
        get_u32(env, argv[2], &slot) || get_u32(env, argv[3], &max) ||
        get_typed(env, argv[4], napi_uint32_array, (void **)&meta, &mlen))
        return NULL;
    if (max > MAX_BATCH) max = MAX_BATCH;
    if (slot == 0 || (size_t)slot * max > blen || (size_t)max * 4 > mlen) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "buffer or meta array too small for the batch");
        return NULL;
    }
    for (uint32_t k = 0; k < max; k++) {
        g_iov[k].iov_base = buf + (size_t)k * slot;
        g_iov[k].iov_len = slot;
        g_msgs[k].msg_hdr = (struct msghdr){ .msg_name = &g_addr[k], .msg_namelen = sizeof g_addr[k],
                                             .msg_iov = &g_iov[k], .msg_iovlen = 1,
                                             .msg_control = g_ctl[k].buf, .msg_controllen = sizeof g_ctl[k].buf };
        g_msgs[k].msg_len = 0;
    }
    int r = recvmmsg(fd, g_msgs, max, MSG_DONTWAIT, NULL);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return num(env, 0);
        return num(env, -errno);
    }
    for (int k = 0; k < r; k++) {
        struct msghdr *h = &g_msgs[k].msg_hdr;
        uint32_t local = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                local = ntohl(pi.ipi_addr.s_addr);
            }
        }
        meta[k * 4] = g_msgs[k].msg_len | ((h->msg_flags & MSG_TRUNC) ? 0x80000000u : 0);
        meta[k * 4 + 1] = ntohl(g_addr[k].sin_addr.s_addr);
        meta[k * 4 + 2] = ntohs(g_addr[k].sin_port);
        meta[k * 4 + 3] = local;
    }
    return num(env, r);
}

static napi_value WriteEach(napi_env env, napi_callback_info info)
{
    napi_value argv[6];
    int32_t *fds, *errs;
    uint32_t *offs, *lens, n;
    uint8_t *buf;
    size_t blen, nf, no, nl, ne;
    if (get_args(env, info, 6, argv) || get_typed(env, argv[0], napi_int32_array, (void **)&fds, &nf) ||
        get_buffer(env, argv[1], &buf, &blen) || get_typed(env, argv[2], napi_uint32_array, (void **)&offs, &no) ||
        get_typed(env, argv[3], napi_uint32_array, (void **)&lens, &nl) || get_u32(env, argv[4], &n) ||
        get_typed(env, argv[5], napi_int32_array, (void **)&errs, &ne))
        return NULL;
    if (n > nf || n > no || n > nl || n > ne) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "count exceeds an array");
        return NULL;
    }
    int ok = 0;
    for (uint32_t k = 0; k < n; k++) {
        if ((size_t)offs[k] + lens[k] > blen) {
            errs[k] = EFAULT;
            continue;
        }
        ssize_t w = write(fds[k], buf + offs[k], lens[k]);
        if (w < 0) errs[k] = errno;
        else {
            errs[k] = 0;
            ok++;
        }
    }
    return num(env, ok);
}

static napi_value ReadEach(napi_env env, napi_callback_info info)
{
    napi_value argv[7];
    int32_t fd;
    uint32_t base, stride, cap, max, *lens;
    uint8_t *buf;
    size_t blen, nl;
    if (get_args(env, info, 7, argv) || get_i32(env, argv[0], &fd) || get_buffer(env, argv[1], &buf, &blen) ||
        get_u32(env, argv[2], &base) || get_u32(env, argv[3], &stride) || get_u32(env, argv[4], &cap) ||
        get_u32(env, argv[5], &max) || get_typed(env, argv[6], napi_uint32_array, (void **)&lens, &nl))
        return NULL;
    if (max > nl || (max > 0 && (size_t)base + (size_t)stride * (max - 1) + cap > blen)) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "buffer or length array too small");
        return NULL;
    }
    uint32_t n = 0;
    while (n < max) {
        ssize_t r = read(fd, buf + base + (size_t)stride * n, cap);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || n > 0) break;
            return num(env, -errno);
        }
        lens[n++] = (uint32_t)r;
    }
    return num(env, n);
}

static inline uint32_t csum_partial(const uint8_t *p, size_t len, uint64_t sum)
{
    while (len >= 8) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + 4, 4);
        sum += (uint64_t)a + b;
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t a;
        memcpy(&a, p, 4);
        sum += a;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t a;
        memcpy(&a, p, 2);
        sum += a;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint16_t a = 0;
        memcpy(&a, p, 1); /* the odd byte is the high-order byte of a big-endian word */
        sum += a;
    }
    while (sum >> 32) sum = (sum & 0xffffffffu) + (sum >> 32);
    return (uint32_t)sum;
}

static inline uint16_t csum_fold(uint32_t s)
{
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static uint32_t send_raw(int fd, uint8_t *buf, size_t blen, const uint32_t *meta, uint32_t n)
{
    uint32_t m = 0;
    for (uint32_t k = 0; k < n; k++) {
        const uint32_t *d = meta + k * 6;
        uint32_t off = d[0], len = d[1];
        if (off < HDR_ROOM || (size_t)off + len > blen || len + HDR_ROOM > 65535) continue;
        uint8_t *h = buf + off - HDR_ROOM;
        uint32_t saddr = htonl(d[2]), daddr = htonl(d[3]);
        uint16_t ulen = htons((uint16_t)(len + 8));
        /* IPv4 header: kernel fills total length, id (when 0) and header checksum */
        h[0] = 0x45;
        h[1] = 0;
        memset(h + 2, 0, 4);
        h[6] = 0x40; /* DF: GWLB drops fragments anyway */
        h[7] = 0;
        h[8] = 64;
        h[9] = IPPROTO_UDP;
        h[10] = h[11] = 0;
        memcpy(h + 12, &saddr, 4);
        memcpy(h + 16, &daddr, 4);
        uint8_t *u = h + 20;
        uint16_t sport = htons((uint16_t)d[4]), dport = htons((uint16_t)d[5]);
        memcpy(u, &sport, 2);
        memcpy(u + 2, &dport, 2);
        memcpy(u + 4, &ulen, 2);
        u[6] = u[7] = 0;
        /* pseudo header (addresses, protocol, UDP length) + UDP header + payload, RFC 768 */
        uint64_t s = (uint64_t)saddr + daddr + htons(IPPROTO_UDP) + ulen;
        uint16_t c = (uint16_t)~csum_fold(csum_partial(u, len + 8, s));
        if (c == 0) c = 0xffff;
        memcpy(u + 6, &c, 2);
        g_iov[m].iov_base = h;
        g_iov[m].iov_len = len + HDR_ROOM;
        g_addr[m] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = daddr };
        g_msgs[m].msg_hdr = (struct msghdr){ .msg_name = &g_addr[m], .msg_namelen = sizeof g_addr[m],
                                             .msg_iov = &g_iov[m], .msg_iovlen = 1 };
        m++;
    }
    uint32_t sent = 0, done = 0;
    while (done < m) {
        int r = sendmmsg(fd, g_msgs + done, m - done, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            done++; /* this datagram failed (buffer full, unreachable...): drop it, go on */
            continue;
        }
        sent += r;
        done += r;
    }
    return sent;
}

static napi_value SendRawBatch(napi_env env, napi_callback_info info)
{
    napi_value argv[4];
    int32_t fd;
    uint32_t n, *meta;
    uint8_t *buf;
    size_t blen, mlen;
    if (get_args(env, info, 4, argv) || get_i32(env, argv[0], &fd) || get_buffer(env, argv[1], &buf, &blen) ||
        get_typed(env, argv[2], napi_uint32_array, (void **)&meta, &mlen) || get_u32(env, argv[3], &n))
        return NULL;
    if (n > MAX_BATCH || (size_t)n * 6 > mlen) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "count exceeds the batch or the meta array");
        return NULL;
    }
    return num(env, send_raw(fd, buf, blen, meta, n));
}

/* ---------- bound fast path ----------
 *
 * The calls above take their buffers as arguments, and unpacking a Buffer or a typed array costs
 * more than the copy itself at one packet per call. The data path binds its buffers once
 * (dpBind) and then calls with integers only; the receive message headers are prepared once too.
 *
 *   dpBind(rxFd, txFd, rxBuf, slot, rxMeta, wFds, wOffs, wLens, wErrs, txBuf, txBase, txStride,
 *          txCap, txLens, txMeta) -> handle
 *   dpRecv(h, max) -> n          like recvBatch into rxBuf/rxMeta
 *   dpWrite(h, n) -> ok          like writeEach from rxBuf with wFds/wOffs/wLens/wErrs
 *   dpRead(h, fd, max) -> n      like readEach into txBuf (txBase, txStride, txCap) and txLens
 *   dpSend(h, n) -> sent         like sendRawBatch from txBuf with txMeta
 */
typedef struct {
    int rxfd, txfd;
    uint8_t *rx;
    size_t rxlen;
    uint32_t slot, batch, *rxmeta;
    int32_t *wfds, *werrs;
    uint32_t *woffs, *wlens;
    uint8_t *tx;
    size_t txlen;
    uint32_t txbase, txstride, txcap, *txlens, *txmeta;
    napi_ref refs[9];
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_in *addr;
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } *ctl;
} dp_t;

static void dp_finalize(napi_env env, void *data, void *hint)
{
    dp_t *d = data;
    for (int i = 0; i < 9; i++)
        if (d->refs[i]) napi_delete_reference(env, d->refs[i]);
    free(d->msgs);
    free(d->iov);
    free(d->addr);
    free(d->ctl);
    free(d);
}

static dp_t *get_dp(napi_env env, napi_value v)
{
    void *p = NULL;
    if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
        throw_type(env, "expected a data path handle");
        return NULL;
    }
    return p;
}

static napi_value DpBind(napi_env env, napi_callback_info info)
{
    napi_value a[15];
    if (get_args(env, info, 15, a)) return NULL;
    dp_t *d = calloc(1, sizeof *d);
    if (!d) return throw_errno(env, "calloc", ENOMEM);
    size_t n_meta, n_wfds, n_woffs, n_wlens, n_werrs, n_txlens, n_txmeta;
    if (get_i32(env, a[0], &d->rxfd) || get_i32(env, a[1], &d->txfd) || get_buffer(env, a[2], &d->rx, &d->rxlen) ||
        get_u32(env, a[3], &d->slot) || get_typed(env, a[4], napi_uint32_array, (void **)&d->rxmeta, &n_meta) ||
        get_typed(env, a[5], napi_int32_array, (void **)&d->wfds, &n_wfds) ||
        get_typed(env, a[6], napi_uint32_array, (void **)&d->woffs, &n_woffs) ||
        get_typed(env, a[7], napi_uint32_array, (void **)&d->wlens, &n_wlens) ||
        get_typed(env, a[8], napi_int32_array, (void **)&d->werrs, &n_werrs) || get_buffer(env, a[9], &d->tx, &d->txlen) ||
        get_u32(env, a[10], &d->txbase) || get_u32(env, a[11], &d->txstride) || get_u32(env, a[12], &d->txcap) ||
        get_typed(env, a[13], napi_uint32_array, (void **)&d->txlens, &n_txlens) ||
        get_typed(env, a[14], napi_uint32_array, (void **)&d->txmeta, &n_txmeta)) {
        free(d);
        return NULL;
    }
    d->batch = (uint32_t)n_wfds;
    if (d->slot == 0 || d->batch == 0 || d->batch > MAX_BATCH || (size_t)d->slot * d->batch > d->rxlen ||
        n_meta < 4 * (size_t)d->batch || n_woffs < d->batch || n_wlens < d->batch || n_werrs < d->batch ||
        n_txlens < d->batch || n_txmeta < 6 * (size_t)d->batch || d->txbase < HDR_ROOM ||
        (size_t)d->txbase + (size_t)d->txstride * (d->batch - 1) + d->txcap > d->txlen) {
        free(d);
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "data path buffers do not match the batch size");
        return NULL;
    }
    d->msgs = calloc(d->batch, sizeof *d->msgs);
    d->iov = calloc(d->batch, sizeof *d->iov);
    d->addr = calloc(d->batch, sizeof *d->addr);
    d->ctl = calloc(d->batch, sizeof *d->ctl);
    if (!d->msgs || !d->iov || !d->addr || !d->ctl) {
        dp_finalize(env, d, NULL);
        return throw_errno(env, "calloc", ENOMEM);
    }
    for (uint32_t k = 0; k < d->batch; k++) {
        d->iov[k].iov_base = d->rx + (size_t)k * d->slot;
        d->iov[k].iov_len = d->slot;
        d->msgs[k].msg_hdr = (struct msghdr){ .msg_name = &d->addr[k], .msg_namelen = sizeof d->addr[k],
                                              .msg_iov = &d->iov[k], .msg_iovlen = 1,
                                              .msg_control = d->ctl[k].buf, .msg_controllen = sizeof d->ctl[k].buf };
    }
    const int keep[9] = { 2, 4, 5, 6, 7, 8, 9, 13, 14 };
    for (int i = 0; i < 9; i++) napi_create_reference(env, a[keep[i]], 1, &d->refs[i]);
    napi_value ext;
    napi_create_external(env, d, dp_finalize, NULL, &ext);
    return ext;
}

static int dp_recv(dp_t *d, uint32_t max)
{
    if (max > d->batch) max = d->batch;
    int r = recvmmsg(d->rxfd, d->msgs, max, MSG_DONTWAIT, NULL);
    if (r < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
    for (int k = 0; k < r; k++) {
        struct msghdr *h = &d->msgs[k].msg_hdr;
        uint32_t local = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                local = ntohl(pi.ipi_addr.s_addr);
            }
        }
        d->rxmeta[k * 4] = d->msgs[k].msg_len | ((h->msg_flags & MSG_TRUNC) ? 0x80000000u : 0);
        d->rxmeta[k * 4 + 1] = ntohl(d->addr[k].sin_addr.s_addr);
        d->rxmeta[k * 4 + 2] = ntohs(d->addr[k].sin_port);
        d->rxmeta[k * 4 + 3] = local;
        /* the kernel rewrote these: restore for the next call */
        h->msg_namelen = sizeof d->addr[k];
        h->msg_controllen = sizeof d->ctl[k].buf;
        h->msg_flags = 0;
    }
    return r;
}

static napi_value DpRecv(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    uint32_t max;
    if (get_args(env, info, 2, a)) return NULL;
    dp_t *d = get_dp(env, a[0]);
    if (!d || get_u32(env, a[1], &max)) return NULL;
    return num(env, dp_recv(d, max));
}

static uint32_t dp_write(dp_t *d, uint32_t n);
static int dp_read(dp_t *d, int fd, uint32_t max);

static napi_value DpWrite(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    uint32_t n;
    if (get_args(env, info, 2, a)) return NULL;
    dp_t *d = get_dp(env, a[0]);
    if (!d || get_u32(env, a[1], &n)) return NULL;
    return num(env, dp_write(d, n));
}

static uint32_t dp_write(dp_t *d, uint32_t n)
{
    if (n > d->batch) n = d->batch;
    uint32_t ok = 0;
    for (uint32_t k = 0; k < n; k++) {
        if ((size_t)d->woffs[k] + d->wlens[k] > d->rxlen) {
            d->werrs[k] = EFAULT;
            continue;
        }
        ssize_t w = write(d->wfds[k], d->rx + d->woffs[k], d->wlens[k]);
        if (w < 0) d->werrs[k] = errno;
        else {
            d->werrs[k] = 0;
            ok++;
        }
    }
    return ok;
}

static int dp_read(dp_t *d, int fd, uint32_t max)
{
    if (max > d->batch) max = d->batch;
    uint32_t n = 0;
    while (n < max) {
        ssize_t r = read(fd, d->tx + d->txbase + (size_t)d->txstride * n, d->txcap);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || n > 0) break;
            return -errno;
        }
        d->txlens[n++] = (uint32_t)r;
    }
    return (int)n;
}

/* dpWriteRead(h, n, fd, max): dpWrite(h, n) then dpRead(h, fd, max) in one call (the usual batch
 * for a single endpoint). Returns writesOk * 65536 + (read count, or 65535 on a read error). */
static napi_value DpWriteRead(napi_env env, napi_callback_info info)
{
    napi_value a[4];
    uint32_t n, max;
    int32_t fd;
    if (get_args(env, info, 4, a)) return NULL;
    dp_t *d = get_dp(env, a[0]);
    if (!d || get_u32(env, a[1], &n) || get_i32(env, a[2], &fd) || get_u32(env, a[3], &max)) return NULL;
    uint32_t ok = dp_write(d, n);
    int r = dp_read(d, fd, max);
    return num(env, (double)ok * 65536 + (r < 0 ? 65535 : r));
}

static napi_value DpRead(napi_env env, napi_callback_info info)
{
    napi_value a[3];
    int32_t fd;
    uint32_t max;
    if (get_args(env, info, 3, a)) return NULL;
    dp_t *d = get_dp(env, a[0]);
    if (!d || get_i32(env, a[1], &fd) || get_u32(env, a[2], &max)) return NULL;
    return num(env, dp_read(d, fd, max));
}

static uint32_t send_raw(int fd, uint8_t *buf, size_t blen, const uint32_t *meta, uint32_t n);

static napi_value DpSend(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    uint32_t n;
    if (get_args(env, info, 2, a)) return NULL;
    dp_t *d = get_dp(env, a[0]);
    if (!d || get_u32(env, a[1], &n)) return NULL;
    if (n > d->batch) n = d->batch;
    return num(env, send_raw(d->txfd, d->tx, d->txlen, d->txmeta, n));
}

/* ---------- readiness (libuv poll) ---------- */

typedef struct {
    uv_poll_t poll;
    napi_env env;
    napi_ref cb;
    napi_async_context ctx;
    int active;
    dp_t *dp;       /* dpWatch: receive here, call JS only with a non-empty batch */
    napi_ref dpref; /* keeps the bound buffers alive */
    uint64_t coalesce_ns; /* dpWatch: receive-side coalescing window (0: off) */
    uint64_t idle_from;   /* when the last batch was handed over (CLOCK_MONOTONIC ns) */
    int last_got;         /* size of the last batch */
} watch_t;

#define COALESCE_MAX_BATCH 4

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    watch_t *w = p->data;
    napi_env env = w->env;
    int got = 0;
    if (w->dp) {
        /* Receive-side coalescing: when this datagram came within the window of the previous
         * batch, traffic is dense enough that lingering for the window gathers several datagrams
         * into one wake-up (one recvmmsg, one JS call, one sendmmsg). A sparse stream (a gap
         * longer than the window) is received at once, so it pays no latency. After a batch of
         * COALESCE_MAX_BATCH or more the rate is high enough to batch by itself: no wait, so the
         * window never limits throughput. */
        if (w->coalesce_ns && w->last_got < COALESCE_MAX_BATCH && mono_ns() - w->idle_from < w->coalesce_ns) {
            struct timespec ts = { 0, (long)w->coalesce_ns };
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
        }
        got = dp_recv(w->dp, w->dp->batch);
        if (got == 0) return; /* spurious wake-up or already drained: no JS call */
        w->last_got = got;
    }
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value cb, recv, result, argv[1];
    napi_get_reference_value(env, w->cb, &cb);
    napi_get_global(env, &recv);
    napi_create_int32(env, w->dp ? got : status, &argv[0]);
    /* make_callback: exceptions go to 'uncaughtException', microtasks run afterwards */
    napi_make_callback(env, w->ctx, recv, cb, 1, argv, &result);
    napi_close_handle_scope(env, scope);
    if (w->coalesce_ns) w->idle_from = mono_ns();
}

static void on_close(uv_handle_t *h)
{
    watch_t *w = h->data;
    napi_delete_reference(w->env, w->cb);
    if (w->dpref) napi_delete_reference(w->env, w->dpref);
    napi_async_destroy(w->env, w->ctx);
    free(w);
}

static napi_value watch_start(napi_env env, int32_t fd, napi_value cbv, dp_t *dp, napi_value dpv,
                              uint32_t coalesce_us);

static napi_value Watch(napi_env env, napi_callback_info info)
{
    napi_value argv[2];
    int32_t fd;
    if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &fd)) return NULL;
    return watch_start(env, fd, argv[1], NULL, NULL, 0);
}

/* dpWatch(h, callback[, coalesceUs]): readiness of the bound GENEVE socket; on each wake-up the
 * addon runs recvmmsg itself and calls callback(n) only when n != 0 (n < 0: -errno). With
 * coalesceUs > 0 (at most 10000), a wake-up within coalesceUs of the previous batch first waits
 * coalesceUs so that more datagrams are received together. */
static napi_value DpWatch(napi_env env, napi_callback_info info)
{
    napi_value argv[3];
    size_t argc = 3;
    uint32_t coalesce = 0;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
        return throw_type(env, "missing arguments");
    dp_t *d = get_dp(env, argv[0]);
    if (!d) return NULL;
    if (argc >= 3) {
        napi_valuetype t;
        napi_typeof(env, argv[2], &t);
        if (t != napi_undefined && get_u32(env, argv[2], &coalesce)) return NULL;
        if (coalesce > 10000) {
            napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "coalesceUs must be 0-10000");
            return NULL;
        }
    }
    return watch_start(env, d->rxfd, argv[1], d, argv[0], coalesce);
}

static napi_value watch_start(napi_env env, int32_t fd, napi_value cbv, dp_t *dp, napi_value dpv,
                              uint32_t coalesce_us)
{
    napi_value argv[2];
    argv[1] = cbv;
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_function) return throw_type(env, "expected a callback");
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_type(env, "no event loop");
    watch_t *w = calloc(1, sizeof *w);
    if (!w) return throw_errno(env, "calloc", ENOMEM);
    w->env = env;
    w->dp = dp;
    w->coalesce_ns = (uint64_t)coalesce_us * 1000u;
    if (dp) napi_create_reference(env, dpv, 1, &w->dpref);
    int r = uv_poll_init(loop, &w->poll, fd);
    if (r != 0) {
        if (w->dpref) napi_delete_reference(env, w->dpref);
        free(w);
        return throw_errno(env, "uv_poll_init", -r);
    }
    w->poll.data = w;
    napi_create_reference(env, argv[1], 1, &w->cb);
    napi_value res_name, resource;
    napi_create_string_utf8(env, "tollgate:poll", NAPI_AUTO_LENGTH, &res_name);
    napi_create_object(env, &resource);
    napi_async_init(env, resource, res_name, &w->ctx);
    r = uv_poll_start(&w->poll, UV_READABLE, on_poll);
    if (r != 0) {
        uv_close((uv_handle_t *)&w->poll, on_close);
        return throw_errno(env, "uv_poll_start", -r);
    }
    w->active = 1;
    napi_value ext;
    napi_create_external(env, w, NULL, NULL, &ext);
    return ext;
}

static napi_value Unwatch(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    void *p;
    if (get_args(env, info, 1, argv)) return NULL;
    if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) return throw_type(env, "expected a watch handle");
    watch_t *w = p;
    if (!w->active) return NULL;
    w->active = 0;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, on_close);
    return NULL;
}

/* ---------- module ---------- */

static napi_value Init(napi_env env, napi_value exports)
{
    napi_property_descriptor d[] = {
        { "tunOpen", NULL, TunOpen, NULL, NULL, NULL, napi_enumerable, NULL },
        { "ifConfigure", NULL, IfConfigure, NULL, NULL, NULL, napi_enumerable, NULL },
        { "ifFlags", NULL, IfFlags, NULL, NULL, NULL, napi_enumerable, NULL },
        { "udpOpen", NULL, UdpOpen, NULL, NULL, NULL, napi_enumerable, NULL },
        { "rawOpen", NULL, RawOpen, NULL, NULL, NULL, napi_enumerable, NULL },
        { "closeFd", NULL, CloseFd, NULL, NULL, NULL, napi_enumerable, NULL },
        { "recvBatch", NULL, RecvBatch, NULL, NULL, NULL, napi_enumerable, NULL },
        { "writeEach", NULL, WriteEach, NULL, NULL, NULL, napi_enumerable, NULL },
        { "readEach", NULL, ReadEach, NULL, NULL, NULL, napi_enumerable, NULL },
        { "sendRawBatch", NULL, SendRawBatch, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpBind", NULL, DpBind, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpRecv", NULL, DpRecv, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpWrite", NULL, DpWrite, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpRead", NULL, DpRead, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpSend", NULL, DpSend, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpWriteRead", NULL, DpWriteRead, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpWatch", NULL, DpWatch, NULL, NULL, NULL, napi_enumerable, NULL },
        { "watch", NULL, Watch, NULL, NULL, NULL, napi_enumerable, NULL },
        { "unwatch", NULL, Unwatch, NULL, NULL, NULL, napi_enumerable, NULL },
    };
    napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
