/* A PKI directory for a virtual control plane, kept across restarts: CAs and
 * the service-account key are never replaced once written, so tokens and
 * kubeconfigs handed out before stay valid. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pki/pki.h"

static int mkdir_p(const char *dir)
{
    char *p = vc__strdup(dir);
    if (!p)
        return vc__error_oom();
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            int e = errno;
            int r = vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: %s", p, strerror(e));
            vc__free(p);
            return r;
        }
        *s = c;
        if (!c)
            break;
    }
    vc__free(p);
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: not a directory", dir);
    return VC_OK;
}

static bool exists(const char *dir, const char *name)
{
    char *p = vc__path_join(dir, name);
    bool ok = p && access(p, R_OK) == 0;
    vc__free(p);
    return ok;
}

static int read_in(const char *dir, const char *name, char **out)
{
    char *p = vc__path_join(dir, name);
    if (!p)
        return vc__error_oom();
    int r = vc__file_read(p, out, NULL);
    vc__free(p);
    return r;
}

static int write_out(const char *dir, const char *name, const char *data, int mode)
{
    char *p = vc__path_join(dir, name);
    if (!p)
        return vc__error_oom();
    int r = vc__file_write(p, data, strlen(data), mode);
    vc__free(p);
    return r;
}

/* Load <base>.crt/.key as a CA, or make and write a new one. */
static int ensure_ca(const char *dir, const char *base, const char *cn, vc__pki_ca **out, bool *created)
{
    char crt[64], key[64];
    snprintf(crt, sizeof crt, "%s.crt", base);
    snprintf(key, sizeof key, "%s.key", base);
    *created = false;
    if (exists(dir, crt) && exists(dir, key)) {
        char *c = NULL, *k = NULL;
        int r = read_in(dir, crt, &c);
        if (r == VC_OK)
            r = read_in(dir, key, &k);
        if (r == VC_OK)
            r = vc__pki_ca_load(out, c, k);
        vc__free(c);
        if (k)
            memset(k, 0, strlen(k));
        vc__free(k);
        if (r < 0)
            vc__error_prefix("%s/%s", dir, crt);
        return r;
    }
    int r = vc__pki_ca_new(out, cn, VC__PKI_CA_DAYS);
    if (r == VC_OK)
        r = write_out(dir, key, vc__pki_ca_key_pem(*out), 0600);
    if (r == VC_OK)
        r = write_out(dir, crt, vc__pki_ca_cert_pem(*out), 0644);
    if (r < 0) {
        vc__pki_ca_free(*out);
        *out = NULL;
    }
    *created = r == VC_OK;
    return r;
}

static int ensure_leaf(const char *dir, const char *base, vc__pki_ca *ca, const vc__pki_req *req, bool force)
{
    char crt[64], key[64];
    snprintf(crt, sizeof crt, "%s.crt", base);
    snprintf(key, sizeof key, "%s.key", base);
    if (!force && exists(dir, crt) && exists(dir, key))
        return VC_OK;
    char *c = NULL, *k = NULL;
    int r = vc__pki_issue(ca, req, &c, &k);
    if (r == VC_OK)
        r = write_out(dir, key, k, 0600);
    if (r == VC_OK)
        r = write_out(dir, crt, c, 0644);
    vc__free(c);
    if (k)
        memset(k, 0, strlen(k));
    vc__free(k);
    return r;
}

static int write_kubeconfig(const char *dir, const char *file, const char *base, const char *server,
                            const char *ca_pem, const char *context)
{
    char crt[64], key[64];
    snprintf(crt, sizeof crt, "%s.crt", base);
    snprintf(key, sizeof key, "%s.key", base);
    char *c = NULL, *k = NULL;
    vc_buf out = VC_BUF_INIT;
    int r = read_in(dir, crt, &c);
    if (r == VC_OK)
        r = read_in(dir, key, &k);
    if (r == VC_OK) {
        vc__kubeconfig_spec spec = { 0 };
        spec.server = server;
        spec.ca_pem = ca_pem;
        spec.client_cert_pem = c;
        spec.client_key_pem = k;
        spec.context = context;
        r = vc__kubeconfig_render(&out, &spec);
    }
    if (r == VC_OK)
        r = write_out(dir, file, out.ptr, 0600);
    if (out.ptr)
        memset(out.ptr, 0, out.size);
    vc_buf_dispose(&out);
    vc__free(c);
    if (k)
        memset(k, 0, strlen(k));
    vc__free(k);
    return r;
}

