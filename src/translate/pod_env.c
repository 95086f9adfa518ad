/* Pod environment: KUBERNETES_* and service-link variables (prepended,
 * sorted), ConfigMap/Secret references, downward-API fieldRefs. */
#include <stdlib.h>
#include <string.h>

#include "translate/translate.h"

int vc__translate_fieldref(vc__call *c, json_t *fr)
{
    vc_translator *t = c->t;
    const char *fp = vc__jstr(fr, "fieldPath");
    if (!fp)
        return VC_OK;
    static const char lp[] = "metadata.labels['";
    size_t n = strlen(fp);
    if (n > sizeof lp + 1 && !strncmp(fp, lp, sizeof lp - 1) && !strcmp(fp + n - 2, "']")) {
        char key[300];
        size_t kl = n - (sizeof lp - 1) - 2;
        if (kl >= sizeof key)
            return VC_OK;
        memcpy(key, fp + sizeof lp - 1, kl);
        key[kl] = '\0';
        const char *hk = vc__host_label_key(t, key);
        if (hk == key)
            return VC_OK;
        char b[400];
        snprintf(b, sizeof b, "metadata.labels['%s']", hk);
        return vc__set_str(fr, "fieldPath", b);
    }
    json_t *to = NULL;
    if (!strcmp(fp, "metadata.labels"))
        to = t->fp_labels;
    else if (!strcmp(fp, "metadata.name"))
        to = t->fp_name;
    else if (!strcmp(fp, "metadata.namespace"))
        to = t->fp_namespace;
    else if (!strcmp(fp, "metadata.uid"))
        to = t->fp_uid;
    else if (!strcmp(fp, "spec.serviceAccountName"))
        to = t->fp_sa;
    if (to && json_object_set_nocheck(fr, "fieldPath", to) < 0)
        return vc__error_oom();
    return VC_OK;
}

/* Rename the `name` of ref (ConfigMap or Secret in the pod's namespace). */
static int rename_ref(vc__call *c, json_t *ref, vc__kind_id kind)
{
    const char *name = vc__jstr(ref, "name");
    if (!name || !*name)
        return VC_OK;
    char hn[VC__NAME_MAX];
    vc__host_name(c->t, vc__kind_get(kind), c->vns, name, hn);
    return vc__call_set_str(c, ref, "name", hn);
}

typedef struct env_entry {
    const char *name;
    json_t *obj;
} env_entry;

static int env_cmp(const void *a, const void *b)
{
    return strcmp(((const env_entry *)a)->name, ((const env_entry *)b)->name);
}

static void upper_env(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++) {
        char ch = in[i];
        out[i] = ch == '-' ? '_' : (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
    }
    out[i] = '\0';
}

static int push_env(json_t *list, const char *name, const char *value)
{
    json_t *e = json_pack("{ssss}", "name", name, "value", value);
    return e && json_array_append_new(list, e) == 0 ? VC_OK : vc__error_oom();
}

