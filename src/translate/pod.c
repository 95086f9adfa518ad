/* Pod translation (upstream pods/translate/translator.go Translate()):
 * service account, priority, annotations, hostAliases, DNS, hostname and the
 * /etc/hosts rewrite, scheduling, tolerations. Env and volumes live in
 * pod_env.c and pod_volumes.c. */
#include <string.h>

#include "translate/translate.h"

#define MAX_PRIORITY 1000000000

/* vcluster.loft.sh/labels: sorted k="v" lines, v as Go's json.Marshal. */
typedef struct line_ref {
    size_t off, len;
} line_ref;

json_t *vc__pod_labels_annotation(const json_t *labels)
{
    size_t n = json_object_size(labels);
    if (n == 0)
        return json_string("");
    /* every line in one buffer: sort "k=..." strings: comparing keys then '='
     * matches Go's sort of the joined lines except when one key is a prefix
     * of another; so the lines themselves are compared. */
    line_ref stack[32], *lines = n <= 32 ? stack : vc__malloc(n * sizeof *lines);
    char sbuf[1024];
    vc_buf text = { sbuf, sizeof sbuf, 0 }; /* moved to the heap before it would outgrow sbuf */
    json_t *res = NULL;
    if (!lines)
        return NULL;
    size_t k = 0;
    const char *key;
    json_t *v;
    bool ok = true;
    json_object_foreach((json_t *)labels, key, v) {
        size_t off = text.size;
        /* the worst case of this line: every character of the value as \u00XX */
        size_t worst = strlen(key) + 6 * json_string_length(v) + 4;
        if (text.ptr == sbuf && text.size + worst + 1 > sizeof sbuf) {
            size_t cap = text.size + worst + 1 > 2 * sizeof sbuf ? text.size + worst + 1 : 2 * sizeof sbuf;
            char *h = vc__malloc(cap);
            if (!h) {
                ok = false;
                break;
            }
            memcpy(h, sbuf, text.size);
            text.ptr = h, text.reserved = cap;
        }
        if (vc__buf_puts(&text, key) < 0 || vc__buf_put(&text, "=", 1) < 0 ||
            vc__go_quote(&text, json_string_value(v)) < 0) {
            ok = false;
            break;
        }
        lines[k].off = off, lines[k++].len = text.size - off;
    }
    if (ok) {
        for (size_t i = 1; i < k; i++) { /* insertion sort: label maps are small */
            line_ref x = lines[i];
            size_t j = i;
            while (j > 0) {
                const line_ref *y = &lines[j - 1];
                size_t m = y->len < x.len ? y->len : x.len;
                int r = memcmp(text.ptr + y->off, text.ptr + x.off, m);
                if (r < 0 || (r == 0 && y->len <= x.len))
                    break;
                lines[j] = lines[j - 1];
                j--;
            }
            lines[j] = x;
        }
        size_t total = text.size + (k ? k - 1 : 0);
        char ostack[1024], *o = total < sizeof ostack ? ostack : vc__malloc(total + 1);
        if (o) {
            size_t p = 0;
            for (size_t i = 0; i < k; i++) {
                if (i)
                    o[p++] = '\n';
                memcpy(o + p, text.ptr + lines[i].off, lines[i].len);
                p += lines[i].len;
            }
            res = json_stringn_nocheck(o, p);
            if (o != ostack)
                vc__free(o);
        }
    }
    if (text.ptr != sbuf)
        vc__free(text.ptr);
    if (lines != stack)
        vc__free(lines);
    return res;
}

