/*
 * tollgate_native: the small Node-API addon behind Tollgate's data path.
 *
 * Node has no API for tun descriptors, batched datagram syscalls (recvmmsg/sendmmsg) or a raw
 * socket, so this file provides exactly those and nothing else; every per-packet decision
 * (GENEVE decoding, flow lookup, encapsulation) stays in TypeScript. All packet data lives in
 * caller-owned Buffers that a data path binds once and addresses by offsets, so no call
 * allocates per packet, and the batch calls report their outcome in a bound result block.
 *
 *   tunOpen(name, multiQueue)            -> { fd, name }   O_NONBLOCK, IFF_TUN | IFF_NO_PI
 *   ifConfigure(name, mtu, up, noQueue)                    SIOCSIFMTU + SIOCSIFFLAGS (+ default qdisc noqueue)
 *   ifFlags(name)                         -> flags | -1    SIOCGIFFLAGS (-1: no such interface)
 *   udpOpen(address, port, bufBytes)      -> { fd, rcvbuf, sndbuf }   bound, O_NONBLOCK, IP_PKTINFO
 *   rawOpen(bufBytes)                     -> { fd, sndbuf }   AF_INET/SOCK_RAW/IPPROTO_RAW, send only
 *   closeFd(fd)
 *   dpBind, dpWatch, dpWrite, dpRead, dpWriteRead, dpSend: the bound data path (see "the bound
 *                                                          data path" below); layout: its field indices
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
#include <sys/timerfd.h>
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

/* ---------- the layout shared with TypeScript ----------
 *
 * Field indices of the typed arrays a data path binds (dpBind); appliance/src/io/layout.ts
 * (Result, RxMeta, TxMeta) mirrors these, and the module exports them as `layout` so that a test
 * compares both.
 */
#define PORT_RESULT(X)                                                                                      \
    X(RESULT, RECEIVED) X(RESULT, RECV_ERRNO) X(RESULT, WRITTEN) X(RESULT, READ) X(RESULT, READ_ERRNO)     \
    X(RESULT, SENT) X(RESULT, FIELDS)
#define RX_META(X) X(RXM, LENGTH) X(RXM, SOURCE) X(RXM, SOURCE_PORT) X(RXM, LOCAL) X(RXM, WORDS)
#define TX_META(X)                                                                                          \
    X(TXM, OFFSET) X(TXM, LENGTH) X(TXM, SOURCE) X(TXM, DESTINATION) X(TXM, SOURCE_PORT)                    \
    X(TXM, DESTINATION_PORT) X(TXM, WORDS)
#define AS_ENUM(prefix, name) prefix##_##name,
enum port_result { PORT_RESULT(AS_ENUM) };
enum rx_meta { RX_META(AS_ENUM) };
enum tx_meta { TX_META(AS_ENUM) };
#undef AS_ENUM
#define RX_TRUNCATED 0x80000000u /* in RXM_LENGTH: the datagram was longer than its slot */

static napi_value layout_value(napi_env env)
{
    napi_value layout, o;
    napi_create_object(env, &layout);
#define AS_PROP(prefix, name) napi_set_named_property(env, o, #name, num(env, prefix##_##name));
    napi_create_object(env, &o);
    PORT_RESULT(AS_PROP)
    napi_set_named_property(env, layout, "result", o);
    napi_create_object(env, &o);
    RX_META(AS_PROP)
    napi_set_named_property(env, layout, "rxMeta", o);
    napi_create_object(env, &o);
    TX_META(AS_PROP)
    napi_set_named_property(env, layout, "txMeta", o);
#undef AS_PROP
    napi_set_named_property(env, layout, "rxTruncated", num(env, RX_TRUNCATED));
    napi_set_named_property(env, layout, "rawHeaderRoom", num(env, HDR_ROOM));
    return layout;
}

/* ---------- the bound data path ----------
 *
 * A data path binds its buffers once (dpBind): unpacking a Buffer or a typed array costs more than
 * the work at one packet per call, so the batch calls then take integers only. They work on the
 * bound buffers and put their outcome into the bound result block (enum port_result); the receive
 * message headers are prepared once.
 *
 *   dpBind(rxFd, txFd, buffers) -> handle    buffers: rxBuf, slot, rxMeta, wFds, wOffs, wLens, wErrs,
 *                                            txBuf, txBase, txStride, txCap, txLens, txMeta, result
 *   dpWatch(h, callback, coalesceUs) -> watch  readiness of rxFd: recvmmsg into rxBuf/rxMeta, then
 *                                            callback() (see on_socket for the coalescing window)
 *   dpWrite(h, n)                            write() rxBuf[wOffs[k], +wLens[k]) to wFds[k]; errno in wErrs[k]
 *   dpRead(h, fd, max)                       read() into txBuf at txBase + k * txStride (txCap bytes), txLens[k]
 *   dpWriteRead(h, n, fd, max)               dpWrite then dpRead (one endpoint in the batch: the usual case)
 *   dpSend(h, n)                             IPv4 + UDP headers in front of each txMeta payload, sendmmsg
 */
#define DP_ARRAYS 10

typedef union {
    char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
    struct cmsghdr align;
} pktinfo_ctl_t;

typedef struct {
    int rxfd, txfd;
    uint32_t batch; /* wFds.length */
    uint8_t *rx;
    size_t rxlen;
    uint32_t slot, *rxmeta;
    int32_t *wfds, *werrs;
    uint32_t *woffs, *wlens;
    uint8_t *tx;
    size_t txlen;
    uint32_t txbase, txstride, txcap, *txlens, *txmeta;
    int32_t *res;
    napi_ref refs[DP_ARRAYS]; /* keeps the bound arrays alive */
    struct mmsghdr *rmsg, *smsg;
    struct iovec *riov, *siov;
    struct sockaddr_in *raddr, *saddr;
    pktinfo_ctl_t *ctl;
} dp_t;

static void dp_finalize(napi_env env, void *data, void *hint)
{
    dp_t *d = data;
    for (int i = 0; i < DP_ARRAYS; i++)
        if (d->refs[i]) napi_delete_reference(env, d->refs[i]);
    free(d->rmsg);
    free(d->smsg);
    free(d->riov);
    free(d->siov);
    free(d->raddr);
    free(d->saddr);
    free(d->ctl);
    free(d);
}

/* buffers[name]: a Buffer (type < 0) or a typed array of `type` (element count in *len), referenced */
static int bind_array(napi_env env, napi_value obj, const char *name, int type, void **data, size_t *len,
                      napi_ref *ref)
{
    napi_value v;
    bool is = false;
    int ok = napi_get_named_property(env, obj, name, &v) == napi_ok;
    if (ok && type < 0) {
        ok = napi_is_buffer(env, v, &is) == napi_ok && is && napi_get_buffer_info(env, v, data, len) == napi_ok;
    } else if (ok) {
        napi_typedarray_type t;
        napi_value ab;
        size_t off;
        ok = napi_is_typedarray(env, v, &is) == napi_ok && is &&
             napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) == napi_ok && (int)t == type;
    }
    if (!ok) {
        char msg[96];
        snprintf(msg, sizeof msg, "buffers.%s: expected %s", name,
                 type < 0 ? "a Buffer" : type == napi_int32_array ? "an Int32Array" : "a Uint32Array");
        throw_type(env, msg);
        return -1;
    }
    return napi_create_reference(env, v, 1, ref) == napi_ok ? 0 : -1;
}

