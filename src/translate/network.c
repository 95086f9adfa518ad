/* Ingresses and NetworkPolicies (upstream ingresses/translate.go,
 * networkpolicies/translate.go, mappings/resources/secrets.go). */
#include <string.h>

#include "translate/translate.h"

#define ALB_ACTIONS "alb.ingress.kubernetes.io/actions"
#define ALB_CONDITIONS "alb.ingress.kubernetes.io/conditions"

static int rename_ns(vc__call *c, json_t *o, const char *field, vc__kind_id kind)
{
    const char *n = vc__jstr(o, field);
    if (!n || !*n)
        return VC_OK;
    char hn[VC__NAME_MAX];
    vc__host_name(c->t, vc__kind_get(kind), c->vns, n, hn);
    return vc__set_str(o, field, hn);
}

static int backend(vc__call *c, json_t *be)
{
    int rc = VC_OK;
    json_t *x;
    if ((x = vc__jobj(be, "service")))
        rc = rename_ns(c, x, "name", VC__K_SERVICE);
    if (rc == VC_OK && (x = vc__jobj(be, "resource"))) {
        const char *n = vc__jstr(x, "name");
        if (n) {
            char hn[VC__NAME_MAX];
            vc__host_name_ns(c->t, n, c->vns, hn);
            rc = vc__set_str(x, "name", hn);
        }
    }
    return rc;
}

/* Does `s` already carry "x-<ns>-x" (upstream's already-translated test)? */
static bool has_ns_marker(const char *s, const char *ns)
{
    char m[300];
    snprintf(m, sizeof m, "x-%s-x", ns);
    return strstr(s, m) != NULL;
}

/* ALB action/condition keys name a service-like object after the last '.' of
 * "<prefix>.<name>"; the actions payload names target services. */
static int alb_annotation(vc__call *c, const char *key, json_t *val, char *nkey, size_t cap, json_t **nval)
{
    *nval = json_incref(val);
    snprintf(nkey, cap, "%s", key);
    bool actions = !strncmp(key, ALB_ACTIONS ".", sizeof ALB_ACTIONS);
    bool conds = !strncmp(key, ALB_CONDITIONS ".", sizeof ALB_CONDITIONS);
    if (!actions && !conds)
        return VC_OK;
    const char *name = key + (actions ? sizeof ALB_ACTIONS : sizeof ALB_CONDITIONS);
    if (!has_ns_marker(key, c->vns) && *name) {
        char hn[VC__NAME_MAX];
        vc__host_name_ns(c->t, name, c->vns, hn);
        snprintf(nkey, cap, "%s.%s", actions ? ALB_ACTIONS : ALB_CONDITIONS, hn);
    }
    if (!actions || !json_is_string(val))
        return VC_OK;
    json_t *payload = json_loads(json_string_value(val), JSON_DECODE_ANY, NULL);
    json_t *tgs = vc__jarr(vc__jobj(payload, "forwardConfig"), "targetGroups");
    size_t i;
    json_t *tg;
    bool changed = false;
    json_array_foreach(tgs, i, tg) {
        const char *svc = vc__jstr(tg, "serviceName");
        if (svc && *svc && !has_ns_marker(svc, c->vns)) {
            char hn[VC__NAME_MAX];
            vc__host_name_ns(c->t, svc, c->vns, hn);
            vc__set_str(tg, "serviceName", hn);
            changed = true;
        }
    }
    if (changed) {
        char *s = json_dumps(payload, JSON_COMPACT);
        json_t *ns = s ? json_string(s) : NULL;
        /* jansson allocated s through the library allocator (vc_global_init) */
        vc__free(s);
        if (ns) {
            json_decref(*nval);
            *nval = ns;
        }
    }
    json_decref(payload);
    return VC_OK;
}

/* nginx.ingress.kubernetes.io/{auth,auth-tls,proxy-ssl}-secret: "name" or "ns/name" */
static bool nginx_secret_key(const char *k)
{
    return !strcmp(k, "nginx.ingress.kubernetes.io/auth-secret") ||
           !strcmp(k, "nginx.ingress.kubernetes.io/auth-tls-secret") ||
           !strcmp(k, "nginx.ingress.kubernetes.io/proxy-ssl-secret");
}

