/* CoreDNS in the virtual kube-system, so virtual Service names resolve: the
 * manifests are templates applied with server-side apply (idempotent, so a
 * restarted syncer converges). Its pods sync to the host like any other, and
 * the host copy of kube-dns gives pods their nameserver. Labels as
 * upstream's: k8s-app=vcluster-kube-dns (tools and upstream's e2e framework
 * wait for it). A Deployment left by an older syncer with another selector
 * (immutable: the apply is refused with 422) is deleted and applied again. */
#include <string.h>

#include "sync/sync.h"

#define FM "?fieldManager=vcluster-syncer&force=true"

typedef struct manifest {
    const char *path;   /* apply path; %s -> name */
    const char *body;   /* JSON template: ${DOMAIN} domain, ${IMAGE} image */
} manifest;

static const manifest k_manifests[] = {
    { "/api/v1/namespaces/kube-system/serviceaccounts/coredns",
      "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"coredns\",\"namespace\":\"kube-system\"}}" },
    { "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:coredns",
      "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"system:coredns\"},"
      "\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"endpoints\",\"services\",\"pods\",\"namespaces\"],\"verbs\":[\"list\",\"watch\"]},"
      "{\"apiGroups\":[\"discovery.k8s.io\"],\"resources\":[\"endpointslices\"],\"verbs\":[\"list\",\"watch\"]}]}" },
    { "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:coredns",
      "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"system:coredns\"},"
      "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"system:coredns\"},"
      "\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"coredns\",\"namespace\":\"kube-system\"}]}" },
    { "/api/v1/namespaces/kube-system/configmaps/coredns",
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"coredns\",\"namespace\":\"kube-system\"},"
      "\"data\":{\"Corefile\":\".:1053 {\\n    errors\\n    health\\n    ready\\n    kubernetes ${DOMAIN} in-addr.arpa ip6.arpa {\\n"
      "      pods insecure\\n      fallthrough in-addr.arpa ip6.arpa\\n    }\\n    forward . /etc/resolv.conf\\n"
      "    cache 30\\n    loop\\n    reload\\n    loadbalance\\n}\\n\"}}" },
    { "/api/v1/namespaces/kube-system/services/kube-dns",
      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"kube-dns\",\"namespace\":\"kube-system\","
      "\"labels\":{\"k8s-app\":\"vcluster-kube-dns\",\"kubernetes.io/name\":\"CoreDNS\"}},"
      "\"spec\":{\"selector\":{\"k8s-app\":\"vcluster-kube-dns\"},\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\",\"targetPort\":1053},"
      "{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\",\"targetPort\":1053},{\"name\":\"metrics\",\"port\":9153,\"protocol\":\"TCP\",\"targetPort\":9153}]}}" },
    { "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"coredns\",\"namespace\":\"kube-system\","
      "\"labels\":{\"k8s-app\":\"vcluster-kube-dns\",\"kubernetes.io/name\":\"CoreDNS\"}},\"spec\":{\"replicas\":1,"
      "\"selector\":{\"matchLabels\":{\"k8s-app\":\"vcluster-kube-dns\"}},"
      "\"template\":{\"metadata\":{\"labels\":{\"k8s-app\":\"vcluster-kube-dns\"}},\"spec\":{\"serviceAccountName\":\"coredns\","
      "\"dnsPolicy\":\"Default\",\"securityContext\":{\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},"
      "\"containers\":[{\"name\":\"coredns\",\"image\":\"${IMAGE}\",\"args\":[\"-conf\",\"/etc/coredns/Corefile\"],"
      "\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":1001,\"runAsGroup\":1001,\"allowPrivilegeEscalation\":false,"
      "\"capabilities\":{\"add\":[\"NET_BIND_SERVICE\"],\"drop\":[\"ALL\"]},\"readOnlyRootFilesystem\":true},"
      "\"ports\":[{\"containerPort\":1053,\"name\":\"dns\",\"protocol\":\"UDP\"},{\"containerPort\":1053,\"name\":\"dns-tcp\",\"protocol\":\"TCP\"}],"
      "\"resources\":{\"limits\":{\"memory\":\"170Mi\"},\"requests\":{\"cpu\":\"20m\",\"memory\":\"64Mi\"}},"
      "\"volumeMounts\":[{\"name\":\"config-volume\",\"mountPath\":\"/etc/coredns\",\"readOnly\":true}]}],"
      "\"volumes\":[{\"name\":\"config-volume\",\"configMap\":{\"name\":\"coredns\",\"items\":[{\"key\":\"Corefile\",\"path\":\"Corefile\"}]}}]}}}}" },
};

