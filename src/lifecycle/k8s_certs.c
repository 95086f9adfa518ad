/*
 * The kubernetes driver's PKI. Upstream lets the control-plane pod make its
 * certificates at first start; we make them here (mbedTLS, src/pki) and keep
 * them in Secret NAME-certs, mounted at /pki. That way the kubeconfig Secret
 * vc-NAME exists as soon as create returns (connect works without waiting for
 * the pod). --print (GitOps) carries no key: its StatefulSet's init
 * container calls vc_cluster_certs_render() (below) in the pod instead.
 * Upgrades keep the CAs and keys; only what is missing is issued, and the
 * API server certificate when its SANs change.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/k8s.h"
#include "pki/pki.h"

enum { CA_MAIN = 0, CA_FRONT = 1 };
enum { SANS_NONE = 0, SANS_APISERVER = 1, SANS_ETCD = 2 };

/* The leaf certificates, kubeadm names (Secret keys <base>.crt / <base>.key). */
static const struct cert_spec {
    const char *base;
    const char *cn;
    const char *org;
    uint32_t usage;
    int signer;
    int sans;
} k_certs[] = {
    { "apiserver", "kube-apiserver", NULL, VC__PKI_SERVER, CA_MAIN, SANS_APISERVER },
    { "apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters", VC__PKI_CLIENT, CA_MAIN, 0 },
    { "front-proxy-client", "front-proxy-client", NULL, VC__PKI_CLIENT, CA_FRONT, 0 },
    { "admin", "kubernetes-admin", "system:masters", VC__PKI_CLIENT, CA_MAIN, 0 },
    { "controller-manager", "system:kube-controller-manager", NULL, VC__PKI_CLIENT, CA_MAIN, 0 },
    { "scheduler", "system:kube-scheduler", NULL, VC__PKI_CLIENT, CA_MAIN, 0 },
    { "etcd-server", "etcd", NULL, VC__PKI_SERVER | VC__PKI_CLIENT, CA_MAIN, SANS_ETCD },
    { "apiserver-etcd-client", "kube-apiserver-etcd-client", NULL, VC__PKI_CLIENT, CA_MAIN, 0 },
};

/* In-pod kubeconfigs: <file> for the client certificate <base>. */
static const struct conf_spec {
    const char *file;
    const char *base;
} k_confs[] = {
    { "admin.conf", "admin" },
    { "controller-manager.conf", "controller-manager" },
    { "scheduler.conf", "scheduler" },
};

/* In the pod every component reaches the API server on loopback. */
#define IN_POD_SERVER "https://127.0.0.1:8443"

typedef struct pems {
    json_t *m; /* key -> PEM text */
    bool oom;
} pems;

static const char *pem(pems *p, const char *base, const char *ext)
{
    char key[96];
    snprintf(key, sizeof key, "%s%s", base, ext);
    return json_string_value(json_object_get(p->m, key));
}

static void put(pems *p, const char *base, const char *ext, char *text) /* takes text */
{
    char key[96];
    snprintf(key, sizeof key, "%s%s", base, ext);
    if (!text || json_object_set_new(p->m, key, json_string(text)) < 0)
        p->oom = true;
    vc__free(text);
}

