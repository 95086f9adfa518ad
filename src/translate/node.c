/* Real node sync (sync.fromHost.nodes), the pure part: which host nodes are
 * selected, the virtual Node a host Node becomes (labels and annotations
 * merged with what the virtual cluster added, taints merged, status copied
 * with the kubelet addresses rewritten), and the host patch that carries a
 * virtual label/taint change back (syncBackChanges). The rules follow
 * upstream's nodes syncer (pkg/controllers/resources/nodes/translate.go). */
#include <stdlib.h>
#include <string.h>

#include "translate/translate.h"

#define A_MANAGED_LABELS "vcluster.loft.sh/managed-labels"
#define A_MANAGED_ANNOTATIONS "vcluster.loft.sh/managed-annotations"
#define NOT_READY_TAINT "node.kubernetes.io/not-ready"
#define NODE_SUFFIX "nodes.vcluster.com"

bool vc__node_selected(const json_t *host, bool all, const json_t *labels)
{
    if (all)
        return true;
    if (json_object_size(labels) == 0)
        return false;
    const json_t *have = json_object_get(json_object_get(host, "metadata"), "labels");
    const char *k;
    json_t *want;
    json_object_foreach((json_t *)labels, k, want) {
        if (!json_is_string(want) || !json_equal(json_object_get(have, k), want))
            return false;
    }
    return true;
}

static bool in_list(const char *const *list, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], key))
            return true;
    return false;
}

/* `managed` ("a\nb\nc") contains key */
static bool in_lines(const char *managed, const char *key)
{
    if (!managed || !*key)
        return false;
    size_t kl = strlen(key);
    for (const char *p = managed; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == kl && !strncmp(p, key, kl))
            return true;
        if (!nl)
            break;
        p = nl + 1;
    }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* upstream ApplyMaps: every key of `from` (host) wins and becomes managed;
 * a key of `to` (virtual) stays unless it is managed now or was managed
 * before (`managed`: the lines of the previous sync); excluded keys of `to`
 * stay as they are, excluded keys of `from` are not copied. *out_keys gets
 * the sorted managed keys joined by "\n" (vc__malloc'ed, "" when none). */
static int apply_maps(json_t **out, char **out_keys, const json_t *from, const json_t *to, const char *managed,
                      const char *const *exclude, size_t n_exclude)
{
    json_t *r = json_object();
    size_t nk = json_object_size(from), used = 0, len = 1;
    const char **keys = vc__calloc(nk + 1, sizeof *keys);
    if (!r || !keys) {
        json_decref(r);
        vc__free(keys);
        return vc__error_oom();
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)from, k, v) {
        if (in_list(exclude, n_exclude, k) || !json_is_string(v))
            continue;
        json_object_set(r, k, v);
        keys[used++] = k;
        len += strlen(k) + 1;
    }
    json_object_foreach((json_t *)to, k, v) {
        if (in_list(exclude, n_exclude, k)) {
            json_object_set(r, k, v);
            continue;
        }
        if (json_object_get(from, k) || in_lines(managed, k))
            continue;
        json_object_set(r, k, v);
    }
    qsort(keys, used, sizeof *keys, cmp_str);
    char *joined = vc__malloc(len);
    if (!joined) {
        json_decref(r);
        vc__free(keys);
        return vc__error_oom();
    }
    size_t at = 0;
    for (size_t i = 0; i < used; i++) {
        size_t l = strlen(keys[i]);
        if (i)
            joined[at++] = '\n';
        memcpy(joined + at, keys[i], l);
        at += l;
    }
    joined[at] = '\0';
    vc__free(keys);
    *out = r;
    *out_keys = joined;
    return VC_OK;
}

/* A taint as upstream encodes it (key, value, effect, timeAdded). */
static json_t *taint_norm(const json_t *t)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    const char *f[] = { "key", "value", "effect", "timeAdded" };
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(t, f[i]);
        if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v) && i != 0))
            json_object_set(o, f[i], v);
    }
    if (!json_object_get(o, "key"))
        json_object_set_new(o, "key", json_string(""));
    return o;
}

static bool taint_in(const json_t *arr, const json_t *t)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (json_equal(x, t)) return true;
    return false;
}