static int bind_u32(napi_env env, napi_value obj, const char *name, uint32_t *out)
{
    napi_value v;
    if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_get_value_uint32(env, v, out) != napi_ok) {
        char msg[96];
        snprintf(msg, sizeof msg, "buffers.%s: expected a number", name);
        throw_type(env, msg);
        return -1;
    }
    return 0;
}

static napi_value DpBind(napi_env env, napi_callback_info info)
{
    napi_value a[3];
    if (get_args(env, info, 3, a)) return NULL;
    dp_t *d = calloc(1, sizeof *d);
    if (!d) return throw_errno(env, "calloc", ENOMEM);
    size_t n_rxmeta, n_wfds, n_woffs, n_wlens, n_werrs, n_txlens, n_txmeta, n_res;
    napi_value b = a[2];
    napi_ref *r = d->refs; /* one reference per array, in the order bound */
    if (get_i32(env, a[0], &d->rxfd) || get_i32(env, a[1], &d->txfd) ||
        bind_array(env, b, "rxBuf", -1, (void **)&d->rx, &d->rxlen, r++) || bind_u32(env, b, "slot", &d->slot) ||
        bind_array(env, b, "rxMeta", napi_uint32_array, (void **)&d->rxmeta, &n_rxmeta, r++) ||
        bind_array(env, b, "wFds", napi_int32_array, (void **)&d->wfds, &n_wfds, r++) ||
        bind_array(env, b, "wOffs", napi_uint32_array, (void **)&d->woffs, &n_woffs, r++) ||
        bind_array(env, b, "wLens", napi_uint32_array, (void **)&d->wlens, &n_wlens, r++) ||
        bind_array(env, b, "wErrs", napi_int32_array, (void **)&d->werrs, &n_werrs, r++) ||
        bind_array(env, b, "txBuf", -1, (void **)&d->tx, &d->txlen, r++) ||
        bind_u32(env, b, "txBase", &d->txbase) || bind_u32(env, b, "txStride", &d->txstride) ||
        bind_u32(env, b, "txCap", &d->txcap) ||
        bind_array(env, b, "txLens", napi_uint32_array, (void **)&d->txlens, &n_txlens, r++) ||
        bind_array(env, b, "txMeta", napi_uint32_array, (void **)&d->txmeta, &n_txmeta, r++) ||
        bind_array(env, b, "result", napi_int32_array, (void **)&d->res, &n_res, r++)) {
        dp_finalize(env, d, NULL);
        return NULL;
    }
    d->batch = (uint32_t)n_wfds;
    if (d->slot == 0 || d->batch == 0 || d->batch > MAX_BATCH || (size_t)d->slot * d->batch > d->rxlen ||
        n_rxmeta < RXM_WORDS * (size_t)d->batch || n_woffs < d->batch || n_wlens < d->batch ||
        n_werrs < d->batch || n_txlens < d->batch || n_txmeta < TXM_WORDS * (size_t)d->batch ||
        n_res < RESULT_FIELDS || d->txbase < HDR_ROOM ||
        (size_t)d->txbase + (size_t)d->txstride * (d->batch - 1) + d->txcap > d->txlen) {
        dp_finalize(env, d, NULL);
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "data path buffers do not match the batch size");
        return NULL;
    }
    d->rmsg = calloc(d->batch, sizeof *d->rmsg);
    d->smsg = calloc(d->batch, sizeof *d->smsg);
    d->riov = calloc(d->batch, sizeof *d->riov);
    d->siov = calloc(d->batch, sizeof *d->siov);
    d->raddr = calloc(d->batch, sizeof *d->raddr);
    d->saddr = calloc(d->batch, sizeof *d->saddr);
    d->ctl = calloc(d->batch, sizeof *d->ctl);
    if (!d->rmsg || !d->smsg || !d->riov || !d->siov || !d->raddr || !d->saddr || !d->ctl) {
        dp_finalize(env, d, NULL);
        return throw_errno(env, "calloc", ENOMEM);
    }
    for (uint32_t k = 0; k < d->batch; k++) {
        d->riov[k].iov_base = d->rx + (size_t)k * d->slot;
        d->riov[k].iov_len = d->slot;
        d->rmsg[k].msg_hdr = (struct msghdr){ .msg_name = &d->raddr[k], .msg_namelen = sizeof d->raddr[k],
                                              .msg_iov = &d->riov[k], .msg_iovlen = 1,
                                              .msg_control = d->ctl[k].buf, .msg_controllen = sizeof d->ctl[k].buf };
    }
    napi_value ext;
    napi_create_external(env, d, dp_finalize, NULL, &ext);
    return ext;
}

/* recvmmsg of up to a batch into the rxBuf slots; RESULT_RECEIVED (returned) and RESULT_RECV_ERRNO */
static int dp_recv(dp_t *d)
{
    int r = recvmmsg(d->rxfd, d->rmsg, d->batch, MSG_DONTWAIT, NULL);
    if (r < 0) {
        int e = errno;
        d->res[RESULT_RECEIVED] = 0;
        d->res[RESULT_RECV_ERRNO] = (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) ? 0 : e;
        return 0;
    }
    for (int k = 0; k < r; k++) {
        struct msghdr *h = &d->rmsg[k].msg_hdr;
        uint32_t local = 0, *m = d->rxmeta + (size_t)k * RXM_WORDS;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                local = ntohl(pi.ipi_addr.s_addr);
            }
        }
        m[RXM_LENGTH] = d->rmsg[k].msg_len | ((h->msg_flags & MSG_TRUNC) ? RX_TRUNCATED : 0);
        m[RXM_SOURCE] = ntohl(d->raddr[k].sin_addr.s_addr);
        m[RXM_SOURCE_PORT] = ntohs(d->raddr[k].sin_port);
        m[RXM_LOCAL] = local;
        /* the kernel rewrote these: restore for the next call */
        h->msg_namelen = sizeof d->raddr[k];
        h->msg_controllen = sizeof d->ctl[k].buf;
        h->msg_flags = 0;
    }
    d->res[RESULT_RECEIVED] = r;
    d->res[RESULT_RECV_ERRNO] = 0;
    return r;
}

/* write() per packet from rxBuf; RESULT_WRITTEN, errno (or 0) in wErrs[k] */
static void dp_write(dp_t *d, uint32_t n)
{
    if (n > d->batch) n = d->batch;
    int32_t ok = 0;
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
    d->res[RESULT_WRITTEN] = ok;
}

