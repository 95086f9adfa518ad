/* Internal Kubernetes client: kubeconfig, verbs, discovery, watches. */
#ifndef VC_KUBE_KUBE_H
#define VC_KUBE_KUBE_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/types.h>

#include "util/util.h"
#include "vcluster/kube.h"

/* ---- connection config (what a kubeconfig context resolves to) ---- */
typedef struct vc__exec_cfg {
    char *command;
    char **args;          /* NULL-terminated */
    char **env;           /* "NAME=value", NULL-terminated */
    char *api_version;
    char *install_hint;
    bool provide_cluster_info;
} vc__exec_cfg;

typedef struct vc__kube_cfg {
    char *server;                 /* https://host:port (no trailing slash) */
    char *context, *cluster_name, *user_name;
    char *namespace_;
    unsigned char *ca_data; size_t ca_len;       /* PEM */
    unsigned char *cert_data; size_t cert_len;   /* PEM */
    unsigned char *key_data; size_t key_len;     /* PEM */
    char *token;
    char *token_file;
    char *username, *password;
    char *proxy_url;
    char *tls_server_name;
    bool insecure;
    vc__exec_cfg *exec;
    char *source;                 /* where it came from, for messages */
} vc__kube_cfg;

void vc__kube_cfg_clear(vc__kube_cfg *c);

/* Load a kubeconfig as kubectl does. `paths` is an explicit ':'-separated list
 * (NULL: $KUBECONFIG, else ~/.kube/config); `data` inline YAML overrides all.
 * `context` NULL: current-context. Errors: VC_ECONFIG naming file:line:col and field. */
int vc__kubeconfig_load(vc__kube_cfg *out, const char *paths, const char *data,
                        const char *context);
/* In-cluster config from `dir` (NULL: the standard SA dir) and the
 * KUBERNETES_SERVICE_HOST/PORT environment. */
int vc__kube_incluster(vc__kube_cfg *out, const char *dir);

/* Run an exec credential plugin; fills token or client cert/key. */
typedef struct vc__exec_cred {
    char *token;
    unsigned char *cert; size_t cert_len;
    unsigned char *key; size_t key_len;
    int64_t expires_ms;  /* wall clock, 0 = never */
} vc__exec_cred;
/* Blocking: runs the plugin and waits for it (up to 60 s). */
int vc__exec_run(const vc__exec_cfg *e, const vc__kube_cfg *cfg, vc__exec_cred *out);
void vc__exec_cred_clear(vc__exec_cred *c);

/* The same without waiting, for event loops: start the plugin, poll its two
 * pipes (vc__exec_fd 0: stdout, 1: stderr; -1 once closed) with the loop's
 * other fds, and call vc__exec_poll() when they are readable or the
 * deadline (monotonic ms) comes. vc__exec_poll() reads what is there and
 * returns VC__EAGAIN while the plugin runs (both fds closed but the
 * process not reaped yet: look again in a few ms), VC_OK with *out filled,
 * or an error (VC_EAUTH, VC_ETIMEDOUT after 60 s: the plugin is killed).
 * vc__exec_job_free() kills a plugin still running. */
typedef struct vc__exec_job vc__exec_job;
int vc__exec_start(vc__exec_job **out, const vc__exec_cfg *e, const vc__kube_cfg *cfg);
int vc__exec_fd(const vc__exec_job *j, int i);
int64_t vc__exec_deadline(const vc__exec_job *j);
int vc__exec_poll(vc__exec_job *j, vc__exec_cred *out);
void vc__exec_job_free(vc__exec_job *j);

/* ---- the client ---- */
typedef struct vc__gvk_cache vc__gvk_cache;

struct vc_kube {
    int refcount;
    vc__kube_cfg cfg;
    CURL *easy;                 /* reused for blocking calls: keeps the connection */
    struct curl_slist *auth_headers;
    int32_t timeout_ms;
    int32_t max_retries;
    uint32_t flags;
    /* token bucket */
    double qps;
    double burst;
    double tokens;
    int64_t tokens_at_ms;
    /* exec plugin credential cache */
    vc__exec_cred exec_cred;
    char *bearer;               /* current bearer token (token, tokenFile, exec) */
    int64_t bearer_read_ms;
    /* Guards bearer, bearer_read_ms and exec_cred, so vc__kube_setup_easy()
     * (and vc__kconn_open()) may run on other threads than the owner's. */
    pthread_mutex_t cred_mu;
    vc__gvk_cache *discovery;
};