/* normalised taints of a node spec (new array) */
static json_t *taints_of(const json_t *node)
{
    json_t *r = json_array();
    size_t i;
    json_t *t;
    VC__ARRAY_FOREACH(json_object_get(json_object_get(node, "spec"), "taints"), i, t) {
        json_t *n = taint_norm(t);
        if (!n || json_array_append_new(r, n) < 0) {
            json_decref(r);
            return NULL;
        }
    }
    return r;
}

/* The host taints recorded at the previous sync (annotation: a JSON array
 * of JSON-encoded taints), as objects. */
static json_t *old_physical(const json_t *vann)
{
    json_t *r = json_array();
    const char *txt = json_string_value(json_object_get(vann, VC__NODE_TAINTS_ANN));
    json_t *arr = txt ? json_loads(txt, 0, NULL) : NULL;
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        json_t *t = json_is_string(s) ? json_loads(json_string_value(s), 0, NULL) : NULL;
        json_t *n = t ? taint_norm(t) : NULL;
        json_decref(t);
        if (n)
            json_array_append_new(r, n);
    }
    json_decref(arr);
    return r;
}

static int merge_taints(const json_t *host, const json_t *virt, json_t *vann_out, json_t **out_taints)
{
    json_t *phys = taints_of(host), *virt_t = taints_of(virt),
           *old = old_physical(json_object_get(json_object_get(virt, "metadata"), "annotations"));
    json_t *merged = json_array();
    int rc = phys && virt_t && old && merged ? VC_OK : vc__error_oom();
    bool host_unready = false;
    size_t i;
    json_t *t;
    json_array_foreach(phys, i, t) if (vc__streq(vc__jstr(t, "key"), NOT_READY_TAINT)) host_unready = true;
    /* physical first, then the virtual ones; minus what the host dropped */
    json_array_foreach(phys, i, t) if (rc == VC_OK && !taint_in(merged, t)) json_array_append(merged, t);
    json_array_foreach(virt_t, i, t) {
        if (rc < 0 || taint_in(merged, t))
            continue;
        if (!host_unready && vc__streq(vc__jstr(t, "key"), NOT_READY_TAINT))
            continue;
        if (taint_in(old, t) && !taint_in(phys, t))
            continue;
        json_array_append(merged, t);
    }
    /* remember the host's taints for the next merge */
    if (rc == VC_OK) {
        if (json_array_size(phys) == 0) {
            json_object_del(vann_out, VC__NODE_TAINTS_ANN);
        } else {
            json_t *strs = json_array();
            json_array_foreach(phys, i, t) {
                char *s = json_dumps(t, JSON_COMPACT);
                if (!s || json_array_append_new(strs, json_string(s)) < 0)
                    rc = vc__error_oom();
                free(s);
            }
            char *enc = strs && rc == VC_OK ? json_dumps(strs, JSON_COMPACT) : NULL;
            if (!enc || json_object_set_new(vann_out, VC__NODE_TAINTS_ANN, json_string(enc)) < 0)
                rc = vc__error_oom();
            free(enc);
            json_decref(strs);
        }
    }
    json_decref(phys);
    json_decref(virt_t);
    json_decref(old);
    if (rc < 0) {
        json_decref(merged);
        return rc;
    }
    *out_taints = merged;
    return VC_OK;
}

/* the host name of a node as upstream's kubelet proxy names it */
char *vc__node_host(const char *name)
{
    char *r = vc__sprintf("%s.%s", name, NODE_SUFFIX);
    if (r)
        for (char *p = r; *p && p < r + strlen(name); p++)
            if (*p == '.')
                *p = '-';
    return r;
}

static json_t *resources_merge(const json_t *a, const json_t *b)
{
    json_t *r = json_object();
    if (!r)
        return NULL;
    json_object_update(r, json_is_object(a) ? (json_t *)a : NULL);
    json_object_update(r, json_is_object(b) ? (json_t *)b : NULL);
    return r;
}

