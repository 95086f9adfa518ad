/* The connection handle: TLS/auth setup, blocking requests with rate limit,
 * retries and timeouts, and API error mapping. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kube/kube.h"
#include "util/vstruct.h"
#include "vcluster/version.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_QPS 50.0
#define DEFAULT_BURST 100
#define DEFAULT_RETRIES 5
#define TOKEN_FILE_REREAD_MS 60000

VC__VSTRUCT(vc_kube_options, VC_KUBE_OPTIONS_VERSION, );
VC__OPTIONS_INIT_FN(vc_kube_options, VC_KUBE_OPTIONS_INIT)

/* Atomic: port-forwards (and other children) may take and drop references
 * on other threads than the owner's (vc_port_forward_open's thread rule). */
vc_kube *vc__kube_ref(vc_kube *k)
{
    if (k)
        __atomic_add_fetch(&k->refcount, 1, __ATOMIC_RELAXED);
    return k;
}

void vc__kube_unref(vc_kube *k)
{
    /* atomic: the kubelet proxy may drop the last reference on a thread of
     * its own (its last connection ending after vc_kubelet_proxy_free) */
    if (!k || __atomic_sub_fetch(&k->refcount, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (k->easy)
        curl_easy_cleanup(k->easy);
    vc__kube_cfg_clear(&k->cfg);
    vc__exec_cred_clear(&k->exec_cred);
    vc__free(k->bearer);
    vc__discovery_free(k->discovery);
    pthread_mutex_destroy(&k->cred_mu);
    vc__free(k);
}

void vc_kube_free(vc_kube *kube)
{
    vc__kube_unref(kube);
}

int vc_kube_new(vc_kube **out, const vc_kube_options *user_opts)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out is NULL");
    *out = NULL;
    /* only the bytes of the caller's version are read (util/vstruct.h) */
    vc_kube_options o = VC_KUBE_OPTIONS_INIT;
    int rc = user_opts ? vc__vstruct_read(&vc_kube_options__vs, &o, user_opts) : VC_OK;
    if (rc < 0)
        return rc;
    const vc_kube_options *opts = &o;
    vc_kube *k = vc__calloc(1, sizeof(*k));
    if (!k)
        return vc__error_oom();
    k->refcount = 1;
    pthread_mutex_init(&k->cred_mu, NULL);
    int r;
    if (opts->flags & VC_KUBE_IN_CLUSTER) {
        r = vc__kube_incluster(&k->cfg, opts->in_cluster_dir);
    } else {
        r = vc__kubeconfig_load(&k->cfg, opts->kubeconfig, opts->kubeconfig_data, opts->context);
        if (r < 0 && (opts->flags & VC_KUBE_IN_CLUSTER_FALLBACK) && !opts->kubeconfig && !opts->kubeconfig_data &&
            getenv("KUBERNETES_SERVICE_HOST")) {
            r = vc__kube_incluster(&k->cfg, opts->in_cluster_dir);
        }
    }
    if (r < 0) {
        pthread_mutex_destroy(&k->cred_mu);
        vc__free(k);
        return r;
    }
    if (!vc__str_empty(opts->default_namespace)) {
        vc__free(k->cfg.namespace_);
        k->cfg.namespace_ = vc__strdup(opts->default_namespace);
    }
    if (!k->cfg.namespace_)
        k->cfg.namespace_ = vc__strdup("default");
    k->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    k->max_retries = opts->max_retries > 0 ? opts->max_retries : DEFAULT_RETRIES;
    if (opts->flags & VC_KUBE_NO_RETRY)
        k->max_retries = 0;
    k->flags = opts->flags;
    k->qps = opts->qps == 0 ? DEFAULT_QPS : opts->qps;
    k->burst = opts->burst > 0 ? opts->burst : DEFAULT_BURST;
    k->tokens = k->burst;
    k->tokens_at_ms = vc__now_ms();
    if (!k->cfg.namespace_) {
        vc__kube_unref(k);
        return vc__error_oom();
    }
    *out = k;
    return VC_OK;
}

const char *vc_kube_server(vc_kube *kube)
{
    return kube && kube->cfg.server ? kube->cfg.server : "";
}

const char *vc_kube_namespace(vc_kube *kube)
{
    return kube && kube->cfg.namespace_ ? kube->cfg.namespace_ : "default";
}

const char *vc_kube_context(vc_kube *kube)
{
    return kube && kube->cfg.context ? kube->cfg.context : "";
}

int64_t vc__kube_ratelimit_take(vc_kube *k)
{
    if (k->qps < 0)
        return 0;
    int64_t now = vc__now_ms();
    k->tokens += (double)(now - k->tokens_at_ms) * k->qps / 1000.0;
    if (k->tokens > k->burst)
        k->tokens = k->burst;
    k->tokens_at_ms = now;
    if (k->tokens >= 1.0) {
        k->tokens -= 1.0;
        return 0;
    }
    int64_t wait = (int64_t)((1.0 - k->tokens) * 1000.0 / k->qps) + 1;
    return wait;
}

/* An exec credential is used until 10 s before it expires; a loop runs the
 * plugin again from 60 s before, while requests still go with the old one. */
#define EXEC_EXPIRY_MARGIN_MS 10000
#define EXEC_REFRESH_AHEAD_MS 60000

static bool exec_valid(vc_kube *k, int64_t margin_ms)
{
    return (k->exec_cred.token || k->exec_cred.cert) &&
           (k->exec_cred.expires_ms == 0 || k->exec_cred.expires_ms - margin_ms > vc__wall_ms());
}

void vc__kube_exec_install(vc_kube *k, vc__exec_cred *c)
{
    pthread_mutex_lock(&k->cred_mu);
    vc__exec_cred_clear(&k->exec_cred);
    k->exec_cred = *c;
    memset(c, 0, sizeof(*c));
    vc__free(k->bearer);
    k->bearer = k->exec_cred.token ? vc__strdup(k->exec_cred.token) : NULL;
    pthread_mutex_unlock(&k->cred_mu);
}

/* Runs k's exec plugin and waits for it, without holding k->cred_mu (a
 * loop on another thread must not wait for the plugin too). */
static int exec_refresh_blocking(vc_kube *k)
{
    vc__exec_cred nc;
    int r = vc__exec_run(k->cfg.exec, &k->cfg, &nc);
    if (r < 0)
        return r;
    vc__kube_exec_install(k, &nc);
    return VC_OK;
}

/* Current bearer token, under k->cred_mu: static token, tokenFile (re-read
 * every minute, as client-go does, or now when `force`) or the exec
 * plugin's. Never runs the plugin: VC__ENEEDCRED when its credential is
 * missing or about to expire. */
static int refresh_bearer(vc_kube *k, bool force)
{
    int64_t now = vc__now_ms();
    if (k->cfg.exec)
        return exec_valid(k, EXEC_EXPIRY_MARGIN_MS) ? VC_OK : VC__ENEEDCRED;
    if (k->cfg.token_file && (force || !k->bearer || now - k->bearer_read_ms > TOKEN_FILE_REREAD_MS)) {
        char *txt = NULL;
        size_t len = 0;
        int r = vc__file_read(k->cfg.token_file, &txt, &len);
        if (r < 0) {
            if (k->bearer)
                return VC_OK; /* keep the last good token */
            vc__error_prefix("tokenFile");
            return VC_EAUTH;
        }
        while (len > 0 && (txt[len - 1] == '\n' || txt[len - 1] == '\r' || txt[len - 1] == ' '))
            txt[--len] = '\0';
        vc__free(k->bearer);
        k->bearer = txt;
        k->bearer_read_ms = now;
        return VC_OK;
    }
    if (k->cfg.token && !k->bearer) {
        k->bearer = vc__strdup(k->cfg.token);
        if (!k->bearer)
            return vc__error_oom();
    }
    return VC_OK;
}

static int setup_easy_locked(vc_kube *k, CURL *e, struct curl_slist **headers);

int vc__kube_setup_easy_nb(vc_kube *k, CURL *e, struct curl_slist **headers, bool *refresh)
{
    pthread_mutex_lock(&k->cred_mu);
    int r = setup_easy_locked(k, e, headers);
    if (refresh)
        *refresh = r == VC_OK && k->cfg.exec && !exec_valid(k, EXEC_REFRESH_AHEAD_MS);
    pthread_mutex_unlock(&k->cred_mu);
    return r;
}

int vc__kube_setup_easy(vc_kube *k, CURL *e, struct curl_slist **headers)
{
    int r = vc__kube_setup_easy_nb(k, e, headers, NULL);
    if (r != VC__ENEEDCRED)
        return r;
    if ((r = exec_refresh_blocking(k)) < 0)
        return r;
    r = vc__kube_setup_easy_nb(k, e, headers, NULL);
    if (r == VC__ENEEDCRED)
        r = vc__error(VC_EAUTH, VC_ERRCLASS_KUBECONFIG, "exec plugin \"%s\" returned a credential that expires in less than %d s",
                      k->cfg.exec->command, EXEC_EXPIRY_MARGIN_MS / 1000);
    return r;
}

static int setup_easy_locked(vc_kube *k, CURL *e, struct curl_slist **headers)
{
    int r = refresh_bearer(k, false);
    if (r < 0)
        return r;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "libvcluster/" VC_VERSION_STRING);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    if (k->cfg.ca_data) {
        struct curl_blob b = { k->cfg.ca_data, k->cfg.ca_len, CURL_BLOB_COPY };
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    }
    const unsigned char *cert = k->exec_cred.cert ? k->exec_cred.cert : k->cfg.cert_data;
    size_t cert_len = k->exec_cred.cert ? k->exec_cred.cert_len : k->cfg.cert_len;
    const unsigned char *key = k->exec_cred.key ? k->exec_cred.key : k->cfg.key_data;
    size_t key_len = k->exec_cred.key ? k->exec_cred.key_len : k->cfg.key_len;
    if (cert && key) {
        struct curl_blob cb = { (void *)cert, cert_len, CURL_BLOB_COPY };
        struct curl_blob kb = { (void *)key, key_len, CURL_BLOB_COPY };
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (k->cfg.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (k->cfg.proxy_url)
        curl_easy_setopt(e, CURLOPT_PROXY, k->cfg.proxy_url);
    else
        curl_easy_setopt(e, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    if (k->cfg.username && k->cfg.password && !k->bearer) {
        curl_easy_setopt(e, CURLOPT_USERNAME, k->cfg.username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, k->cfg.password);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    struct curl_slist *h = NULL, *t;
    if (k->bearer) {
        char *v = vc__sprintf("Authorization: Bearer %s", k->bearer);
        if (!v)
            return vc__error_oom();
        t = curl_slist_append(h, v);
        vc__free(v);
        if (!t)
            goto oom;
        h = t;
    }
    if (!(t = curl_slist_append(h, "Accept: application/json")))
        goto oom;
    h = t;
    *headers = h;
    return VC_OK;
oom:
    curl_slist_free_all(h);
    return vc__error_oom();
}

static const char *status_reason_default(long http)
{
    switch (http) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "";
    }
}

int vc__kube_map_error(long http, const char *body, size_t body_len, const char *what)
{
    const char *reason = NULL, *message = NULL;
    json_t *st = NULL;
    if (body && body_len) {
        st = json_loadb(body, body_len, 0, NULL);
        if (json_is_object(st) && vc__streq(json_string_value(json_object_get(st, "kind")), "Status")) {
            reason = json_string_value(json_object_get(st, "reason"));
            message = json_string_value(json_object_get(st, "message"));
        }
    }
    if (vc__str_empty(reason))
        reason = status_reason_default(http);
    int code;
    switch (http) {
    case 401: code = VC_EAUTH; break;
    case 403: code = VC_EFORBIDDEN; break;
    case 404: code = VC_ENOTFOUND; break;
    case 409: code = vc__streq(reason, "AlreadyExists") ? VC_EEXISTS : VC_ECONFLICT; break;
    case 410: code = VC_EGONE; break;
    case 422: code = VC_EINVALIDOBJ; break;
    case 429: code = VC_ETOOMANY; break;
    case 504: code = VC_ETIMEDOUT; break;
    default: code = VC_EAPI; break;
    }
    char snippet[201] = "";
    if (vc__str_empty(message) && body && body_len) {
        size_t n = body_len < 200 ? body_len : 200;
        memcpy(snippet, body, n);
        snippet[n] = '\0';
        message = snippet;
    }
    vc__error_http(code, (int)http, reason, "%s: %s (HTTP %ld%s%s)", what,
                   vc__str_empty(message) ? "no message from the server" : message, http,
                   vc__str_empty(reason) ? "" : " ", vc__str_empty(reason) ? "" : reason);
    json_decref(st);
    return code;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    vc_buf *b = ud;
    size_t n = size * nmemb;
    if (vc__buf_put(b, ptr, n) < 0)
        return 0;
    return n;
}

typedef struct hdr_state {
    int64_t retry_after_ms;
} hdr_state;

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    hdr_state *h = ud;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
        long s = strtol(ptr + 12, NULL, 10);
        if (s > 0 && s < 3600)
            h->retry_after_ms = s * 1000;
    }
    return n;
}

static bool retryable_curl(CURLcode c, bool idempotent)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return true;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return idempotent;
    default:
        return false;
    }
}

