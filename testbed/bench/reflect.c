/*
 * tollgate-reflect: the ceiling for any user-space GENEVE relay, measured next to the appliance
 * by `npm run bench`. Receives datagrams on UDP 6081 with recvmmsg and returns each one unchanged
 * with sendmmsg to the sender's address, port 6081. No tun, no decoding.
 *   reflect [-b BATCH] [-B SOCKBUF_BYTES] [-n]
 * -n: a sink: receive and discard (the bench measures the load generator's own ceiling with it).
 * Socket buffers stay at the kernel default unless -B is given (SO_RCVBUFFORCE/SO_SNDBUFFORCE),
 * which is how the reference figures' ceiling was measured.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <getopt.h>

#define SLOT 9216
#define MAXB 256

int main(int argc, char **argv)
{
    int batch = 64, one = 1, buf = 0, sink = 0, c;
    while ((c = getopt(argc, argv, "b:B:n")) != -1) {
        if (c == 'b') batch = atoi(optarg);
        else if (c == 'B') buf = atoi(optarg);
        else if (c == 'n') sink = 1;
        else { fprintf(stderr, "usage: reflect [-b batch] [-B sockbuf] [-n]\n"); return 2; }
    }
    if (batch < 1 || batch > MAXB) batch = MAXB;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (buf > 0) {
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf)) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf)) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(6081) };
    if (bind(fd, (struct sockaddr *)&a, sizeof a)) { perror("reflect: bind"); return 1; }
    static unsigned char data[MAXB][SLOT];
    static struct mmsghdr m[MAXB];
    static struct iovec v[MAXB];
    static struct sockaddr_in peer[MAXB];
    for (;;) {
        for (int k = 0; k < batch; k++) {
            v[k] = (struct iovec){ data[k], SLOT };
            m[k].msg_hdr = (struct msghdr){ .msg_name = &peer[k], .msg_namelen = sizeof peer[k], .msg_iov = &v[k], .msg_iovlen = 1 };
        }
        int r = recvmmsg(fd, m, batch, MSG_WAITFORONE, NULL);
        if (r <= 0 || sink) continue;
        for (int k = 0; k < r; k++) { v[k].iov_len = m[k].msg_len; peer[k].sin_port = htons(6081); }
        for (int done = 0; done < r;) {
            int s = sendmmsg(fd, m + done, r - done, 0);
            if (s <= 0) break;
            done += s;
        }
    }
}