/* vcluster.loft.sh/owner-references: Go's json.Marshal([]OwnerReference). */
json_t *vc__pod_owner_refs_annotation(const json_t *refs)
{
    static const char *const skeys[] = { "apiVersion", "kind", "name", "uid" };
    size_t i;
    json_t *r;
    /* on the stack when it surely fits: every string escaped as \u00XX */
    size_t worst = 2;
    json_array_foreach(refs, i, r) {
        worst += 128;
        for (size_t f = 0; f < 4; f++) {
            const char *s = vc__jstr(r, skeys[f]);
            worst += s ? 6 * strlen(s) : 0;
        }
    }
    char sbuf[1024];
    vc_buf b = VC_BUF_INIT;
    if (worst < sizeof sbuf)
        b.ptr = sbuf, b.reserved = sizeof sbuf;
    int rc = b.ptr ? VC_OK : vc__buf_grow(&b, 192 * json_array_size(refs) + 2);
    rc |= vc__buf_put(&b, "[", 1);
    json_array_foreach(refs, i, r) {
        /* Go's struct order: apiVersion, kind, name, uid, then the optional bools */
        static const char *const sfields[] = { "{\"apiVersion\":", ",\"kind\":", ",\"name\":", ",\"uid\":" };
        if (i)
            rc |= vc__buf_put(&b, ",", 1);
        for (size_t f = 0; f < 4; f++) {
            const char *s = vc__jstr(r, skeys[f]);
            rc |= vc__buf_puts(&b, sfields[f]);
            rc |= vc__go_quote(&b, s ? s : "");
        }
        json_t *bv = json_object_get(r, "controller");
        if (json_is_boolean(bv))
            rc |= vc__buf_puts(&b, json_is_true(bv) ? ",\"controller\":true" : ",\"controller\":false");
        bv = json_object_get(r, "blockOwnerDeletion");
        if (json_is_boolean(bv))
            rc |= vc__buf_puts(&b, json_is_true(bv) ? ",\"blockOwnerDeletion\":true" : ",\"blockOwnerDeletion\":false");
        rc |= vc__buf_put(&b, "}", 1);
    }
    rc |= vc__buf_put(&b, "]", 1);
    json_t *res = rc < 0 ? NULL : json_stringn_nocheck(b.ptr, b.size);
    if (b.ptr != sbuf)
        vc_buf_dispose(&b);
    return res;
}

const char *vc__pod_owner_set_kind(const json_t *refs)
{
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r) {
        const char *k = vc__jstr(r, "kind");
        if (vc__streq(vc__jstr(r, "apiVersion"), "apps/v1") && k &&
            (!strcmp(k, "DaemonSet") || !strcmp(k, "Job") || !strcmp(k, "ReplicaSet") || !strcmp(k, "StatefulSet")))
            return k;
    }
    return NULL;
}

static const json_t *controller_ref(const json_t *refs)
{
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r) if (json_is_true(json_object_get(r, "controller"))) return r;
    return NULL;
}

/* The pod annotations upstream adds on top of HostMetadata. */
static int pod_annotations(vc__call *c, const json_t *spec_sa, vc__kv *kv, size_t *n)
{
    const json_t *vann = vc__jobj(c->vmeta, "annotations");
    const json_t *refs = vc__jarr(c->vmeta, "ownerReferences");
    size_t k = *n;
    const char *s;
    json_t *sv;
    json_t *uid = json_object_get(c->vmeta, "uid");
#define KEEP_OR(akey, dflt)                                                                              \
    do {                                                                                                 \
        sv = json_object_get(vann, akey);                                                                \
        s = json_is_string(sv) ? json_string_value(sv) : NULL;                                           \
        kv[k].key = akey;                                                                                \
        kv[k++].value = s && *s ? json_incref(sv) : (dflt);                                              \
    } while (0)
    KEEP_OR(VC__A_POD_NAMESPACE, vc__call_vns(c));
    KEEP_OR(VC__A_POD_NAME, vc__call_vname(c));
    KEEP_OR(VC__A_POD_UID, json_is_string(uid) ? json_incref(uid) : json_string(""));
    KEEP_OR(VC__A_POD_SA, json_is_string(spec_sa) ? json_incref((json_t *)spec_sa) : json_string(""));
#undef KEEP_OR
    json_t *la = json_object_get(vann, VC__A_POD_LABELS);
    kv[k].key = VC__A_POD_LABELS;
    kv[k++].value = json_is_string(la) ? json_incref(la) : vc__pod_labels_annotation(vc__jobj(c->vmeta, "labels"));
    if (!json_object_get(vann, VC__A_SAFE_TO_EVICT)) {
        const json_t *ctrl = controller_ref(refs);
        kv[k].key = VC__A_SAFE_TO_EVICT;
        kv[k++].value = json_incref(ctrl ? c->t->s_true_str : c->t->s_false_str);
        if (ctrl && vc__streq(vc__jstr(ctrl, "kind"), "DaemonSet")) {
            kv[k].key = VC__A_DAEMONSET_POD;
            kv[k++].value = json_incref(c->t->s_true_str);
        }
    }
    if (!json_object_get(vann, VC__A_OWNER_REFS) && json_array_size(refs) > 0) {
        kv[k].key = VC__A_OWNER_REFS;
        kv[k++].value = vc__pod_owner_refs_annotation(refs);
        const char *osk = vc__pod_owner_set_kind(refs);
        if (osk) {
            kv[k].key = VC__A_OWNER_SET_KIND;
            kv[k++].value = vc__call_string(c, osk);
        }
    }
    int rc = VC_OK;
    for (size_t i = *n; i < k; i++)
        if (!kv[i].value)
            rc = vc__error_oom();
    *n = k;
    return rc;
}

