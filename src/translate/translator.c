/* vc_translator: options, validation and the shared immutable leaves. */
#include <arpa/inet.h>
#include <string.h>

#include "translate/translate.h"
#include "util/vstruct.h"

#define DEFAULT_DOMAIN "cluster.local"
#define DEFAULT_HOSTS_IMAGE "mirror.gcr.io/library/alpine:3.20"

/* Versioned public struct (util/vstruct.h). */
VC__VSTRUCT(vc_translate_options, VC_TRANSLATE_OPTIONS_VERSION, );
VC__OPTIONS_INIT_FN(vc_translate_options, VC_TRANSLATE_OPTIONS_INIT)

static bool is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* k8s IsValidLabelValue: <= 63 of [A-Za-z0-9._-], alnum at both ends. */
static bool label_value_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0)
        return true;
    if (n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && ch != '-' && ch != '_' && ch != '.')
            return false;
        if ((i == 0 || i == n - 1) && !alnum)
            return false;
    }
    return true;
}

/* upstream pkg/util/toleration.ParseToleration, field order as Go marshals. */
static json_t *parse_toleration(const char *st)
{
    if (!strcmp(st, "*"))
        return json_pack("{ss}", "operator", "Exists");
    char buf[512];
    if (strlen(st) >= sizeof buf)
        return NULL;
    snprintf(buf, sizeof buf, "%s", st);
    char *colon = strchr(buf, ':');
    const char *effect = NULL, *op = NULL, *key, *value = NULL;
    if (colon) {
        if (strchr(colon + 1, ':'))
            return NULL;
        *colon = '\0';
        effect = colon + 1;
        op = "Exists";
        char *eq = strchr(buf, '=');
        if (eq) {
            if (strchr(eq + 1, '='))
                return NULL;
            *eq = '\0';
            value = eq + 1;
            op = "Equal";
        }
    } else {
        char *eq = strchr(buf, '=');
        if (eq) {
            if (strchr(eq + 1, '='))
                return NULL;
            *eq = '\0';
            value = eq + 1;
        }
    }
    key = buf;
    if (value && !label_value_ok(value))
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (*key)
        json_object_set_new(o, "key", json_string(key));
    if (op)
        json_object_set_new(o, "operator", json_string(op));
    if (value && *value)
        json_object_set_new(o, "value", json_string(value));
    if (effect && *effect)
        json_object_set_new(o, "effect", json_string(effect));
    return o;
}

static void drop_ip_leaves(vc_translator *t)
{
    for (int i = 0; i < VC__ENV_KUBE_COUNT; i++) {
        json_decref(t->env_kube[i]);
        t->env_kube[i] = NULL;
    }
    json_decref(t->host_alias);
    json_decref(t->host_aliases);
    json_decref(t->dns_nameservers);
    t->host_alias = t->host_aliases = t->dns_nameservers = NULL;
}

/* The leaves that depend on the service IPs. Missing IPs get placeholders,
 * used only by VC_TRANSLATE_PREVIEW calls (others fail with VC_ESTATE). */
static int build_ip_leaves(vc_translator *t)
{
    drop_ip_leaves(t);
    const char *ip = t->kube_ip ? t->kube_ip : "<kube-ip>";
    char hostport[128];
    /* kubelet joins host and port with net.JoinHostPort: bracket IPv6 */
    snprintf(hostport, sizeof hostport, strchr(ip, ':') ? "[%s]:443" : "%s:443", ip);
    char tcp[160];
    snprintf(tcp, sizeof tcp, "tcp://%s", hostport);
    const char *env[VC__ENV_KUBE_COUNT][2] = {
        { "KUBERNETES_PORT", tcp },
        { "KUBERNETES_PORT_443_TCP", tcp },
        { "KUBERNETES_PORT_443_TCP_ADDR", ip },
        { "KUBERNETES_PORT_443_TCP_PORT", "443" },
        { "KUBERNETES_PORT_443_TCP_PROTO", "tcp" },
        { "KUBERNETES_SERVICE_HOST", ip },
        { "KUBERNETES_SERVICE_PORT", "443" },
        { "KUBERNETES_SERVICE_PORT_HTTPS", "443" },
    };
    for (int i = 0; i < VC__ENV_KUBE_COUNT; i++)
        if (!(t->env_kube[i] = json_pack("{ssss}", "name", env[i][0], "value", env[i][1])))
            return vc__error_oom();
    char canon[300];
    snprintf(canon, sizeof canon, "kubernetes.default.svc.%s", t->domain);
    t->host_alias = json_pack("{ss s[ssss]}", "ip", ip, "hostnames", canon, "kubernetes",
                              "kubernetes.default", "kubernetes.default.svc");
    t->host_aliases = t->host_alias ? json_pack("[O]", t->host_alias) : NULL;
    t->dns_nameservers = json_pack("[s]", t->dns_ip ? t->dns_ip : "<dns-ip>");
    if (!t->host_alias || !t->host_aliases || !t->dns_nameservers)
        return vc__error_oom();
    return VC_OK;
}

