/* The entry points shared by every kind: validation, defaults, dispatch,
 * names in both directions. */
#include <string.h>

#include "translate/translate.h"

int vc__apply_defaults(json_t *obj, const char *default_ns)
{
    const vc__kind *k = vc__kind_lookup(vc__jstr(obj, "kind"), vc__jstr(obj, "apiVersion"));
    json_t *meta = vc__jobj(obj, "metadata");
    if (!k || !meta)
        return VC_OK;
    if (k->namespaced && !vc__jstr(meta, "namespace") && vc__set_str(meta, "namespace", default_ns) < 0)
        return VC_ENOMEM;
    json_t *spec = vc__jobj(obj, "spec");
    if (k->id == VC__K_POD && spec) {
        if (!json_object_get(spec, "dnsPolicy") && vc__set_str(spec, "dnsPolicy", "ClusterFirst") < 0)
            return VC_ENOMEM;
        if (!json_object_get(spec, "enableServiceLinks") &&
            json_object_set_new(spec, "enableServiceLinks", json_true()) < 0)
            return vc__error_oom();
        if (!vc__jstr(spec, "serviceAccountName")) {
            const char *dep = vc__jstr(spec, "serviceAccount");
            if (vc__set_str(spec, "serviceAccountName", dep ? dep : "default") < 0)
                return VC_ENOMEM;
        }
    }
    if (k->id == VC__K_SERVICE && spec && !json_object_get(spec, "type") && vc__set_str(spec, "type", "ClusterIP") < 0)
        return VC_ENOMEM;
    return VC_OK;
}

static bool is_default_kubernetes(const vc__kind *k, const char *ns, const char *name)
{
    if (k->id != VC__K_SERVICE && k->id != VC__K_ENDPOINTS && k->id != VC__K_ENDPOINTSLICE)
        return false;
    return vc__streq(ns, "default") && vc__streq(name, "kubernetes");
}

/* Validate the parts every kind relies on; fills c->kind, vname, vns. */
static int prepare(vc__call *c, json_t *obj)
{
    if (!json_is_object(obj))
        return vc__bad(c, "must be a JSON object", "%s", "");
    json_t *kj = json_object_get(obj, "kind");
    if (!kj)
        return vc__bad(c, "required", "/kind");
    if (!json_is_string(kj))
        return vc__bad(c, "must be a string", "/kind");
    json_t *av = json_object_get(obj, "apiVersion");
    if (av && !json_is_string(av))
        return vc__bad(c, "must be a string", "/apiVersion");
    const vc__kind *k = vc__kind_lookup(json_string_value(kj), json_string_value(av));
    json_t *meta = json_object_get(obj, "metadata");
    const char *name = vc__jstr(meta, "name");
    c->vname = name;
    if (!k) {
        c->kind = NULL;
        return vc__fail(c, VC_ENOTSUPPORTED, "%s %s is not synced to the host: it stays in the virtual cluster",
                        json_is_string(av) ? json_string_value(av) : "", json_string_value(kj));
    }
    c->kind = k;
    if ((c->flags & VC_TRANSLATE_APPLY_DEFAULTS) && vc__apply_defaults(obj, "default") < 0)
        return vc__error_oom();
    if (!meta)
        return vc__bad(c, "required", "/metadata");
    if (!json_is_object(meta))
        return vc__bad(c, "must be an object", "/metadata");
    if (!json_object_get(meta, "name"))
        return vc__bad(c, "required", "/metadata/name");
    if (!name)
        return vc__bad(c, "must be a string", "/metadata/name");
    if (!vc__is_dns1123_subdomain(name))
        return vc__bad(c, "must be a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.', at most 253)",
                       "/metadata/name");
    const char *ns = "";
    if (k->namespaced) {
        json_t *nsj = json_object_get(meta, "namespace");
        if (!nsj)
            return vc__bad(c, "required for a namespaced kind", "/metadata/namespace");
        if (!json_is_string(nsj))
            return vc__bad(c, "must be a string", "/metadata/namespace");
        ns = json_string_value(nsj);
        if (!vc__is_dns1123_label(ns))
            return vc__bad(c, "must be a DNS-1123 label", "/metadata/namespace");
    }
    c->vns = ns;
    int rc;
    if ((rc = vc__check_string_map(c, json_object_get(meta, "labels"), "/metadata/labels")) < 0 ||
        (rc = vc__check_string_map(c, json_object_get(meta, "annotations"), "/metadata/annotations")) < 0)
        return rc;
    json_t *or = json_object_get(meta, "ownerReferences");
    if (or && !json_is_null(or) && !json_is_array(or))
        return vc__bad(c, "must be a list", "/metadata/ownerReferences");
    if (c->inputs) {
        const json_t *nsl = json_object_get(c->inputs, "namespaceLabels");
        if (nsl && (rc = vc__check_string_map(c, nsl, "/inputs/namespaceLabels")) < 0)
            return rc;
    }
    if (!vc__kind_synced(c->t, k))
        return vc__fail(c, VC_ENOTSUPPORTED, "not synced to the host (sync.toHost.%s.enabled is false)", k->plural);
    if (is_default_kubernetes(k, ns, name))
        return vc__fail(c, VC_ENOTSUPPORTED,
                        "default/kubernetes is backed by the host Service %s and is never created on the host",
                        c->t->name);
    return VC_OK;
}