int vc__quantity_milli(const char *q, int64_t *out)
{
    static const struct {
        const char *suffix;
        long double mult;
    } k_suffix[] = {
        { "Ki", 1024.0L }, { "Mi", 1048576.0L }, { "Gi", 1073741824.0L }, { "Ti", 1099511627776.0L },
        { "Pi", 1125899906842624.0L }, { "Ei", 1152921504606846976.0L }, { "m", 1e-3L }, { "k", 1e3L },
        { "M", 1e6L }, { "G", 1e9L }, { "T", 1e12L }, { "P", 1e15L }, { "E", 1e18L }, { "", 1.0L },
    };
    if (!q || !*q)
        return VC_EINVAL;
    const char *p = q;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    long double v = 0;
    bool digits = false;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        digits = true;
    }
    if (*p == '.') {
        long double f = 0.1L;
        for (p++; *p >= '0' && *p <= '9'; p++, f /= 10) {
            v += (*p - '0') * f;
            digits = true;
        }
    }
    if (!digits)
        return VC_EINVAL;
    long double mult = -1;
    if ((*p == 'e' || *p == 'E') && p[1] && (p[1] == '-' || p[1] == '+' || (p[1] >= '0' && p[1] <= '9'))) {
        char *end = NULL;
        long e = strtol(p + 1, &end, 10);
        if (*end || e > 18 || e < -3)
            return VC_EINVAL;
        mult = 1;
        for (long i = 0; i < (e < 0 ? -e : e); i++)
            mult = e < 0 ? mult / 10 : mult * 10;
    } else {
        for (size_t i = 0; i < VC__ARRAY_LEN(k_suffix); i++)
            if (!strcmp(p, k_suffix[i].suffix))
                mult = k_suffix[i].mult;
    }
    if (mult < 0)
        return VC_EINVAL;
    long double m = v * mult * 1000.0L;
    if (m > 9.2e18L)
        return VC_EINVAL;
    int64_t r = (int64_t)(m + 0.5L);
    *out = neg ? -r : r;
    return VC_OK;
}

static const char *const k_res[3] = { "cpu", "memory", "ephemeral-storage" };

static void add_requests(const json_t *c, int64_t r[3], bool as_max)
{
    const json_t *req = json_object_get(json_object_get(c, "resources"), "requests");
    for (int i = 0; i < 3; i++) {
        int64_t v = 0;
        if (vc__quantity_milli(json_string_value(json_object_get(req, k_res[i])), &v) != VC_OK)
            continue;
        if (as_max)
            r[i] = v > r[i] ? v : r[i];
        else
            r[i] += v;
    }
}

void vc__pod_requests(const json_t *pod, int64_t out[3])
{
    const json_t *spec = json_object_get(pod, "spec");
    int64_t sum[3] = { 0, 0, 0 }, init[3] = { 0, 0, 0 };
    size_t i;
    json_t *c;
    VC__ARRAY_FOREACH(json_object_get(spec, "containers"), i, c) add_requests(c, sum, false);
    VC__ARRAY_FOREACH(json_object_get(spec, "initContainers"), i, c) {
        /* a sidecar (restartPolicy Always) runs with the others */
        if (vc__streq(vc__jstr(c, "restartPolicy"), "Always"))
            add_requests(c, sum, false);
        else
            add_requests(c, init, true);
    }
    const json_t *over = json_object_get(spec, "overhead");
    for (int k = 0; k < 3; k++) {
        int64_t o = 0;
        out[k] = (sum[k] > init[k] ? sum[k] : init[k]);
        if (vc__quantity_milli(json_string_value(json_object_get(over, k_res[k])), &o) == VC_OK)
            out[k] += o;
    }
}

/* a quantity in milli units as Kubernetes writes it: cores ("400",
 * "1500m"), bytes with the largest binary suffix that divides them */
