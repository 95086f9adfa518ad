/* Fake nodes: a virtual Node for every host node that runs a synced pod,
 * removed when unused, kept Ready with a Lease heartbeat (the virtual
 * node-lifecycle controller would otherwise mark it NotReady and evict). */
#include <string.h>
#include <time.h>

#include "sync/sync.h"

#define FAKE_LABEL "vcluster.loft.sh/fake-node"
#define LEASE_PERIOD_MS VC__NODE_LEASE_PERIOD_MS

void vc__nodes_use(vc_syncer *s, const char *old_node, const char *new_node)
{
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_NODES);
    if (old_node && *old_node) {
        intptr_t n = (intptr_t)vc__map_get(&s->node_use, old_node) - 1;
        if (n <= 0)
            vc__map_del(&s->node_use, old_node);
        else
            vc__map_put(&s->node_use, old_node, (void *)n, NULL);
        if (c && n <= 0)
            vc__sync_enqueue(s, c, old_node, 2000); /* a pod moving on may come back */
    }
    if (new_node && *new_node) {
        intptr_t n = (intptr_t)vc__map_get(&s->node_use, new_node) + 1;
        vc__map_put(&s->node_use, new_node, (void *)n, NULL);
        if (c && n == 1)
            vc__sync_enqueue(s, c, new_node, 0);
    }
}

static void iso_now(char *out, size_t cap, bool micro)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro)
        snprintf(out, cap, "%.20s.%06dZ", base, (int)(ts.tv_nsec / 1000 % 1000000));
    else
        snprintf(out, cap, "%.20sZ", base);
}

/* Reported while the virtual API server has not told its version. */
#define FALLBACK_VERSION "v0.0.0"
#define VERSION_TRIES 5

static void version_done(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)http;
    vc_syncer *s = ud;
    s->virt_version_pending = false;
    json_t *v = rc == VC_OK ? json_loadb(body, len, 0, NULL) : NULL;
    const char *gv = json_string_value(json_object_get(v, "gitVersion"));
    if (gv && *gv) {
        s->virt_version = vc__strdup(gv);
    } else if (++s->virt_version_failures >= VERSION_TRIES) {
        VC__LOGW("sync", "GET /version of the virtual API server failed %d times (%s): fake nodes report kubelet %s",
                 s->virt_version_failures, rc < 0 ? vc_error_last()->message : "no gitVersion", FALLBACK_VERSION);
        s->virt_version = vc__strdup(FALLBACK_VERSION);
    } else {
        s->virt_version_next_ms = vc__now_ms() + 1000;
    }
    json_decref(v);
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_NODES);
    if (s->virt_version && c) {
        /* nodes that waited for it: the used ones, and fake nodes of an
         * earlier run */
        vc__sync_enqueue_all(s, c);
        size_t it = 0;
        const char *node;
        while (vc__map_next(&s->node_use, &it, &node, NULL))
            vc__sync_enqueue(s, c, node, 0);
    }
}

/* GET /version of the virtual API server until it answers. */
static void version_tick(vc_syncer *s, int64_t now)
{
    if (s->virt_version || s->virt_version_pending || now < s->virt_version_next_ms)
        return;
    if (vc__kreq_start(s->loop, s->virt, "GET", "/version", NULL, NULL, 0, 10000, version_done, s) == VC_OK)
        s->virt_version_pending = true;
    else
        s->virt_version_next_ms = now + 1000;
}

/* A GUID-shaped id (8-4-4-4-12 hex) for a fake node's bootID, machineID
 * and systemUUID. Upstream draws random ones at create; these are the
 * sha256 of "<vcluster>/<node>/<what>", so a re-patched status does not
 * change them (doc/translate.md). */
static void fake_guid(const vc_syncer *s, const char *node, const char *what, char out[37])
{
    char *in = vc__sprintf("%s/%s/%s", s->name, node, what);
    char hex[65] = { 0 };
    if (in)
        vc__sha256_hex(in, strlen(in), hex);
    vc__free(in);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* What a fake node's capacity and allocatable say (upstream fake_syncer). */
static json_t *fake_resources(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "cpu", "16", "memory", "32Gi", "ephemeral-storage", "100Gi",
                     "hugepages-1Gi", "0", "hugepages-2Mi", "0", "pods", "110");
}

/* The pressure conditions (False) and Ready (True), as upstream's kubelet
 * would post them. */
static json_t *fake_conditions(const char *now)
{
    static const struct {
        const char *type, *status, *reason, *message;
    } k_conds[] = {
        { "MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available" },
        { "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure" },
        { "PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available" },
        { "Ready", "True", "KubeletReady", "kubelet is posting ready status" },
    };
    json_t *a = json_array();
    for (size_t i = 0; a && i < VC__ARRAY_LEN(k_conds); i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", k_conds[i].type, "status",
                                           k_conds[i].status, "reason", k_conds[i].reason, "message",
                                           k_conds[i].message, "lastHeartbeatTime", now, "lastTransitionTime", now));
    return a;
}