static int set_bool(json_t *o, const char *key, bool v)
{
    return json_object_set_new_nocheck(o, key, json_boolean(v)) == 0 ? VC_OK : vc__error_oom();
}

static int translate_priority(vc__call *c, json_t *spec)
{
    vc_translator *t = c->t;
    const char *pc = vc__jstr(spec, "priorityClassName");
    if ((t->sync & VC_TRANSLATE_SYNC_PRIORITY_CLASSES) && pc && *pc) {
        char hn[VC__NAME_MAX];
        vc__host_name_cluster(t, pc, hn);
        if (vc__set_str(spec, "priorityClassName", hn) < 0)
            return VC_ENOMEM;
        json_t *p = json_object_get(spec, "priority");
        if (json_is_integer(p) && json_integer_value(p) > MAX_PRIORITY)
            json_object_set_new_nocheck(spec, "priority", json_integer(MAX_PRIORITY));
    } else if (!(t->sync & VC_TRANSLATE_SYNC_PRIORITY_CLASSES) && !(t->flags & VC_TRANSLATE_OPT_FROM_HOST_PRIORITY_CLASSES)) {
        json_object_del(spec, "priorityClassName");
        json_object_del(spec, "priority");
    }
    pc = vc__jstr(spec, "priorityClassName");
    if (t->default_pc && (!pc || !*pc)) {
        if (vc__set_str(spec, "priorityClassName", t->default_pc) < 0)
            return VC_ENOMEM;
        json_object_del(spec, "priority");
    }
    return VC_OK;
}

static bool string_in(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (vc__streq(json_string_value(v), s)) return true;
    return false;
}

static int append_unique(json_t *dst, const json_t *src)
{
    size_t i;
    json_t *v;
    json_array_foreach(src, i, v) {
        if (json_is_string(v) && !string_in(dst, json_string_value(v)) && json_array_append(dst, v) < 0)
            return vc__error_oom();
    }
    return VC_OK;
}