static json_t *quantity(int64_t milli, bool cpu)
{
    char b[48];
    if (cpu) {
        if (milli % 1000 == 0)
            snprintf(b, sizeof b, "%lld", (long long)(milli / 1000));
        else
            snprintf(b, sizeof b, "%lldm", (long long)milli);
        return json_string(b);
    }
    int64_t v = milli / 1000;
    static const char *const suf[] = { "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int k = -1;
    int64_t unit = 1;
    for (int i = 0; i < 6 && v > 0 && v % (unit * 1024) == 0; i++) {
        unit *= 1024;
        k = i;
    }
    if (k >= 0)
        snprintf(b, sizeof b, "%lld%s", (long long)(v / unit), suf[k]);
    else
        snprintf(b, sizeof b, "%lld", (long long)v);
    return json_string(b);
}

/* upstream: with a scheduler inside, a node's allocatable is what the
 * host's other pods (not this vcluster's) leave of it */
static void allocatable_left(json_t *st, const int64_t used[4])
{
    json_t *alloc = json_object_get(st, "allocatable");
    if (!json_is_object(alloc))
        return;
    for (int i = 0; i < 3; i++) {
        int64_t have = 0;
        if (used[i] <= 0 || vc__quantity_milli(json_string_value(json_object_get(alloc, k_res[i])), &have) != VC_OK)
            continue;
        if (have - used[i] > 0)
            json_object_set_new(alloc, k_res[i], quantity(have - used[i], i == 0));
    }
    int64_t pods = 0;
    if (used[3] > 0 && vc__quantity_milli(json_string_value(json_object_get(alloc, "pods")), &pods) == VC_OK &&
        pods / 1000 - used[3] > 0) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)(pods / 1000 - used[3]));
        json_object_set_new(alloc, "pods", json_string(b));
    }
}

static int status_of(json_t **out, const json_t *host, const json_t *virt, const char *name, const vc__node_opts *o)
{
    json_t *st = json_deep_copy(json_object_get(host, "status"));
    if (!st && !(st = json_object()))
        return vc__error_oom();
    if (o->proxy_by_hostname || o->proxy_by_ip) {
        /* the kubelet is reached through the syncer's kubelet proxy */
        if (o->kubelet_port > 0)
            json_object_set_new(st, "daemonEndpoints",
                                json_pack("{s:{s:i}}", "kubeletEndpoint", "Port", (json_int_t)o->kubelet_port));
        json_t *na = json_array();
        if (!na) {
            json_decref(st);
            return vc__error_oom();
        }
        if (o->proxy_by_hostname) {
            char *h = vc__node_host(name);
            json_array_append_new(na, json_pack("{s:s?,s:s}", "address", h, "type", "Hostname"));
            vc__free(h);
        }
        bool ip = o->proxy_by_ip && o->kubelet_ip && *o->kubelet_ip;
        if (ip)
            json_array_append_new(na, json_pack("{s:s,s:s}", "address", o->kubelet_ip, "type", "InternalIP"));
        size_t i;
        json_t *a;
        VC__ARRAY_FOREACH(json_object_get(st, "addresses"), i, a) {
            const char *ty = vc__jstr(a, "type");
            if (vc__streq(ty, "Hostname") || vc__streq(ty, "InternalDNS") || (ip && vc__streq(ty, "InternalIP")))
                continue;
            /* no proxy address known: the host's InternalIP stays */
            json_array_append(na, a);
        }
        json_object_set_new(st, "addresses", na);
    }
    if (o->virtual_scheduler && o->used)
        allocatable_left(st, o->used);
    if (o->virtual_scheduler) {
        /* resources the virtual cluster added stay (upstream: custom
         * capacity and allocatable with a scheduler inside) */
        const json_t *vst = json_object_get(virt, "status");
        json_t *cap = resources_merge(json_object_get(vst, "capacity"), json_object_get(st, "capacity"));
        json_t *alloc = resources_merge(json_object_get(vst, "allocatable"), json_object_get(st, "allocatable"));
        if (!cap || !alloc) {
            json_decref(cap);
            json_decref(alloc);
            json_decref(st);
            return vc__error_oom();
        }
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(alloc, tmp, k, v) if (!json_object_get(cap, k)) json_object_del(alloc, k);
        json_object_foreach(cap, k, v) if (!json_object_get(alloc, k)) json_object_set(alloc, k, v);
        json_object_set_new(st, "capacity", cap);
        json_object_set_new(st, "allocatable", alloc);
    }
    if (o->clear_images)
        json_object_set_new(st, "images", json_array());
    *out = st;
    return VC_OK;
}

/* upstream filterOutTaintsMatchingTolerations: a taint that an enforced
 * toleration (sync.toHost.pods.enforceTolerations) tolerates is not shown
 * inside, since every pod tolerates it anyway */
