/* Internal: the kubelet proxy's request parser and path mapping (request.c,
 * pure: no I/O) and the server (proxy.c). */
#ifndef VC_KUBELET_KUBELET_H
#define VC_KUBELET_KUBELET_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"
#include "vcluster/kubelet.h"

/* Bounds of what a client may send before its request is refused. */
#define VC__KL_MAX_HEAD 16384     /* request line + headers, bytes (431 past it) */
#define VC__KL_MAX_HEADERS 64     /* header lines */

typedef struct vc__kl_header {
    const char *name;   /* points into the request's copy of the head */
    const char *value;  /* leading/trailing blanks trimmed */
} vc__kl_header;

/* One parsed request head. Strings point into `raw` (a NUL-separated copy). */
typedef struct vc__kl_req {
    char *raw;
    const char *method;
    const char *target;     /* path?query as sent */
    const char *path;       /* percent-decoded path, without the query (messages) */
    const char *raw_path;   /* the path as sent, without the query (routing) */
    const char *query;      /* raw query (after '?'), "" when none */
    vc__kl_header headers[VC__KL_MAX_HEADERS];
    size_t n_headers;
} vc__kl_req;

/* Parse a complete head (`len` bytes, ending with the empty line). Returns
 * VC_OK, or the HTTP status to answer with as a negative number is not
 * used: VC_EINVAL (400) for malformed input, VC_ENOMEM. */
int vc__kl_parse(vc__kl_req *out, const char *head, size_t len);
void vc__kl_req_clear(vc__kl_req *r);
/* The first header named `name` (case-insensitive), or NULL. */
const char *vc__kl_header_get(const vc__kl_req *r, const char *name);
/* True when the request asks for a protocol upgrade (Connection: upgrade). */
bool vc__kl_is_upgrade(const vc__kl_req *r);

typedef enum vc__kl_kind {
    VC__KL_HEALTHZ = 0,
    VC__KL_LOGS,
    VC__KL_EXEC,
    VC__KL_ATTACH,
    VC__KL_PORTFORWARD,
    VC__KL_NOTFOUND,    /* a kubelet path this proxy does not serve (404 + Status) */
    VC__KL_BADREQUEST,  /* a served path with bad names or parameters (400) */
    VC__KL_BADMETHOD    /* 405 */
} vc__kl_kind;

/* Where a request goes. ns/pod/container are validated names (DNS labels or
 * subdomains); `host_query` is the query for the host subresource without
 * "?" (container, command, stdin..., ports), percent-encoded. */
typedef struct vc__kl_route {
    vc__kl_kind kind;
    char ns[64];
    char pod[254];
    char container[64];
    char *host_query;       /* vc__malloc'ed, or NULL */
    const char *problem;    /* static text for NOTFOUND/BADREQUEST */
} vc__kl_route;

/* Route a parsed request (pure). Returns VC_OK (the verdict is in out->kind)
 * or VC_ENOMEM. */
int vc__kl_route_req(vc__kl_route *out, const vc__kl_req *r);
void vc__kl_route_clear(vc__kl_route *r);
/* "/api/v1/namespaces/<host_ns>/pods/<host_pod>/<log|exec|attach|portforward>?<host_query>" */
char *vc__kl_host_path(const vc__kl_route *r, const char *host_ns, const char *host_pod);
/* The client's upgrade headers to forward to the host (Connection, Upgrade,
 * X-Stream-Protocol-Version, Sec-WebSocket-*), CRLF-separated; for other
 * requests "Connection: close". vc__malloc'ed. */
char *vc__kl_forward_headers(const vc__kl_req *r);
/* Where a relayed response body ends (incremental; pure). */
typedef struct vc__kl_body {
    int mode;           /* VC__KL_BODY_* */
    uint64_t left;      /* Content-Length bytes left, or of the current chunk */
    int st;             /* chunked parser state */
    int digits;
    bool done;          /* the body is complete */
} vc__kl_body;
#define VC__KL_BODY_EOF 0      /* until the server closes */
#define VC__KL_BODY_LENGTH 1
#define VC__KL_BODY_CHUNKED 2
/* From a response head (status line through the empty line). */
void vc__kl_body_init(vc__kl_body *b, const char *head, int status, bool head_request);
/* Feed relayed bytes: returns how many belong to the body (<= n; the rest
 * is past its end), or -1 when the chunked framing is malformed. */
long vc__kl_body_feed(vc__kl_body *b, const char *data, size_t n);
/* The response head with Connection/Keep-Alive removed and
 * "Connection: close" added (vc__malloc'ed; NULL on OOM). */
char *vc__kl_close_head(const char *head);

/* A complete HTTP/1.1 response with a JSON body (Connection: close). */
char *vc__kl_json_response(int http, const char *body, size_t len);
/* A complete HTTP/1.1 response with a JSON Status body (Connection: close). */
char *vc__kl_status_response(int http, const char *reason, const char *message);

#endif