static bool is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* The first address of a CIDR (the virtual "kubernetes" Service's IP). */
static bool first_ip(const char *cidr, char *out, size_t n)
{
    char addr[64];
    const char *slash = strchr(cidr ? cidr : "", '/');
    if (!slash || (size_t)(slash - cidr) >= sizeof addr)
        return false;
    memcpy(addr, cidr, (size_t)(slash - cidr));
    addr[slash - cidr] = '\0';
    int bits = atoi(slash + 1);
    unsigned char b[16];
    int af = strchr(addr, ':') ? AF_INET6 : AF_INET;
    int len = af == AF_INET ? 4 : 16;
    if (inet_pton(af, addr, b) != 1 || bits < 0 || bits >= len * 8)
        return false;
    for (int i = 0; i < len; i++) {
        int keep = bits - i * 8;
        b[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
    }
    b[len - 1] |= 1;
    return inet_ntop(af, b, out, (socklen_t)n) != NULL;
}

/* SANs of the API server certificate: DNS names, then IPs. */
typedef struct sans {
    char **dns;
    size_t n_dns;
    const char *ips[8];
    size_t n_ips;
    char first[64];
    char text[4096]; /* "DNS:a,DNS:b,IP:c" */
} sans;

static int apiserver_sans(sans *s, vc__lc *lc, vc__k8s_plan *p)
{
    const vc__cfg_values *v = vc__config_values(p->cfg);
    const vc__cfg_strv *extra = &v->control_plane.proxy.extra_sans;
    const char *dns_extra[32];
    size_t ndx = 0;
    memset(s, 0, sizeof(*s));
    s->ips[s->n_ips++] = "127.0.0.1";
    if (first_ip(p->service_cidr ? p->service_cidr : VC__K8S_DEFAULT_SERVICE_CIDR, s->first, sizeof s->first))
        s->ips[s->n_ips++] = s->first;
    if (!vc__str_empty(p->service_ip) && is_ip(p->service_ip))
        s->ips[s->n_ips++] = p->service_ip;
    if (!vc__str_empty(p->lb_address)) {
        if (is_ip(p->lb_address))
            s->ips[s->n_ips++] = p->lb_address;
        else if (ndx < VC__ARRAY_LEN(dns_extra))
            dns_extra[ndx++] = p->lb_address;
    }
    for (size_t i = 0; i < extra->n; i++) {
        if (is_ip(extra->v[i])) {
            if (s->n_ips < VC__ARRAY_LEN(s->ips))
                s->ips[s->n_ips++] = extra->v[i];
        } else if (ndx < VC__ARRAY_LEN(dns_extra)) {
            dns_extra[ndx++] = extra->v[i];
        }
    }
    s->dns = vc__pki_apiserver_dns_names(lc->name, lc->ns, v->networking.advanced.cluster_domain, dns_extra, ndx,
                                         &s->n_dns);
    if (!s->dns)
        return vc__error_oom();
    size_t off = 0;
    for (size_t i = 0; i < s->n_dns + s->n_ips; i++) {
        int w = snprintf(s->text + off, sizeof s->text - off, "%s%s:%s", i ? "," : "", i < s->n_dns ? "DNS" : "IP",
                         i < s->n_dns ? s->dns[i] : s->ips[i - s->n_dns]);
        if (w < 0 || (size_t)w >= sizeof s->text - off)
            return vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE, "too many API server SANs");
        off += (size_t)w;
    }
    return VC_OK;
}

/* A CA from the existing PEMs, or a new one (then *fresh is set). */
static int load_ca(pems *p, const char *base, const char *cn, vc__pki_ca **out, bool *fresh)
{
    const char *crt = pem(p, base, ".crt"), *key = pem(p, base, ".key");
    if (crt && key && vc__pki_ca_load(out, crt, key) == VC_OK)
        return VC_OK;
    vc_error_clear();
    int rc = vc__pki_ca_new(out, cn, 0);
    if (rc < 0)
        return rc;
    put(p, base, ".crt", vc__strdup(vc__pki_ca_cert_pem(*out)));
    put(p, base, ".key", vc__strdup(vc__pki_ca_key_pem(*out)));
    *fresh = true;
    return p->oom ? vc__error_oom() : VC_OK;
}

static int issue(pems *p, const struct cert_spec *c, vc__pki_ca *ca, const sans *as, vc__lc *lc, const char *domain)
{
    vc__pki_req r;
    memset(&r, 0, sizeof r);
    r.common_name = c->cn;
    r.organizations = c->org ? &c->org : NULL;
    r.n_organizations = c->org ? 1 : 0;
    r.usage = c->usage;
    char *etcd[6] = { 0 };
    const char *etcd_ips[1] = { "127.0.0.1" };
    if (c->sans == SANS_APISERVER) {
        r.dns_names = (const char *const *)as->dns;
        r.n_dns_names = as->n_dns;
        r.ip_addresses = as->ips;
        r.n_ip_addresses = as->n_ips;
    } else if (c->sans == SANS_ETCD) {
        /* members are NAME-<i>.NAME-headless.NS[.svc[.domain]] */
        const char *d = domain;
        etcd[0] = vc__strdup("localhost");
        etcd[1] = vc__sprintf("*.%s-headless", lc->name);
        etcd[2] = vc__sprintf("*.%s-headless.%s", lc->name, lc->ns);
        etcd[3] = vc__sprintf("*.%s-headless.%s.svc", lc->name, lc->ns);
        etcd[4] = vc__sprintf("*.%s-headless.%s.svc.%s", lc->name, lc->ns, !vc__str_empty(d) ? d : "cluster.local");
        for (int i = 0; i < 5; i++)
            if (!etcd[i]) {
                for (int k = 0; k < 5; k++)
                    vc__free(etcd[k]);
                return vc__error_oom();
            }
        r.dns_names = (const char *const *)etcd;
        r.n_dns_names = 5;
        r.ip_addresses = etcd_ips;
        r.n_ip_addresses = 1;
    }
    char *crt = NULL, *key = NULL;
    int rc = vc__pki_issue(ca, &r, &crt, &key);
    for (int k = 0; k < 5; k++)
        vc__free(etcd[k]);
    if (rc < 0)
        return rc;
    put(p, c->base, ".crt", crt);
    put(p, c->base, ".key", key);
    return p->oom ? vc__error_oom() : VC_OK;
}

static int render_conf(pems *p, const char *file, const char *base, const char *server)
{
    vc_buf b = VC_BUF_INIT;
    vc__kubeconfig_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.server = server;
    spec.ca_pem = pem(p, "ca", ".crt");
    spec.client_cert_pem = pem(p, base, ".crt");
    spec.client_key_pem = pem(p, base, ".key");
    spec.context = "vcluster";
    int rc = vc__kubeconfig_render(&b, &spec);
    if (rc == VC_OK)
        put(p, file, "", vc__buf_detach(&b));
    vc_buf_dispose(&b);
    return rc < 0 ? rc : p->oom ? vc__error_oom() : VC_OK;
}

/* PEM map -> Secret data (base64). */
static json_t *to_data(const json_t *m)
{
    json_t *d = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        const char *t = json_string_value(v);
        char *b = vc__base64_encode((const unsigned char *)t, strlen(t));
        if (!d || !b || json_object_set_new(d, k, json_string(b)) < 0) {
            vc__free(b);
            json_decref(d);
            return NULL;
        }
        vc__free(b);
    }
    return d;
}