static bool tolerated(const json_t *taint, const json_t *tols)
{
    size_t i;
    json_t *tol;
    json_array_foreach(tols, i, tol) {
        const char *k = vc__jstr(tol, "key"), *op = vc__jstr(tol, "operator"), *eff = vc__jstr(tol, "effect");
        if ((!k || !*k) && vc__streq(op, "Exists"))
            return true;
        if (!vc__streq(vc__jstr(taint, "key"), k ? k : ""))
            continue;
        if (eff && *eff && !vc__streq(vc__jstr(taint, "effect"), eff))
            continue;
        const char *tv = vc__jstr(taint, "value"), *want = vc__jstr(tol, "value");
        if (vc__streq(op, "Exists") || (vc__streq(op, "Equal") && vc__streq(tv ? tv : "", want ? want : "")))
            return true;
    }
    return false;
}

int vc__node_to_virtual(json_t **out, const json_t *host, const json_t *virt, const vc__node_opts *o)
{
    *out = NULL;
    const char *name = vc__jpath_str(host, "metadata", "name");
    if (!name)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "host node has no name");
    const json_t *hmeta = json_object_get(host, "metadata"), *vmeta = json_object_get(virt, "metadata");
    const json_t *vann = json_object_get(vmeta, "annotations");
    static const char *const ann_excl[] = { A_MANAGED_ANNOTATIONS, A_MANAGED_LABELS, VC__NODE_TAINTS_ANN,
                                            "management.cattle.io/pod-requests", "management.cattle.io/pod-limits" };
    static const char *const lab_excl[] = { A_MANAGED_ANNOTATIONS, A_MANAGED_LABELS };
    json_t *ann = NULL, *labels = NULL, *taints = NULL;
    char *ann_keys = NULL, *lab_keys = NULL;
    int rc = apply_maps(&ann, &ann_keys, json_object_get(hmeta, "annotations"), vann,
                        json_string_value(json_object_get(vann, A_MANAGED_ANNOTATIONS)), ann_excl,
                        VC__ARRAY_LEN(ann_excl));
    if (rc == VC_OK)
        rc = apply_maps(&labels, &lab_keys, json_object_get(hmeta, "labels"), json_object_get(vmeta, "labels"),
                        json_string_value(json_object_get(vann, A_MANAGED_LABELS)), lab_excl,
                        VC__ARRAY_LEN(lab_excl));
    if (rc == VC_OK) {
        json_object_del(ann, A_MANAGED_ANNOTATIONS);
        json_object_del(ann, A_MANAGED_LABELS);
        if (*ann_keys)
            json_object_set_new(ann, A_MANAGED_ANNOTATIONS, json_string(ann_keys));
        if (*lab_keys)
            json_object_set_new(ann, A_MANAGED_LABELS, json_string(lab_keys));
        json_object_set_new(labels, VC__NODE_MARKER_LABEL, json_string(o->marker ? o->marker : "vcluster"));
        rc = merge_taints(host, virt, ann, &taints);
    }
    vc__free(ann_keys);
    vc__free(lab_keys);
    json_t *spec = NULL, *st = NULL;
    if (rc == VC_OK) {
        spec = json_deep_copy(json_object_get(host, "spec"));
        if (!spec)
            spec = json_object();
        if (!spec)
            rc = vc__error_oom();
    }
    if (rc == VC_OK && json_array_size(o->enforced_tolerations)) {
        json_t *kept = json_array();
        size_t i;
        json_t *t;
        json_array_foreach(taints, i, t) if (kept && !tolerated(t, o->enforced_tolerations)) json_array_append(kept, t);
        json_decref(taints);
        taints = kept;
        if (!kept)
            rc = vc__error_oom();
    }
    if (rc == VC_OK) {
        if (json_array_size(taints))
            json_object_set(spec, "taints", taints);
        else
            json_object_del(spec, "taints");
        rc = status_of(&st, host, virt, name, o);
    }
    json_decref(taints);
    if (rc < 0) {
        json_decref(ann);
        json_decref(labels);
        json_decref(spec);
        return rc;
    }
    json_t *n = json_pack("{s:s,s:s,s:{s:s,s:o,s:o},s:o,s:o}", "apiVersion", "v1", "kind", "Node", "metadata", "name",
                          name, "labels", labels, "annotations", ann, "spec", spec, "status", st);
    if (!n)
        return vc__error_oom();
    *out = n;
    return VC_OK;
}