int vc__pki_write_dir(const char *dir, const vc__pki_dir_opts *opts)
{
    if (vc__str_empty(dir) || !opts)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "vc__pki_write_dir: missing directory or options");
    int r = mkdir_p(dir);
    if (r < 0)
        return r;
    vc__pki_ca *ca = NULL, *fp = NULL;
    bool new_ca = false, new_fp = false;
    char **dns = NULL;
    size_t n_dns = 0;
    bool renew = (opts->flags & VC__PKI_RENEW) != 0;
    if ((r = ensure_ca(dir, "ca", "vcluster-ca", &ca, &new_ca)) < 0)
        goto out;
    if ((r = ensure_ca(dir, "front-proxy-ca", "vcluster-front-proxy-ca", &fp, &new_fp)) < 0)
        goto out;
    dns = vc__pki_apiserver_dns_names(opts->name, opts->ns, opts->cluster_domain, opts->dns_names,
                                      opts->n_dns_names, &n_dns);
    if (!dns) {
        r = VC_ENOMEM;
        goto out;
    }
    static const char *const masters[] = { "system:masters" };
    vc__pki_req api = { "kube-apiserver", NULL, 0, (const char *const *)dns, n_dns, opts->ip_addresses,
                        opts->n_ip_addresses, VC__PKI_SERVER, opts->days, opts->key_type };
    vc__pki_req kubelet = { "kube-apiserver-kubelet-client", masters, 1, NULL, 0, NULL, 0, VC__PKI_CLIENT,
                            opts->days, opts->key_type };
    vc__pki_req admin = { "kubernetes-admin", masters, 1, NULL, 0, NULL, 0, VC__PKI_CLIENT, opts->days,
                          opts->key_type };
    vc__pki_req kcm = { "system:kube-controller-manager", NULL, 0, NULL, 0, NULL, 0, VC__PKI_CLIENT, opts->days,
                        opts->key_type };
    vc__pki_req sched = { "system:kube-scheduler", NULL, 0, NULL, 0, NULL, 0, VC__PKI_CLIENT, opts->days,
                          opts->key_type };
    vc__pki_req proxy = { "front-proxy-client", NULL, 0, NULL, 0, NULL, 0, VC__PKI_CLIENT, opts->days,
                          opts->key_type };
    /* leaves of a new CA are always reissued: old ones would not verify */
    if ((r = ensure_leaf(dir, "apiserver", ca, &api, renew || new_ca)) < 0 ||
        (r = ensure_leaf(dir, "apiserver-kubelet-client", ca, &kubelet, renew || new_ca)) < 0 ||
        (r = ensure_leaf(dir, "admin", ca, &admin, renew || new_ca)) < 0 ||
        (r = ensure_leaf(dir, "kube-controller-manager", ca, &kcm, renew || new_ca)) < 0 ||
        (r = ensure_leaf(dir, "kube-scheduler", ca, &sched, renew || new_ca)) < 0 ||
        (r = ensure_leaf(dir, "front-proxy-client", fp, &proxy, renew || new_fp)) < 0)
        goto out;
    if (!exists(dir, "sa.key") || !exists(dir, "sa.pub")) {
        char *k = NULL, *p = NULL;
        r = vc__pki_keypair(opts->key_type, &k, &p);
        if (r == VC_OK)
            r = write_out(dir, "sa.key", k, 0600);
        if (r == VC_OK)
            r = write_out(dir, "sa.pub", p, 0644);
        if (k)
            memset(k, 0, strlen(k));
        vc__free(k);
        vc__free(p);
        if (r < 0)
            goto out;
    }
    if (!vc__str_empty(opts->server)) {
        const char *ca_pem = vc__pki_ca_cert_pem(ca);
        if ((r = write_kubeconfig(dir, "admin.conf", "admin", opts->server, ca_pem, "vcluster")) < 0 ||
            (r = write_kubeconfig(dir, "controller-manager.conf", "kube-controller-manager", opts->server, ca_pem,
                                  "kube-controller-manager")) < 0 ||
            (r = write_kubeconfig(dir, "scheduler.conf", "kube-scheduler", opts->server, ca_pem, "kube-scheduler")) < 0)
            goto out;
    }
out:
    vc__pki_strv_free(dns);
    vc__pki_ca_free(ca);
    vc__pki_ca_free(fp);
    return r;
}
