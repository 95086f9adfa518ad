/* Pod volumes: every ConfigMap/Secret/PVC/Endpoints reference renamed,
 * ephemeral volumes turned into PVC references, projected service-account
 * tokens turned into a downward-API annotation (or a Secret); plus the
 * helpers that tell the syncer which tokens and objects a pod needs. */
#include <string.h>

#include "translate/translate.h"

#define TOKEN_EXPIRATION_SECONDS 315360000 /* 10 years, as upstream */
#define TOKEN_FILE_MODE 0644

/* Volume sources that name an object in the pod's namespace. */
static const struct ref_rule {
    const char *source; /* volume member */
    const char *sub;    /* nested object holding the field, or NULL */
    const char *field;
    vc__kind_id kind;
} k_volume_refs[] = {
    { "configMap", NULL, "name", VC__K_CONFIGMAP },
    { "secret", NULL, "secretName", VC__K_SECRET },
    { "persistentVolumeClaim", NULL, "claimName", VC__K_PVC },
    { "iscsi", "secretRef", "name", VC__K_SECRET },
    { "rbd", "secretRef", "name", VC__K_SECRET },
    { "flexVolume", "secretRef", "name", VC__K_SECRET },
    { "cinder", "secretRef", "name", VC__K_SECRET },
    { "cephfs", "secretRef", "name", VC__K_SECRET },
    { "azureFile", NULL, "secretName", VC__K_SECRET },
    { "scaleIO", "secretRef", "name", VC__K_SECRET },
    { "storageos", "secretRef", "name", VC__K_SECRET },
    { "csi", "nodePublishSecretRef", "name", VC__K_SECRET },
    { "glusterfs", NULL, "endpoints", VC__K_ENDPOINTS },
};

static json_t *ref_holder(const json_t *vol, const struct ref_rule *r)
{
    json_t *src = vc__jobj(vol, r->source);
    return r->sub ? vc__jobj(src, r->sub) : src;
}

static int rename_ref(vc__call *c, json_t *holder, const char *field, vc__kind_id kind)
{
    const char *name = vc__jstr(holder, field);
    if (!name || !*name)
        return VC_OK;
    char hn[VC__NAME_MAX];
    vc__host_name(c->t, vc__kind_get(kind), c->vns, name, hn);
    return vc__call_set_str(c, holder, field, hn);
}

static int fieldrefs(vc__call *c, json_t *dapi)
{
    size_t i;
    json_t *item;
    VC__ARRAY_FOREACH(vc__jarr(dapi, "items"), i, item) {
        json_t *fr = vc__jobj(item, "fieldRef");
        int rc = fr ? vc__translate_fieldref(c, fr) : VC_OK;
        if (rc < 0)
            return rc;
    }
    return VC_OK;
}

/* The caller-provided token for (volume, source index), or NULL. */
static const json_t *find_token(const vc__call *c, const char *vol, size_t src, bool first, const char **suffix)
{
    const json_t *list = c->inputs ? json_object_get(c->inputs, "serviceAccountTokens") : NULL;
    size_t i;
    json_t *e;
    *suffix = NULL;
    json_array_foreach(list, i, e) {
        json_t *s = json_object_get(e, "source");
        if (!vc__streq(vc__jstr(e, "volume"), vol))
            continue;
        if (json_is_integer(s) ? (size_t)json_integer_value(s) != src : !first)
            continue;
        *suffix = vc__jstr(e, "annotationSuffix");
        json_t *tok = json_object_get(e, "token");
        return json_is_string(tok) ? tok : NULL;
    }
    return NULL;
}

static void sa_token_secret_name(vc__call *c, char out[VC__NAME_MAX])
{
    char n[VC__NAME_MAX];
    snprintf(n, sizeof n, "%s-sa-token", c->vname);
    vc__host_name_ns(c->t, n, c->vns, out);
}