/* A taint the node-lifecycle controller manages (not-ready, unreachable,
 * pressure, ...): the virtual cluster's own controller may set them on its
 * copy, and they must never reach the host node. */
static bool system_taint(const json_t *t)
{
    const char *k = vc__jstr(t, "key");
    return k && (!strncmp(k, "node.kubernetes.io/", 19) || !strncmp(k, "node.cloudprovider.kubernetes.io/", 33));
}

/* metadata.labels of a node */
static const json_t *labels_of(const json_t *n)
{
    return json_object_get(json_object_get(n, "metadata"), "labels");
}

int vc__node_sync_back(json_t **out, const json_t *host, const json_t *ours, const json_t *vold,
                       const json_t *vnew)
{
    *out = NULL;
    if (!vold || !vnew)
        return VC_OK;
    const json_t *ol = labels_of(vold), *nl = labels_of(vnew), *hl = labels_of(host), *wl = labels_of(ours);
    json_t *lp = json_object();
    if (!lp)
        return vc__error_oom();
    const char *k;
    json_t *v;
    /* changed or added inside, and not what the host has (our own copy) */
    json_object_foreach((json_t *)nl, k, v) {
        if (!strcmp(k, VC__NODE_MARKER_LABEL) || json_equal(json_object_get(ol, k), v))
            continue;
        if (ours && json_equal(json_object_get(wl, k), v))
            continue; /* the syncer wrote it */
        if (!json_equal(json_object_get(hl, k), v))
            json_object_set(lp, k, v);
    }
    /* removed inside while the host still has it */
    json_object_foreach((json_t *)ol, k, v) {
        if (!strcmp(k, VC__NODE_MARKER_LABEL) || json_object_get(nl, k))
            continue;
        if (ours && !json_object_get(wl, k))
            continue; /* the syncer removed it */
        if (json_object_get(hl, k))
            json_object_set_new(lp, k, json_null());
    }
    json_t *ot = taints_of(vold), *nt = taints_of(vnew), *ht = taints_of(host), *wt = ours ? taints_of(ours) : NULL;
    json_t *taints = NULL;
    int rc = ot && nt && ht && (!ours || wt) ? VC_OK : vc__error_oom();
    bool tchanged = false;
    size_t i;
    json_t *t;
    if (rc == VC_OK) {
        taints = json_array();
        /* the host's, minus what was removed inside, plus what was added */
        json_array_foreach(ht, i, t) {
            if (taint_in(ot, t) && !taint_in(nt, t) && (!wt || taint_in(wt, t)) && !system_taint(t)) {
                tchanged = true;
                continue;
            }
            json_array_append(taints, t);
        }
        json_array_foreach(nt, i, t) {
            if (taint_in(ot, t) || taint_in(taints, t) || (wt && taint_in(wt, t)))
                continue;
            if (system_taint(t))
                continue;
            json_array_append(taints, t);
            tchanged = true;
        }
    }
    json_decref(ot);
    json_decref(nt);
    json_decref(ht);
    json_decref(wt);
    if (rc < 0 || (json_object_size(lp) == 0 && !tchanged)) {
        json_decref(lp);
        json_decref(taints);
        return rc;
    }
    json_t *patch = json_object();
    if (!patch) {
        json_decref(lp);
        json_decref(taints);
        return vc__error_oom();
    }
    if (json_object_size(lp))
        json_object_set_new(patch, "metadata", json_pack("{s:o}", "labels", lp));
    else
        json_decref(lp);
    if (tchanged)
        json_object_set_new(patch, "spec", json_pack("{s:o}", "taints", taints));
    else
        json_decref(taints);
    *out = patch;
    return VC_OK;
}

int vc__pod_node_selector(json_t *spec, const json_t *labels)
{
    if (json_object_size(labels) == 0)
        return VC_OK;
    const char *nn = vc__jstr(spec, "nodeName");
    if (nn && *nn)
        return VC_OK; /* placed already: the syncer checks the node exists inside */
    json_t *sel = vc__jobj(spec, "nodeSelector");
    if (!sel) {
        sel = json_object();
        if (!sel || json_object_set_new(spec, "nodeSelector", sel) < 0)
            return vc__error_oom();
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v) {
        if (json_object_set(sel, k, v) < 0)
            return vc__error_oom();
    }
    return VC_OK;
}