static int translate_dns(vc__call *c, json_t *spec)
{
    vc_translator *t = c->t;
    const char *policy = vc__jstr(spec, "dnsPolicy");
    if (!policy)
        return VC_OK;
    bool host_net = json_is_true(json_object_get(spec, "hostNetwork"));
    if (!(!strcmp(policy, "ClusterFirstWithHostNet") || (!strcmp(policy, "ClusterFirst") && !host_net)))
        return VC_OK;
    if (!t->dns_ip && !(c->flags & VC_TRANSLATE_PREVIEW))
        return vc__fail(c, VC_ESTATE, "waiting for DNS service IP (the translator has no dns_ip)");
    json_t *old = vc__jobj(spec, "dnsConfig");
    json_t *cfg = json_object();
    if (!cfg)
        return vc__error_oom();
    int rc = VC_OK;
    if (old) {
        json_t *ns = json_copy(t->dns_nameservers), *srch = json_array();
        char b[300];
        snprintf(b, sizeof b, "%s.svc.%s", c->vns, t->domain);
        json_array_append_new(srch, json_string(b));
        snprintf(b, sizeof b, "svc.%s", t->domain);
        json_array_append_new(srch, json_string(b));
        json_array_append_new(srch, json_string(t->domain));
        if (!ns || !srch || append_unique(ns, vc__jarr(old, "nameservers")) < 0 ||
            append_unique(srch, vc__jarr(old, "searches")) < 0)
            rc = vc__error_oom();
        json_object_set_new_nocheck(cfg, "nameservers", ns);
        json_object_set_new_nocheck(cfg, "searches", srch);
    } else {
        char b1[300];
        snprintf(b1, sizeof b1, "%s.svc.%s", c->vns, t->domain);
        json_object_set_nocheck(cfg, "nameservers", t->dns_nameservers);
        /* svc.<domain> and <domain> are the translator's shared strings */
        json_t *srch = json_array();
        if (!srch || json_array_append_new(srch, json_string(b1)) < 0 ||
            json_array_append(srch, t->s_svc_domain) < 0 || json_array_append(srch, t->s_domain) < 0 ||
            json_object_set_new_nocheck(cfg, "searches", srch) < 0)
            rc = vc__error_oom();
    }
    json_object_set_nocheck(cfg, "options", t->dns_options);
    if (json_object_set_new_nocheck(spec, "dnsConfig", cfg) < 0 ||
        json_object_set_nocheck(spec, "dnsPolicy", t->s_none) < 0)
        rc = vc__error_oom();
    return rc;
}

static int add_mount(json_t *container)
{
    json_t *mounts = vc__jarr(container, "volumeMounts");
    if (!mounts) {
        mounts = json_array();
        if (!mounts || json_object_set_new_nocheck(container, "volumeMounts", mounts) < 0)
            return vc__error_oom();
    }
    json_t *m = json_pack("{ssssss}", "mountPath", "/etc/hosts", "name", "vcluster-rewrite-hosts", "subPath", "hosts");
    return m && json_array_append_new(mounts, m) == 0 ? VC_OK : vc__error_oom();
}

/* upstream hosts.go rewritePodHostnameFQDN */
static int rewrite_hosts(vc__call *c, json_t *spec, const char *hostname, const char *fqdn, vc__kv *kv, size_t *n)
{
    const json_t *vann = vc__jobj(c->vmeta, "annotations");
    if (vc__streq(vc__jstr(vann, VC__A_DISABLE_SUBDOMAIN_REWRITE), "true") &&
        vc__streq(vc__jstr(vann, VC__A_HOSTS_REWRITTEN), "true"))
        return VC_OK;
    char sed[1024];
    snprintf(sed, sizeof sed,
             "sed -E -e 's/^(\\d+.\\d+.\\d+.\\d+\\s+)%s$/\\1 %s %s/' /etc/hosts > /hosts/hosts", hostname, fqdn,
             hostname);
    json_t *init = json_pack("{ss ss s[s] s[ss] s{s{ssss}s{ssss}} s[{ssss}] s{sisisbs{s[s]}sbs{ss}}}", "name",
                             "vcluster-rewrite-hosts", "image", c->t->hosts_image, "command", "sh", "args", "-c", sed,
                             "resources", "limits", "cpu", "30m", "memory", "64Mi", "requests", "cpu", "30m", "memory",
                             "64Mi", "volumeMounts", "mountPath", "/hosts", "name", "vcluster-rewrite-hosts",
                             "securityContext", "runAsUser", 1001, "runAsGroup", 1001, "runAsNonRoot", 1,
                             "capabilities", "drop", "ALL", "allowPrivilegeEscalation", 0, "seccompProfile", "type",
                             "RuntimeDefault");
    json_t *vol = json_pack("{sss{}}", "name", "vcluster-rewrite-hosts", "emptyDir");
    if (!init || !vol) {
        json_decref(init);
        json_decref(vol);
        return vc__error_oom();
    }
    json_t *vols = vc__jarr(spec, "volumes");
    if (!vols) {
        vols = json_array();
        json_object_set_new_nocheck(spec, "volumes", vols);
    }
    json_t *inits = vc__jarr(spec, "initContainers");
    if (!inits) {
        inits = json_array();
        json_object_set_new_nocheck(spec, "initContainers", inits);
    }
    if (!vols || !inits || json_array_append_new(vols, vol) < 0 || json_array_insert_new(inits, 0, init) < 0)
        return vc__error_oom();
    kv[*n].key = VC__A_HOSTS_REWRITTEN;
    kv[(*n)++].value = json_incref(c->t->s_true_str);
    static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };
    for (size_t l = 0; l < 3; l++) {
        size_t i;
        json_t *ct;
        VC__ARRAY_FOREACH(vc__jarr(spec, lists[l]), i, ct) {
            if (l == 1 && i == 0)
                continue; /* the rewrite container itself */
            if (json_is_object(ct) && add_mount(ct) < 0)
                return VC_ENOMEM;
        }
    }
    return VC_OK;
}