static int add_token_to_secret(vc__call *c, const char *vol, json_t *token)
{
    json_t *secret = json_array_get(c->extra, 0);
    if (!secret) {
        char sn[VC__NAME_MAX];
        sa_token_secret_name(c, sn);
        secret = json_pack("{sssss{sssOs{ss}}sss{}}", "apiVersion", "v1", "kind", "Secret", "metadata", "name", sn,
                           "namespace", c->t->s_host_ns, "annotations", VC__A_SKIP_BACKSYNC, "true", "type", "Opaque",
                           "stringData");
        if (!secret)
            return vc__error_oom();
        if (c->t->owner_ref)
            json_object_set_nocheck(vc__jobj(secret, "metadata"), "ownerReferences", c->t->owner_ref);
        if (!c->extra && !(c->extra = json_array())) {
            json_decref(secret);
            return vc__error_oom();
        }
        if (json_array_append_new(c->extra, secret) < 0)
            return vc__error_oom();
    }
    return json_object_set(vc__jobj(secret, "stringData"), vol, token) == 0 ? VC_OK : vc__error_oom();
}

static int token_source(vc__call *c, json_t *source, const char *vol, size_t j, bool first, vc__kv_sink *sink)
{
    json_t *sat = vc__jobj(source, "serviceAccountToken");
    const char *path = vc__jstr(sat, "path");
    const char *suffix = NULL;
    const json_t *token = find_token(c, vol, j, first, &suffix);
    json_t *tok = token ? json_incref((json_t *)token) : NULL;
    if (!tok) {
        if (!(c->flags & VC_TRANSLATE_PREVIEW))
            return vc__fail(c, VC_ESTATE,
                            "no service account token for volume %s source %zu (request it with "
                            "vc_translate_pod_token_requests and pass it in inputs.serviceAccountTokens)",
                            vol, j);
        if (!(tok = json_string("<token>")))
            return vc__error_oom();
    }
    int rc = VC_OK;
    json_t *repl;
    if (c->t->flags & VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS) {
        char sn[VC__NAME_MAX];
        sa_token_secret_name(c, sn);
        repl = json_pack("{ss s[{sssssi}]}", "name", sn, "items", "key", vol, "path", path ? path : "", "mode",
                         TOKEN_FILE_MODE);
        rc = repl ? add_token_to_secret(c, vol, tok) : vc__error_oom();
        if (rc == VC_OK && json_object_set_new_nocheck(source, "secret", repl) < 0)
            rc = vc__error_oom();
        else if (rc < 0)
            json_decref(repl);
        json_decref(tok);
    } else {
        char sfx[16];
        if (suffix && *suffix) {
            snprintf(sfx, sizeof sfx, "%.8s", suffix);
        } else {
            char seed[VC__NAME_MAX * 3], hex[65];
            int n = snprintf(seed, sizeof seed, "%s/%zu/%s/%s", vol, j, c->vns, c->vname);
            vc__sha256_hex(seed, n > 0 ? (size_t)n : 0, hex);
            snprintf(sfx, sizeof sfx, "%.8s", hex);
        }
        char key[64], fp[128];
        snprintf(key, sizeof key, VC__A_TOKEN_PREFIX "%s", sfx);
        snprintf(fp, sizeof fp, "metadata.annotations['%s']", key);
        for (size_t i = 0; i < *sink->n; i++)
            if (!strcmp(sink->kv[i].key, key)) {
                json_decref(tok);
                return vc__fail(c, VC_EINVAL, "token annotation suffix \"%s\" is used twice", sfx);
            }
        const char *kept;
        if (c->n_keys < VC__ARRAY_LEN(c->keys)) { /* in the call: no allocation */
            snprintf(c->keys[c->n_keys], sizeof c->keys[0], "%s", key);
            kept = c->keys[c->n_keys++];
        } else {
            json_t *ks = json_string(key);
            if (!ks || (!c->scratch && !(c->scratch = json_array())) || json_array_append_new(c->scratch, ks) < 0) {
                json_decref(tok);
                return vc__error_oom();
            }
            kept = json_string_value(ks);
        }
        if (*sink->n >= sink->cap) {
            json_decref(tok);
            return vc__error_oom();
        }
        sink->kv[*sink->n].key = kept;
        sink->kv[(*sink->n)++].value = tok;
        repl = json_pack("{s[{sss{sOss}si}]}", "items", "path", path ? path : "", "fieldRef", "apiVersion",
                         c->t->s_v1, "fieldPath", fp, "mode", TOKEN_FILE_MODE);
        if (!repl || json_object_set_new_nocheck(source, "downwardAPI", repl) < 0)
            rc = vc__error_oom();
    }
    json_object_del(source, "serviceAccountToken");
    return rc;
}