/* The virtual metadata's string at `key` when it is the one `value` points
 * into (prepare() took vname and vns from there), else a new string. */
static json_t *meta_string(vc__call *c, const char *key, const char *value)
{
    json_t *s = json_object_get(c->vmeta, key);
    if (json_is_string(s) && json_string_value(s) == value)
        return json_incref(s);
    return json_string(value);
}

json_t *vc__call_vname(vc__call *c)
{
    return meta_string(c, "name", c->vname);
}

json_t *vc__call_vns(vc__call *c)
{
    return meta_string(c, "namespace", c->vns);
}

json_t *vc__call_hname(vc__call *c)
{
    if (!c->s_hname || strcmp(json_string_value(c->s_hname), c->hname) != 0) {
        json_decref(c->s_hname);
        c->s_hname = vc__call_string(c, c->hname);
    }
    return json_incref(c->s_hname);
}

json_t *vc__call_string(vc__call *c, const char *s)
{
    for (size_t i = 0; i < c->n_interned; i++)
        if (!strcmp(json_string_value(c->interned[i]), s))
            return json_incref(c->interned[i]);
    /* names are ASCII nearly always: skip jansson's UTF-8 check (4% of a pod) then */
    size_t n = 0;
    bool ascii = true;
    for (; s[n]; n++)
        ascii &= (unsigned char)s[n] < 0x80;
    json_t *j = ascii ? json_stringn_nocheck(s, n) : json_string(s);
    if (j && c->n_interned < VC__ARRAY_LEN(c->interned))
        c->interned[c->n_interned++] = json_incref(j);
    return j;
}

int vc__call_set_str(vc__call *c, json_t *o, const char *key, const char *value)
{
    json_t *j = vc__call_string(c, value);
    return j && json_object_set_new_nocheck(o, key, j) == 0 ? VC_OK : vc__error_oom(); /* keys are literals */
}

void vc__call_release(vc__call *c)
{
    json_decref(c->s_hname);
    c->s_hname = NULL;
    for (size_t i = 0; i < c->n_interned; i++)
        json_decref(c->interned[i]);
    c->n_interned = 0;
}

int vc__translate_to_host(json_t **out, json_t **out_extra, vc_translator *t, json_t *vobj,
                          const json_t *inputs, uint32_t flags, vc__tr_diag *diag)
{
    *out = NULL;
    if (out_extra)
        *out_extra = NULL;
    if (diag)
        diag->pointer[0] = diag->problem[0] = '\0';
    vc__call c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.flags = flags;
    c.inputs = json_is_object(inputs) ? inputs : NULL;
    c.diag = diag;
    c.vobj = vobj;
    if (!t) {
        json_decref(vobj);
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "translator is NULL");
    }
    int rc = prepare(&c, vobj);
    if (rc == VC_OK && t->owner_wait && !t->owner_uid && c.kind->namespaced && !(flags & VC_TRANSLATE_PREVIEW))
        rc = vc__error(VC_ESTATE, VC_ERRCLASS_TRANSLATE,
                       "%s %s/%s: the owner (host Service %s) is not known yet (experimental.syncSettings.setOwner)",
                       c.kind->kind, c.vns, c.vname, t->name);
    if (rc == VC_OK) {
        c.vmeta = json_incref(json_object_get(vobj, "metadata"));
        const char *hostpv = c.kind->id == VC__K_PV ? vc__jpath_str(c.vmeta, "annotations", VC__A_HOST_PV) : NULL;
        char hn[VC__NAME_MAX];
        if (hostpv && *hostpv)
            snprintf(hn, sizeof hn, "%s", hostpv);
        else
            vc__host_name(t, c.kind, c.vns, c.vname, hn);
        snprintf(c.hname, sizeof c.hname, "%s", hn);
        rc = c.kind->to_host ? c.kind->to_host(&c, vobj) : vc__host_metadata(&c, vobj, NULL, 0);
    }
    json_decref(c.vmeta);
    json_decref(c.scratch);
    vc__call_release(&c);
    if (rc < 0) {
        json_decref(vobj);
        json_decref(c.extra);
        return rc;
    }
    *out = vobj;
    if (out_extra)
        *out_extra = c.extra;
    else
        json_decref(c.extra);
    return VC_OK;
}

