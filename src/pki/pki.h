/*
 * Certificates for a virtual control plane (mbedTLS 2.28 and 3.x).
 *
 * What a kube-apiserver, kube-controller-manager, kube-scheduler and the
 * syncer need: a cluster CA, the API server's serving certificate, client
 * certificates (CN = user, O = groups), a front-proxy CA and client for the
 * aggregation layer, and the service-account token signing key pair. Keys
 * are EC P-256 unless RSA 2048 is asked for; kube-apiserver accepts both for
 * serving, client and service-account keys (ES256 / RS256 tokens).
 *
 * Everything is PEM text allocated with vc__malloc (free with vc__free).
 * Errors: VC_ETLS (mbedTLS refused), VC_EINVAL (bad name, IP, PEM), VC_EIO
 * (files), VC_ENOMEM; the message is one line, class VC_ERRCLASS_PKI.
 */
#ifndef VC_PKI_PKI_H
#define VC_PKI_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef enum vc__pki_key_type {
    VC__PKI_EC_P256 = 0,
    VC__PKI_RSA_2048 = 1
} vc__pki_key_type;

/* vc__pki_req.usage */
#define VC__PKI_SERVER 0x1u /* serverAuth, for TLS servers (needs SANs) */
#define VC__PKI_CLIENT 0x2u /* clientAuth, for users and components */

#define VC__PKI_CA_DAYS 3650
#define VC__PKI_LEAF_DAYS 365

/* A certificate authority: its certificate and private key. */
typedef struct vc__pki_ca vc__pki_ca;

/* A new self-signed CA "CN=<common_name>" valid for `days` (0: 3650). */
int vc__pki_ca_new(vc__pki_ca **out, const char *common_name, int32_t days);
/* A CA from PEM text (certificate and its private key; checked to match). */
int vc__pki_ca_load(vc__pki_ca **out, const char *cert_pem, const char *key_pem);
/* Borrowed PEM text, valid until vc__pki_ca_free(). */
const char *vc__pki_ca_cert_pem(const vc__pki_ca *ca);
const char *vc__pki_ca_key_pem(const vc__pki_ca *ca);
void vc__pki_ca_free(vc__pki_ca *ca);

/* What to put in a certificate. Arrays may be NULL when their count is 0. */
typedef struct vc__pki_req {
    const char *common_name;               /* required */
    const char *const *organizations;      /* O=..., Kubernetes groups */
    size_t n_organizations;
    const char *const *dns_names;          /* subjectAltName DNS */
    size_t n_dns_names;
    const char *const *ip_addresses;       /* subjectAltName IP (v4 or v6 text) */
    size_t n_ip_addresses;
    uint32_t usage;                        /* VC__PKI_SERVER | VC__PKI_CLIENT */
    int32_t days;                          /* 0: 365 */
    int key_type;                          /* vc__pki_key_type */
} vc__pki_req;

/* Issue a certificate signed by `ca` for a new key pair. */
int vc__pki_issue(vc__pki_ca *ca, const vc__pki_req *req, char **out_cert_pem, char **out_key_pem);

/* A key pair: private key PEM and its public key PEM ("PUBLIC KEY"). For
 * the service-account token signer (--service-account-signing-key-file,
 * --service-account-key-file, --service-account-private-key-file). */
int vc__pki_keypair(int key_type, char **out_key_pem, char **out_pub_pem);
int vc__pki_sa_keypair(char **out_key_pem, char **out_pub_pem);

/* The API server's DNS SANs for a virtual cluster `name` in host namespace
 * `ns` (either may be NULL) and cluster domain (NULL: cluster.local):
 * localhost, kubernetes, kubernetes.default, kubernetes.default.svc,
 * kubernetes.default.svc.<domain>, <name>, <name>.<ns>, <name>.<ns>.svc,
 * <name>.<ns>.svc.<domain>, then `extra` (duplicates dropped). Returns a
 * NULL-terminated array; free with vc__pki_strv_free(). */
char **vc__pki_apiserver_dns_names(const char *name, const char *ns, const char *domain,
                                   const char *const *extra, size_t n_extra, size_t *out_n);
void vc__pki_strv_free(char **v);

/* ---- a directory of certificates (kubeadm-style names) ---- */

/* vc__pki_dir_opts.flags */
#define VC__PKI_RENEW 0x1u /* reissue leaf certificates that already exist */

typedef struct vc__pki_dir_opts {
    const char *name;                 /* virtual cluster name (SANs) */
    const char *ns;                   /* host namespace (SANs) */
    const char *cluster_domain;       /* NULL: cluster.local */
    const char *const *dns_names;     /* extra API server DNS SANs */
    size_t n_dns_names;
    const char *const *ip_addresses;  /* API server IP SANs, e.g. 127.0.0.1 and the Service IP */
    size_t n_ip_addresses;
    const char *server;               /* when set, also write admin.conf, controller-manager.conf,
                                         scheduler.conf pointing at it */
    int32_t days;                     /* leaf validity, 0: 365 */
    int key_type;                     /* leaf and service-account keys */
    uint32_t flags;                   /* VC__PKI_RENEW */
} vc__pki_dir_opts;

/*
 * Make (or complete) a PKI directory; `dir` is created 0700 when missing.
 * Existing CAs and service-account keys are kept, so resume and upgrade
 * keep trust; leaf certificates are kept unless missing or VC__PKI_RENEW.
 * Files: ca.{crt,key}, apiserver.{crt,key}, apiserver-kubelet-client.{crt,key},
 * front-proxy-ca.{crt,key}, front-proxy-client.{crt,key}, sa.{key,pub},
 * admin.{crt,key} (O=system:masters), kube-controller-manager.{crt,key},
 * kube-scheduler.{crt,key}. Keys are written 0600, the rest 0644.
 */
int vc__pki_write_dir(const char *dir, const vc__pki_dir_opts *opts);

/* ---- kubeconfig ---- */

typedef struct vc__kubeconfig_spec {
    const char *server;           /* required: https://host:port */
    const char *ca_pem;           /* certificate-authority-data; NULL: none */
    bool insecure;                /* insecure-skip-tls-verify */
    const char *client_cert_pem;  /* client-certificate-data */
    const char *client_key_pem;   /* client-key-data */
    const char *token;            /* bearer token */
    const char *context;          /* context name; NULL: "vcluster" */
    const char *cluster_name;     /* NULL: the context name */
    const char *user_name;        /* NULL: the context name */
    const char *ns;               /* the context's namespace; NULL: none */
} vc__kubeconfig_spec;

/* Render a single-context kubeconfig as YAML text (replaces `out`). */
int vc__kubeconfig_render(vc_buf *out, const vc__kubeconfig_spec *spec);

#endif