static int ingress_annotations(vc__call *c, json_t *meta)
{
    json_t *ann = vc__jobj(meta, "annotations");
    size_t n = json_object_size(ann), k = 0;
    vc__kv *kv = vc__malloc((n ? n : 1) * sizeof *kv);
    char(*keys)[320] = vc__malloc((n ? n : 1) * 320);
    int rc = VC_OK;
    if (!kv || !keys) {
        vc__free(kv);
        vc__free(keys);
        return vc__error_oom();
    }
    const char *key;
    json_t *v;
    json_object_foreach(ann, key, v) {
        json_t *nv = NULL;
        alb_annotation(c, key, v, keys[k], sizeof keys[k], &nv);
        if (nginx_secret_key(key) && json_is_string(nv)) {
            const char *s = json_string_value(nv);
            const char *slash = strchr(s, '/');
            char hn[VC__NAME_MAX], out[VC__NAME_MAX * 2];
            if (!slash) {
                vc__host_name_ns(c->t, s, c->vns, hn);
                snprintf(out, sizeof out, "%s", hn);
            } else if (!strchr(slash + 1, '/')) {
                char ns[VC__NAME_MAX];
                snprintf(ns, sizeof ns, "%.*s", (int)(slash - s), s);
                vc__host_name_ns(c->t, slash + 1, ns, hn);
                snprintf(out, sizeof out, "%s/%s", c->t->host_ns, hn);
            } else {
                snprintf(out, sizeof out, "%s", s);
            }
            json_decref(nv);
            nv = json_string(out);
        }
        kv[k].key = keys[k];
        kv[k++].value = nv;
        if (!nv)
            rc = vc__error_oom();
    }
    if (rc < 0) {
        for (size_t i = 0; i < k; i++)
            json_decref(kv[i].value);
    } else {
        json_t *o = vc__sorted_object(kv, k);
        if (!o || json_object_set_new_nocheck(meta, "annotations", o) < 0)
            rc = vc__error_oom();
    }
    vc__free(kv);
    vc__free(keys);
    return rc;
}

int vc__ingress_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0 || (rc = ingress_annotations(c, vc__jobj(obj, "metadata"))) < 0)
        return rc;
    json_t *spec = json_object_get(obj, "spec");
    if (!spec)
        return VC_OK;
    if (!json_is_object(spec))
        return vc__bad(c, "must be an object", "/spec");
    json_t *db = vc__jobj(spec, "defaultBackend");
    if (db && (rc = backend(c, db)) < 0)
        return rc;
    size_t i, j;
    json_t *rule, *path, *tls;
    VC__ARRAY_FOREACH(vc__jarr(spec, "rules"), i, rule) {
        VC__ARRAY_FOREACH(vc__jarr(vc__jobj(rule, "http"), "paths"), j, path) {
            json_t *be = vc__jobj(path, "backend");
            if (be && (rc = backend(c, be)) < 0)
                return rc;
        }
    }
    VC__ARRAY_FOREACH(vc__jarr(spec, "tls"), i, tls) {
        if (json_is_object(tls) && (rc = rename_ns(c, tls, "secretName", VC__K_SECRET)) < 0)
            return rc;
    }
    return VC_OK;
}

/* ---- NetworkPolicy ---- */

static int merge_selectors(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    VC__OBJECT_FOREACH(vc__jobj(src, "matchLabels"), k, v) {
        if (vc__selector_pin(dst, k, json_incref(v)) < 0)
            return VC_ENOMEM;
    }
    json_t *me = vc__jarr(src, "matchExpressions");
    if (json_array_size(me)) {
        json_t *d = vc__jarr(dst, "matchExpressions");
        if (!d) {
            d = json_array();
            if (!d || json_object_set_new_nocheck(dst, "matchExpressions", d) < 0)
                return vc__error_oom();
        }
        if (json_array_extend(d, me) < 0)
            return vc__error_oom();
    }
    return VC_OK;
}

