/* CoreDNS in the virtual kube-system, so virtual Service names resolve: the
 * manifests of upstream's pkg/coredns (template.go) built as JSON and
 * applied with server-side apply (idempotent, so a restarted syncer
 * converges). Its pods sync to the host like any other, and the host copy of
 * kube-dns gives pods their nameserver.
 *
 * As upstream: port 1053 behind the Service's 53, a non-root container
 * (uid/gid 1001, no privilege escalation, NET_BIND_SERVICE only, read-only
 * root), liveness /health:8080 and readiness /ready:8181, labels
 * k8s-app=vcluster-kube-dns (tools and upstream's e2e framework wait for
 * it), the Corefile with the `.nodes.vcluster.com` rewrite (proxyKubelets
 * .byHostname), the NodeHosts hosts file, Prometheus on 9153 and the
 * optional coredns-custom ConfigMap's *.server files; the default image is
 * upstream's (coredns/coredns:1.14.2). Configurable as upstream's
 * controlPlane.coredns.*: overwriteConfig, priorityClassName,
 * service.{annotations,labels,spec.type}, deployment.{annotations,labels,
 * image,replicas,pods.labels,pods.annotations,nodeSelector,affinity,
 * tolerations,resources,topologySpreadConstraints}; embedded and
 * overwriteManifests are refused (src/config/refused.c).
 *
 * NodeHosts: "<InternalIP> <Hostname>" of every virtual node, sorted (as
 * upstream's coredns NodeHosts controller), so a node's host name resolves
 * inside; the ConfigMap is applied again when it changes (checked every
 * 5 s). A Deployment left by an older syncer with another selector
 * (immutable: the apply is refused with 422) is deleted and applied again. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sync/sync.h"

#define FM "?fieldManager=vcluster-syncer&force=true"
#define APP "vcluster-kube-dns"
#define NODEHOSTS_EVERY_MS 5000

enum { M_SA, M_ROLE, M_BINDING, M_CONFIGMAP, M_SERVICE, M_DEPLOYMENT, N_MANIFESTS };

static const char *const k_paths[N_MANIFESTS] = {
    "/api/v1/namespaces/kube-system/serviceaccounts/coredns",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:coredns",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:coredns",
    "/api/v1/namespaces/kube-system/configmaps/coredns",
    "/api/v1/namespaces/kube-system/services/kube-dns",
    "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
};

typedef struct cd_state {
    char *bodies[N_MANIFESTS]; /* JSON text; the ConfigMap's is built per NodeHosts */
    char *corefile;
    char *nodehosts;           /* what the last applied ConfigMap held */
    bool cm_pending;
    int64_t next_nodehosts_ms;
} cd_state;

static void cd_state_free(void *p)
{
    cd_state *st = p;
    if (!st)
        return;
    for (size_t i = 0; i < N_MANIFESTS; i++)
        vc__free(st->bodies[i]);
    vc__free(st->corefile);
    vc__free(st->nodehosts);
    vc__free(st);
}

/* ---- the manifests ---- */

/* upstream's Corefile (not embedded, no resolveDNS, no fallbackHostCluster) */
static char *corefile(const char *domain, bool by_hostname)
{
    const char *extra = strcmp(domain, "cluster.local") != 0 ? domain : NULL;
    return vc__sprintf(".:1053 {\n"
                       "    errors\n"
                       "    health\n"
                       "    ready\n"
                       "%s%s%s"
                       "    kubernetes%s%s cluster.local in-addr.arpa ip6.arpa {\n"
                       "        pods insecure\n"
                       "        fallthrough in-addr.arpa ip6.arpa\n"
                       "    }\n"
                       "    hosts /etc/coredns/NodeHosts {\n"
                       "        ttl 60\n"
                       "        reload 15s\n"
                       "        fallthrough\n"
                       "    }\n"
                       "    prometheus :9153\n"
                       "    forward . /etc/resolv.conf\n"
                       "    cache 30\n"
                       "    loop\n"
                       "    reload\n"
                       "    loadbalance\n"
                       "}\n"
                       "\n"
                       "import /etc/coredns/custom/*.server",
                       by_hostname ? "    rewrite name regex .*\\.nodes\\.vcluster\\.com kubernetes.default.svc." : "",
                       by_hostname ? domain : "", by_hostname ? "\n" : "", extra ? " " : "", extra ? extra : "");
}