/* kubelet's envvars.FromServices for one service (upstream envvars.go). */
static int service_env(json_t *list, const json_t *svc)
{
    const char *name = vc__jpath_str(svc, "metadata", "name");
    json_t *spec = vc__jobj(svc, "spec");
    const char *ip = vc__jstr(spec, "clusterIP");
    json_t *ports = vc__jarr(spec, "ports");
    if (!name || !ip || !*ip || !strcmp(ip, "None") || json_array_size(ports) == 0)
        return VC_OK;
    char prefix[300], n[400], v[400];
    upper_env(name, prefix, sizeof prefix);
    int rc = VC_OK;
    snprintf(n, sizeof n, "%s_SERVICE_HOST", prefix);
    rc |= push_env(list, n, ip);
    json_t *p0 = json_array_get(ports, 0);
    snprintf(n, sizeof n, "%s_SERVICE_PORT", prefix);
    snprintf(v, sizeof v, "%lld", (long long)json_integer_value(json_object_get(p0, "port")));
    rc |= push_env(list, n, v);
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p) {
        const char *pn = vc__jstr(p, "name");
        if (pn && *pn) {
            char up[300], nn[800];
            upper_env(pn, up, sizeof up);
            snprintf(nn, sizeof nn, "%s_SERVICE_PORT_%s", prefix, up);
            snprintf(v, sizeof v, "%lld", (long long)json_integer_value(json_object_get(p, "port")));
            rc |= push_env(list, nn, v);
        }
    }
    json_array_foreach(ports, i, p) {
        const char *proto = vc__jstr(p, "protocol");
        char lproto[32], uproto[32];
        snprintf(uproto, sizeof uproto, "%s", proto && *proto ? proto : "TCP");
        for (size_t k = 0; k < sizeof lproto; k++) {
            char ch = uproto[k];
            lproto[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
            uproto[k] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
            if (!ch)
                break;
        }
        long long port = (long long)json_integer_value(json_object_get(p, "port"));
        char url[400];
        snprintf(url, sizeof url, strchr(ip, ':') ? "%s://[%s]:%lld" : "%s://%s:%lld", lproto, ip, port);
        if (i == 0) {
            snprintf(n, sizeof n, "%s_PORT", prefix);
            rc |= push_env(list, n, url);
        }
        char pp[400], nn[500];
        snprintf(pp, sizeof pp, "%s_PORT_%lld_%s", prefix, port, uproto);
        rc |= push_env(list, pp, url);
        snprintf(nn, sizeof nn, "%s_PROTO", pp);
        rc |= push_env(list, nn, lproto);
        snprintf(nn, sizeof nn, "%s_PORT", pp);
        snprintf(v, sizeof v, "%lld", port);
        rc |= push_env(list, nn, v);
        snprintf(nn, sizeof nn, "%s_ADDR", pp);
        rc |= push_env(list, nn, ip);
    }
    return rc < 0 ? VC_ENOMEM : VC_OK;
}

static bool name_in(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) /* the first byte settles most: KUBERNETES_* against a container's names */
        if (names[i][0] == name[0] && !strcmp(names[i], name))
            return true;
    return false;
}

static int translate_container(vc__call *c, json_t *ct, const char *list, size_t ci, const env_entry *add, size_t nadd)
{
    json_t *env = json_object_get(ct, "env");
    if (env && !json_is_null(env) && !json_is_array(env))
        return vc__bad(c, "must be a list", "/spec/%s/%zu/env", list, ci);
    size_t i;
    json_t *e;
    /* the container's own variable names, looked up once */
    const char *stack_names[64], **names = stack_names;
    size_t nn = 0;
    if (json_array_size(env) > 64 && !(names = vc__malloc(json_array_size(env) * sizeof *names)))
        return vc__error_oom();
    json_array_foreach(env, i, e) {
        if (!json_is_object(e)) {
            if (names != stack_names)
                vc__free(names);
            return vc__bad(c, "must be an object", "/spec/%s/%zu/env/%zu", list, ci, i);
        }
        /* one walk over the entry's few members instead of lookups */
        json_t *nm = NULL, *vf = NULL, *m;
        const char *mk;
        json_object_foreach(e, mk, m) {
            if (!strcmp(mk, "name"))
                nm = m;
            else if (!strcmp(mk, "valueFrom"))
                vf = m;
        }
        if (!json_is_string(nm)) {
            if (names != stack_names)
                vc__free(names);
            return vc__bad(c, nm ? "must be a string" : "required", "/spec/%s/%zu/env/%zu/name", list, ci, i);
        }
        names[nn++] = json_string_value(nm);
        if (!vf)
            continue;
        int rc = VC_OK;
        json_t *fr = NULL, *cmr = NULL, *skr = NULL;
        if (json_is_object(vf)) {
            json_object_foreach(vf, mk, m) {
                if (!json_is_object(m))
                    continue;
                if (!strcmp(mk, "fieldRef"))
                    fr = m;
                else if (!strcmp(mk, "configMapKeyRef"))
                    cmr = m;
                else if (!strcmp(mk, "secretKeyRef"))
                    skr = m;
            }
        }
        if (!json_is_object(vf))
            rc = vc__bad(c, "must be an object", "/spec/%s/%zu/env/%zu/valueFrom", list, ci, i);
        else if (fr)
            rc = vc__translate_fieldref(c, fr);
        else if (cmr)
            rc = rename_ref(c, cmr, VC__K_CONFIGMAP);
        else if (skr)
            rc = rename_ref(c, skr, VC__K_SECRET);
        if (rc < 0) {
            if (names != stack_names)
                vc__free(names);
            return rc;
        }
    }
    /* additional variables first, so dependent $(VAR) references resolve;
     * into the container's own list (the object is ours to rewrite): one
     * table growth instead of a new array */
    json_t *ne = json_is_array(env) ? env : json_array();
    bool ok = ne != NULL;
    size_t at = 0;
    for (size_t k = 0; ok && k < nadd; k++)
        if (!name_in(names, nn, add[k].name))
            ok = json_array_insert(ne, at++, add[k].obj) == 0;
    if (names != stack_names)
        vc__free(names);
    if (!ok) {
        if (ne != env)
            json_decref(ne);
        return vc__error_oom();
    }
    if (ne != env && json_object_set_new_nocheck(ct, "env", ne) < 0)
        return vc__error_oom();
    json_t *ef = json_object_get(ct, "envFrom");
    if (ef && !json_is_null(ef) && !json_is_array(ef))
        return vc__bad(c, "must be a list", "/spec/%s/%zu/envFrom", list, ci);
    json_array_foreach(ef, i, e) {
        if (!json_is_object(e))
            return vc__bad(c, "must be an object", "/spec/%s/%zu/envFrom/%zu", list, ci, i);
        int rc;
        json_t *r;
        if ((r = vc__jobj(e, "configMapRef")) && (rc = rename_ref(c, r, VC__K_CONFIGMAP)) < 0)
            return rc;
        if ((r = vc__jobj(e, "secretRef")) && (rc = rename_ref(c, r, VC__K_SECRET)) < 0)
            return rc;
    }
    return VC_OK;
}