/* read() until EAGAIN or max packets into txBuf; RESULT_READ, RESULT_READ_ERRNO (first read failed) */
static void dp_read(dp_t *d, int fd, uint32_t max)
{
    if (max > d->batch) max = d->batch;
    uint32_t n = 0;
    int err = 0;
    while (n < max) {
        ssize_t r = read(fd, d->tx + d->txbase + (size_t)d->txstride * n, d->txcap);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && n == 0) err = errno;
            break;
        }
        d->txlens[n++] = (uint32_t)r;
    }
    d->res[RESULT_READ] = (int32_t)n;
    d->res[RESULT_READ_ERRNO] = err;
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


/* IPv4 + UDP headers (UDP checksum included) in the HDR_ROOM bytes before each txMeta payload, then
 * sendmmsg; RESULT_SENT. A datagram the kernel refuses (buffer full, unreachable) is dropped. */
static void dp_send(dp_t *d, uint32_t n)
{
    if (n > d->batch) n = d->batch;
    uint32_t m = 0;
    for (uint32_t k = 0; k < n; k++) {
        const uint32_t *t = d->txmeta + (size_t)k * TXM_WORDS;
        uint32_t off = t[TXM_OFFSET], len = t[TXM_LENGTH];
        if (off < HDR_ROOM || (size_t)off + len > d->txlen || len + HDR_ROOM > 65535) continue;
        uint8_t *h = d->tx + off - HDR_ROOM;
        uint32_t saddr = htonl(t[TXM_SOURCE]), daddr = htonl(t[TXM_DESTINATION]);
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
        uint16_t sport = htons((uint16_t)t[TXM_SOURCE_PORT]), dport = htons((uint16_t)t[TXM_DESTINATION_PORT]);
        memcpy(u, &sport, 2);
        memcpy(u + 2, &dport, 2);
        memcpy(u + 4, &ulen, 2);
        u[6] = u[7] = 0;
        /* pseudo header (addresses, protocol, UDP length) + UDP header + payload, RFC 768 */
        uint64_t s = (uint64_t)saddr + daddr + htons(IPPROTO_UDP) + ulen;
        uint16_t c = (uint16_t)~csum_fold(csum_partial(u, len + 8, s));
        if (c == 0) c = 0xffff;
        memcpy(u + 6, &c, 2);
        d->siov[m].iov_base = h;
        d->siov[m].iov_len = len + HDR_ROOM;
        d->saddr[m] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = daddr };
        d->smsg[m].msg_hdr = (struct msghdr){ .msg_name = &d->saddr[m], .msg_namelen = sizeof d->saddr[m],
                                              .msg_iov = &d->siov[m], .msg_iovlen = 1 };
        m++;
    }
    uint32_t sent = 0, done = 0;
    while (done < m) {
        int r = sendmmsg(d->txfd, d->smsg + done, m - done, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            done++; /* this datagram failed: drop it, go on */
            continue;
        }
        sent += r;
        done += r;
    }
    d->res[RESULT_SENT] = (int32_t)sent;
}

/* the handle (argument 0) and `want` arguments in total, or NULL with an exception pending */
static dp_t *dp_args(napi_env env, napi_callback_info info, size_t want, napi_value *a)
{
    void *p = NULL;
    if (get_args(env, info, want, a)) return NULL;
    if (napi_get_value_external(env, a[0], &p) != napi_ok || !p) {
        throw_type(env, "expected a data path handle (DatapathPort.bind first)");
        return NULL;
    }
    return p;
}

static napi_value DpWrite(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    uint32_t n;
    dp_t *d = dp_args(env, info, 2, a);
    if (d && !get_u32(env, a[1], &n)) dp_write(d, n);
    return NULL;
}

static napi_value DpRead(napi_env env, napi_callback_info info)
{
    napi_value a[3];
    int32_t fd;
    uint32_t max;
    dp_t *d = dp_args(env, info, 3, a);
    if (d && !get_i32(env, a[1], &fd) && !get_u32(env, a[2], &max)) dp_read(d, fd, max);
    return NULL;
}

static napi_value DpWriteRead(napi_env env, napi_callback_info info)
{
    napi_value a[4];
    uint32_t n, max;
    int32_t fd;
    dp_t *d = dp_args(env, info, 4, a);
    if (d && !get_u32(env, a[1], &n) && !get_i32(env, a[2], &fd) && !get_u32(env, a[3], &max)) {
        dp_write(d, n);
        dp_read(d, fd, max);
    }
    return NULL;
}

static napi_value DpSend(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    uint32_t n;
    dp_t *d = dp_args(env, info, 2, a);
    if (d && !get_u32(env, a[1], &n)) dp_send(d, n);
    return NULL;
}

/* ---------- readiness (libuv poll) ---------- */

