/* The kubelet proxy server: TLS (mbedTLS, client certificate required), one
 * request per connection, the host pod looked up and checked, then the
 * host API server's answer relayed (vc__kconn), upgraded streams spliced
 * both ways. See include/vcluster/kubelet.h and doc/syncer.md. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__has_include)
#  if __has_include(<mbedtls/build_info.h>)
#    include <mbedtls/build_info.h>
#  else
#    include <mbedtls/config.h>
#  endif
#endif
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#if defined(MBEDTLS_USE_PSA_CRYPTO) || defined(MBEDTLS_SSL_PROTO_TLS1_3)
#  include <psa/crypto.h>
#endif

#include "kube/kube.h"
#include "kubelet/kubelet.h"
#include "pki/pki.h"
#include "translate/translate.h"
#include "util/vstruct.h"

#define DEFAULT_TIMEOUT_MS 30000
#define RELAY_BUF 16384
/* A relayed write that makes no progress for this long ends the connection
 * (the other side stopped reading). */
#define WRITE_STALL_MS 60000
/* How long the end of a connection waits for the client's own end. */
#define LINGER_MS 2000

struct vc_kubelet_proxy {
    atomic_int refs;
    vc_kube *host;
    vc_translator *tr;
    char *name;
    char *host_ns;
    int32_t timeout_ms;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt own;
    mbedtls_x509_crt ca;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    pthread_mutex_t rng_mu;      /* the DRBG is shared by every connection */
};

/* Versioned public struct (util/vstruct.h). */
VC__VSTRUCT(vc_kubelet_proxy_options, VC_KUBELET_PROXY_OPTIONS_VERSION, );
VC__OPTIONS_INIT_FN(vc_kubelet_proxy_options, VC_KUBELET_PROXY_OPTIONS_INIT)

static int tls_err(int ret, const char *what)
{
    char buf[160];
    mbedtls_strerror(ret, buf, sizeof buf);
    return vc__error(VC_ETLS, VC_ERRCLASS_PKI, "kubelet proxy: %s: %s (mbedTLS -0x%04x)", what, buf, (unsigned)-ret);
}

static int locked_random(void *ctx, unsigned char *out, size_t len)
{
    vc_kubelet_proxy *p = ctx;
    pthread_mutex_lock(&p->rng_mu);
    int r = mbedtls_ctr_drbg_random(&p->drbg, out, len);
    pthread_mutex_unlock(&p->rng_mu);
    return r;
}

static void proxy_release(vc_kubelet_proxy *p)
{
    mbedtls_ssl_config_free(&p->conf);
    mbedtls_x509_crt_free(&p->own);
    mbedtls_x509_crt_free(&p->ca);
    mbedtls_pk_free(&p->key);
    mbedtls_ctr_drbg_free(&p->drbg);
    mbedtls_entropy_free(&p->entropy);
    pthread_mutex_destroy(&p->rng_mu);
    vc_translator_free(p->tr);
    vc__kube_unref(p->host);
    vc__free(p->name);
    vc__free(p->host_ns);
    vc__free(p);
}

static void proxy_unref(vc_kubelet_proxy *p)
{
    if (p && atomic_fetch_sub(&p->refs, 1) == 1)
        proxy_release(p);
}

void vc_kubelet_proxy_free(vc_kubelet_proxy *proxy)
{
    proxy_unref(proxy);
}

/* Parse PEM text (NUL-terminated) into a certificate chain. */
static int parse_crt(mbedtls_x509_crt *crt, const char *pem, const char *what)
{
    int ret = mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, strlen(pem) + 1);
    return ret == 0 ? VC_OK : tls_err(ret, what);
}

static int parse_key(vc_kubelet_proxy *p, const char *pem)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    int ret = mbedtls_pk_parse_key(&p->key, (const unsigned char *)pem, strlen(pem) + 1, NULL, 0, locked_random, p);
#else
    int ret = mbedtls_pk_parse_key(&p->key, (const unsigned char *)pem, strlen(pem) + 1, NULL, 0);
#endif
    return ret == 0 ? VC_OK : tls_err(ret, "serving key");
}