static int projected(vc__call *c, json_t *proj, const char *vol, size_t vi, vc__kv_sink *sink)
{
    json_t *sources = json_object_get(proj, "sources");
    if (sources && !json_is_null(sources) && !json_is_array(sources))
        return vc__bad(c, "must be a list", "/spec/volumes/%zu/projected/sources", vi);
    size_t j;
    json_t *s;
    bool first = true;
    json_array_foreach(sources, j, s) {
        if (!json_is_object(s))
            return vc__bad(c, "must be an object", "/spec/volumes/%zu/projected/sources/%zu", vi, j);
        int rc = VC_OK;
        json_t *x;
        if ((x = vc__jobj(s, "secret")))
            rc = rename_ref(c, x, "name", VC__K_SECRET);
        if (rc == VC_OK && (x = vc__jobj(s, "configMap")))
            rc = rename_ref(c, x, "name", VC__K_CONFIGMAP);
        if (rc == VC_OK && (x = vc__jobj(s, "downwardAPI")))
            rc = fieldrefs(c, x);
        if (rc == VC_OK && vc__jobj(s, "serviceAccountToken")) {
            rc = token_source(c, s, vol, j, first, sink);
            first = false;
        }
        if (rc < 0)
            return rc;
    }
    return VC_OK;
}

int vc__pod_volumes(vc__call *c, json_t *spec, vc__kv_sink *sink)
{
    size_t i;
    json_t *vol;
    VC__ARRAY_FOREACH(vc__jarr(spec, "volumes"), i, vol) {
        const char *vname = vc__jstr(vol, "name");
        if (!json_is_object(vol) || !vname)
            return vc__bad(c, json_is_object(vol) ? "required" : "must be an object",
                           json_is_object(vol) ? "/spec/volumes/%zu/name" : "/spec/volumes/%zu", i);
        int rc;
        /* a volume has its name and one source: walk its members once */
        const char *member;
        json_t *src, *proj = NULL, *dapi = NULL;
        bool ephemeral = false;
        json_object_foreach(vol, member, src) {
            /* the members handled after the walk, found on the way */
            if (!strcmp(member, "ephemeral"))
                ephemeral = true;
            if (!json_is_object(src))
                continue;
            if (!strcmp(member, "projected"))
                proj = src;
            else if (!strcmp(member, "downwardAPI"))
                dapi = src;
            for (size_t r = 0; r < VC__ARRAY_LEN(k_volume_refs); r++) {
                if (member[0] != k_volume_refs[r].source[0] || strcmp(member, k_volume_refs[r].source) != 0)
                    continue;
                json_t *h = k_volume_refs[r].sub ? vc__jobj(src, k_volume_refs[r].sub) : src;
                if (h && (rc = rename_ref(c, h, k_volume_refs[r].field, k_volume_refs[r].kind)) < 0)
                    return rc;
            }
        }
        if (ephemeral) {
            /* the PVC the ephemeral-volume controller makes: <pod>-<volume> */
            char claim[VC__NAME_MAX * 2], hn[VC__NAME_MAX];
            snprintf(claim, sizeof claim, "%s-%s", c->vname, vname);
            vc__host_name_ns(c->t, claim, c->vns, hn);
            json_t *pvc = json_pack("{ss}", "claimName", hn);
            if (!pvc || json_object_set_new_nocheck(vol, "persistentVolumeClaim", pvc) < 0)
                return vc__error_oom();
            json_object_del(vol, "ephemeral");
        }
        if (proj && (rc = projected(c, proj, vname, i, sink)) < 0)
            return rc;
        if (dapi && (rc = fieldrefs(c, dapi)) < 0)
            return rc;
    }
    return VC_OK;
}