int vc__translate_host_name(vc_translator *t, const char *kind, const char *ns, const char *name,
                            char out[VC__NAME_MAX])
{
    const vc__kind *k = vc__kind_by_name(kind);
    if (!k)
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_TRANSLATE, "\"%s\" is not a translated kind", kind ? kind : "");
    if (!name || !*name)
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s: name is empty", k->kind);
    if (strlen(name) >= VC__NAME_MAX || (ns && strlen(ns) >= VC__NAME_MAX))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s: name or namespace longer than 253 characters", k->kind);
    if (k->namespaced && (!ns || !*ns))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s %s: a namespace is required", k->kind, name);
    vc__host_name(t, k, ns, name, out);
    return VC_OK;
}

int vc__translate_virtual_name(char **out_ns, char **out_name, vc_translator *t, const json_t *host)
{
    *out_ns = *out_name = NULL;
    const vc__kind *k = vc__kind_lookup(vc__jstr(host, "kind"), vc__jstr(host, "apiVersion"));
    if (!k)
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_TRANSLATE, "%s is not a translated kind",
                         vc__jstr(host, "kind") ? vc__jstr(host, "kind") : "object without kind");
    const json_t *meta = vc__jobj(host, "metadata");
    const char *name = vc__jstr(meta, "name");
    const char *ns = vc__jstr(meta, "namespace");
    if (!name || strlen(name) >= VC__NAME_MAX || (ns && strlen(ns) >= VC__NAME_MAX))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s: metadata.name: required", k->kind);
    if (k->namespaced && !vc__streq(ns, t->host_ns))
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_TRANSLATE, "%s %s/%s is outside the host namespace %s", k->kind,
                         ns ? ns : "", name, t->host_ns);
    if (k->id == VC__K_CONFIGMAP && !strcmp(name, "kube-root-ca.crt"))
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_TRANSLATE, "the host's own kube-root-ca.crt is not synced back");
    /* annotations first (upstream TryToTranslateBackByAnnotations) */
    const json_t *ann = vc__jobj(meta, "annotations");
    const char *vname = vc__jstr(ann, VC__A_OBJ_NAME);
    if (vname && *vname) {
        const char *marker = vc__jpath_str(meta, "labels", VC__L_MARKER);
        const char *kindann = vc__jstr(ann, VC__A_OBJ_KIND);
        const char *hn = vc__jstr(ann, VC__A_OBJ_HOST_NAME);
        const char *hns = vc__jstr(ann, VC__A_OBJ_HOST_NAMESPACE);
        bool ok = true;
        if (marker && *marker)
            ok = !strcmp(marker, k->namespaced ? t->name : t->marker_cluster);
        if (ok && kindann && strcmp(kindann, k->gvk) != 0)
            ok = false;
        if (ok && hn && strcmp(hn, name) != 0)
            ok = false;
        if (ok && hns && !vc__streq(hns, ns ? ns : ""))
            ok = false;
        if (ok) {
            const char *vns = k->namespaced ? vc__jstr(ann, VC__A_OBJ_NAMESPACE) : "";
            *out_ns = vc__strdup(vns ? vns : "");
            *out_name = vc__strdup(vname);
            if (!*out_ns || !*out_name) {
                vc__free(*out_ns);
                vc__free(*out_name);
                *out_ns = *out_name = NULL;
                return vc__error_oom();
            }
            return VC_OK;
        }
    }
    return vc__virtual_name_by_name(t, k, ns, name, out_ns, out_name);
}