static int from_data(pems *p, const json_t *data)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)data, k, v) {
        const char *b = json_string_value(v);
        unsigned char *raw = NULL;
        size_t n = 0;
        if (!b || vc__base64_decode(b, strlen(b), &raw, &n) < 0) {
            vc_error_clear();
            continue; /* not ours or damaged: reissued below */
        }
        char *t = vc__strndup((const char *)raw, n);
        vc__free(raw);
        put(p, k, "", t);
    }
    return p->oom ? vc__error_oom() : VC_OK;
}

int vc__k8s_certs(vc__lc *lc, vc__k8s_plan *plan, const json_t *existing, const char *existing_sans,
                  json_t **out_data, char **out_sans, json_t **out_kubeconfig_secret)
{
    *out_data = NULL;
    *out_sans = NULL;
    *out_kubeconfig_secret = NULL;
    pems p = { json_object(), false };
    vc__pki_ca *ca = NULL, *front = NULL;
    sans as;
    memset(&as, 0, sizeof as);
    vc_buf kc = VC_BUF_INIT;
    char *server = NULL;
    int rc = p.m ? from_data(&p, existing) : vc__error_oom();
    bool fresh = false, fresh_front = false;
    if (rc == VC_OK)
        rc = load_ca(&p, "ca", "kubernetes", &ca, &fresh);
    if (rc == VC_OK)
        rc = load_ca(&p, "front-proxy-ca", "front-proxy-ca", &front, &fresh_front);
    if (rc == VC_OK && (!pem(&p, "sa", ".key") || !pem(&p, "sa", ".pub"))) {
        char *k = NULL, *pub = NULL;
        rc = vc__pki_sa_keypair(&k, &pub);
        if (rc == VC_OK) {
            put(&p, "sa", ".key", k);
            put(&p, "sa", ".pub", pub);
        }
    }
    if (rc == VC_OK)
        rc = apiserver_sans(&as, lc, plan);
    for (size_t i = 0; rc == VC_OK && i < VC__ARRAY_LEN(k_certs); i++) {
        const struct cert_spec *c = &k_certs[i];
        bool signer_new = c->signer == CA_FRONT ? fresh_front : fresh;
        bool missing = !pem(&p, c->base, ".crt") || !pem(&p, c->base, ".key");
        bool sans_changed = c->sans == SANS_APISERVER && !vc__streq(existing_sans, as.text);
        if (missing || signer_new || sans_changed)
            rc = issue(&p, c, c->signer == CA_FRONT ? front : ca, &as, lc,
                       vc__config_values(plan->cfg)->networking.advanced.cluster_domain);
    }
    for (size_t i = 0; rc == VC_OK && i < VC__ARRAY_LEN(k_confs); i++)
        rc = render_conf(&p, k_confs[i].file, k_confs[i].base, IN_POD_SERVER);

    /* Secret vc-NAME: how users (and `connect`) reach it, through Service NAME */
    if (rc == VC_OK) {
        server = vc__sprintf("https://%s.%s:443", lc->name, lc->ns);
        vc__kubeconfig_spec spec;
        memset(&spec, 0, sizeof spec);
        spec.server = server;
        spec.ca_pem = pem(&p, "ca", ".crt");
        spec.client_cert_pem = pem(&p, "admin", ".crt");
        spec.client_key_pem = pem(&p, "admin", ".key");
        spec.context = "vcluster";
        rc = server ? vc__kubeconfig_render(&kc, &spec) : vc__error_oom();
    }
    if (rc == VC_OK) {
        *out_kubeconfig_secret = vc__lc_kubeconfig_secret(lc, VC__K8S_DRIVER, kc.ptr, pem(&p, "ca", ".crt"),
                                                          pem(&p, "admin", ".crt"), pem(&p, "admin", ".key"));
        *out_data = to_data(p.m);
        *out_sans = vc__strdup(as.text);
        if (!*out_kubeconfig_secret || !*out_data || !*out_sans) {
            json_decref(*out_kubeconfig_secret);
            json_decref(*out_data);
            vc__free(*out_sans);
            *out_kubeconfig_secret = *out_data = NULL;
            *out_sans = NULL;
            rc = vc__error_oom();
        }
    }
    if (rc < 0 && rc != VC_ENOMEM)
        vc__error_prefix("certificates of virtual cluster %s", lc->name);
    vc_buf_dispose(&kc);
    vc__free(server);
    vc__pki_strv_free(as.dns);
    vc__pki_ca_free(ca);
    vc__pki_ca_free(front);
    json_decref(p.m);
    return rc;
}