/* ---- helpers for the syncer ---- */

static json_t *token_request(vc_translator *t, const json_t *vpod, const char *ns, const char *vol, size_t j,
                             const json_t *sat)
{
    const json_t *spec = vc__jobj(vpod, "spec");
    const char *sa = vc__jstr(spec, "serviceAccountName");
    if (!sa || !*sa)
        sa = vc__jstr(spec, "serviceAccount");
    if (!sa || !*sa)
        sa = "default";
    const char *aud = vc__jstr(sat, "audience");
    json_t *audiences;
    if (aud && *aud) {
        audiences = json_pack("[s]", aud);
    } else {
        char a[300];
        snprintf(a, sizeof a, "https://kubernetes.default.svc.%s", t->domain);
        audiences = json_pack("[sss]", a, "https://kubernetes.default.svc", "https://kubernetes.default");
    }
    const char *name = vc__jpath_str(vpod, "metadata", "name");
    const char *uid = vc__jpath_str(vpod, "metadata", "uid");
    return json_pack("{sssIssss s{ssss s{s:o s{ssssssss} sI}}}", "volume", vol, "source", (json_int_t)j, "namespace",
                     ns, "serviceAccountName", sa, "request", "apiVersion", "authentication.k8s.io/v1", "kind",
                     "TokenRequest", "spec", "audiences", audiences, "boundObjectRef", "apiVersion", "v1", "kind", "Pod",
                     "name", name ? name : "", "uid", uid ? uid : "", "expirationSeconds",
                     (json_int_t)TOKEN_EXPIRATION_SECONDS);
}

int vc__translate_pod_token_requests(json_t **out, vc_translator *t, const json_t *vpod)
{
    *out = NULL;
    const char *ns = vc__jpath_str(vpod, "metadata", "namespace");
    if (!json_is_object(vpod) || !vc__jpath_str(vpod, "metadata", "name"))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "Pod: metadata.name: required");
    json_t *res = json_array();
    if (!res)
        return vc__error_oom();
    size_t i, j;
    json_t *vol, *s;
    VC__ARRAY_FOREACH(vc__jarr(vc__jobj(vpod, "spec"), "volumes"), i, vol) {
        const char *vn = vc__jstr(vol, "name");
        VC__ARRAY_FOREACH(vc__jarr(vc__jobj(vol, "projected"), "sources"), j, s) {
            json_t *sat = vc__jobj(s, "serviceAccountToken");
            if (!sat || !vn)
                continue;
            json_t *req = token_request(t, vpod, ns ? ns : "default", vn, j, sat);
            if (!req || json_array_append_new(res, req) < 0) {
                json_decref(res);
                return vc__error_oom();
            }
        }
    }
    *out = res;
    return VC_OK;
}

static int add_ref(vc_translator *t, json_t *list, vc__kind_id kind, const char *ns, const char *name)
{
    if (!name || !*name)
        return VC_OK;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) if (vc__streq(vc__jstr(e, "name"), name)) return VC_OK;
    char hn[VC__NAME_MAX];
    vc__host_name(t, vc__kind_get(kind), ns, name, hn);
    json_t *o = json_pack("{ssss}", "name", name, "hostName", hn);
    return o && json_array_append_new(list, o) == 0 ? VC_OK : vc__error_oom();
}