int vc__kube_map_curl(CURLcode c, const char *what, const char *detail)
{
    int code;
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT: code = VC_ETIMEDOUT; break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        code = VC_ETLS;
        break;
    case CURLE_OUT_OF_MEMORY: return vc__error_oom();
    default: code = VC_ECONNECT; break;
    }
    return vc__error_http(code, 0, NULL, "%s: %s", what, detail && *detail ? detail : curl_easy_strerror(c));
}

int vc__kube_do(vc_kube *k, const char *method, const char *path, const char *content_type,
                const char *body, size_t body_len, long *out_http, vc_buf *out)
{
    if (out_http)
        *out_http = 0;
    if (!k->easy) {
        k->easy = curl_easy_init();
        if (!k->easy)
            return vc__error_oom();
    }
    char *url = vc__sprintf("%s%s", k->cfg.server, path);
    char *what = vc__sprintf("%s %s", method, url ? url : path);
    if (!url || !what) {
        vc__free(url);
        vc__free(what);
        return vc__error_oom();
    }
    bool idempotent = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    int64_t deadline = vc__now_ms() + k->timeout_ms;
    vc_buf resp = VC_BUF_INIT;
    int rc = VC_OK;
    bool auth_retried = false;
    for (int attempt = 0;; attempt++) {
        int64_t wait = vc__kube_ratelimit_take(k);
        while (wait > 0) {
            if (vc__now_ms() + wait > deadline) {
                rc = vc__error_http(VC_ETIMEDOUT, 0, NULL, "%s: client rate limit (%.1f qps) exceeds the timeout",
                                    what, k->qps);
                goto done;
            }
            vc__sleep_ms(wait);
            wait = vc__kube_ratelimit_take(k);
        }
        CURL *e = k->easy;
        curl_easy_reset(e);
        struct curl_slist *h = NULL;
        if ((rc = vc__kube_setup_easy(k, e, &h)) < 0) {
            vc__error_prefix("%s", what);
            goto done;
        }
        if (body) {
            char *ct = vc__sprintf("Content-Type: %s", content_type ? content_type : "application/json");
            struct curl_slist *t = ct ? curl_slist_append(h, ct) : NULL;
            vc__free(ct);
            if (!t) {
                curl_slist_free_all(h);
                rc = vc__error_oom();
                goto done;
            }
            h = t;
        }
        vc__buf_clear(&resp);
        hdr_state hs = { 0 };
        int64_t left = deadline - vc__now_ms();
        if (left < 1)
            left = 1;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        if (!strcmp(method, "HEAD"))
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        if (body) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &hs);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(left < 10000 ? left : 10000));
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        CURLcode cr = curl_easy_perform(e);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
        curl_slist_free_all(h);
        long http = 0;
        int64_t backoff = 100LL << (attempt < 6 ? attempt : 6);
        if (backoff > 5000)
            backoff = 5000;
        backoff += rand() % 50;
        if (cr != CURLE_OK) {
            if (attempt < k->max_retries && retryable_curl(cr, idempotent) && vc__now_ms() + backoff < deadline) {
                VC__LOGD("kube", "%s: %s; retry %d in %lld ms", what, errbuf[0] ? errbuf : curl_easy_strerror(cr),
                         attempt + 1, (long long)backoff);
                vc__sleep_ms(backoff);
                continue;
            }
            rc = vc__kube_map_curl(cr, what, errbuf);
            goto done;
        }
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
        if (out_http)
            *out_http = http;
        if (http == 401 && !auth_retried && (k->cfg.exec || k->cfg.token_file)) {
            auth_retried = true;
            int rr;
            if (k->cfg.exec) {
                rr = exec_refresh_blocking(k);
            } else {
                pthread_mutex_lock(&k->cred_mu);
                rr = refresh_bearer(k, true);
                pthread_mutex_unlock(&k->cred_mu);
            }
            if (rr == VC_OK)
                continue;
        }
        bool retry_status = http == 429 || http == 502 || http == 503 || http == 504 ||
                            (http >= 500 && hs.retry_after_ms > 0);
        if (retry_status && attempt < k->max_retries) {
            int64_t w = hs.retry_after_ms > 0 ? hs.retry_after_ms : backoff;
            if (vc__now_ms() + w < deadline) {
                VC__LOGD("kube", "%s: HTTP %ld; retry %d in %lld ms", what, http, attempt + 1, (long long)w);
                vc__sleep_ms(w);
                continue;
            }
        }
        if (http < 200 || http >= 300)
            rc = vc__kube_map_error(http, resp.ptr, resp.size, what);
        break;
    }