static int translate_hostname(vc__call *c, json_t *spec, vc__kv *kv, size_t *n)
{
    const char *hn = vc__jstr(spec, "hostname");
    char host[64];
    if (!hn || !*hn) {
        size_t len = strlen(c->vname);
        if (len > 63)
            len = 63;
        memcpy(host, c->vname, len);
        host[len] = '\0';
        for (char *p = host; *p; p++)
            if (*p == '.')
                *p = '-';
        len = strlen(host);
        if (len && host[len - 1] == '-')
            host[len - 1] = '\0';
        /* usually the pod's own name: its string is shared */
        json_t *hj = strcmp(host, c->vname) ? vc__call_string(c, host) : vc__call_vname(c);
        if (!hj || json_object_set_new_nocheck(spec, "hostname", hj) < 0)
            return vc__error_oom();
    } else {
        snprintf(host, sizeof host, "%s", hn);
    }
    const char *sub = vc__jstr(spec, "subdomain");
    if (sub && *sub) {
        if (!(c->t->flags & VC_TRANSLATE_OPT_NO_REWRITE_HOSTS)) {
            char fqdn[600];
            snprintf(fqdn, sizeof fqdn, "%s.%s.%s.svc.%s", host, sub, c->vns, c->t->domain);
            int rc = rewrite_hosts(c, spec, host, fqdn, kv, n);
            if (rc < 0)
                return rc;
        }
        json_object_del(spec, "subdomain");
    }
    return VC_OK;
}