int vc__translate_pod_references(json_t **out, vc_translator *t, const json_t *vpod)
{
    *out = NULL;
    if (!json_is_object(vpod))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "Pod: must be a JSON object");
    const char *ns = vc__jpath_str(vpod, "metadata", "namespace");
    const char *pname = vc__jpath_str(vpod, "metadata", "name");
    if (!ns)
        ns = "default";
    json_t *res = json_pack("{s[]s[]s[]}", "configMaps", "secrets", "persistentVolumeClaims");
    if (!res)
        return vc__error_oom();
    json_t *cms = json_object_get(res, "configMaps"), *secs = json_object_get(res, "secrets"),
           *pvcs = json_object_get(res, "persistentVolumeClaims");
    const json_t *spec = vc__jobj(vpod, "spec");
    int rc = VC_OK;
    static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };
    for (size_t l = 0; l < 3; l++) {
        size_t i, j;
        json_t *ct, *e;
        VC__ARRAY_FOREACH(vc__jarr(spec, lists[l]), i, ct) {
            VC__ARRAY_FOREACH(vc__jarr(ct, "env"), j, e) {
                json_t *vf = vc__jobj(e, "valueFrom");
                rc |= add_ref(t, cms, VC__K_CONFIGMAP, ns, vc__jpath_str(vf, "configMapKeyRef", "name"));
                rc |= add_ref(t, secs, VC__K_SECRET, ns, vc__jpath_str(vf, "secretKeyRef", "name"));
            }
            VC__ARRAY_FOREACH(vc__jarr(ct, "envFrom"), j, e) {
                rc |= add_ref(t, cms, VC__K_CONFIGMAP, ns, vc__jpath_str(e, "configMapRef", "name"));
                rc |= add_ref(t, secs, VC__K_SECRET, ns, vc__jpath_str(e, "secretRef", "name"));
            }
        }
    }
    size_t i, j;
    json_t *e, *vol, *s;
    VC__ARRAY_FOREACH(vc__jarr(spec, "imagePullSecrets"), i, e) rc |= add_ref(t, secs, VC__K_SECRET, ns, vc__jstr(e, "name"));
    VC__ARRAY_FOREACH(vc__jarr(spec, "volumes"), i, vol) {
        for (size_t r = 0; r < VC__ARRAY_LEN(k_volume_refs); r++) {
            const struct ref_rule *rr = &k_volume_refs[r];
            json_t *list = rr->kind == VC__K_CONFIGMAP ? cms : rr->kind == VC__K_SECRET ? secs : rr->kind == VC__K_PVC ? pvcs : NULL;
            if (list)
                rc |= add_ref(t, list, rr->kind, ns, vc__jstr(ref_holder(vol, rr), rr->field));
        }
        if (json_object_get(vol, "ephemeral") && pname && vc__jstr(vol, "name")) {
            char claim[VC__NAME_MAX * 2];
            snprintf(claim, sizeof claim, "%s-%s", pname, vc__jstr(vol, "name"));
            rc |= add_ref(t, pvcs, VC__K_PVC, ns, claim);
        }
        VC__ARRAY_FOREACH(vc__jarr(vc__jobj(vol, "projected"), "sources"), j, s) {
            rc |= add_ref(t, cms, VC__K_CONFIGMAP, ns, vc__jpath_str(s, "configMap", "name"));
            rc |= add_ref(t, secs, VC__K_SECRET, ns, vc__jpath_str(s, "secret", "name"));
            if (vc__jobj(s, "serviceAccountToken") && (t->flags & VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS) && pname) {
                char sn[VC__NAME_MAX * 2];
                snprintf(sn, sizeof sn, "%s-sa-token", pname);
                rc |= add_ref(t, secs, VC__K_SECRET, ns, sn);
            }
        }
    }
    if (rc < 0) {
        json_decref(res);
        return vc__error_oom();
    }
    *out = res;
    return VC_OK;
}