typedef struct {
    uv_poll_t poll;   /* readiness of the descriptor */
    uv_poll_t window; /* dpWatch with coalescing: readiness of tfd, the end of a window */
    int tfd;          /* timerfd of the coalescing window; -1 without coalescing */
    int handles;      /* libuv handles initialised and not yet closed */
    int active;
    napi_env env;
    napi_ref cb;
    napi_async_context ctx;
    dp_t *dp;             /* dpWatch: receive here, call JS only with a non-empty batch or an error */
    napi_ref dpref;       /* keeps the bound buffers alive */
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

static void call_js(watch_t *w)
{
    napi_env env = w->env;
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value cb, recv, result;
    napi_get_reference_value(env, w->cb, &cb);
    napi_get_global(env, &recv);
    /* make_callback: exceptions go to 'uncaughtException', microtasks run afterwards */
    napi_make_callback(env, w->ctx, recv, cb, 0, NULL, &result);
    napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    call_js(p->data);
}

/* dpWatch: receive a batch and hand it to JS (nothing received and no error: no JS call) */
static void deliver(watch_t *w)
{
    int got = dp_recv(w->dp);
    if (got == 0 && w->dp->res[RESULT_RECV_ERRNO] == 0) return; /* spurious wake-up or already drained */
    w->last_got = got;
    call_js(w);
    if (w->tfd >= 0) w->idle_from = mono_ns();
}

/*
 * dpWatch, the GENEVE socket is readable. Receive-side coalescing: when this wake-up came within the
 * window of the previous batch, traffic is dense enough that letting the window pass gathers several
 * datagrams into one wake-up (one recvmmsg, one JS call, one sendmmsg). The socket is unwatched and a
 * timerfd ends the window (on_window_end), so the event loop goes on with other work meanwhile (tun
 * readiness, timers, health and metrics requests) instead of sleeping. A sparse stream (a gap longer
 * than the window) is received at once, so it pays no latency. After a batch of COALESCE_MAX_BATCH or
 * more the rate is high enough to batch by itself: no wait, so the window never limits throughput.
 */
static void on_socket(uv_poll_t *p, int status, int events)
{
    watch_t *w = p->data;
    if (w->tfd >= 0 && w->last_got < COALESCE_MAX_BATCH && mono_ns() - w->idle_from < w->coalesce_ns) {
        struct itimerspec t = { .it_value = { .tv_sec = 0, .tv_nsec = (long)w->coalesce_ns } };
        if (timerfd_settime(w->tfd, 0, &t, NULL) == 0) {
            uv_poll_stop(&w->poll);
            return;
        }
        /* the timer could not be armed: receive at once */
    }
    deliver(w);
}

static void on_window_end(uv_poll_t *p, int status, int events)
{
    watch_t *w = p->data;
    uint64_t expirations;
    if (read(w->tfd, &expirations, sizeof expirations) != (ssize_t)sizeof expirations) return; /* not yet */
    uv_poll_start(&w->poll, UV_READABLE, on_socket);
    deliver(w);
}

static void free_watch(watch_t *w)
{
    napi_delete_reference(w->env, w->cb);
    if (w->dpref) napi_delete_reference(w->env, w->dpref);
    napi_async_destroy(w->env, w->ctx);
    if (w->tfd >= 0) close(w->tfd);
    free(w);
}

static void on_close(uv_handle_t *h)
{
    watch_t *w = h->data;
    if (--w->handles == 0) free_watch(w);
}

static void close_handles(watch_t *w)
{
    uv_close((uv_handle_t *)&w->poll, on_close);
    if (w->handles == 2) uv_close((uv_handle_t *)&w->window, on_close);
}

static napi_value watch_start(napi_env env, int32_t fd, napi_value cbv, dp_t *dp, napi_value dpv,
                              uint32_t coalesce_us)
{
    napi_valuetype t;
    napi_typeof(env, cbv, &t);
    if (t != napi_function) return throw_type(env, "expected a callback");
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_type(env, "no event loop");
    watch_t *w = calloc(1, sizeof *w);
    if (!w) return throw_errno(env, "calloc", ENOMEM);
    w->env = env;
    w->dp = dp;
    w->tfd = -1;
    w->coalesce_ns = (uint64_t)coalesce_us * 1000u;
    napi_create_reference(env, cbv, 1, &w->cb);
    if (dp) napi_create_reference(env, dpv, 1, &w->dpref);
    napi_value res_name, resource;
    napi_create_string_utf8(env, "tollgate:poll", NAPI_AUTO_LENGTH, &res_name);
    napi_create_object(env, &resource);
    napi_async_init(env, resource, res_name, &w->ctx);
    if (w->coalesce_ns && (w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
        int e = errno;
        free_watch(w);
        return throw_errno(env, "timerfd_create", e);
    }
    int r = uv_poll_init(loop, &w->poll, fd);
    if (r != 0) {
        free_watch(w);
        return throw_errno(env, "uv_poll_init", -r);
    }
    w->poll.data = w;
    w->handles = 1;
    if (w->tfd >= 0) {
        r = uv_poll_init(loop, &w->window, w->tfd);
        if (r == 0) {
            w->window.data = w;
            w->handles = 2;
            r = uv_poll_start(&w->window, UV_READABLE, on_window_end);
        }
    }
    if (r == 0) r = uv_poll_start(&w->poll, UV_READABLE, dp ? on_socket : on_readable);
    if (r != 0) {
        close_handles(w);
        return throw_errno(env, "uv_poll_start", -r);
    }
    w->active = 1;
    napi_value ext;
    napi_create_external(env, w, NULL, NULL, &ext);
    return ext;
}

static napi_value Watch(napi_env env, napi_callback_info info)
{
    napi_value argv[2];
    int32_t fd;
    if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &fd)) return NULL;
    return watch_start(env, fd, argv[1], NULL, NULL, 0);
}

/* dpWatch(h, callback, coalesceUs): see on_socket */
static napi_value DpWatch(napi_env env, napi_callback_info info)
{
    napi_value a[3];
    uint32_t coalesce;
    dp_t *d = dp_args(env, info, 3, a);
    if (!d || get_u32(env, a[2], &coalesce)) return NULL;
    if (coalesce > 10000) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "coalesceUs must be 0-10000");
        return NULL;
    }
    return watch_start(env, d->rxfd, a[1], d, a[0], coalesce);
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
    if (w->handles == 2) uv_poll_stop(&w->window);
    close_handles(w);
    return NULL;
}


/* ---------- kernel data path: BPF object loading (libbpf, loaded at run time) and map access ----------
 *
 * libbpf is dlopen()ed (libbpf.so.1, else libbpf.so.0) rather than linked: the distribution's
 * iproute2 already depends on it (Debian 12 libbpf1, Ubuntu 22.04 libbpf0, AL2023 libbpf), the
 * addon stays free of build-time libbpf headers and cross-compiles for arm64 without an arm64
 * libbpf, and a machine without it gets a clear error (the daemon's `auto` then uses the user
 * path). Only object loading goes through libbpf (ELF, BTF, map creation and pinning, program
 * load); links and map element access are plain bpf(2) calls.
 *
 *   bpfLoad(objPath, mapNames[], pinPaths[] ("": not pinned), maxEntries[] (0: as compiled), progNames[],
 *           [reuseFds[] (-1: none; reused only when type, key, value and entries match)])
 *                                         -> { maps: fd[], progs: fd[], reused: bool[] }
 *   bpfLinkTcx(progFd, ifindex, egress)   -> link fd (tcx, Linux >= 6.6; closing it detaches)
 *   bpfMapUpdate(fd, key, value, flags)   bpfMapLookup(fd, key, out) -> bool   bpfMapDelete(fd, key) -> bool
 *   bpfMapInfo(fd) -> { type, keySize, valueSize, maxEntries }   bpfObjGet(path) -> fd
 *   bpfLinkIfindex(fd) -> ifindex the tcx link is attached to (0: detached)   ifIndex(name) -> ifindex | 0
 */
#include <dlfcn.h>
#include <linux/bpf.h>
#include <stdarg.h>
extern unsigned int if_nametoindex(const char *); /* <net/if.h> clashes with <linux/if.h> */
#include <sys/syscall.h>

#define TCX_INGRESS 46 /* enum bpf_attach_type, newer than some build hosts' headers */
#define TCX_EGRESS 47

static struct {
    void *handle;
    void *(*open_file)(const char *, const void *);
    long (*get_error)(const void *);
    int (*load)(void *);
    void (*close)(void *);
    void *(*find_map)(const void *, const char *);
    void *(*find_prog)(const void *, const char *);
    int (*map_fd)(const void *);
    int (*prog_fd)(const void *);
    int (*set_pin_path)(void *, const char *);
    int (*set_max_entries)(void *, uint32_t);
    void *(*set_print)(void *);
    int (*reuse_fd)(void *, int);
    int (*map_type)(const void *);
    uint32_t (*key_size)(const void *);
    uint32_t (*value_size)(const void *);
    uint32_t (*max_entries)(const void *);
} lb;

static char lb_log[4096];
static size_t lb_log_len;