/* obj[key] += every pair of `add` (a mapping; NULL or empty: nothing) */
static void merge_into(json_t *obj, const char *key, const json_t *add)
{
    if (!json_is_object(add) || json_object_size(add) == 0)
        return;
    json_t *m = json_object_get(obj, key);
    if (!m) {
        m = json_object();
        json_object_set_new(obj, key, m);
    }
    json_object_update(m, (json_t *)add);
}

static void set_if(json_t *obj, const char *key, const json_t *v)
{
    if (v && !json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0) &&
        !(json_is_array(v) && json_array_size(v) == 0))
        json_object_set_new(obj, key, json_deep_copy(v));
}

static json_t *deployment(vc_syncer *s, const vc_config *cfg)
{
    const vc__cfg_values *cv = vc__config_values(cfg);
    const json_t *eff = cfg ? vc__config_effective(cfg) : NULL;
    json_t *d = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:{s:i,s:{s:s,s:{s:i}},s:{s:{s:s}},"
        "s:{s:{s:{s:s}},s:{s:s,s:s,s:{s:s},s:[{s:s,s:s,s:s,s:[s,s],"
        "s:[{s:s,s:s,s:b},{s:s,s:s,s:b}],"
        "s:{s:b,s:i,s:i,s:b,s:{s:[s],s:[s]},s:b},"
        "s:{s:{s:s,s:i,s:s},s:i,s:i,s:i,s:i,s:i},"
        "s:{s:{s:s,s:i,s:s},s:i,s:i,s:i,s:i,s:i}}],"
        "s:[{s:s,s:{s:s,s:[{s:s,s:s},{s:s,s:s}]}},{s:s,s:{s:s,s:b}}]}}}}",
        "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", "coredns", "namespace", "kube-system",
        "labels", "k8s-app", APP, "kubernetes.io/name", "CoreDNS", "spec", "replicas", (json_int_t)s->coredns_replicas,
        "strategy", "type", "RollingUpdate", "rollingUpdate", "maxUnavailable", (json_int_t)1, "selector",
        "matchLabels", "k8s-app", APP, "template", "metadata", "labels", "k8s-app", APP, "spec", "serviceAccountName",
        "coredns", "dnsPolicy", "Default", "nodeSelector", "kubernetes.io/os", "linux", "containers", "name", "coredns",
        "image", s->coredns_image, "imagePullPolicy", "IfNotPresent", "args", "-conf", "/etc/coredns/Corefile", "volumeMounts", "name", "config-volume", "mountPath", "/etc/coredns", "readOnly", 1, "name",
        "custom-config-volume", "mountPath", "/etc/coredns/custom", "readOnly", 1, "securityContext", "runAsNonRoot", 1,
        "runAsUser", (json_int_t)1001, "runAsGroup", (json_int_t)1001, "allowPrivilegeEscalation", 0, "capabilities",
        "add", "NET_BIND_SERVICE", "drop", "ALL", "readOnlyRootFilesystem", 1, "livenessProbe", "httpGet", "path",
        "/health", "port", (json_int_t)8080, "scheme", "HTTP", "initialDelaySeconds", (json_int_t)60, "periodSeconds",
        (json_int_t)10, "timeoutSeconds", (json_int_t)1, "successThreshold", (json_int_t)1, "failureThreshold",
        (json_int_t)3, "readinessProbe", "httpGet", "path", "/ready", "port", (json_int_t)8181, "scheme", "HTTP",
        "initialDelaySeconds", (json_int_t)0, "periodSeconds", (json_int_t)2, "timeoutSeconds", (json_int_t)1,
        "successThreshold", (json_int_t)1, "failureThreshold", (json_int_t)3, "volumes", "name", "config-volume",
        "configMap", "name", "coredns", "items", "key", "Corefile", "path", "Corefile", "key", "NodeHosts", "path",
        "NodeHosts", "name", "custom-config-volume", "configMap", "name", "coredns-custom", "optional", 1);
    if (!d)
        return NULL;
    json_t *meta = json_object_get(d, "metadata");
    json_t *tpl = json_object_get(json_object_get(d, "spec"), "template");
    json_t *pod = json_object_get(tpl, "spec");
    json_t *ctr = json_array_get(json_object_get(pod, "containers"), 0);
    /* seccomp RuntimeDefault always (upstream: only with
     * policies.podSecurityStandard), so the pod passes `restricted` however
     * the host namespace is labelled */
    json_object_set_new(pod, "securityContext", json_pack("{s:{s:s}}", "seccompProfile", "type", "RuntimeDefault"));
    if (!cv) {
        json_object_set_new(ctr, "resources",
                            json_pack("{s:{s:s,s:s},s:{s:s,s:s}}", "limits", "cpu", "1000m", "memory", "170Mi",
                                      "requests", "cpu", "20m", "memory", "64Mi"));
        return d;
    }
    const char *pc = cv->control_plane.coredns.priority_class_name;
    if (!vc__str_empty(pc))
        json_object_set_new(pod, "priorityClassName", json_string(pc));
    merge_into(meta, "annotations", vc__cfg_tree_get(eff, "controlPlane.coredns.deployment.annotations"));
    merge_into(meta, "labels", vc__cfg_tree_get(eff, "controlPlane.coredns.deployment.labels"));
    merge_into(json_object_get(tpl, "metadata"), "annotations",
               vc__cfg_tree_get(eff, "controlPlane.coredns.deployment.pods.annotations"));
    merge_into(json_object_get(tpl, "metadata"), "labels",
               vc__cfg_tree_get(eff, "controlPlane.coredns.deployment.pods.labels"));
    merge_into(pod, "nodeSelector", cv->control_plane.coredns.node_selector);
    set_if(pod, "affinity", cv->control_plane.coredns.affinity);
    set_if(pod, "tolerations", cv->control_plane.coredns.tolerations);
    set_if(pod, "topologySpreadConstraints",
           vc__cfg_tree_get(eff, "controlPlane.coredns.deployment.topologySpreadConstraints"));
    set_if(ctr, "resources", cv->control_plane.coredns.resources);
    return d;
}