/* A self-signed CA and a serving certificate from it (chain: leaf, CA). */
static int self_signed(vc_kubelet_proxy *p)
{
    vc__pki_ca *ca = NULL;
    int rc = vc__pki_ca_new(&ca, "vcluster-kubelet-proxy-ca", 0);
    if (rc < 0)
        return rc;
    static const char *const dns[] = { "localhost", "vcluster-kubelet-proxy" };
    static const char *const ips[] = { "127.0.0.1" };
    vc__pki_req req = { .common_name = "vcluster-kubelet-proxy", .dns_names = dns, .n_dns_names = 2,
                        .ip_addresses = ips, .n_ip_addresses = 1, .usage = VC__PKI_SERVER };
    char *cert = NULL, *key = NULL;
    rc = vc__pki_issue(ca, &req, &cert, &key);
    if (rc == VC_OK)
        rc = parse_crt(&p->own, cert, "serving certificate");
    if (rc == VC_OK)
        rc = parse_crt(&p->own, vc__pki_ca_cert_pem(ca), "serving CA");
    if (rc == VC_OK)
        rc = parse_key(p, key);
    if (key)
        memset(key, 0, strlen(key));
    vc__free(cert);
    vc__free(key);
    vc__pki_ca_free(ca);
    return rc;
}

int vc_kubelet_proxy_new(vc_kubelet_proxy **out, vc_kube *host, const vc_kubelet_proxy_options *user_opts)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out is NULL");
    *out = NULL;
    if (!host || !user_opts)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_kubelet_proxy_new: host and opts are required");
    /* only the bytes of the caller's version are read (util/vstruct.h) */
    vc_kubelet_proxy_options o = VC_KUBELET_PROXY_OPTIONS_INIT;
    int vrc = vc__vstruct_read(&vc_kubelet_proxy_options__vs, &o, user_opts);
    if (vrc < 0)
        return vrc;
    const vc_kubelet_proxy_options *opts = &o;
    if (vc__str_empty(opts->name))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "kubelet proxy: the virtual cluster name is required");
    if (vc__str_empty(opts->client_ca_pem) && vc__str_empty(opts->client_ca_file))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "kubelet proxy: a client CA (client_ca_file or client_ca_pem) is required");
    if (!opts->serving_cert_pem != !opts->serving_key_pem)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "kubelet proxy: serving_cert_pem and serving_key_pem go together");
#if defined(MBEDTLS_USE_PSA_CRYPTO) || defined(MBEDTLS_SSL_PROTO_TLS1_3)
    if (psa_crypto_init() != PSA_SUCCESS)
        return vc__error(VC_ETLS, VC_ERRCLASS_PKI, "kubelet proxy: psa_crypto_init failed");