static int lb_print(int level, const char *fmt, va_list ap)
{
    /* one call may carry the whole verifier log: keep the tail of it, where the verdict is */
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n <= 0) return 0;
    char *line = malloc((size_t)n + 1);
    if (!line) return 0;
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    const char *tail = line;
    if ((size_t)n >= sizeof lb_log) {
        tail = line + n - (sizeof lb_log - 1);
        n = sizeof lb_log - 1;
    }
    if (lb_log_len + (size_t)n >= sizeof lb_log) {
        size_t drop = lb_log_len + (size_t)n - sizeof lb_log + 1;
        if (drop > lb_log_len) drop = lb_log_len;
        memmove(lb_log, lb_log + drop, lb_log_len - drop);
        lb_log_len -= drop;
    }
    memcpy(lb_log + lb_log_len, tail, (size_t)n);
    lb_log_len += (size_t)n;
    lb_log[lb_log_len] = 0;
    free(line);
    return 0;
}

static const char *libbpf_open(void)
{
    if (lb.handle) return NULL;
    void *h = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libbpf.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return "libbpf not found (libbpf.so.1 or libbpf.so.0; Debian: apt-get install libbpf1)";
#define SYM(f, n) if (!(*(void **)&lb.f = dlsym(h, n))) { dlclose(h); return "libbpf lacks " n; }
    SYM(open_file, "bpf_object__open_file");
    SYM(get_error, "libbpf_get_error");
    SYM(load, "bpf_object__load");
    SYM(close, "bpf_object__close");
    SYM(find_map, "bpf_object__find_map_by_name");
    SYM(find_prog, "bpf_object__find_program_by_name");
    SYM(map_fd, "bpf_map__fd");
    SYM(prog_fd, "bpf_program__fd");
    SYM(set_pin_path, "bpf_map__set_pin_path");
    SYM(set_max_entries, "bpf_map__set_max_entries");
    SYM(set_print, "libbpf_set_print");
    SYM(reuse_fd, "bpf_map__reuse_fd");
    SYM(map_type, "bpf_map__type");
    SYM(key_size, "bpf_map__key_size");
    SYM(value_size, "bpf_map__value_size");
    SYM(max_entries, "bpf_map__max_entries");
#undef SYM
    lb.handle = h;
    lb.set_print((void *)lb_print);
    return NULL;
}

static napi_value throw_msg(napi_env env, const char *code, const char *msg)
{
    napi_throw_error(env, code, msg);
    return NULL;
}

static int get_str(napi_env env, napi_value v, char *out, size_t cap)
{
    size_t n;
    if (napi_get_value_string_utf8(env, v, out, cap, &n) != napi_ok || n >= cap - 1) {
        throw_type(env, "expected a string (at most 255 bytes)");
        return -1;
    }
    return 0;
}

static int get_buf(napi_env env, napi_value v, void **data, size_t *len)
{
    if (napi_get_buffer_info(env, v, data, len) != napi_ok) {
        throw_type(env, "expected a Buffer");
        return -1;
    }
    return 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
    return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

static int obj_info(int fd, void *info, uint32_t len);

/* Reuses map fd `fd` for libbpf map `m` when its type, key, value and entries match; 1 reused, 0 not. */
static int reuse_if_same(void *m, int fd)
{
    struct bpf_map_info mi;
    if (fd < 0 || obj_info(fd, &mi, sizeof mi)) return 0;
    if (mi.type != (uint32_t)lb.map_type(m) || mi.key_size != lb.key_size(m) ||
        mi.value_size != lb.value_size(m) || mi.max_entries != lb.max_entries(m))
        return 0;
    return lb.reuse_fd(m, fd) == 0;
}

static napi_value BpfLoad(napi_env env, napi_callback_info info)
{
    napi_value a[6];
    char path[256], pin[256], name[256];
    size_t argc = 6;
    if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 5) return throw_type(env, "missing arguments");
    if (get_str(env, a[0], path, sizeof path)) return NULL;
    bool has_reuse = false;
    if (argc >= 6) napi_is_array(env, a[5], &has_reuse);
    const char *why = libbpf_open();
    if (why) return throw_msg(env, "ENOLIBBPF", why);
    uint32_t nmaps = 0, nprogs = 0;
    napi_get_array_length(env, a[1], &nmaps);
    napi_get_array_length(env, a[4], &nprogs);
    lb_log_len = 0;
    lb_log[0] = 0;
    void *obj = lb.open_file(path, NULL);
    if (!obj || lb.get_error(obj)) {
        char msg[4400];
        snprintf(msg, sizeof msg, "cannot open BPF object %s: %s", path, lb_log);
        return throw_msg(env, "EBPFOPEN", msg);
    }
    napi_value result, maps, progs, reused, v;
    napi_create_object(env, &result);
    napi_create_array_with_length(env, nmaps, &reused);
    napi_create_array_with_length(env, nmaps, &maps);
    napi_create_array_with_length(env, nprogs, &progs);
    for (uint32_t i = 0; i < nmaps; i++) {
        uint32_t max = 0;
        napi_get_element(env, a[1], i, &v);
        if (get_str(env, v, name, sizeof name)) goto fail;
        napi_get_element(env, a[2], i, &v);
        if (get_str(env, v, pin, sizeof pin)) goto fail;
        napi_get_element(env, a[3], i, &v);
        if (get_u32(env, v, &max)) goto fail;
        void *m = lb.find_map(obj, name);
        if (!m) { snprintf(lb_log, sizeof lb_log, "no map %s in the object", name); goto fail_msg; }
        if ((pin[0] && lb.set_pin_path(m, pin)) || (max > 0 && lb.set_max_entries(m, max))) {
            snprintf(lb_log, sizeof lb_log, "cannot configure map %s", name);
            goto fail_msg;
        }
        int32_t reuse = -1;
        if (has_reuse) {
            napi_get_element(env, a[5], i, &v);
            if (get_i32(env, v, &reuse)) goto fail;
        }
        napi_get_boolean(env, reuse_if_same(m, reuse) != 0, &v);
        napi_set_element(env, reused, i, v);
    }
    if (lb.load(obj)) goto fail_msg;
    for (uint32_t i = 0; i < nmaps + nprogs; i++) {
        int prog = i >= nmaps;
        napi_get_element(env, prog ? a[4] : a[1], prog ? i - nmaps : i, &v);
        if (get_str(env, v, name, sizeof name)) goto fail;
        void *o = prog ? lb.find_prog(obj, name) : lb.find_map(obj, name);
        int fd = o ? (prog ? lb.prog_fd(o) : lb.map_fd(o)) : -1;
        if (fd < 0) { snprintf(lb_log, sizeof lb_log, "no program %s in the object", name); goto fail_msg; }
        int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup < 0) { lb.close(obj); return throw_errno(env, "dup", errno); }
        napi_set_element(env, prog ? progs : maps, prog ? i - nmaps : i, num(env, dup));
    }
    lb.close(obj); /* the duplicated descriptors keep maps and programs alive */
    napi_set_named_property(env, result, "maps", maps);
    napi_set_named_property(env, result, "progs", progs);
    napi_set_named_property(env, result, "reused", reused);
    return result;