static json_t *service(const vc_config *cfg)
{
    const vc__cfg_values *cv = vc__config_values(cfg);
    const json_t *eff = cfg ? vc__config_effective(cfg) : NULL;
    const char *type = cv && !vc__str_empty(cv->control_plane.coredns.service_type) ? cv->control_plane.coredns.service_type
                                                                                   : "ClusterIP";
    json_t *svc = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s}},s:{s:s,s:{s:s},s:[{s:s,s:i,s:i,s:s},{s:s,s:i,s:i,s:s},"
        "{s:s,s:i,s:s}]}}",
        "apiVersion", "v1", "kind", "Service", "metadata", "name", "kube-dns", "namespace", "kube-system", "annotations",
        "prometheus.io/port", "9153", "prometheus.io/scrape", "true", "labels", "k8s-app", APP,
        "kubernetes.io/cluster-service", "true", "kubernetes.io/name", "CoreDNS", "spec", "type", type, "selector",
        "k8s-app", APP, "ports", "name", "dns", "port", (json_int_t)53, "targetPort", (json_int_t)1053, "protocol", "UDP",
        "name", "dns-tcp", "port", (json_int_t)53, "targetPort", (json_int_t)1053, "protocol", "TCP", "name", "metrics",
        "port", (json_int_t)9153, "protocol", "TCP");
    if (svc && eff) {
        json_t *meta = json_object_get(svc, "metadata");
        merge_into(meta, "annotations", vc__cfg_tree_get(eff, "controlPlane.coredns.service.annotations"));
        merge_into(meta, "labels", vc__cfg_tree_get(eff, "controlPlane.coredns.service.labels"));
    }
    return svc;
}

static char *dump(json_t *o)
{
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char *r = t ? vc__strdup(t) : NULL;
    vc__free(t);
    return r;
}