static int peers(vc__call *c, const json_t *in, const char *ptr, json_t **out)
{
    *out = NULL;
    if (!in || json_is_null(in))
        return VC_OK;
    if (!json_is_array(in))
        return vc__bad(c, "must be a list", "%s", ptr);
    json_t *res = json_array();
    if (!res)
        return vc__error_oom();
    size_t i;
    json_t *peer;
    int rc = VC_OK;
    json_array_foreach(in, i, peer) {
        char p[512];
        if (!json_is_object(peer)) {
            rc = vc__bad(c, "must be an object", "%s/%zu", ptr, i);
            break;
        }
        json_t *np = json_object(), *ps = NULL, *nss = NULL;
        if (!np) {
            rc = vc__error_oom();
            break;
        }
        json_array_append_new(res, np);
        snprintf(p, sizeof p, "%s/%zu/podSelector", ptr, i);
        if ((rc = vc__host_selector(c, json_object_get(peer, "podSelector"), p, false, &ps)) < 0)
            break;
        json_t *ipb = json_object_get(peer, "ipBlock");
        if (!ipb || json_is_null(ipb)) {
            json_t *vnss = json_object_get(peer, "namespaceSelector");
            snprintf(p, sizeof p, "%s/%zu/namespaceSelector", ptr, i);
            if ((rc = vc__host_selector(c, vnss, p, true, &nss)) < 0) {
                json_decref(ps);
                break;
            }
            if (!ps && !(ps = json_object())) {
                json_decref(nss);
                rc = vc__error_oom();
                break;
            }
            if (nss && (rc = merge_selectors(ps, nss)) < 0) {
                json_decref(nss);
                json_decref(ps);
                break;
            }
            json_decref(nss);
            if ((!vnss || json_is_null(vnss)) && (rc = vc__selector_pin(ps, VC__L_NAMESPACE, json_string(c->vns))) < 0) {
                json_decref(ps);
                break;
            }
            if ((rc = vc__selector_pin(ps, VC__L_MARKER, json_incref(c->t->s_name))) < 0) {
                json_decref(ps);
                break;
            }
            json_object_set_new_nocheck(np, "podSelector", ps);
        } else {
            if (ps)
                json_object_set_new_nocheck(np, "podSelector", ps);
            json_object_set_nocheck(np, "ipBlock", ipb);
        }
    }
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return VC_OK;
}

static int rules(vc__call *c, json_t *spec, json_t *out, const char *list, const char *peer_key)
{
    json_t *in = json_object_get(spec, list);
    if (!in || json_is_null(in))
        return VC_OK;
    if (!json_is_array(in))
        return vc__bad(c, "must be a list", "/spec/%s", list);
    if (json_array_size(in) == 0)
        return VC_OK;
    json_t *res = json_array();
    if (!res || json_object_set_new_nocheck(out, list, res) < 0)
        return vc__error_oom();
    size_t i;
    json_t *r;
    json_array_foreach(in, i, r) {
        if (!json_is_object(r))
            return vc__bad(c, "must be an object", "/spec/%s/%zu", list, i);
        json_t *nr = json_object();
        if (!nr || json_array_append_new(res, nr) < 0)
            return vc__error_oom();
        json_t *ports = json_object_get(r, "ports");
        if (ports && !json_is_null(ports))
            json_object_set_nocheck(nr, "ports", ports);
        char p[128];
        snprintf(p, sizeof p, "/spec/%s/%zu/%s", list, i, peer_key);
        json_t *np = NULL;
        int rc = peers(c, json_object_get(r, peer_key), p, &np);
        if (rc < 0)
            return rc;
        if (np)
            json_object_set_new_nocheck(nr, peer_key, np);
    }
    return VC_OK;
}

int vc__networkpolicy_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    json_t *spec = json_object_get(obj, "spec");
    if (!spec)
        return VC_OK;
    if (!json_is_object(spec))
        return vc__bad(c, "must be an object", "/spec");
    json_t *ns = json_object();
    if (!ns)
        return vc__error_oom();
    json_t *ps = NULL;
    json_t *vps = json_object_get(spec, "podSelector");
    if ((rc = vc__host_selector(c, vps && !json_is_null(vps) ? vps : NULL, "/spec/podSelector", false, &ps)) < 0)
        goto fail;
    if (!ps && !(ps = json_object())) {
        rc = vc__error_oom();
        goto fail;
    }
    json_object_set_new_nocheck(ns, "podSelector", ps);
    /* podSelector applies within the policy's namespace and to our pods only */
    if ((rc = vc__selector_pin(ps, VC__L_NAMESPACE, json_string(c->vns))) < 0 ||
        (rc = vc__selector_pin(ps, VC__L_MARKER, json_incref(c->t->s_name))) < 0)
        goto fail;
    if ((rc = rules(c, spec, ns, "ingress", "from")) < 0 || (rc = rules(c, spec, ns, "egress", "to")) < 0)
        goto fail;
    json_t *pt = json_object_get(spec, "policyTypes");
    if (pt && !json_is_null(pt))
        json_object_set_nocheck(ns, "policyTypes", pt);
    return json_object_set_new_nocheck(obj, "spec", ns) == 0 ? VC_OK : vc__error_oom();
fail:
    json_decref(ns);
    return rc;
}