int vc__pod_env(vc__call *c, json_t *spec)
{
    vc_translator *t = c->t;
    json_t *svc_env = NULL;
    env_entry stack[64], *add = stack;
    size_t nadd = 0;
    int rc = VC_OK;
    const json_t *services = c->inputs ? json_object_get(c->inputs, "services") : NULL;
    if (json_is_true(json_object_get(spec, "enableServiceLinks")) && json_array_size(services)) {
        if (!(svc_env = json_array()))
            return vc__error_oom();
        size_t i;
        json_t *svc;
        json_array_foreach(services, i, svc) {
            if (json_is_object(svc) && (rc = service_env(svc_env, svc)) < 0)
                goto out;
        }
    }
    size_t total = json_array_size(svc_env) + VC__ENV_KUBE_COUNT;
    if (total > 64 && !(add = vc__malloc(total * sizeof *add))) {
        rc = vc__error_oom();
        goto out;
    }
    /* the map semantics of upstream: KUBERNETES_* override service links */
    size_t i;
    json_t *e;
    json_array_foreach(svc_env, i, e) {
        const char *nm = vc__jstr(e, "name");
        bool dup = false;
        for (size_t k = 0; k < VC__ENV_KUBE_COUNT && !dup; k++)
            dup = !strcmp(nm, vc__jstr(t->env_kube[k], "name"));
        for (size_t k = 0; k < nadd && !dup; k++)
            if (!strcmp(add[k].name, nm)) {
                add[k].obj = e; /* later wins */
                dup = true;
            }
        if (!dup)
            add[nadd].name = nm, add[nadd++].obj = e;
    }
    for (size_t k = 0; k < VC__ENV_KUBE_COUNT; k++)
        add[nadd].name = vc__jstr(t->env_kube[k], "name"), add[nadd++].obj = t->env_kube[k];
    if (svc_env)
        qsort(add, nadd, sizeof *add, env_cmp);
    static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };
    for (size_t l = 0; l < 3; l++) {
        json_t *ct;
        VC__ARRAY_FOREACH(vc__jarr(spec, lists[l]), i, ct) {
            if ((rc = translate_container(c, ct, lists[l], i, add, nadd)) < 0)
                goto out;
        }
    }
out:
    if (add != stack)
        vc__free(add);
    json_decref(svc_env);
    return rc;
}