vc_kube *vc__kube_ref(vc_kube *k);
void vc__kube_unref(vc_kube *k);

/* Apply TLS/auth/proxy options of `k` to an easy handle (for watches too).
 * *headers gets "Authorization: ..." (when there is a token) and "Accept".
 * Thread-safe against itself and vc__kconn_open() on the same `k` (the
 * credential state is under k->cred_mu); vc__kube_do() is not. */
int vc__kube_setup_easy(vc_kube *k, CURL *easy, struct curl_slist **headers);

/* The same for event loops: never runs an exec plugin. Returns
 * VC__ENEEDCRED (nothing set up) when k has an exec plugin and no valid
 * credential: the loop runs the plugin (vc__exec_start), installs what it
 * printed with vc__kube_exec_install() and calls this again. *refresh
 * (may be NULL) is set when the credential is valid but expires soon, so a
 * loop can run the plugin ahead of time. */
#define VC__ENEEDCRED (-1001)
int vc__kube_setup_easy_nb(vc_kube *k, CURL *easy, struct curl_slist **headers, bool *refresh);
/* Takes ownership of *c (cleared). Thread-safe (k->cred_mu). */
void vc__kube_exec_install(vc_kube *k, vc__exec_cred *c);

/* Map a failed libcurl transfer to VC_ETIMEDOUT, VC_ETLS or VC_ECONNECT with
 * "what: detail" as the message (detail "" or NULL: curl's text). */
int vc__kube_map_curl(CURLcode c, const char *what, const char *detail);

/* Map an HTTP error status + body to a vc_status, setting vc_error_last with
 * the server's Status message. `what` prefixes the message ("GET /api/v1/..."). */
int vc__kube_map_error(long http, const char *body, size_t body_len, const char *what);

/* Blocking request with rate limit, retries, timeout. body may be NULL. */
int vc__kube_do(vc_kube *k, const char *method, const char *path,
                const char *content_type, const char *body, size_t body_len,
                long *out_http, vc_buf *out);

/* A plain-HTTP GET (loopback health endpoints); *out_status gets the code. */
int vc__http_status(const char *url, int32_t timeout_ms, long *out_status);

/* Rate limiter: how long (ms) until a token is available; takes it if 0. */
int64_t vc__kube_ratelimit_take(vc_kube *k);

/* ---- raw connections (kconn.c): HTTP/1.1 upgrades and streams ---- */

/* "Nothing arrived within the timeout": returned by vc__kconn_read() without
 * touching vc_error_last(). Internal, not a vc_status value. */
#define VC__EAGAIN (-1000)

typedef struct vc__kconn vc__kconn;

/* Connects to k's API server with k's TLS settings and credentials (client
 * cert, bearer token, exec-plugin token, basic auth), HTTP/1.1 only (no ALPN
 * h2), sends "METHOD PATH HTTP/1.1" with Host, User-Agent, the auth header
 * and `extra_headers` (CRLF-separated "Name: value" lines, may be NULL, e.g.
 * Connection/Upgrade/Sec-WebSocket-* /X-Stream-Protocol-Version), then
 * Content-Length and `body` when body != NULL, and reads the status line and
 * headers (at most 64 KiB). `timeout_ms` (<= 0: k's request timeout) bounds
 * the whole exchange up to the end of the headers.
 * *status gets the HTTP status; *headers (may be NULL) gets the raw header
 * block from the status line through the empty line that ends it (caller
 * frees with vc__free). Afterwards the connection is positioned at the first
 * byte after the headers (101: the upgraded stream; otherwise the body, as
 * the server framed it). No retries, no rate limit, no 401 refresh.
 * Thread-safe on a shared `k` (see vc__kube_setup_easy).
 * Errors: VC_ECONNECT, VC_ETLS, VC_ETIMEDOUT, VC_EAPI (not HTTP, or headers
 * too large), VC_EAUTH (credentials unusable), VC_EINVAL, VC_ENOMEM. A
 * non-2xx status is NOT an error: the caller reads *status. */
int vc__kconn_open(vc_kube *k, const char *method, const char *path, const char *extra_headers,
                   const void *body, size_t body_len, int32_t timeout_ms,
                   vc__kconn **out, int *status, char **headers);
/* Reads up to n bytes: > 0 bytes, 0 on EOF, VC__EAGAIN when nothing is
 * available within timeout_ms (0 = do not wait, < 0 = no limit), another
 * negative vc status on error (VC_ECONNECT). Bytes already buffered (read
 * with the headers, or decrypted by TLS) come first. */