/* Addresses as upstream orders them: Hostname NODE.nodes.vcluster.com
 * (proxyKubelets.byHostname), then the InternalIP the kubelet proxy is
 * reached at (proxyKubelets.byIP; s->kubelet_address, see node_ip). */
static json_t *fake_addresses(vc_syncer *s, const char *node)
{
    json_t *addrs = json_array();
    if (!addrs)
        return NULL;
    if (s->proxy_by_hostname) {
        char *h = vc__node_host(node);
        if (h)
            json_array_append_new(addrs, json_pack("{s:s,s:s}", "type", "Hostname", "address", h));
        vc__free(h);
    }
    const char *ip = vc__node_ip(s, node);
    if (s->proxy_by_ip && ip)
        json_array_append_new(addrs, json_pack("{s:s,s:s}", "type", "InternalIP", "address", ip));
    if (json_array_size(addrs) == 0) /* neither: the node still names itself */
        json_array_append_new(addrs, json_pack("{s:s,s:s}", "type", "Hostname", "address", node));
    return addrs;
}

/* The port a fake node's kubelet is reached at: the node Service's 10250
 * (upstream's constants.KubeletPort) when there are node Services, else
 * the kubelet proxy's own port. */
static int32_t kubelet_port(const vc_syncer *s)
{
    return vc__nodesvc_enabled(s) ? VC__NODESVC_PORT : s->kubelet_port;
}

static char *node_status_json(vc_syncer *s, const char *node)
{
    char now[40], boot[37], machine[37], uuid[37];
    iso_now(now, sizeof now, false);
    fake_guid(s, node, "boot", boot);
    fake_guid(s, node, "machine", machine);
    fake_guid(s, node, "system", uuid);
    const char *ver = s->virt_version ? s->virt_version : FALLBACK_VERSION;
    json_t *st = json_pack("{s:o,s:o,s:o,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s},s:o,s:{s:{s:i}},s:[]}",
                           "capacity", fake_resources(), "allocatable", fake_resources(), "conditions",
                           fake_conditions(now), "nodeInfo", "architecture", "amd64", "bootID", boot,
                           "containerRuntimeVersion", "docker://19.3.12", "kernelVersion", "4.19.76-fakelinux",
                           "kubeProxyVersion", ver, "kubeletVersion", ver, "machineID", machine, "systemUUID", uuid,
                           "operatingSystem", "linux", "osImage", "Fake Kubernetes Image", "addresses",
                           fake_addresses(s, node), "daemonEndpoints", "kubeletEndpoint", "Port",
                           (json_int_t)kubelet_port(s), "images");
    json_t *doc = st ? json_pack("{s:o}", "status", st) : NULL;
    char *t = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    char *r = t ? vc__strdup(t) : NULL;
    vc__free(t);
    return r;
}

/* True when a fake node reports what this syncer would: the kubelet
 * endpoint, its addresses, the version and the capacity (else its status
 * is patched; fake nodes of an earlier release lack the latter). */