/* Public: the same PKI without a host connection (the init container of
 * key-free manifests). Only the fields vc__k8s_certs reads are filled. */
int vc_cluster_certs_render(vc_buf *out, const char *name, const char *host_namespace, vc_config *config,
                            const char *service_ip, const char *service_cidr, const char *existing_data_json)
{
    if (!out || vc__str_empty(name) || vc__str_empty(host_namespace))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_cluster_certs_render: out, name and namespace are needed");
    json_t *existing = NULL;
    if (!vc__str_empty(existing_data_json)) {
        json_error_t je;
        existing = json_loads(existing_data_json, 0, &je);
        if (!json_is_object(existing)) {
            json_decref(existing);
            return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "existing certificate data: not a JSON object (%s)",
                             je.text);
        }
    }
    vc_config *own = NULL;
    int rc = config ? VC_OK : vc_config_new(&own);
    vc__lc lc;
    vc__k8s_plan plan;
    memset(&lc, 0, sizeof lc);
    memset(&plan, 0, sizeof plan);
    char *ns = vc__strdup(host_namespace), *sip = service_ip ? vc__strdup(service_ip) : NULL;
    char *cidr = vc__strdup(!vc__str_empty(service_cidr) ? service_cidr : VC__K8S_DEFAULT_SERVICE_CIDR);
    if (rc == VC_OK && (!ns || !cidr || (service_ip && !sip)))
        rc = vc__error_oom();
    lc.name = name;
    lc.ns = ns;
    lc.config = config ? config : own;
    plan.cfg = lc.config;
    plan.service_cidr = cidr;
    plan.service_ip = sip;
    json_t *data = NULL, *kc = NULL, *all = NULL;
    char *san_text = NULL;
    if (rc == VC_OK)
        rc = vc__k8s_certs(&lc, &plan, existing, NULL, &data, &san_text, &kc);
    if (rc == VC_OK) {
        char secret[300];
        snprintf(secret, sizeof secret, "%s-certs", name);
        all = json_pack("{s:{s:s,s:s,s:{s:s,s:s,s:o,s:{s:s}},s:s,s:O},s:O}", "certs", "apiVersion", "v1", "kind",
                        "Secret", "metadata", "name", secret, "namespace", ns, "labels",
                        vc__lc_labels(name, VC__K8S_DRIVER), "annotations", VC__K8S_SANS_ANN, san_text, "type", "Opaque",
                        "data", data, "kubeconfig", kc);
        char *text = all ? json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        rc = text ? vc__buf_set(out, text) : vc__error_oom();
        if (rc < 0)
            rc = vc__error_oom();
        vc__free(text);
    }
    json_decref(all);
    json_decref(data);
    json_decref(kc);
    json_decref(existing);
    vc__free(san_text);
    vc__free(ns);
    vc__free(sip);
    vc__free(cidr);
    vc_config_free(own);
    return rc;
}