ssize_t vc__kconn_read(vc__kconn *c, void *buf, size_t n, int32_t timeout_ms);
/* Writes what it can of n bytes without waiting: > 0 bytes written,
 * VC__EAGAIN when none could be (poll the fd for POLLOUT, then retry with the
 * same bytes), another negative vc status on error. */
ssize_t vc__kconn_write(vc__kconn *c, const void *buf, size_t n);
/* Writes all n bytes within timeout_ms (< 0: no limit): VC_OK, VC_ETIMEDOUT
 * or VC_ECONNECT. */
int vc__kconn_write_all(vc__kconn *c, const void *buf, size_t n, int32_t timeout_ms);
/* The socket, for poll(). Before polling for POLLIN, call vc__kconn_read(...,
 * 0) until it returns VC__EAGAIN: buffered or TLS-decrypted bytes do not
 * make the socket readable. */
int vc__kconn_fd(const vc__kconn *c);
/* Half-close is not offered: closing ends both directions. NULL-safe. */
void vc__kconn_close(vc__kconn *c);

/* One GET on a connection of its own (no retries, no rate limit), for
 * callers on other threads than k's owner (the kubelet proxy). VC_OK when
 * an HTTP answer came, whatever its status (*http); *out gets the body.
 * Errors: VC_ECONNECT, VC_ETLS, VC_ETIMEDOUT, VC_EAUTH, VC_ENOMEM. */
int vc__kube_fetch(vc_kube *k, const char *path, int32_t timeout_ms, long *http, vc_buf *out);

/* ---- resource paths ---- */
typedef struct vc__kres {
    const char *api_version;   /* "v1", "apps/v1" */
    const char *resource;      /* plural, "pods" */
    const char *ns;            /* NULL/"" for cluster-scoped or all namespaces */
    const char *name;          /* NULL for collections */
    const char *sub;           /* subresource or NULL */
} vc__kres;

typedef struct vc__list_opts {
    const char *label_selector;
    const char *field_selector;
    const char *resource_version;
    const char *resource_version_match;
    const char *continue_token;
    int64_t limit;
    bool watch;
    bool allow_bookmarks;
    bool send_initial_events;
    int32_t timeout_seconds;
} vc__list_opts;

/* Build "/api/v1/namespaces/NS/pods/NAME/status?..." into b. */
int vc__kube_path(vc_buf *b, const vc__kres *r, const vc__list_opts *o);

/* ---- verbs (JSON in/out). out may be NULL. ---- */
int vc__kube_get(vc_kube *k, const vc__kres *r, json_t **out);
/* One page; use o->limit / o->continue_token. */
int vc__kube_list(vc_kube *k, const vc__kres *r, const vc__list_opts *o, json_t **out);
/* All pages merged into one list (items appended), page size o->limit (0: 500). */
int vc__kube_list_all(vc_kube *k, const vc__kres *r, const vc__list_opts *o, json_t **out);
int vc__kube_create(vc_kube *k, const vc__kres *r, json_t *obj, json_t **out);
int vc__kube_update(vc_kube *k, const vc__kres *r, json_t *obj, json_t **out);

typedef enum vc__patch_type {
    VC__PATCH_MERGE = 0,
    VC__PATCH_STRATEGIC = 1,
    VC__PATCH_JSON = 2,
    VC__PATCH_APPLY = 3,
} vc__patch_type;
int vc__kube_patch(vc_kube *k, const vc__kres *r, vc__patch_type type, const char *patch,
                   const char *field_manager, bool force, json_t **out);

typedef struct vc__delete_opts {
    const char *propagation;      /* "Foreground", "Background", "Orphan" or NULL */
    int64_t grace_seconds;        /* < 0: server default */
    const char *precondition_uid;
    const char *precondition_rv;
} vc__delete_opts;
int vc__kube_delete(vc_kube *k, const vc__kres *r, const vc__delete_opts *o, json_t **out);

/* ---- discovery: kind -> resource, cached per client ---- */
typedef struct vc__gvr {
    char *api_version;
    char *resource;
    char *kind;
    bool namespaced;
} vc__gvr;
int vc__kube_discover(vc_kube *k, const char *api_version, const char *kind, vc__gvr *out);
void vc__gvr_clear(vc__gvr *g);
void vc__discovery_free(vc__gvk_cache *c);

#endif