fail_msg: {
        char msg[4400];
        snprintf(msg, sizeof msg, "cannot load BPF object %s: %s", path, lb_log);
        lb.close(obj);
        return throw_msg(env, "EBPFLOAD", msg);
    }
fail:
    lb.close(obj);
    return NULL;
}

static napi_value BpfLinkTcx(napi_env env, napi_callback_info info)
{
    napi_value a[3];
    uint32_t prog, ifindex;
    bool egress;
    if (get_args(env, info, 3, a) || get_u32(env, a[0], &prog) || get_u32(env, a[1], &ifindex)) return NULL;
    if (napi_get_value_bool(env, a[2], &egress) != napi_ok) return throw_type(env, "expected a boolean");
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.link_create.prog_fd = prog;
    attr.link_create.target_fd = ifindex; /* target_ifindex for tcx */
    attr.link_create.attach_type = egress ? TCX_EGRESS : TCX_INGRESS;
    long fd = sys_bpf(BPF_LINK_CREATE, &attr);
    if (fd < 0) return throw_errno(env, "bpf(BPF_LINK_CREATE, tcx)", errno);
    return num(env, (double)fd);
}

static napi_value map_op(napi_env env, napi_callback_info info, int cmd)
{
    napi_value a[4];
    size_t want = cmd == BPF_MAP_DELETE_ELEM ? 2 : cmd == BPF_MAP_UPDATE_ELEM ? 4 : 3;
    uint32_t fd, flags = 0;
    void *key, *val = NULL;
    size_t klen, vlen;
    if (get_args(env, info, want, a) || get_u32(env, a[0], &fd) || get_buf(env, a[1], &key, &klen)) return NULL;
    if (want >= 3 && get_buf(env, a[2], &val, &vlen)) return NULL;
    if (want == 4 && get_u32(env, a[3], &flags)) return NULL;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = fd;
    attr.key = (uint64_t)(uintptr_t)key;
    attr.value = (uint64_t)(uintptr_t)val;
    attr.flags = flags;
    napi_value r;
    if (sys_bpf(cmd, &attr) == 0) {
        napi_get_boolean(env, true, &r);
        return r;
    }
    if (errno == ENOENT && cmd != BPF_MAP_UPDATE_ELEM) {
        napi_get_boolean(env, false, &r);
        return r;
    }
    return throw_errno(env, cmd == BPF_MAP_UPDATE_ELEM ? "bpf map update" : cmd == BPF_MAP_DELETE_ELEM ? "bpf map delete" : "bpf map lookup", errno);
}

static napi_value BpfMapUpdate(napi_env env, napi_callback_info info) { return map_op(env, info, BPF_MAP_UPDATE_ELEM); }
static napi_value BpfMapLookup(napi_env env, napi_callback_info info) { return map_op(env, info, BPF_MAP_LOOKUP_ELEM); }
static napi_value BpfMapDelete(napi_env env, napi_callback_info info) { return map_op(env, info, BPF_MAP_DELETE_ELEM); }

static int obj_info(int fd, void *info, uint32_t len)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    memset(info, 0, len);
    attr.info.bpf_fd = fd;
    attr.info.info_len = len;
    attr.info.info = (uint64_t)(uintptr_t)info;
    return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0 ? 0 : -1;
}

static napi_value BpfMapInfo(napi_env env, napi_callback_info info)
{
    napi_value a[1], r;
    uint32_t fd;
    if (get_args(env, info, 1, a) || get_u32(env, a[0], &fd)) return NULL;
    struct bpf_map_info mi;
    if (obj_info((int)fd, &mi, sizeof mi)) return throw_errno(env, "bpf(BPF_OBJ_GET_INFO_BY_FD)", errno);
    napi_create_object(env, &r);
    napi_set_named_property(env, r, "type", num(env, mi.type));
    napi_set_named_property(env, r, "keySize", num(env, mi.key_size));
    napi_set_named_property(env, r, "valueSize", num(env, mi.value_size));
    napi_set_named_property(env, r, "maxEntries", num(env, mi.max_entries));
    napi_set_named_property(env, r, "id", num(env, mi.id));
    return r;
}

static napi_value BpfLinkIfindex(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    uint32_t fd;
    if (get_args(env, info, 1, a) || get_u32(env, a[0], &fd)) return NULL;
    /* struct bpf_link_info: type, id, prog_id, then (8-aligned) the tcx member { ifindex, attach_type } */
    uint32_t li[16];
    if (obj_info((int)fd, li, sizeof li)) return throw_errno(env, "bpf(BPF_OBJ_GET_INFO_BY_FD, link)", errno);
    return num(env, li[4]);
}

static napi_value BpfObjGet(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    char path[256];
    if (get_args(env, info, 1, a) || get_str(env, a[0], path, sizeof path)) return NULL;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.pathname = (uint64_t)(uintptr_t)path;
    long fd = sys_bpf(BPF_OBJ_GET, &attr);
    if (fd < 0) return throw_errno(env, path, errno);
    return num(env, (double)fd);
}

static napi_value IfIndex(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    char name[IFNAMSIZ];
    if (get_args(env, info, 1, a) || get_ifname(env, a[0], name)) return NULL;
    return num(env, if_nametoindex(name));
}

/*
 * bpf iterators (the kernel path's flow count, bpf/tollgate-count.bpf.c):
 *   bpfIterLink(progFd)          -> link fd of an iter program (BPF_TRACE_ITER, no target)
 *   bpfIterRead(linkFd, out)     -> bytes the iteration wrote into out (a new iterator per call;
 *                                   throws ENOSPC when out is too small)
 */
static napi_value BpfIterLink(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    uint32_t prog;
    if (get_args(env, info, 1, a) || get_u32(env, a[0], &prog)) return NULL;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.link_create.prog_fd = prog;
    attr.link_create.attach_type = BPF_TRACE_ITER;
    long fd = sys_bpf(BPF_LINK_CREATE, &attr);
    if (fd < 0) return throw_errno(env, "bpf(BPF_LINK_CREATE, iter)", errno);
    return num(env, (double)fd);
}