/* Replace ${DOMAIN} and ${IMAGE} in a template. */
static char *render(const char *tpl, const char *domain, const char *image)
{
    vc_buf b = VC_BUF_INIT;
    const char *p = tpl;
    while (*p) {
        const char *d = strstr(p, "${DOMAIN}"), *i = strstr(p, "${IMAGE}");
        const char *next = d && (!i || d < i) ? d : i;
        if (!next) {
            vc__buf_puts(&b, p);
            break;
        }
        vc__buf_put(&b, p, (size_t)(next - p));
        vc__buf_puts(&b, next == d ? domain : image);
        p = next + (next == d ? 9 : 8);
    }
    return vc__buf_detach(&b);
}

#define N_MANIFESTS VC__ARRAY_LEN(k_manifests)
#define DEPLOYMENT (N_MANIFESTS - 1)

typedef struct cd_ctx cd_ctx;
typedef struct cd_item {
    cd_ctx *c;
    size_t idx;
} cd_item;
struct cd_ctx {
    int left, failed;
    cd_item items[N_MANIFESTS];
};

static void applied(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    cd_item *item = ud;
    cd_ctx *c = item->c;
    c->left--;
    if (rc < 0)
        c->failed++;
    if (rc == VC_EINVALIDOBJ && item->idx == DEPLOYMENT) {
        /* an older selector: delete, the next round applies it again */
        char *b = vc__delete_body(NULL, -1);
        if (b)
            vc__sync_write(s, VC__SIDE_VIRT, NULL, "Deployment", "kube-system", "coredns", "", 0, "DELETE",
                           k_manifests[DEPLOYMENT].path, NULL, b, NULL, NULL);
        vc__free(b);
        vc_error_clear();
    }
    if (c->left > 0)
        return;
    s->coredns_pending = false;
    if (c->failed) {
        s->coredns_next_ms = vc__now_ms() + 5000;
    } else {
        s->coredns_done = true;
        vc__sync_event(s, VC_SYNC_CREATED_VIRTUAL, "Deployment", "kube-system", "coredns", "", VC_OK);
    }
    vc__free(c);
}

static int tick(vc_syncer *s, vc__ctl *ctl, bool synced, int64_t now)
{
    (void)ctl;
    if (!synced || s->coredns_done || s->coredns_pending || now < s->coredns_next_ms)
        return 0;
    cd_ctx *c = vc__calloc(1, sizeof(*c));
    if (!c)
        return 0;
    s->coredns_pending = true;
    c->left = (int)N_MANIFESTS;
    for (size_t i = 0; i < N_MANIFESTS; i++) {
        c->items[i].c = c;
        c->items[i].idx = i;
        char *path = vc__sprintf("%s" FM, k_manifests[i].path);
        char *body = render(k_manifests[i].body, s->domain, s->coredns_image);
        char *one = body ? strstr(body, "\"replicas\":1,") : NULL;
        if (one && s->coredns_replicas != 1) { /* the Deployment */
            char *b2 = vc__sprintf("%.*s\"replicas\":%d,%s", (int)(one - body), body, (int)s->coredns_replicas,
                                   one + strlen("\"replicas\":1,"));
            vc__free(body);
            body = b2;
        }
        int rc = path && body ? vc__sync_write(s, VC__SIDE_VIRT, NULL, "CoreDNS", "kube-system", "coredns", "", 0,
                                               "PATCH", path, "application/apply-patch+yaml", body, applied, &c->items[i])
                              : VC_ENOMEM;
        vc__free(path);
        vc__free(body);
        if (rc < 0) {
            c->failed++;
            c->left--;
        }
    }
    if (c->left == 0) { /* nothing went out */
        s->coredns_pending = false;
        s->coredns_next_ms = now + 5000;
        vc__free(c);
    }
    return 1;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    (void)c;
    if (!s->ready_reported || s->coredns_done || s->coredns_pending)
        return -1;
    return s->coredns_next_ms > now ? s->coredns_next_ms - now : 0;
}

/* No informer and no keys: CoreDNS is applied once the informers listed
 * (VC_SYNCER_NO_COREDNS leaves this controller out). */
int vc__ctl_coredns_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)s;
    (void)arg;
    c->name = "coredns";
    c->kind = "Deployment";
    c->tick = tick;
    c->timeout = timeout;
    return VC_OK;
}