/* upstream translatePodAffinityTerm */
static int affinity_term(vc__call *c, json_t *term, const char *ptr, json_t **out)
{
    *out = NULL;
    if (!json_is_object(term))
        return vc__bad(c, "must be an object", "%s", ptr);
    json_t *sel = json_object_get(term, "labelSelector");
    char p[600];
    snprintf(p, sizeof p, "%s/labelSelector", ptr);
    json_t *hsel = NULL;
    int rc = vc__host_selector(c, sel, p, false, &hsel);
    if (rc < 0)
        return rc;
    json_t *nt = json_object();
    if (!nt) {
        json_decref(hsel);
        return vc__error_oom();
    }
    if (hsel) {
        json_t *nss = vc__jarr(term, "namespaces");
        json_t *nssel = vc__jobj(term, "namespaceSelector");
        bool nssel_empty = nssel && json_object_size(vc__jobj(nssel, "matchLabels")) == 0 &&
                           json_array_size(vc__jarr(nssel, "matchExpressions")) == 0;
        if (json_array_size(nss) > 0) {
            if (!nssel || !nssel_empty) {
                json_t *me = vc__jarr(hsel, "matchExpressions");
                if (!me) {
                    me = json_array();
                    json_object_set_new_nocheck(hsel, "matchExpressions", me);
                }
                json_array_append_new(me, json_pack("{sssssO}", "key", VC__L_NAMESPACE, "operator", "In", "values", nss));
            }
        } else if (nssel) {
            json_t *nsh = NULL;
            snprintf(p, sizeof p, "%s/namespaceSelector", ptr);
            if ((rc = vc__host_selector(c, nssel, p, true, &nsh)) < 0) {
                json_decref(hsel);
                json_decref(nt);
                return rc;
            }
            /* MergeLabelSelectors(hsel, nsh) */
            const char *k;
            json_t *v;
            VC__OBJECT_FOREACH(vc__jobj(nsh, "matchLabels"), k, v) vc__selector_pin(hsel, k, json_incref(v));
            json_t *me = vc__jarr(nsh, "matchExpressions");
            if (json_array_size(me)) {
                json_t *dst = vc__jarr(hsel, "matchExpressions");
                if (!dst) {
                    dst = json_array();
                    json_object_set_new_nocheck(hsel, "matchExpressions", dst);
                }
                json_array_extend(dst, me);
            }
            json_decref(nsh);
        } else {
            vc__selector_pin(hsel, VC__L_NAMESPACE, json_string(c->vns));
        }
        vc__selector_pin(hsel, VC__L_MARKER, json_incref(c->t->s_name));
        json_object_set_new_nocheck(nt, "labelSelector", hsel);
    }
    json_t *tk = json_object_get(term, "topologyKey");
    if (tk)
        json_object_set_nocheck(nt, "topologyKey", tk);
    /* Deviation (doc/translate.md): matchLabelKeys/mismatchLabelKeys are kept
     * with their keys translated instead of dropped. */
    static const char *const keylists[] = { "matchLabelKeys", "mismatchLabelKeys" };
    for (size_t i = 0; i < 2; i++) {
        json_t *kl = vc__jarr(term, keylists[i]), *nk = kl ? json_array() : NULL;
        size_t j;
        json_t *kv;
        json_array_foreach(kl, j, kv) json_array_append_new(
            nk, json_string(json_is_string(kv) ? vc__host_label_key(c->t, json_string_value(kv)) : ""));
        if (nk)
            json_object_set_new_nocheck(nt, keylists[i], nk);
    }
    *out = nt;
    return VC_OK;
}

static int translate_affinity(vc__call *c, json_t *spec)
{
    json_t *aff = vc__jobj(spec, "affinity");
    static const char *const kinds[] = { "podAffinity", "podAntiAffinity" };
    for (size_t k = 0; aff && k < 2; k++) {
        json_t *pa = vc__jobj(aff, kinds[k]);
        if (!pa)
            continue;
        size_t i;
        json_t *e;
        VC__ARRAY_FOREACH(vc__jarr(pa, "preferredDuringSchedulingIgnoredDuringExecution"), i, e) {
            char ptr[200];
            snprintf(ptr, sizeof ptr, "/spec/affinity/%s/preferredDuringSchedulingIgnoredDuringExecution/%zu/podAffinityTerm",
                     kinds[k], i);
            json_t *nt;
            int rc = affinity_term(c, json_object_get(e, "podAffinityTerm"), ptr, &nt);
            if (rc < 0)
                return rc;
            json_object_set_new_nocheck(e, "podAffinityTerm", nt);
        }
        json_t *req = vc__jarr(pa, "requiredDuringSchedulingIgnoredDuringExecution");
        json_array_foreach(req, i, e) {
            char ptr[200];
            snprintf(ptr, sizeof ptr, "/spec/affinity/%s/requiredDuringSchedulingIgnoredDuringExecution/%zu", kinds[k], i);
            json_t *nt;
            int rc = affinity_term(c, e, ptr, &nt);
            if (rc < 0)
                return rc;
            json_array_set_new(req, i, nt);
        }
    }
    return VC_OK;
}