done:
    if (out) {
        vc_buf_dispose(out);
        *out = resp;
    } else {
        vc_buf_dispose(&resp);
    }
    if (rc == VC_OK)
        vc_error_clear();
    vc__free(url);
    vc__free(what);
    return rc;
}

int vc_kube_request(vc_kube *kube, vc_buf *out, int32_t *out_http_status, const char *method,
                    const char *path, const char *body, const char *content_type)
{
    if (out_http_status)
        *out_http_status = 0;
    if (!kube || !method || !path || path[0] != '/')
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_kube_request: kube, method and a path starting with '/' are required");
    long http = 0;
    vc_buf tmp = VC_BUF_INIT;
    int r = vc__kube_do(kube, method, path, content_type, body, body ? strlen(body) : 0, &http, &tmp);
    if (out_http_status)
        *out_http_status = (int32_t)http;
    if (out) {
        vc_buf_dispose(out);
        *out = tmp;
        if (!out->ptr)
            vc__buf_set(out, "");
    } else {
        vc_buf_dispose(&tmp);
    }
    return r;
}

int vc_kube_server_version(vc_kube *kube, vc_buf *out)
{
    if (!kube || !out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "kube and out are required");
    vc_buf b = VC_BUF_INIT;
    int r = vc__kube_do(kube, "GET", "/version", NULL, NULL, 0, NULL, &b);
    if (r < 0) {
        vc_buf_dispose(&b);
        return r;
    }
    json_t *v = json_loadb(b.ptr ? b.ptr : "", b.size, 0, NULL);
    vc_buf_dispose(&b);
    const char *gv = json_string_value(json_object_get(v, "gitVersion"));
    if (!gv) {
        json_decref(v);
        return vc__error(VC_EAPI, VC_ERRCLASS_API, "GET /version: no gitVersion in the answer");
    }
    vc_buf_dispose(out);
    r = vc__buf_set(out, gv);
    json_decref(v);
    return r;
}

static size_t discard_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

int vc__http_status(const char *url, int32_t timeout_ms, long *out_status)
{
    *out_status = 0;
    CURL *e = curl_easy_init();
    if (!e)
        return vc__error_oom();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
    CURLcode cr = curl_easy_perform(e);
    if (cr == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, out_status);
    curl_easy_cleanup(e);
    if (cr != CURLE_OK)
        return vc__error_http(VC_ECONNECT, 0, NULL, "GET %s: %s", url, curl_easy_strerror(cr));
    return VC_OK;
}