void vc_translator_free(vc_translator *t)
{
    if (!t)
        return;
    drop_ip_leaves(t);
    json_t **leaves[] = {
        &t->tolerations, &t->node_selector, &t->s_name, &t->s_host_ns, &t->s_marker_cluster, &t->s_workload_sa, &t->s_v1,
        &t->s_none, &t->s_true_str, &t->s_false_str, &t->owner_ref, &t->owner_ref_ctrl,
        &t->dns_options, &t->fp_name, &t->fp_namespace, &t->fp_uid, &t->fp_labels, &t->fp_sa,
    };
    for (size_t i = 0; i < VC__ARRAY_LEN(leaves); i++)
        json_decref(*leaves[i]);
    for (size_t i = 0; i < VC__K_COUNT; i++)
        json_decref(t->s_gvk[i]);
    vc__free(t->nskeys);
    json_decref(t->s_domain);
    json_decref(t->s_svc_domain);
    char **strs[] = { &t->name, &t->host_ns, &t->domain, &t->kube_ip, &t->dns_ip, &t->owner_uid,
                      &t->workload_sa, &t->default_pc, &t->runtime_class, &t->hosts_image };
    for (size_t i = 0; i < VC__ARRAY_LEN(strs); i++)
        vc__free(*strs[i]);
    vc__free(t);
}

static bool domain_ok(const char *d)
{
    return vc__is_dns1123_subdomain(d);
}

static int dup_opt(char **dst, const char *src)
{
    if (!src)
        return VC_OK;
    if (!(*dst = vc__strdup(src)))
        return vc__error_oom();
    return VC_OK;
}

static json_t *fieldpath(const char *annotation)
{
    char b[256];
    snprintf(b, sizeof b, "metadata.annotations['%s']", annotation);
    return json_string(b);
}