static napi_value BpfIterRead(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    uint32_t link;
    void *out;
    size_t cap;
    if (get_args(env, info, 2, a) || get_u32(env, a[0], &link) || get_buf(env, a[1], &out, &cap)) return NULL;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.iter_create.link_fd = link;
    long fd = sys_bpf(BPF_ITER_CREATE, &attr);
    if (fd < 0) return throw_errno(env, "bpf(BPF_ITER_CREATE)", errno);
    size_t got = 0;
    for (;;) {
        char spill[64];
        int full = got == cap;
        ssize_t n = full ? read((int)fd, spill, sizeof spill) : read((int)fd, (char *)out + got, cap - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || (full && n > 0)) {
            int err = n < 0 ? errno : ENOSPC;
            close((int)fd);
            return throw_errno(env, "read(bpf iterator)", err);
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    close((int)fd);
    return num(env, (double)got);
}

/*
 * bpfTestRun(progFd, data, mark, ifindex, out) -> { retval, size }: BPF_PROG_TEST_RUN of a tc
 * program on one Ethernet frame, the skb's device ifindex and mark as given (the kernel path's
 * health canary through tg_decap). The kernel performs no redirect; `out` receives the frame as
 * the program left it (size bytes; throws ENOSPC when out is too small).
 */
static napi_value BpfTestRun(napi_env env, napi_callback_info info)
{
    napi_value a[5], r;
    uint32_t prog, mark, ifindex;
    void *data, *out;
    size_t dlen, olen;
    if (get_args(env, info, 5, a) || get_u32(env, a[0], &prog) || get_buf(env, a[1], &data, &dlen) ||
        get_u32(env, a[2], &mark) || get_u32(env, a[3], &ifindex) || get_buf(env, a[4], &out, &olen))
        return NULL;
    struct __sk_buff ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.mark = mark;
    ctx.ifindex = ifindex;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.test.prog_fd = prog;
    attr.test.data_in = (uint64_t)(uintptr_t)data;
    attr.test.data_size_in = (uint32_t)dlen;
    attr.test.data_out = (uint64_t)(uintptr_t)out;
    attr.test.data_size_out = (uint32_t)olen;
    attr.test.ctx_in = (uint64_t)(uintptr_t)&ctx;
    attr.test.ctx_size_in = sizeof ctx;
    attr.test.repeat = 1;
    if (sys_bpf(BPF_PROG_TEST_RUN, &attr) < 0) return throw_errno(env, "bpf(BPF_PROG_TEST_RUN)", errno);
    napi_create_object(env, &r);
    napi_set_named_property(env, r, "retval", num(env, (double)(int32_t)attr.test.retval));
    napi_set_named_property(env, r, "size", num(env, attr.test.data_size_out));
    return r;
}

/* ---------- the service manager's file descriptor store (restart) ----------
 *
 * A restart keeps the data path's descriptors (tuns, tcx links, BPF maps and programs, a memfd
 * with the state the kernel cannot give back) in systemd's fd store: sd_notify(3)'s protocol,
 * one datagram with "FDSTORE=1\nFDNAME=..." and the descriptors as SCM_RIGHTS, to $NOTIFY_SOCKET
 * (a path, or an abstract name written with a leading "@"). The receiving side is for tests,
 * which play the service manager.
 *
 *   notifySend(socket, message, fds[])    sendmsg(2) with SCM_RIGHTS (fds may be empty); waits up to 10 s
 *                                         while the receiver's queue is full
 *   notifyBind(socket)                    -> fd        AF_UNIX datagram socket bound there (tests)
 *   notifyReceive(fd)                     -> { message, fds[] } | null (nothing queued)   (tests)
 *   memfdCreate(name)                     -> fd        memfd_create(2), MFD_CLOEXEC
 *   tunName(fd)                           -> name of the tun interface fd is attached to (TUNGETIFF)
 *   bpfLinkUpdate(linkFd, progFd)         bpf(BPF_LINK_UPDATE): the link runs progFd from now on
 *   bpfLinkIds(fd)                        -> { id, progId } of a BPF link
 *   fdCloexec(fd)                         sets FD_CLOEXEC (descriptors inherited through LISTEN_FDS lack it)
 */
#include <sys/mman.h>
#include <sys/un.h>

#define NOTIFY_MAX_FDS 253 /* SCM_MAX_FD */

static int notify_addr(napi_env env, napi_value v, struct sockaddr_un *sa, socklen_t *len)
{
    char path[sizeof sa->sun_path + 1];
    size_t n;
    if (napi_get_value_string_utf8(env, v, path, sizeof path, &n) != napi_ok || n == 0 ||
        n >= sizeof sa->sun_path || (path[0] != '/' && path[0] != '@')) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                               "notify socket must be an absolute path or an abstract name starting with @ (at most 107 bytes)");
        return -1;
    }
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@') sa->sun_path[0] = 0;
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
    return 0;
}

static napi_value NotifySend(napi_env env, napi_callback_info info)
{
    napi_value a[3], v;
    struct sockaddr_un sa;
    socklen_t salen;
    if (get_args(env, info, 3, a) || notify_addr(env, a[0], &sa, &salen)) return NULL;
    size_t mlen;
    if (napi_get_value_string_utf8(env, a[1], NULL, 0, &mlen) != napi_ok) return throw_type(env, "expected a message string");
    char *msg = malloc(mlen + 1);
    if (!msg) return throw_errno(env, "malloc", ENOMEM);
    napi_get_value_string_utf8(env, a[1], msg, mlen + 1, &mlen);
    uint32_t nfds = 0;
    if (napi_get_array_length(env, a[2], &nfds) != napi_ok || nfds > NOTIFY_MAX_FDS) {
        free(msg);
        return throw_type(env, "expected an array of at most 253 descriptors");
    }
    int fds[NOTIFY_MAX_FDS];
    for (uint32_t i = 0; i < nfds; i++) {
        napi_get_element(env, a[2], i, &v);
        if (get_i32(env, v, &fds[i])) { free(msg); return NULL; }
    }
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * NOTIFY_MAX_FDS)]; } c;
    memset(&c, 0, sizeof c);
    struct iovec iov = { .iov_base = msg, .iov_len = mlen };
    struct msghdr mh = { .msg_name = &sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        mh.msg_control = c.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) { free(msg); return throw_errno(env, "socket(AF_UNIX)", errno); }
    /* a full receive queue blocks (net.unix.max_dgram_qlen); a manager that reads nothing fails */
    struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssize_t r = sendmsg(s, &mh, MSG_NOSIGNAL);
    int err = errno;
    close(s);
    free(msg);
    if (r < 0) return throw_errno(env, "sendmsg to the notify socket", err);
    return NULL;
}

static napi_value NotifyBind(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    struct sockaddr_un sa;
    socklen_t salen;
    if (get_args(env, info, 1, a) || notify_addr(env, a[0], &sa, &salen)) return NULL;
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return throw_errno(env, "socket(AF_UNIX)", errno);
    if (bind(s, (struct sockaddr *)&sa, salen) != 0) {
        int err = errno;
        close(s);
        return throw_errno(env, "bind(notify socket)", err);
    }
    return num(env, s);
}

static napi_value NotifyReceive(napi_env env, napi_callback_info info)
{
    napi_value a[1], r, fds, text;
    int32_t fd;
    if (get_args(env, info, 1, a) || get_i32(env, a[0], &fd)) return NULL;
    char buf[4096];
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * NOTIFY_MAX_FDS)]; } c;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf - 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        napi_get_null(env, &r);
        return r;
    }
    if (n < 0) return throw_errno(env, "recvmsg(notify socket)", errno);
    napi_create_object(env, &r);
    napi_create_array(env, &fds);
    uint32_t k = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int got;
            memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof got);
            napi_set_element(env, fds, k++, num(env, got));
        }
    }
    napi_create_string_utf8(env, buf, (size_t)n, &text);
    napi_set_named_property(env, r, "message", text);
    napi_set_named_property(env, r, "fds", fds);
    napi_value trunc;
    napi_get_boolean(env, (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0, &trunc);
    napi_set_named_property(env, r, "truncated", trunc);
    return r;
}