#endif
    vc_kubelet_proxy *p = vc__calloc(1, sizeof(*p));
    if (!p)
        return vc__error_oom();
    atomic_init(&p->refs, 1);
    pthread_mutex_init(&p->rng_mu, NULL);
    mbedtls_ssl_config_init(&p->conf);
    mbedtls_x509_crt_init(&p->own);
    mbedtls_x509_crt_init(&p->ca);
    mbedtls_pk_init(&p->key);
    mbedtls_entropy_init(&p->entropy);
    mbedtls_ctr_drbg_init(&p->drbg);
    p->host = vc__kube_ref(host);
    p->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    int rc;
    vc_translate_options to;
    vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
    to.name = opts->name;
    to.host_namespace = opts->host_namespace;
    if ((rc = vc_translator_new(&p->tr, &to)) < 0)
        goto fail;
    p->name = vc__strdup(opts->name);
    p->host_ns = vc__strdup(vc_translator_host_namespace(p->tr));
    if (!p->name || !p->host_ns) {
        rc = vc__error_oom();
        goto fail;
    }
    static const char pers[] = "vcluster-kubelet-proxy";
    int ret = mbedtls_ctr_drbg_seed(&p->drbg, mbedtls_entropy_func, &p->entropy, (const unsigned char *)pers,
                                    sizeof pers - 1);
    if (ret != 0) {
        rc = tls_err(ret, "seeding the random generator");
        goto fail;
    }
    if (opts->serving_cert_pem) {
        if ((rc = parse_crt(&p->own, opts->serving_cert_pem, "serving certificate")) < 0 ||
            (rc = parse_key(p, opts->serving_key_pem)) < 0)
            goto fail;
    } else if ((rc = self_signed(p)) < 0) {
        goto fail;
    }
    if (!vc__str_empty(opts->client_ca_pem)) {
        rc = parse_crt(&p->ca, opts->client_ca_pem, "client CA");
    } else {
        char *txt = NULL;
        size_t len = 0;
        rc = vc__file_read(opts->client_ca_file, &txt, &len);
        if (rc == VC_OK)
            rc = parse_crt(&p->ca, txt, "client CA");
        else
            vc__error_prefix("kubelet proxy: client CA");
        vc__free(txt);
    }
    if (rc < 0)
        goto fail;
    if ((ret = mbedtls_ssl_config_defaults(&p->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        rc = tls_err(ret, "TLS configuration");
        goto fail;
    }
    mbedtls_ssl_conf_rng(&p->conf, locked_random, p);
    mbedtls_ssl_conf_authmode(&p->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&p->conf, &p->ca, NULL);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_ssl_conf_min_tls_version(&p->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_min_version(&p->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#if defined(MBEDTLS_SSL_ALPN)
    static const char *alpn[] = { "http/1.1", NULL };
    mbedtls_ssl_conf_alpn_protocols(&p->conf, alpn);
#endif
    if ((ret = mbedtls_ssl_conf_own_cert(&p->conf, &p->own, &p->key)) != 0) {
        rc = tls_err(ret, "serving certificate and key");
        goto fail;
    }
    *out = p;
    return VC_OK;
fail:
    proxy_release(p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* one connection                                                      */

typedef struct conn {
    vc_kubelet_proxy *p;
    int fd;
    mbedtls_ssl_context ssl;
} conn;

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    conn *c = ctx;
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    conn *c = ctx;
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_READ;
    return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

static int left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t l = deadline - vc__now_ms();
    return l <= 0 ? 0 : l > 0x7fffffff ? 0x7fffffff : (int)l;
}

/* Wait for `ev` on fd until the deadline: 1 ready, 0 timed out, < 0 error. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        struct pollfd pf = { .fd = fd, .events = ev, .revents = 0 };
        int ms = left_ms(deadline);
        int r = poll(&pf, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

static int tls_write_all(conn *c, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    int64_t deadline = vc__now_ms() + WRITE_STALL_MS;
    while (n > 0) {
        int r = mbedtls_ssl_write(&c->ssl, p, n);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            deadline = vc__now_ms() + WRITE_STALL_MS;
            continue;
        }
        if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
            if (wait_fd(c->fd, r == MBEDTLS_ERR_SSL_WANT_WRITE ? POLLOUT : POLLIN, deadline) <= 0)
                return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_HTTP, "kubelet proxy: the client stopped reading");
            continue;
        }
        return vc__error(VC_ECONNECT, VC_ERRCLASS_HTTP, "kubelet proxy: writing to the client: -0x%04x", (unsigned)-r);
    }
    return VC_OK;
}

static int send_text(conn *c, const char *text)
{
    return text ? tls_write_all(c, text, strlen(text)) : vc__error_oom();
}

static int send_status(conn *c, int http, const char *reason, const char *message)
{
    char *r = vc__kl_status_response(http, reason, message);
    int rc = send_text(c, r);
    vc__free(r);
    return rc;
}

/* Read the request head (through the empty line) into b, bounded by the
 * deadline and VC__KL_MAX_HEAD. Returns VC_OK, VC_ETOOMANY (too large),
 * VC_ETIMEDOUT or VC_ECONNECT. */
static int read_head(conn *c, vc_buf *b, int64_t deadline)
{
    for (;;) {
        if (b->size > VC__KL_MAX_HEAD)
            return VC_ETOOMANY;
        if (vc__buf_grow(b, 4096) < 0)
            return vc__error_oom();
        int r = mbedtls_ssl_read(&c->ssl, (unsigned char *)b->ptr + b->size, b->reserved - b->size - 1);
        if (r > 0) {
            size_t from = b->size > 3 ? b->size - 3 : 0;
            b->size += (size_t)r;
            b->ptr[b->size] = '\0';
            for (size_t i = from; i + 3 < b->size; i++)
                if (!memcmp(b->ptr + i, "\r\n\r\n", 4)) {
                    b->size = i + 4; /* a request body (none is used) is ignored */
                    b->ptr[b->size] = '\0';
                    return b->size > VC__KL_MAX_HEAD ? VC_ETOOMANY : VC_OK;
                }
            continue;
        }
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
            int w = wait_fd(c->fd, r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (w == 0)
                return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_HTTP, "kubelet proxy: no request within the timeout");
            if (w < 0)
                return vc__error(VC_ECONNECT, VC_ERRCLASS_HTTP, "kubelet proxy: poll: %s", strerror(errno));
            continue;
        }
        return vc__error(VC_ECONNECT, VC_ERRCLASS_HTTP, "kubelet proxy: the client closed before its request ended");
    }
}

/* Check that the host pod belongs to this virtual cluster and is the
 * virtual pod ns/name. 0 = yes. */
static bool owned_pod(vc_kubelet_proxy *p, const json_t *pod, const char *ns, const char *name)
{
    const json_t *meta = json_object_get(pod, "metadata");
    const char *marker = json_string_value(json_object_get(json_object_get(meta, "labels"), VC__L_MARKER));
    const json_t *ann = json_object_get(meta, "annotations");
    const char *vname = json_string_value(json_object_get(ann, VC__A_OBJ_NAME));
    const char *vns = json_string_value(json_object_get(ann, VC__A_OBJ_NAMESPACE));
    return vc__streq(marker, p->name) && vc__streq(vname, name) && vc__streq(vns, ns);
}

/* One direction of the splice: bytes read from one side, not yet all
 * written to the other. The buffer is not moved while bytes are pending
 * (TLS libraries want a retried write to see the same bytes). */
typedef struct pipe_buf {
    char *data;
    size_t off, len;     /* pending bytes: data[off, len) */
    bool eof;            /* the reading side ended */
} pipe_buf;

/* Relay the host's answer, then splice: bytes both ways (upgraded) or the
 * body toward the client. Never blocks on one direction while the other
 * has work: a peer that stops reading holds back only what goes to it
 * (both peers read and write at once: exec -i with a large stdin echoed
 * back would deadlock a splice that blocks on writes). */
static int relay(conn *c, vc__kconn *h, const char *head, int status, bool upgrade_req, bool head_req)
{
    bool upgraded = status == 101 && upgrade_req;
    char *out_head = upgraded ? vc__strdup(head) : vc__kl_close_head(head);
    vc__kl_body body;
    vc__kl_body_init(&body, head, status, head_req);
    int rc = send_text(c, out_head);
    vc__free(out_head);
    if (rc < 0)
        return rc;
    pipe_buf h2c = { vc__malloc(RELAY_BUF), 0, 0, false }, c2h = { vc__malloc(RELAY_BUF), 0, 0, false };
    if (!h2c.data || !c2h.data) {
        vc__free(h2c.data);
        vc__free(c2h.data);
        return vc__error_oom();
    }
    int hfd = vc__kconn_fd(h);
    bool body_done = !upgraded && body.done;
    uint64_t n_h2c = 0, n_c2h = 0;
    const char *why = "host finished";
    for (;;) {
        bool progress = false;
        bool c_want_write = false, h_want_write = false;
        /* host -> client */
        if (h2c.off == h2c.len && !h2c.eof && !body_done) {
            ssize_t n = vc__kconn_read(h, h2c.data, RELAY_BUF, 0);
            if (n > 0) {
                size_t m = (size_t)n;
                if (!upgraded) {
                    long k = vc__kl_body_feed(&body, h2c.data, m);
                    if (k < 0) {
                        VC__LOGD("kubelet", "malformed chunked body from the host API server");
                        k = 0;
                        h2c.eof = true;
                    }
                    m = (size_t)k;
                    body_done = body.done;
                }
                h2c.off = 0;
                h2c.len = m;
                progress = true;
            } else if (n != VC__EAGAIN) {
                h2c.eof = true; /* EOF or error: nothing more comes from the host */
            }
        }
        if (h2c.off < h2c.len) {
            int r = mbedtls_ssl_write(&c->ssl, (const unsigned char *)h2c.data + h2c.off, h2c.len - h2c.off);
            if (r > 0) {
                h2c.off += (size_t)r;
                n_h2c += (uint64_t)r;
                progress = true;
            } else if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
                c_want_write = true;
            } else {
                why = "writing to the client failed";
                break;
            }
        }
        if (h2c.off == h2c.len && (h2c.eof || body_done))
            break; /* the host's answer is complete and delivered */
        /* client -> host */
        if (c2h.off == c2h.len && !c2h.eof) {
            int r = mbedtls_ssl_read(&c->ssl, (unsigned char *)c2h.data, RELAY_BUF);
            if (r > 0) {
                c2h.off = 0;
                c2h.len = upgraded ? (size_t)r : 0; /* before an upgrade, nothing goes to the host */
                progress = true;
            } else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
                why = "the client ended"; /* close_notify, EOF or error */
                break;
            }
        }
        if (c2h.off < c2h.len) {
            ssize_t w = vc__kconn_write(h, c2h.data + c2h.off, c2h.len - c2h.off);
            if (w > 0) {
                c2h.off += (size_t)w;
                n_c2h += (uint64_t)w;
                progress = true;
            } else if (w == VC__EAGAIN) {
                h_want_write = true;
            } else {
                /* the host no longer takes bytes (its side ended): drop what
                 * the client sends from now on, but keep relaying what the
                 * host already sent, to its end (the tail of an exec) */
                c2h.off = c2h.len = 0;
                c2h.eof = true;
                progress = true;
            }
        }
        if (progress)
            continue;
        /* nothing moved: wait for the sockets (TLS buffers were drained:
         * every read above returned "would block" before we get here) */
        struct pollfd pf[2] = { { .fd = c->fd, .events = 0, .revents = 0 },
                                { .fd = hfd, .events = 0, .revents = 0 } };
        if (c2h.off == c2h.len)
            pf[0].events |= POLLIN;
        if (c_want_write)
            pf[0].events |= POLLOUT;
        if (h2c.off == h2c.len && !h2c.eof)
            pf[1].events |= POLLIN;
        if (h_want_write)
            pf[1].events |= POLLOUT;
        if (c2h.off == c2h.len && mbedtls_ssl_get_bytes_avail(&c->ssl) > 0)
            continue; /* decrypted bytes wait in mbedTLS: read them first */
        /* a side we wait nothing from is left out, so its hang-up does not
         * wake us in a loop while the other side is slow */
        for (int i = 0; i < 2; i++)
            if (!pf[i].events)
                pf[i].fd = -1;
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            break;
    }
    VC__LOGD("kubelet", "relay ended (%s): %llu bytes to the client, %llu to the host%s", why,
             (unsigned long long)n_h2c, (unsigned long long)n_c2h, h2c.off < h2c.len ? ", some undelivered" : "");
    vc__free(h2c.data);
    vc__free(c2h.data);
    return VC_OK;
}

static int handle(conn *c, const char *head, size_t head_len)
{
    vc_kubelet_proxy *p = c->p;
    vc__kl_req req;
    if (vc__kl_parse(&req, head, head_len) < 0)
        return send_status(c, 400, "BadRequest", "malformed HTTP request");
    vc__kl_route route;
    int rc = vc__kl_route_req(&route, &req);
    if (rc < 0) {
        vc__kl_req_clear(&req);
        return rc;
    }
    char msg[600];
    switch (route.kind) {
    case VC__KL_HEALTHZ:
        rc = send_text(c, !strcmp(req.method, "HEAD")
                              ? "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
                              : "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        goto out;
    case VC__KL_NOTFOUND:
        snprintf(msg, sizeof msg, "%s: %s (metrics and stats are not proxied)", req.path, route.problem);
        rc = send_status(c, 404, "NotFound", msg);
        goto out;
    case VC__KL_BADREQUEST:
        rc = send_status(c, 400, "BadRequest", route.problem);
        goto out;
    case VC__KL_BADMETHOD:
        snprintf(msg, sizeof msg, "method %s is not allowed on %s", req.method, req.path);
        rc = send_status(c, 405, "MethodNotAllowed", msg);
        goto out;
    default:
        break;
    }
    /* the host pod, and whether it is ours */
    char hpod[VC__NAME_MAX];
    vc__host_name_ns(p->tr, route.pod, route.ns, hpod);
    char *path = vc__sprintf("/api/v1/namespaces/%s/pods/%s", p->host_ns, hpod);
    vc_buf pod = VC_BUF_INIT;
    long http = 0;
    rc = path ? vc__kube_fetch(p->host, path, p->timeout_ms, &http, &pod) : vc__error_oom();
    vc__free(path);
    snprintf(msg, sizeof msg, "pods \"%s\" not found", route.pod);
    if (rc < 0) {
        char m2[600];
        snprintf(m2, sizeof m2, "host API server: %s", vc_error_last()->message);
        rc = send_status(c, rc == VC_ETIMEDOUT ? 504 : 502, rc == VC_ETIMEDOUT ? "Timeout" : "InternalError", m2);
        vc_buf_dispose(&pod);
        goto out;
    }
    if (http == 404) {
        rc = send_status(c, 404, "NotFound", msg);
        vc_buf_dispose(&pod);
        goto out;
    }
    if (http != 200) {
        /* 403, 500, ...: the host's answer as it came */
        char *r = vc__kl_json_response((int)http, pod.ptr, pod.size);
        rc = send_text(c, r);
        vc__free(r);
        vc_buf_dispose(&pod);
        goto out;
    }
    json_t *pj = json_loadb(pod.ptr, pod.size, 0, NULL);
    bool ours = owned_pod(p, pj, route.ns, route.pod);
    json_decref(pj);
    vc_buf_dispose(&pod);
    if (!ours) {
        VC__LOGD("kubelet", "host pod %s/%s is not virtual pod %s/%s of %s", p->host_ns, hpod, route.ns, route.pod,
                 p->name);
        rc = send_status(c, 404, "NotFound", msg);
        goto out;
    }
    /* forward */
    char *hpath = vc__kl_host_path(&route, p->host_ns, hpod);
    char *fwd = vc__kl_forward_headers(&req);
    bool upgrade = vc__kl_is_upgrade(&req);
    const char *method = route.kind == VC__KL_LOGS ? "GET" : req.method;
    vc__kconn *h = NULL;
    int status = 0;
    char *hhead = NULL;
    rc = hpath && fwd ? vc__kconn_open(p->host, method, hpath, fwd, NULL, 0, p->timeout_ms, &h, &status, &hhead)
                      : vc__error_oom();
    VC__LOGD("kubelet", "%s %s -> %s %s: %d", req.method, req.target, method, hpath ? hpath : "", rc < 0 ? rc : status);
    vc__free(hpath);
    vc__free(fwd);
    if (rc < 0) {
        char m2[600];
        snprintf(m2, sizeof m2, "host API server: %s", vc_error_last()->message);
        rc = send_status(c, rc == VC_ETIMEDOUT ? 504 : 502, rc == VC_ETIMEDOUT ? "Timeout" : "InternalError", m2);
        goto out;
    }
    rc = relay(c, h, hhead, status, upgrade, false);
    vc__free(hhead);
    vc__kconn_close(h);
out:
    vc__kl_route_clear(&route);
    vc__kl_req_clear(&req);
    return rc;
}

/* End our side (FIN), then read and drop what the client still sends, up
 * to LINGER_MS, before the caller closes the socket: closing a socket with
 * unread bytes sends a RST, and a RST makes the peer drop what it has
 * received but not read yet (the tail of an exec's output). */
static void linger_close(int fd)
{
    if (shutdown(fd, SHUT_WR) < 0)
        return;
    int64_t deadline = vc__now_ms() + LINGER_MS;
    char sink[4096];
    for (;;) {
        ssize_t n = recv(fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return;
        if (n > 0)
            continue;
        if (wait_fd(fd, POLLIN, deadline) <= 0)
            return;
    }
}

int vc_kubelet_proxy_serve(vc_kubelet_proxy *proxy, int fd)
{
    if (!proxy || fd < 0)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_kubelet_proxy_serve: proxy and fd are required");
    atomic_fetch_add(&proxy->refs, 1);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    conn c = { .p = proxy, .fd = fd };
    mbedtls_ssl_init(&c.ssl);
    int rc = VC_OK;
    int ret = mbedtls_ssl_setup(&c.ssl, &proxy->conf);
    if (ret != 0) {
        rc = tls_err(ret, "TLS setup");
        goto done;
    }
    mbedtls_ssl_set_bio(&c.ssl, &c, bio_send, bio_recv, NULL);
    int64_t deadline = vc__now_ms() + proxy->timeout_ms;
    for (;;) {
        ret = mbedtls_ssl_handshake(&c.ssl);
        if (ret == 0)
            break;
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            int w = wait_fd(fd, ret == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (w <= 0) {
                rc = vc__error(VC_ETIMEDOUT, VC_ERRCLASS_HTTP, "kubelet proxy: TLS handshake timed out");
                goto done;
            }
            continue;
        }
        rc = tls_err(ret, "TLS handshake (is the client's certificate signed by the client CA?)");
        VC__LOGD("kubelet", "%s", vc_error_last()->message);
        goto done;
    }
    vc_buf head = VC_BUF_INIT;
    rc = read_head(&c, &head, deadline);
    if (rc == VC_ETOOMANY)
        rc = send_status(&c, 431, "RequestHeaderFieldsTooLarge", "request headers exceed 16 KiB");
    else if (rc == VC_OK)
        rc = handle(&c, head.ptr, head.size);
    vc_buf_dispose(&head);
    /* best effort: tell the client we are done */
    (void)mbedtls_ssl_close_notify(&c.ssl);
    linger_close(fd);
done:
    mbedtls_ssl_free(&c.ssl);
    proxy_unref(proxy);
    return rc;
}