static int build(vc_syncer *s, cd_state *st, const vc_config *cfg)
{
    const vc__cfg_values *cv = vc__config_values(cfg);
    const char *over = cv ? cv->control_plane.coredns.overwrite_config : NULL;
    st->corefile = !vc__str_empty(over) ? vc__strdup(over) : corefile(s->domain, s->proxy_by_hostname);
    st->bodies[M_SA] = dump(json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata",
                                      "name", "coredns", "namespace", "kube-system"));
    st->bodies[M_ROLE] = dump(json_pack(
        "{s:s,s:s,s:{s:s,s:{s:s}},s:[{s:[s],s:[s,s,s,s],s:[s,s]},{s:[s],s:[s],s:[s,s]}]}", "apiVersion",
        "rbac.authorization.k8s.io/v1", "kind", "ClusterRole", "metadata", "name", "system:coredns", "labels",
        "kubernetes.io/bootstrapping", "rbac-defaults", "rules", "apiGroups", "", "resources", "endpoints", "services",
        "pods", "namespaces", "verbs", "list", "watch", "apiGroups", "discovery.k8s.io", "resources", "endpointslices",
        "verbs", "list", "watch"));
    st->bodies[M_BINDING] = dump(json_pack(
        "{s:s,s:s,s:{s:s,s:{s:s},s:{s:s}},s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s}]}", "apiVersion",
        "rbac.authorization.k8s.io/v1", "kind", "ClusterRoleBinding", "metadata", "name", "system:coredns",
        "annotations", "rbac.authorization.kubernetes.io/autoupdate", "true", "labels", "kubernetes.io/bootstrapping",
        "rbac-defaults", "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole", "name",
        "system:coredns", "subjects", "kind", "ServiceAccount", "name", "coredns", "namespace", "kube-system"));
    st->bodies[M_SERVICE] = dump(service(cfg));
    st->bodies[M_DEPLOYMENT] = dump(deployment(s, cfg));
    for (size_t i = 0; i < N_MANIFESTS; i++)
        if (i != M_CONFIGMAP && !st->bodies[i])
            return vc__error_oom();
    return st->corefile ? VC_OK : vc__error_oom();
}

/* ---- NodeHosts ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "<InternalIP> <Hostname>" of every virtual node the nodes controller
 * caches, sorted and joined by "\n" (upstream's compileNodeHosts); NULL
 * when out of memory. */
static char *node_hosts(vc_syncer *s)
{
    vc__ctl *nc = vc__sync_ctl_of(s, VC__CTL_NODES);
    size_t n = nc && nc->virt ? vc__informer_count(nc->virt) : 0, used = 0;
    char **lines = vc__calloc(n + 1, sizeof *lines);
    if (!lines)
        return NULL;
    size_t it = 0;
    const char *key, *text;
    while (nc && nc->virt && used < n && vc__informer_next(nc->virt, &it, &key, &text)) {
        json_t *o = json_loads(text, 0, NULL);
        const char *ip = "", *host = key;
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(json_object_get(o, "status"), "addresses"), i, a) {
            if (vc__streq(vc__jstr(a, "type"), "InternalIP") && vc__jstr(a, "address"))
                ip = vc__jstr(a, "address");
            else if (vc__streq(vc__jstr(a, "type"), "Hostname") && vc__jstr(a, "address"))
                host = vc__jstr(a, "address");
        }
        lines[used] = vc__sprintf("%s %s", ip, host);
        json_decref(o);
        if (lines[used])
            used++;
    }
    qsort(lines, used, sizeof *lines, cmp_str);
    vc_buf b = VC_BUF_INIT;
    int rc = vc__buf_puts(&b, "");
    for (size_t i = 0; i < used; i++) {
        if (rc == VC_OK && i)
            rc = vc__buf_puts(&b, "\n");
        if (rc == VC_OK)
            rc = vc__buf_puts(&b, lines[i]);
        vc__free(lines[i]);
    }
    vc__free(lines);
    if (rc < 0) {
        vc_buf_dispose(&b);
        return NULL;
    }
    return vc__buf_detach(&b);
}

static char *configmap_body(const cd_state *st, const char *nodehosts)
{
    return dump(json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                          "name", "coredns", "namespace", "kube-system", "data", "Corefile", st->corefile, "NodeHosts",
                          nodehosts));
}

/* ---- applying ---- */

typedef struct cd_ctx cd_ctx;
typedef struct cd_item {
    cd_ctx *c;
    size_t idx;
} cd_item;
struct cd_ctx {
    int left, failed;
    bool all;               /* every manifest (else the ConfigMap alone) */
    char *nodehosts;        /* the NodeHosts this round applies */
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
    if (rc == VC_EINVALIDOBJ && item->idx == M_DEPLOYMENT) {
        /* an older selector: delete, the next round applies it again */
        char *b = vc__delete_body(NULL, -1);
        if (b)
            vc__sync_write(s, VC__SIDE_VIRT, NULL, "Deployment", "kube-system", "coredns", "", 0, "DELETE",
                           k_paths[M_DEPLOYMENT], NULL, b, NULL, NULL);
        vc__free(b);
        vc_error_clear();
    }
    if (c->left > 0)
        return;
    vc__ctl *ctl = vc__sync_ctl_of(s, VC__CTL_COREDNS);
    cd_state *st = ctl ? ctl->state : NULL;
    if (c->all)
        s->coredns_pending = false;
    else if (st)
        st->cm_pending = false;
    if (c->failed) {
        if (c->all)
            s->coredns_next_ms = vc__now_ms() + 5000;
    } else {
        if (st) {
            vc__free(st->nodehosts);
            st->nodehosts = c->nodehosts;
            c->nodehosts = NULL;
        }
        if (c->all) {
            s->coredns_done = true;
            vc__sync_event(s, VC_SYNC_CREATED_VIRTUAL, "Deployment", "kube-system", "coredns", "", VC_OK);
        }
    }
    vc__free(c->nodehosts);
    vc__free(c);
}