static bool node_current(vc_syncer *s, const char *node, const json_t *n)
{
    const json_t *st = json_object_get(n, "status");
    json_int_t port = json_integer_value(
        json_object_get(json_object_get(json_object_get(st, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    if (port != kubelet_port(s))
        return false;
    if (!vc__streq(json_string_value(json_object_get(json_object_get(st, "nodeInfo"), "kubeletVersion")),
                   s->virt_version))
        return false;
    if (!json_object_get(json_object_get(st, "capacity"), "ephemeral-storage"))
        return false;
    json_t *want = fake_addresses(s, node);
    bool same = want && json_equal(want, json_object_get(st, "addresses"));
    json_decref(want);
    return same;
}

static void node_created(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    char *node = ud;
    if (rc == VC_OK || rc == VC_EEXISTS) {
        char *path = vc__obj_path("v1", "nodes", NULL, node, "status");
        char *st = node_status_json(s, node);
        if (path && st)
            vc__sync_write(s, VC__SIDE_VIRT, NULL, "Node", "", node, node, 0, "PATCH", path,
                           "application/merge-patch+json", st, NULL, NULL);
        vc__free(path);
        vc__free(st);
    }
    vc__free(node);
}

static bool node_ready(const json_t *n)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(n, "status"), "conditions"), i, c) {
        if (vc__streq(vc__jstr(c, "type"), "Ready"))
            return vc__streq(vc__jstr(c, "status"), "True");
    }
    return false;
}

static int reconcile_obj(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *node, const json_t *v)
{
    bool used = vc__map_get(&s->node_use, node) != NULL;
    if (used && !s->virt_version) {
        /* the version comes once at start (version_done queues every node) */
        return VC_OK;
    }
    if (used && vc__nodesvc_enabled(s)) {
        /* the node's kubelet Service first: its ClusterIP is the node's
         * InternalIP (the host informer queues the node when it is there) */
        int rc = vc__nodesvc_ensure(s, c, it, node);
        if (rc != VC_OK || !vc__node_ip(s, node))
            return rc;
    }
    if (!used) {
        int rc = vc__nodesvc_remove(s, c, it, node);
        if (rc != VC_OK)
            return rc;
    }
    if (used && !v) {
        /* labels and annotations as upstream's createFakeNode;
         * kubernetes.io/hostname is SafeConcatName("fake", node) */
        char fake[VC__NAME_MAX];
        const char *fp[2] = { "fake", node };
        vc__safe_concat(fake, sizeof fake, fp, 2);
        json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s}},s:{}}", "apiVersion", "v1",
                                "kind", "Node", "metadata", "name", node, "labels", FAKE_LABEL, "true",
                                "beta.kubernetes.io/arch", "amd64", "beta.kubernetes.io/os", "linux",
                                "kubernetes.io/arch", "amd64", "kubernetes.io/hostname", fake, "kubernetes.io/os",
                                "linux", "annotations", "node.alpha.kubernetes.io/ttl", "0",
                                "volumes.kubernetes.io/controller-managed-attach-detach", "false", "spec");
        char *body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        json_decref(obj);
        char *path = vc__obj_path("v1", "nodes", NULL, NULL, NULL);
        char *ud = vc__strdup(node);
        int rc = body && path && ud ? vc__sync_write(s, VC__SIDE_VIRT, it, "Node", "", node, node,
                                                     VC_SYNC_CREATED_VIRTUAL, "POST", path, NULL, body, node_created, ud)
                                    : vc__error_oom();
        if (rc < 0)
            vc__free(ud);
        vc__free(body);
        vc__free(path);
        s->next_lease_ms = vc__now_ms(); /* heartbeat at once */
        return rc;
    }
    if (used && v && (!node_ready(v) || !node_current(s, node, v))) {
        char *path = vc__obj_path("v1", "nodes", NULL, node, "status");
        char *st = node_status_json(s, node);
        int rc = path && st ? vc__sync_write(s, VC__SIDE_VIRT, it, "Node", "", node, node, VC_SYNC_UPDATED_VIRTUAL,
                                             "PATCH", path, "application/merge-patch+json", st, NULL, NULL)
                            : vc__error_oom();
        vc__free(path);
        vc__free(st);
        return rc;
    }
    if (!used && v) {
        char *path = vc__obj_path("v1", "nodes", NULL, node, NULL);
        int rc = path ? vc__sync_write(s, VC__SIDE_VIRT, it, "Node", "", node, node, VC_SYNC_DELETED_VIRTUAL, "DELETE",
                                       path, NULL, NULL, NULL, NULL)
                      : vc__error_oom();
        vc__free(path);
        return rc;
    }
    return VC_OK;
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *node)
{
    json_t *v = NULL;
    int rc = vc__informer_load(c->virt, node, &v);
    if (rc == VC_OK)
        rc = reconcile_obj(s, c, it, node, v);
    json_decref(v);
    return rc;
}

void vc__nodes_lease(vc_syncer *s, const char *node)
{
    char ts[40];
    iso_now(ts, sizeof ts, true);
    char *path = vc__sprintf("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s"
                             "?fieldManager=vcluster-syncer&force=true", node);
    char *body = vc__sprintf("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":"
                             "\"%s\",\"namespace\":\"kube-node-lease\"},\"spec\":{\"holderIdentity\":\"%s\","
                             "\"leaseDurationSeconds\":40,\"renewTime\":\"%s\"}}",
                             node, node, ts);
    if (path && body)
        vc__sync_write(s, VC__SIDE_VIRT, NULL, "Lease", "kube-node-lease", node, "", 0, "PATCH", path,
                       "application/apply-patch+yaml", body, NULL, NULL);
    vc__free(path);
    vc__free(body);
}

/* The Lease heartbeat of every fake node in use. */
static void lease_tick(vc_syncer *s, vc__ctl *c, int64_t now)
{
    if (now < s->next_lease_ms)
        return;
    s->next_lease_ms = now + LEASE_PERIOD_MS;
    size_t it = 0;
    const char *node;
    while (vc__informer_next(c->virt, &it, &node, NULL)) {
        if (vc__map_get(&s->node_use, node))
            vc__nodes_lease(s, node);
    }
}

static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    version_tick(s, now);
    if (synced)
        lease_tick(s, c, now);
    return 0;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    (void)c;
    if (!s->ready_reported || s->next_lease_ms <= 0)
        return -1;
    return s->next_lease_ms > now ? s->next_lease_ms - now : 0;
}

static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)old;
    (void)nobj;
    vc__sync_enqueue(inf->s, ud, key, 0);
}

int vc__ctl_nodes_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    if (s->real_nodes) /* sync.fromHost.nodes.enabled: one mode or the other */
        return vc__ctl_real_nodes_init(s, c);
    c->name = "nodes";
    c->kind = "Node";
    c->reconcile = reconcile;
    c->tick = tick;
    c->timeout = timeout;
    int rc = vc__informer_new(&c->virt, s, s->virt, "virtual fake nodes", "v1", "nodes", NULL, FAKE_LABEL "=true",
                              NULL, on_virtual, c);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->virt, "Node");
    return rc == VC_OK ? vc__nodesvc_init(s, c) : rc;
}