static napi_value MemfdCreate(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    char name[256];
    if (get_args(env, info, 1, a) || get_str(env, a[0], name, sizeof name)) return NULL;
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return throw_errno(env, "memfd_create", errno);
    return num(env, fd);
}

static napi_value TunName(napi_env env, napi_callback_info info)
{
    napi_value a[1], r;
    int32_t fd;
    if (get_args(env, info, 1, a) || get_i32(env, a[0], &fd)) return NULL;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (ioctl(fd, TUNGETIFF, &ifr) != 0) return throw_errno(env, "ioctl(TUNGETIFF)", errno);
    napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &r);
    return r;
}

static napi_value BpfLinkUpdate(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    uint32_t link, prog;
    if (get_args(env, info, 2, a) || get_u32(env, a[0], &link) || get_u32(env, a[1], &prog)) return NULL;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.link_update.link_fd = link;
    attr.link_update.new_prog_fd = prog;
    if (sys_bpf(BPF_LINK_UPDATE, &attr) != 0) return throw_errno(env, "bpf(BPF_LINK_UPDATE)", errno);
    return NULL;
}

static napi_value FdCloexec(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    int32_t fd;
    if (get_args(env, info, 1, a) || get_i32(env, a[0], &fd)) return NULL;
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return throw_errno(env, "fcntl(F_SETFD, FD_CLOEXEC)", errno);
    return NULL;
}

static napi_value BpfLinkIds(napi_env env, napi_callback_info info)
{
    napi_value a[1], r;
    uint32_t fd;
    if (get_args(env, info, 1, a) || get_u32(env, a[0], &fd)) return NULL;
    uint32_t li[16]; /* struct bpf_link_info: type, id, prog_id, ... */
    if (obj_info((int)fd, li, sizeof li)) return throw_errno(env, "bpf(BPF_OBJ_GET_INFO_BY_FD, link)", errno);
    napi_create_object(env, &r);
    napi_set_named_property(env, r, "id", num(env, li[1]));
    napi_set_named_property(env, r, "progId", num(env, li[2]));
    return r;
}

/*
 * udpAdopt(fd, address, port, bufBytes) -> { fd, rcvbuf, sndbuf }: takes over a GENEVE socket a
 * previous daemon stored (restart): checks it is a UDP socket bound to address:port, makes it
 * non-blocking and close-on-exec, sets IP_PKTINFO and the buffers like udpOpen. Datagrams that
 * arrived while no daemon ran are still queued in it.
 */
static napi_value UdpAdopt(napi_env env, napi_callback_info info)
{
    napi_value a[4], obj;
    char addr[64];
    size_t alen;
    int32_t fd, port, bytes;
    if (get_args(env, info, 4, a) || get_i32(env, a[0], &fd)) return NULL;
    if (napi_get_value_string_utf8(env, a[1], addr, sizeof addr, &alen) != napi_ok)
        return throw_type(env, "expected an IPv4 address");
    if (get_i32(env, a[2], &port) || get_i32(env, a[3], &bytes)) return NULL;
    struct in_addr want;
    if (inet_pton(AF_INET, addr, &want) != 1) {
        napi_throw_range_error(env, "ERR_INVALID_IP_ADDRESS", "invalid IPv4 listen address");
        return NULL;
    }
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    int type = 0;
    socklen_t tlen = sizeof type;
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) return throw_errno(env, "getsockname", errno);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0) return throw_errno(env, "getsockopt(SO_TYPE)", errno);
    if (sa.sin_family != AF_INET || type != SOCK_DGRAM || sa.sin_port != htons((uint16_t)port) ||
        sa.sin_addr.s_addr != want.s_addr)
        return throw_msg(env, "EADDRNOTAVAIL", "stored socket is not a UDP socket bound to the listen address and port");
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    if (fl < 0 || fdfl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return throw_errno(env, "fcntl", errno);
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
    set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
    napi_create_object(env, &obj);
    napi_set_named_property(env, obj, "fd", num(env, fd));
    napi_set_named_property(env, obj, "rcvbuf", num(env, get_sockopt_int(fd, SO_RCVBUF)));
    napi_set_named_property(env, obj, "sndbuf", num(env, get_sockopt_int(fd, SO_SNDBUF)));
    return obj;
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
        { "dpBind", NULL, DpBind, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpWatch", NULL, DpWatch, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpWrite", NULL, DpWrite, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpRead", NULL, DpRead, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpWriteRead", NULL, DpWriteRead, NULL, NULL, NULL, napi_enumerable, NULL },
        { "dpSend", NULL, DpSend, NULL, NULL, NULL, napi_enumerable, NULL },
        { "watch", NULL, Watch, NULL, NULL, NULL, napi_enumerable, NULL },
        { "unwatch", NULL, Unwatch, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfLoad", NULL, BpfLoad, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfLinkTcx", NULL, BpfLinkTcx, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfMapUpdate", NULL, BpfMapUpdate, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfMapLookup", NULL, BpfMapLookup, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfMapDelete", NULL, BpfMapDelete, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfMapInfo", NULL, BpfMapInfo, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfLinkIfindex", NULL, BpfLinkIfindex, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfObjGet", NULL, BpfObjGet, NULL, NULL, NULL, napi_enumerable, NULL },
        { "ifIndex", NULL, IfIndex, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfIterLink", NULL, BpfIterLink, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfIterRead", NULL, BpfIterRead, NULL, NULL, NULL, napi_enumerable, NULL },
        { "layout", NULL, NULL, NULL, NULL, layout_value(env), napi_enumerable, NULL },
        { "bpfTestRun", NULL, BpfTestRun, NULL, NULL, NULL, napi_enumerable, NULL },
        { "notifySend", NULL, NotifySend, NULL, NULL, NULL, napi_enumerable, NULL },
        { "notifyBind", NULL, NotifyBind, NULL, NULL, NULL, napi_enumerable, NULL },
        { "notifyReceive", NULL, NotifyReceive, NULL, NULL, NULL, napi_enumerable, NULL },
        { "memfdCreate", NULL, MemfdCreate, NULL, NULL, NULL, napi_enumerable, NULL },
        { "tunName", NULL, TunName, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfLinkUpdate", NULL, BpfLinkUpdate, NULL, NULL, NULL, napi_enumerable, NULL },
        { "bpfLinkIds", NULL, BpfLinkIds, NULL, NULL, NULL, napi_enumerable, NULL },
        { "fdCloexec", NULL, FdCloexec, NULL, NULL, NULL, napi_enumerable, NULL },
        { "udpAdopt", NULL, UdpAdopt, NULL, NULL, NULL, napi_enumerable, NULL },
    };
    napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