int vc_translator_new(vc_translator **out, const vc_translate_options *user_opts)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_translator_new: out is NULL");
    *out = NULL;
    if (!user_opts)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_translator_new: options are required (name)");
    /* only the bytes of the caller's version are read (util/vstruct.h) */
    vc_translate_options o = VC_TRANSLATE_OPTIONS_INIT;
    int vrc = vc__vstruct_read(&vc_translate_options__vs, &o, user_opts);
    if (vrc < 0)
        return vrc;
    const vc_translate_options *opts = &o;
    if (!opts->name || !vc__is_dns1123_label(opts->name))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "translate options: name: must be a DNS-1123 label (lower-case alphanumerics and '-', "
                         "at most 63 characters), got \"%s\"",
                         opts->name ? opts->name : "");
    if (!opts->host_namespace && strlen(opts->name) > 54)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "translate options: name: \"%s\" is too long for the default host namespace "
                         "vcluster-<name> (at most 54 characters); set host_namespace",
                         opts->name);
    if (opts->host_namespace && !vc__is_dns1123_label(opts->host_namespace))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "translate options: host_namespace: \"%s\" is not a DNS-1123 label",
                         opts->host_namespace);
    if (opts->cluster_domain && !domain_ok(opts->cluster_domain))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "translate options: cluster_domain: \"%s\" is not a DNS name",
                         opts->cluster_domain);
    if (opts->kube_ip && !is_ip(opts->kube_ip))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "translate options: kube_ip: \"%s\" is not an IP address",
                         opts->kube_ip);
    if (opts->dns_ip && !is_ip(opts->dns_ip))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "translate options: dns_ip: \"%s\" is not an IP address",
                         opts->dns_ip);
    if (opts->enforce_tolerations_count && !opts->enforce_tolerations)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "translate options: enforce_tolerations is NULL");

    vc_translator *t = vc__calloc(1, sizeof *t);
    if (!t)
        return vc__error_oom();
    int rc;
    char buf[VC__NAME_MAX];
    t->flags = opts->flags;
    t->sync = opts->sync_to_host;
    if ((rc = dup_opt(&t->name, opts->name)) < 0 || (rc = dup_opt(&t->domain, opts->cluster_domain ? opts->cluster_domain : DEFAULT_DOMAIN)) < 0 ||
        (rc = dup_opt(&t->kube_ip, opts->kube_ip)) < 0 || (rc = dup_opt(&t->dns_ip, opts->dns_ip)) < 0 ||
        (rc = dup_opt(&t->owner_uid, opts->owner_uid && *opts->owner_uid ? opts->owner_uid : NULL)) < 0 ||
        (rc = dup_opt(&t->default_pc, opts->default_priority_class && *opts->default_priority_class ? opts->default_priority_class : NULL)) < 0 ||
        (rc = dup_opt(&t->runtime_class, opts->runtime_class && *opts->runtime_class ? opts->runtime_class : NULL)) < 0 ||
        (rc = dup_opt(&t->hosts_image, opts->rewrite_hosts_image ? opts->rewrite_hosts_image : DEFAULT_HOSTS_IMAGE)) < 0)
        goto fail;
    if (opts->host_namespace) {
        rc = dup_opt(&t->host_ns, opts->host_namespace);
    } else {
        snprintf(buf, sizeof buf, "vcluster-%s", opts->name);
        rc = dup_opt(&t->host_ns, buf);
    }
    if (rc < 0)
        goto fail;
    if (opts->workload_service_account) {
        rc = dup_opt(&t->workload_sa, opts->workload_service_account);
    } else {
        snprintf(buf, sizeof buf, "vc-workload-%s", opts->name);
        rc = dup_opt(&t->workload_sa, buf);
    }
    if (rc < 0)
        goto fail;

    /* derived names */
    {
        const char *parts[3] = { t->host_ns, "x", t->name };
        vc__safe_concat(t->marker_cluster, sizeof t->marker_cluster, parts, 3);
        const char *ca[4] = { "vcluster", "kube-root-ca.crt", "x", t->name };
        vc__safe_concat(t->kube_root_ca, sizeof t->kube_root_ca, ca, 4);
        static const char *const reserved[4] = { VC__L_RELEASE, VC__L_NAMESPACE, VC__L_MARKER, VC__L_CONTROLLER };
        for (int i = 0; i < 4; i++) {
            char hex[65];
            vc__sha256_hex(reserved[i], strlen(reserved[i]), hex);
            hex[10] = '\0';
            const char *lp[4] = { VC__LABEL_PREFIX, t->name, "x", hex };
            vc__safe_concat(t->label_keys[i], sizeof t->label_keys[i], lp, 4);
        }
    }

    t->tolerations = json_array();
    if (!t->tolerations)
        goto oom;
    for (uint32_t i = 0; i < opts->enforce_tolerations_count; i++) {
        const char *s = opts->enforce_tolerations[i];
        json_t *tol = s ? parse_toleration(s) : NULL;
        if (!tol) {
            rc = vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                           "translate options: enforce_tolerations[%u]: invalid toleration \"%s\" "
                           "(want key[=value][:Effect] or *)",
                           (unsigned)i, s ? s : "(null)");
            goto fail;
        }
        json_array_append_new(t->tolerations, tol);
    }

    t->s_name = json_string(t->name);
    t->s_host_ns = json_string(t->host_ns);
    t->s_marker_cluster = json_string(t->marker_cluster);
    t->s_workload_sa = json_string(t->workload_sa);
    t->s_v1 = json_string("v1");
    t->s_none = json_string("None");
    t->s_true_str = json_string("true");
    t->s_false_str = json_string("false");
    for (size_t i = 0; i < VC__K_COUNT; i++)
        if (!(t->s_gvk[i] = json_string(vc__kind_get((vc__kind_id)i)->gvk)))
            goto oom;
    if (!(t->nskeys = vc__nskey_cache_new()))
        goto oom;
    char svc_domain[300];
    snprintf(svc_domain, sizeof svc_domain, "svc.%s", t->domain);
    t->s_domain = json_string(t->domain);
    t->s_svc_domain = json_string(svc_domain);
    if (!t->s_domain || !t->s_svc_domain)
        goto oom;
    t->dns_options = json_pack("[{ssss}]", "name", "ndots", "value", "5");
    t->fp_name = fieldpath(VC__A_POD_NAME);
    t->fp_namespace = fieldpath(VC__A_POD_NAMESPACE);
    t->fp_uid = fieldpath(VC__A_POD_UID);
    t->fp_labels = fieldpath(VC__A_POD_LABELS);
    t->fp_sa = fieldpath(VC__A_POD_SA);
    if (t->owner_uid) {
        t->owner_ref = json_pack("[{ss ss ss ss sb}]", "apiVersion", "v1", "kind", "Service", "name", t->name,
                                 "uid", t->owner_uid, "controller", 0);
        t->owner_ref_ctrl = json_pack("[{ss ss ss ss sb}]", "apiVersion", "v1", "kind", "Service", "name",
                                      t->name, "uid", t->owner_uid, "controller", 1);
        if (!t->owner_ref || !t->owner_ref_ctrl)
            goto oom;
    }
    if (!t->s_name || !t->s_host_ns || !t->s_marker_cluster || !t->s_workload_sa || !t->s_v1 || !t->s_none ||
        !t->s_true_str || !t->s_false_str || !t->dns_options || !t->fp_name ||
        !t->fp_namespace || !t->fp_uid || !t->fp_labels || !t->fp_sa)
        goto oom;
    if ((rc = build_ip_leaves(t)) < 0)
        goto fail;
    *out = t;
    return VC_OK;
