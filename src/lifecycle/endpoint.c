/*
 * Backing-store endpoints of the local driver: where an external database
 * (a kine dataSource) or an external etcd listens, whether it answers, and
 * how to name it in a message without its password.
 *
 * Why a check before starting: kine retries an unreachable database for
 * five minutes and the API server retries etcd for as long, so without it
 * a store that is down would surface as a timeout naming neither. One TCP
 * connect per address, bounded by timeout_ms, gives one clear error.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lifecycle/proc.h"

char *vc__endpoint_mask(const char *ep)
{
    /* scheme://user:PASSWORD@rest -> scheme://user:***@rest; the userinfo
     * ends at the last '@' before the query (passwords may hold '@') */
    const char *sch = strstr(ep, "://");
    if (!sch)
        return vc__strdup(ep);
    const char *ui = sch + 3;
    const char *q = strchr(ui, '?');
    const char *at = NULL;
    for (const char *p = ui; *p && (!q || p < q); p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(ui, ':', (size_t)(at - ui)) : NULL;
    if (!colon)
        return vc__strdup(ep);
    return vc__sprintf("%.*s***%s", (int)(colon + 1 - ep), ep, at);
}

/* One "host:port" (or "[v6]:port") of an endpoint into host/port; a missing
 * port is def_port. */
static int split_hostport(const char *s, size_t n, char *host, size_t hcap, char *port, size_t pcap,
                          const char *def_port)
{
    const char *colon = NULL;
    const char *h = s;
    size_t hl;
    if (n && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = (rb + 1 < s + n && rb[1] == ':') ? rb + 1 : NULL;
    } else {
        colon = memchr(s, ':', n);
        hl = colon ? (size_t)(colon - s) : n;
    }
    if (hl == 0 || hl >= hcap)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    size_t pl = colon ? (size_t)(s + n - colon - 1) : 0;
    if (colon && (pl == 0 || pl >= pcap))
        return -1;
    if (colon) {
        memcpy(port, colon + 1, pl);
        port[pl] = '\0';
    } else {
        snprintf(port, pcap, "%s", def_port);
    }
    return 0;
}

static int try_connect(const struct sockaddr *sa, socklen_t len, int family, int timeout_ms, int *out_errno)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *out_errno = errno;
        return -1;
    }
    int rc = connect(fd, sa, len);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int n = poll(&p, 1, timeout_ms);
        if (n == 0) {
            *out_errno = ETIMEDOUT;
        } else {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
            *out_errno = n < 0 ? errno : err;
        }
        rc = *out_errno == 0 ? 0 : -1;
    } else if (rc < 0) {
        *out_errno = errno;
    }
    close(fd);
    return rc;
}

static int reach_tcp(const char *host, const char *port, int timeout_ms, char *why, size_t wcap)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        snprintf(why, wcap, "cannot resolve %s: %s", host, gai_strerror(g));
        return -1;
    }
    int err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (try_connect(a->ai_addr, a->ai_addrlen, a->ai_family, timeout_ms, &err) == 0) {
            freeaddrinfo(res);
            return 0;
        }
    freeaddrinfo(res);
    snprintf(why, wcap, "cannot connect to %s:%s: %s", host, port, strerror(err));
    return -1;
}

static int reach_unix(const char *path, int timeout_ms, char *why, size_t wcap)
{
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof un.sun_path) {
        snprintf(why, wcap, "socket path %s is too long", path);
        return -1;
    }
    memcpy(un.sun_path, path, strlen(path) + 1);
    int err = 0;
    if (try_connect((const struct sockaddr *)&un, sizeof un, AF_UNIX, timeout_ms, &err) == 0)
        return 0;
    snprintf(why, wcap, "cannot connect to %s: %s", path, strerror(err));
    return -1;
}

/* The address part of a kine dataSource: mysql://u:p@tcp(h:p)/db,
 * mysql://u:p@unix(/sock)/db, postgres://u:p@h:p/db?... Returns 1 when the
 * form names no address we can check (left to kine), 0 when reachable, -1
 * with `why` filled when not. */
static int reach_datasource(const char *ds, int timeout_ms, char *why, size_t wcap)
{
    bool my = vc__str_startswith(ds, "mysql://");
    const char *rest = strstr(ds, "://") + 3;
    const char *q = strchr(rest, '?');
    const char *at = NULL;
    for (const char *p = rest; *p && (!q || p < q); p++)
        if (*p == '@')
            at = p;
    const char *a = at ? at + 1 : rest;
    char host[256], port[16], path[256];
    if (my) {
        if (vc__str_startswith(a, "unix(")) {
            const char *e = strchr(a, ')');
            if (!e || (size_t)(e - a - 5) >= sizeof path)
                return 1;
            snprintf(path, sizeof path, "%.*s", (int)(e - a - 5), a + 5);
            return reach_unix(path, timeout_ms, why, wcap);
        }
        if (!vc__str_startswith(a, "tcp("))
            return 1; /* the driver's default address */
        const char *e = strchr(a, ')');
        if (!e || split_hostport(a + 4, (size_t)(e - a - 4), host, sizeof host, port, sizeof port, "3306") < 0)
            return 1;
        return reach_tcp(host, port, timeout_ms, why, wcap);
    }
    size_t n = strcspn(a, "/?");
    if (n == 0 || split_hostport(a, n, host, sizeof host, port, sizeof port, "5432") < 0)
        return 1; /* host in the query (?host=/socket) or defaults */
    return reach_tcp(host, port, timeout_ms, why, wcap);
}

int vc__endpoint_check(const char *endpoint, bool etcd, const char *key, int timeout_ms)
{
    char why[512] = "";
    int r = -1;
    if (etcd) {
        /* comma-separated; reachable when any member answers */
        for (const char *p = endpoint;;) {
            const char *end = strchr(p, ',');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            const char *s = p;
            const char *sch = memchr(p, ':', n);
            if (sch && (size_t)(sch - p) + 3 <= n && !strncmp(sch, "://", 3)) {
                n -= (size_t)(sch + 3 - p);
                s = sch + 3;
            }
            size_t hn = strcspn(s, "/,");
            if (hn > n)
                hn = n;
            char host[256], port[16];
            if (split_hostport(s, hn, host, sizeof host, port, sizeof port, "2379") < 0) {
                snprintf(why, sizeof why, "cannot parse %.*s", (int)n, p);
            } else {
                r = reach_tcp(host, port, timeout_ms, why, sizeof why);
            }
            if (r == 0 || !end)
                break;
            p = end + 1;
        }
    } else {
        r = reach_datasource(endpoint, timeout_ms, why, sizeof why);
    }
    if (r >= 0)
        return VC_OK;
    char *shown = vc__endpoint_mask(endpoint);
    int rc = vc__error(VC_ECONNECT, VC_ERRCLASS_LIFECYCLE,
                       "the backing store %s (%s) is not reachable: %s; start it, or correct %s", shown ? shown : "",
                       key, why, key);
    vc__free(shown);
    return rc;
}