static int translate_topology(vc__call *c, json_t *spec)
{
    size_t i;
    json_t *tsc;
    VC__ARRAY_FOREACH(vc__jarr(spec, "topologySpreadConstraints"), i, tsc) {
        if (!json_is_object(tsc))
            return vc__bad(c, "must be an object", "/spec/topologySpreadConstraints/%zu", i);
        char ptr[120];
        snprintf(ptr, sizeof ptr, "/spec/topologySpreadConstraints/%zu/labelSelector", i);
        json_t *hs = NULL;
        int rc = vc__host_selector(c, json_object_get(tsc, "labelSelector"), ptr, false, &hs);
        if (rc < 0)
            return rc;
        if (!hs)
            continue;
        vc__selector_pin(hs, VC__L_NAMESPACE, json_string(c->vns));
        vc__selector_pin(hs, VC__L_MARKER, json_incref(c->t->s_name));
        json_object_set_new_nocheck(tsc, "labelSelector", hs);
    }
    return VC_OK;
}

static int enforce_tolerations(vc__call *c, json_t *spec)
{
    if (json_array_size(c->t->tolerations) == 0)
        return VC_OK;
    json_t *tols = vc__jarr(spec, "tolerations");
    if (!tols) {
        tols = json_array();
        if (!tols || json_object_set_new_nocheck(spec, "tolerations", tols) < 0)
            return vc__error_oom();
    }
    size_t i, j;
    json_t *want, *have;
    json_array_foreach(c->t->tolerations, i, want) {
        bool found = false;
        json_array_foreach(tols, j, have) if (json_equal(have, want)) found = true;
        if (!found && json_array_append(tols, want) < 0)
            return vc__error_oom();
    }
    return VC_OK;
}

static int check_containers(vc__call *c, json_t *spec)
{
    static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };
    for (size_t l = 0; l < 3; l++) {
        json_t *arr = json_object_get(spec, lists[l]);
        if (!arr || json_is_null(arr)) {
            if (l == 0)
                return vc__bad(c, "required", "/spec/containers");
            continue;
        }
        if (!json_is_array(arr))
            return vc__bad(c, "must be a list", "/spec/%s", lists[l]);
        size_t i;
        json_t *ct;
        json_array_foreach(arr, i, ct) {
            if (!json_is_object(ct))
                return vc__bad(c, "must be an object", "/spec/%s/%zu", lists[l], i);
            if (!vc__jstr(ct, "name"))
                return vc__bad(c, "required", "/spec/%s/%zu/name", lists[l], i);
        }
    }
    static const char *const arrays[] = { "volumes", "imagePullSecrets", "tolerations", "hostAliases",
                                          "topologySpreadConstraints" };
    for (size_t i = 0; i < VC__ARRAY_LEN(arrays); i++) {
        json_t *v = json_object_get(spec, arrays[i]);
        if (v && !json_is_null(v) && !json_is_array(v))
            return vc__bad(c, "must be a list", "/spec/%s", arrays[i]);
        if (json_is_null(v))
            json_object_del(spec, arrays[i]);
    }
    static const char *const objects[] = { "affinity", "dnsConfig", "nodeSelector", "securityContext" };
    for (size_t i = 0; i < VC__ARRAY_LEN(objects); i++) {
        json_t *v = json_object_get(spec, objects[i]);
        if (v && !json_is_null(v) && !json_is_object(v))
            return vc__bad(c, "must be an object", "/spec/%s", objects[i]);
    }
    return VC_OK;
}