oom:
    rc = vc__error_oom();
fail:
    vc_translator_free(t);
    return rc;
}

int vc_translator_set_service_ips(vc_translator *t, const char *kube_ip, const char *dns_ip)
{
    if (!t)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_translator_set_service_ips: translator is NULL");
    if (kube_ip && !is_ip(kube_ip))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "kube_ip: \"%s\" is not an IP address", kube_ip);
    if (dns_ip && !is_ip(dns_ip))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "dns_ip: \"%s\" is not an IP address", dns_ip);
    char *k = kube_ip ? vc__strdup(kube_ip) : NULL;
    char *d = dns_ip ? vc__strdup(dns_ip) : NULL;
    if ((kube_ip && !k) || (dns_ip && !d)) {
        vc__free(k);
        vc__free(d);
        return vc__error_oom();
    }
    vc__free(t->kube_ip);
    vc__free(t->dns_ip);
    t->kube_ip = k;
    t->dns_ip = d;
    return build_ip_leaves(t);
}

int vc__translator_set_owner(vc_translator *t, const char *uid)
{
    json_t *o = NULL, *oc = NULL;
    char *u = NULL;
    if (uid && *uid) {
        u = vc__strdup(uid);
        o = json_pack("[{ss ss ss ss sb}]", "apiVersion", "v1", "kind", "Service", "name", t->name, "uid", uid,
                      "controller", 0);
        oc = json_pack("[{ss ss ss ss sb}]", "apiVersion", "v1", "kind", "Service", "name", t->name, "uid", uid,
                       "controller", 1);
        if (!u || !o || !oc) {
            vc__free(u);
            json_decref(o);
            json_decref(oc);
            return vc__error_oom();
        }
    }
    vc__free(t->owner_uid);
    json_decref(t->owner_ref);
    json_decref(t->owner_ref_ctrl);
    t->owner_uid = u;
    t->owner_ref = o;
    t->owner_ref_ctrl = oc;
    return VC_OK;
}

void vc__translator_wait_owner(vc_translator *t, bool wait)
{
    t->owner_wait = wait;
}

const char *vc_translator_host_namespace(vc_translator *t)
{
    return t ? t->host_ns : "";
}

int vc__translator_set_node_selector(vc_translator *t, const json_t *labels)
{
    json_decref(t->node_selector);
    t->node_selector = NULL;
    if (json_object_size(labels) == 0)
        return VC_OK;
    if (!(t->node_selector = json_deep_copy(labels)))
        return vc__error_oom();
    return VC_OK;
}