/* Apply every manifest (all) or the ConfigMap alone, with `nodehosts`
 * (taken). Returns the writes started. */
static int apply(vc_syncer *s, cd_state *st, bool all, char *nodehosts)
{
    cd_ctx *c = vc__calloc(1, sizeof(*c));
    if (!c) {
        vc__free(nodehosts);
        return 0;
    }
    c->all = all;
    c->nodehosts = nodehosts;
    for (size_t i = 0; i < N_MANIFESTS; i++)
        if (all || i == M_CONFIGMAP)
            c->left++;
    int started = 0, want = c->left;
    for (size_t i = 0; i < N_MANIFESTS; i++) {
        if (!all && i != M_CONFIGMAP)
            continue;
        c->items[i].c = c;
        c->items[i].idx = i;
        char *path = vc__sprintf("%s" FM, k_paths[i]);
        char *cm = i == M_CONFIGMAP ? configmap_body(st, nodehosts) : NULL;
        const char *body = i == M_CONFIGMAP ? cm : st->bodies[i];
        int rc = path && body ? vc__sync_write(s, VC__SIDE_VIRT, NULL, "CoreDNS", "kube-system", "coredns", "", 0,
                                               "PATCH", path, "application/apply-patch+yaml", body, applied, &c->items[i])
                              : VC_ENOMEM;
        vc__free(path);
        vc__free(cm);
        if (rc < 0) {
            c->failed++;
            c->left--;
        } else {
            started++;
        }
    }
    if (started == 0 && want > 0) { /* nothing went out */
        vc__free(c->nodehosts);
        vc__free(c);
        return -1;
    }
    return started;
}

static int tick(vc_syncer *s, vc__ctl *ctl, bool synced, int64_t now)
{
    cd_state *st = ctl->state;
    if (!synced)
        return 0;
    if (!s->coredns_done) {
        if (s->coredns_pending || now < s->coredns_next_ms)
            return 0;
        char *nh = node_hosts(s);
        if (!nh)
            return 0;
        s->coredns_pending = true;
        if (apply(s, st, true, nh) < 0) {
            s->coredns_pending = false;
            s->coredns_next_ms = now + 5000;
        }
        st->next_nodehosts_ms = now + NODEHOSTS_EVERY_MS;
        return 1;
    }
    if (st->cm_pending || now < st->next_nodehosts_ms)
        return 0;
    st->next_nodehosts_ms = now + NODEHOSTS_EVERY_MS;
    char *nh = node_hosts(s);
    if (!nh || vc__streq(nh, st->nodehosts)) {
        vc__free(nh);
        return 0;
    }
    st->cm_pending = true;
    if (apply(s, st, false, nh) < 0)
        st->cm_pending = false;
    return 1;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    cd_state *st = c->state;
    if (!s->ready_reported || s->coredns_pending)
        return -1;
    int64_t due = s->coredns_done ? (st->cm_pending ? -1 : st->next_nodehosts_ms) : s->coredns_next_ms;
    if (due < 0)
        return -1;
    return due > now ? due - now : 0;
}

/* No informer and no keys: CoreDNS is applied once the informers listed
 * (VC_SYNCER_NO_COREDNS leaves this controller out). */
int vc__ctl_coredns_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->name = "coredns";
    c->kind = "Deployment";
    c->tick = tick;
    c->timeout = timeout;
    cd_state *st = vc__calloc(1, sizeof *st);
    if (!st)
        return vc__error_oom();
    c->state = st;
    c->free_state = cd_state_free;
    return build(s, st, s->cfg);
}
