/*
 * `vcluster-syncer certs`: the init container of key-free manifests
 * (vc_cluster_create with VC_CREATE_PRINT, for GitOps). With the pod's
 * ServiceAccount (or --host-kubeconfig) it reads Secret NAME-certs in the
 * namespace; when it is missing it makes the PKI (vc_cluster_certs_render,
 * the ClusterIP of Service NAME as a SAN) and creates it; when another
 * replica won the race (409) it reads that one, so every replica serves the
 * same CA. It creates Secret vc-NAME (the kubeconfig) when missing, then
 * writes each key of NAME-certs as a file into --pki-dir.
 * Single-threaded; exits 0 when the files are written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vcluster.h>

#include "certs.h"

static int fail(const char *what)
{
    const vc_error *e = vc_error_last();
    fprintf(stderr, "vcluster-syncer certs: %s: %s\n", what, e && e->message ? e->message : "failed");
    return 1;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 (Secret data); NULL when malformed. */
static unsigned char *b64dec(const char *s, size_t *n)
{
    size_t len = strlen(s);
    unsigned char *out = malloc(len / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=')
            break;
        int v = b64val((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *n = o;
    return out;
}

/* GET; *out NULL on 404. */
static int get_json(vc_kube *k, const char *path, json_t **out)
{
    *out = NULL;
    vc_buf b = VC_BUF_INIT;
    int rc = vc_kube_request(k, &b, NULL, "GET", path, NULL, NULL);
    if (rc == VC_ENOTFOUND) {
        vc_error_clear();
        vc_buf_dispose(&b);
        return VC_OK;
    }
    if (rc == VC_OK) {
        *out = json_loadb(b.ptr ? b.ptr : "", b.size, 0, NULL);
        if (!*out)
            rc = VC_EINVAL;
    }
    vc_buf_dispose(&b);
    return rc;
}

static int write_files(const char *dir, const json_t *data)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)data, key, v) {
        size_t n = 0;
        unsigned char *raw = json_is_string(v) ? b64dec(json_string_value(v), &n) : NULL;
        char path[4096];
        if (!raw || strchr(key, '/') || snprintf(path, sizeof path, "%s/%s", dir, key) >= (int)sizeof path) {
            fprintf(stderr, "vcluster-syncer certs: Secret key %s: not a file name or not base64\n", key);
            free(raw);
            return 1;
        }
        /* 0644, as a Secret volume's default: the containers run as different users */
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ssize_t w = fd >= 0 ? write(fd, raw, n) : -1;
        free(raw);
        if (fd < 0 || w != (ssize_t)n || close(fd) < 0) {
            fprintf(stderr, "vcluster-syncer certs: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    return 0;
}

int certs_main(int argc, char **argv)
{
    const char *name = NULL, *ns = NULL, *host_kc = NULL, *cidr = NULL, *config = NULL, *dir = "/pki";
    static const struct option opts[] = {
        { "name", required_argument, 0, 'n' },
        { "host-namespace", required_argument, 0, 'N' },
        { "host-kubeconfig", required_argument, 0, 'H' },
        { "service-cidr", required_argument, 0, 'c' },
        { "config", required_argument, 0, 'f' },
        { "pki-dir", required_argument, 0, 'd' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'N': ns = optarg; break;
        case 'H': host_kc = optarg; break;
        case 'c': cidr = optarg; break;
        case 'f': config = optarg; break;
        case 'd': dir = optarg; break;
        case 'h':
            printf("usage: vcluster-syncer certs --name NAME [--host-namespace NS] [--host-kubeconfig FILE]\n"
                   "         [--service-cidr CIDR] [--config FILE] [--pki-dir DIR]\n"
                   "Make or load Secret NAME-certs and write its files into DIR (default /pki).\n");
            return 0;
        default: return 2;
        }
    }
    if (!name) {
        fprintf(stderr, "vcluster-syncer certs: --name is required\n");
        return 2;
    }
    if (vc_global_init(NULL) < 0)
        return fail("init");
    int rc = 1;
    vc_kube *k = NULL;
    vc_config *cfg = NULL;
    json_t *secret = NULL, *svc = NULL, *made = NULL;
    vc_buf out = VC_BUF_INIT, body = VC_BUF_INIT;
    char path[1024];
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig = host_kc;
    if (!host_kc)
        ko.flags = VC_KUBE_IN_CLUSTER;
    if (vc_kube_new(&k, &ko) < 0) {
        fail("host cluster");
        goto done;
    }
    if (!ns)
        ns = vc_kube_namespace(k);
    if (config) {
        if (vc_config_new(&cfg) < 0 || vc_config_load_file(cfg, config) < 0) {
            fail(config);
            goto done;
        }
    }
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s-certs", ns, name);
    if (get_json(k, path, &secret) < 0) {
        fail("reading the certificates Secret");
        goto done;
    }
    const char *sip = NULL;
    char spath[1024];
    snprintf(spath, sizeof spath, "/api/v1/namespaces/%s/services/%s", ns, name);
    if (get_json(k, spath, &svc) < 0) {
        fail("reading the Service");
        goto done;
    }
    sip = json_string_value(json_object_get(json_object_get(svc, "spec"), "clusterIP"));
    if (sip && !strcmp(sip, "None"))
        sip = NULL;
    /* with the Secret present only the kubeconfig Secret may be missing:
     * render from its data (nothing new is issued but what is missing) */
    char *existing = secret ? json_dumps(json_object_get(secret, "data"), JSON_COMPACT) : NULL;
    int r = vc_cluster_certs_render(&out, name, ns, cfg, sip, cidr, existing);
    free(existing);
    if (r < 0 || !(made = json_loadb(out.ptr, out.size, 0, NULL))) {
        fail("making the certificates");
        goto done;
    }
    if (!secret) {
        char *txt = json_dumps(json_object_get(made, "certs"), JSON_COMPACT);
        char ppath[1024];
        snprintf(ppath, sizeof ppath, "/api/v1/namespaces/%s/secrets", ns);
        r = txt ? vc_kube_request(k, &body, NULL, "POST", ppath, txt, NULL) : VC_ENOMEM;
        free(txt);
        if (r == VC_OK) {
            secret = json_loadb(body.ptr, body.size, 0, NULL);
            fprintf(stderr, "vcluster-syncer certs: created Secret %s-certs\n", name);
        } else if (r == VC_ECONFLICT || r == VC_EEXISTS) {
            /* another replica was first: its PKI is the one */
            vc_error_clear();
            if (get_json(k, path, &secret) < 0 || !secret) {
                fail("reading the certificates Secret after a conflict");
                goto done;
            }
            fprintf(stderr, "vcluster-syncer certs: Secret %s-certs was made by another replica\n", name);
        } else {
            fail("creating the certificates Secret");
            goto done;
        }
    } else {
        fprintf(stderr, "vcluster-syncer certs: using Secret %s-certs\n", name);
    }
    if (!secret) {
        fprintf(stderr, "vcluster-syncer certs: bad answer creating Secret %s-certs\n", name);
        goto done;
    }
    /* vc-NAME: the kubeconfig users and `connect` read; made from the same CA
     * only when this replica's PKI is the stored one, else the next start does */
    json_t *kc_obj = json_object_get(made, "kubeconfig");
    json_t *mine = json_object_get(json_object_get(made, "certs"), "data");
    json_t *stored = json_object_get(secret, "data");
    bool same_ca = json_equal(json_object_get(mine, "ca.crt"), json_object_get(stored, "ca.crt"));
    if (same_ca) {
        char *txt = json_dumps(kc_obj, JSON_COMPACT);
        char ppath[1024];
        snprintf(ppath, sizeof ppath, "/api/v1/namespaces/%s/secrets", ns);
        r = txt ? vc_kube_request(k, NULL, NULL, "POST", ppath, txt, NULL) : VC_ENOMEM;
        free(txt);
        if (r == VC_ECONFLICT || r == VC_EEXISTS)
            vc_error_clear();
        else if (r < 0) {
            fail("creating the kubeconfig Secret");
            goto done;
        }
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "vcluster-syncer certs: %s: %s\n", dir, strerror(errno));
        goto done;
    }
    rc = write_files(dir, stored);
    if (rc == 0)
        fprintf(stderr, "vcluster-syncer certs: %zu files in %s\n", json_object_size(stored), dir);
done:
    json_decref(secret);
    json_decref(svc);
    json_decref(made);
    vc_buf_dispose(&out);
    vc_buf_dispose(&body);
    vc_config_free(cfg);
    vc_kube_free(k);
    vc_global_shutdown();
    return rc;
}