int vc__pod_to_host(vc__call *c, json_t *obj)
{
    vc_translator *t = c->t;
    json_t *spec = json_object_get(obj, "spec");
    if (!spec)
        return vc__bad(c, "required", "/spec");
    if (!json_is_object(spec))
        return vc__bad(c, "must be an object", "/spec");
    int rc = check_containers(c, spec);
    if (rc < 0)
        return rc;
    if (!t->kube_ip && !(c->flags & VC_TRANSLATE_PREVIEW))
        return vc__fail(c, VC_ESTATE, "the kube Service IP is not known yet (kube_ip)");

    /* annotations: at most 12 fixed + one per token source */
    vc__kv stack[64], *kv = stack;
    size_t n = 0, cap = 64, tokens = 0;
    size_t i;
    json_t *vol;
    VC__ARRAY_FOREACH(vc__jarr(spec, "volumes"), i, vol) tokens += json_array_size(vc__jarr(vc__jobj(vol, "projected"), "sources"));
    if (tokens + 16 > cap) {
        cap = tokens + 16;
        if (!(kv = vc__malloc(cap * sizeof *kv)))
            return vc__error_oom();
    }
    json_t *v_sa = json_object_get(spec, "serviceAccountName");
    if ((rc = pod_annotations(c, v_sa, kv, &n)) < 0)
        goto out;

    /* service account */
    const char *sa = vc__jstr(spec, "serviceAccountName");
    if (!sa || !*sa)
        sa = vc__jstr(spec, "serviceAccount");
    if ((t->sync & VC_TRANSLATE_SYNC_SERVICE_ACCOUNTS) && sa && *sa) {
        char hn[VC__NAME_MAX];
        vc__host_name_ns(t, sa, c->vns, hn);
        rc = vc__set_str(spec, "serviceAccountName", hn);
    } else {
        rc = json_object_set_nocheck(spec, "serviceAccountName", t->s_workload_sa) == 0 ? VC_OK : vc__error_oom();
    }
    if (rc < 0)
        goto out;
    json_object_del(spec, "serviceAccount");
    if ((rc = set_bool(spec, "automountServiceAccountToken", false)) < 0)
        goto out;
    /* env needs the *virtual* enableServiceLinks: pod_env reads it first */
    if ((rc = translate_priority(c, spec)) < 0)
        goto out;

    /* hostAliases: append the kube alias */
    json_t *ha = vc__jarr(spec, "hostAliases");
    if (!ha) { /* the common case: the translator's shared list */
        if (json_object_set_nocheck(spec, "hostAliases", t->host_aliases) < 0) {
            rc = vc__error_oom();
            goto out;
        }
    } else if (json_array_append(ha, t->host_alias) < 0) {
        rc = vc__error_oom();
        goto out;
    }
    if ((rc = translate_dns(c, spec)) < 0 || (rc = translate_hostname(c, spec, kv, &n)) < 0 ||
        (rc = vc__pod_env(c, spec)) < 0)
        goto out;
    if ((rc = set_bool(spec, "enableServiceLinks", false)) < 0)
        goto out;
    /* image pull secrets */
    json_t *ips;
    VC__ARRAY_FOREACH(vc__jarr(spec, "imagePullSecrets"), i, ips) {
        const char *s = vc__jstr(ips, "name");
        if (!json_is_object(ips) || !s) {
            rc = vc__bad(c, "must be an object with a name", "/spec/imagePullSecrets/%zu", i);
            goto out;
        }
        char hn[VC__NAME_MAX];
        vc__host_name_ns(t, s, c->vns, hn);
        if ((rc = vc__set_str(ips, "name", hn)) < 0)
            goto out;
    }
    vc__kv_sink sink = { kv, &n, cap };
    if ((rc = vc__pod_volumes(c, spec, &sink)) < 0)
        goto out;
    if (t->runtime_class && (rc = vc__set_str(spec, "runtimeClassName", t->runtime_class)) < 0)
        goto out;
    if (t->flags & VC_TRANSLATE_OPT_VIRTUAL_SCHEDULER) {
        json_object_del(spec, "topologySpreadConstraints");
        json_object_del(spec, "affinity");
        json_object_del(spec, "nodeSelector");
    } else if ((rc = translate_topology(c, spec)) < 0 || (rc = translate_affinity(c, spec)) < 0 ||
               (rc = vc__pod_node_selector(spec, t->node_selector)) < 0) {
        goto out;
    }
    if ((rc = enforce_tolerations(c, spec)) < 0)
        goto out;
    rc = vc__host_metadata(c, obj, kv, n);
    n = 0;
out:
    for (size_t j = 0; j < n; j++)
        json_decref(kv[j].value);
    if (kv != stack)
        vc__free(kv);
    return rc;
}
