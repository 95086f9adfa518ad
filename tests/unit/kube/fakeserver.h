/* A scripted loopback HTTP/1.1 server for error-path unit tests (retries,
 * Retry-After, timeouts, broken connections, watch framing). It is never the
 * only test of a feature: the integration suite runs the same client against
 * a real kube-apiserver. */
#ifndef VC_FAKESERVER_H
#define VC_FAKESERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct fs_resp {
    int status;            /* 0: close the connection without answering */
    const char *headers;   /* extra header lines, each ending in \r\n */
    const char *chunks[8]; /* body; >1 chunk uses chunked encoding with pauses */
    int delay_ms;          /* before answering */
} fs_resp;

typedef struct fakeserver {
    int lfd;
    int port;
    pthread_t th;
    const fs_resp *script;
    int n_script;
    int served;            /* requests seen */
    char last_request[512];
    char last_auth[512];   /* value of the last request's Authorization header */
    volatile int stop;
} fakeserver;

static int fs_read_request(int c, char *first_line, size_t n, char *auth, size_t auth_n)
{
    char buf[65536];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(c, buf + len, sizeof(buf) - 1 - len);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            size_t hdr = (size_t)(end + 4 - buf);
            long cl = 0;
            char *p = strcasestr(buf, "Content-Length:");
            if (p && p < end)
                cl = strtol(p + 15, NULL, 10);
            while (len < hdr + (size_t)cl) {
                r = read(c, buf + len, sizeof(buf) - 1 - len);
                if (r <= 0)
                    return -1;
                len += (size_t)r;
            }
            auth[0] = 0;
            char *a = strcasestr(buf, "\r\nAuthorization: ");
            if (a && a < end) {
                a += 17;
                char *ae = strstr(a, "\r\n");
                size_t al = (size_t)(ae - a) < auth_n - 1 ? (size_t)(ae - a) : auth_n - 1;
                memcpy(auth, a, al);
                auth[al] = 0;
            }
            char *nl = strstr(buf, "\r\n");
            size_t l = (size_t)(nl - buf) < n - 1 ? (size_t)(nl - buf) : n - 1;
            memcpy(first_line, buf, l);
            first_line[l] = 0;
            return 0;
        }
        if (len >= sizeof(buf) - 1)
            return -1;
    }
}

static void fs_write(int c, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = send(c, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void *fs_main(void *arg)
{
    fakeserver *f = arg;
    while (!f->stop) {
        int c = accept(f->lfd, NULL, NULL);
        if (c < 0)
            continue;
        for (;;) {
            char line[512], auth[512];
            if (fs_read_request(c, line, sizeof line, auth, sizeof auth) < 0)
                break;
            snprintf(f->last_auth, sizeof f->last_auth, "%s", auth);
            int i = f->served < f->n_script ? f->served : f->n_script - 1;
            f->served++;
            snprintf(f->last_request, sizeof f->last_request, "%s", line);
            const fs_resp *r = &f->script[i];
            if (r->delay_ms)
                usleep((useconds_t)r->delay_ms * 1000);
            if (r->status == 0)
                break;
            char head[1024];
            int nchunks = 0;
            while (nchunks < 8 && r->chunks[nchunks])
                nchunks++;
            if (nchunks <= 1) {
                const char *b = nchunks ? r->chunks[0] : "";
                snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                         r->status, r->headers ? r->headers : "", strlen(b));
                fs_write(c, head);
                fs_write(c, b);
            } else {
                snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sTransfer-Encoding: chunked\r\n\r\n",
                         r->status, r->headers ? r->headers : "");
                fs_write(c, head);
                for (int k = 0; k < nchunks; k++) {
                    char sz[32];
                    snprintf(sz, sizeof sz, "%zx\r\n", strlen(r->chunks[k]));
                    fs_write(c, sz);
                    fs_write(c, r->chunks[k]);
                    fs_write(c, "\r\n");
                    usleep(20000);
                }
                fs_write(c, "0\r\n\r\n");
            }
        }
        close(c);
    }
    return NULL;
}

static int fs_start(fakeserver *f, const fs_resp *script, int n)
{
    memset(f, 0, sizeof(*f));
    f->script = script;
    f->n_script = n;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(f->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(f->lfd, 16) < 0)
        return -1;
    socklen_t l = sizeof a;
    getsockname(f->lfd, (struct sockaddr *)&a, &l);
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->th, NULL, fs_main, f);
}

static void fs_stop(fakeserver *f)
{
    f->stop = 1;
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->th, NULL);
}

#endif
