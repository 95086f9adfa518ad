/* src/pki: certificates parsed back with mbedTLS (subject, SANs, key usage,
 * validity, chain), key file modes, kubeconfig rendering, and an openssl
 * cross-check (openssl verify / x509 -text) when openssl is installed. */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#if defined(__has_include)
#  if __has_include(<mbedtls/build_info.h>)
#    include <mbedtls/build_info.h>
#  else
#    include <mbedtls/config.h>
#  endif
#endif

#include "pki/pki.h"
#include "util/yaml.h"
#include "test.h"

static int parse_crt(mbedtls_x509_crt *crt, const char *pem)
{
    mbedtls_x509_crt_init(crt);
    return mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, strlen(pem) + 1);
}

static int test_rng(void *ctx, unsigned char *out, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)rand();
    return 0;
}

static int check_pair(mbedtls_x509_crt *crt, const char *key_pem)
{
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    int r = mbedtls_pk_parse_key(&pk, (const unsigned char *)key_pem, strlen(key_pem) + 1, NULL, 0, test_rng, NULL);
    if (r == 0)
        r = mbedtls_pk_check_pair(&crt->pk, &pk, test_rng, NULL);
#else
    (void)test_rng;
    int r = mbedtls_pk_parse_key(&pk, (const unsigned char *)key_pem, strlen(key_pem) + 1, NULL, 0);
    if (r == 0)
        r = mbedtls_pk_check_pair(&crt->pk, &pk);
#endif
    mbedtls_pk_free(&pk);
    return r;
}

/* "DNS:x" / "IP:1.2.3.4" for each SAN, newline-separated */
static void sans_of(const mbedtls_x509_crt *crt, char *out, size_t n)
{
    size_t j = 0;
    out[0] = '\0';
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
        int tag = s->buf.tag & 0x1f;
        if (tag == 2)
            j += (size_t)snprintf(out + j, n - j, "DNS:%.*s\n", (int)s->buf.len, (const char *)s->buf.p);
        else if (tag == 7 && s->buf.len == 4)
            j += (size_t)snprintf(out + j, n - j, "IP:%u.%u.%u.%u\n", s->buf.p[0], s->buf.p[1], s->buf.p[2],
                                  s->buf.p[3]);
        else if (tag == 7)
            j += (size_t)snprintf(out + j, n - j, "IP6:%zu\n", s->buf.len);
        if (j >= n)
            break;
    }
}

static time_t crt_time(const mbedtls_x509_time *t)
{
    struct tm tm = { 0 };
    tm.tm_year = t->year - 1900;
    tm.tm_mon = t->mon - 1;
    tm.tm_mday = t->day;
    tm.tm_hour = t->hour;
    tm.tm_min = t->min;
    tm.tm_sec = t->sec;
    return timegm(&tm);
}

static void t_ca_and_server(void)
{
    vc__pki_ca *ca = NULL;
    CHECK_INT(vc__pki_ca_new(&ca, "test-ca", 0), VC_OK);
    if (!ca)
        return;
    mbedtls_x509_crt cacrt;
    CHECK_INT(parse_crt(&cacrt, vc__pki_ca_cert_pem(ca)), 0);
    char dn[256];
    mbedtls_x509_dn_gets(dn, sizeof dn, &cacrt.subject);
    CHECK_STR(dn, "CN=test-ca");
    CHECK_INT(mbedtls_x509_crt_check_key_usage(&cacrt, MBEDTLS_X509_KU_KEY_CERT_SIGN), 0);
    time_t now = time(NULL);
    CHECK(crt_time(&cacrt.valid_from) <= now);
    CHECK(crt_time(&cacrt.valid_to) > now + 3649L * 86400);
    CHECK_INT(check_pair(&cacrt, vc__pki_ca_key_pem(ca)), 0);
    CHECK(mbedtls_pk_get_type(&cacrt.pk) == MBEDTLS_PK_ECKEY);

    size_t n_dns = 0;
    static const char *const extra[] = { "vc.example.com", "localhost" };
    char **dns = vc__pki_apiserver_dns_names("my-vcluster", "vcluster-my-vcluster", NULL, extra, 2, &n_dns);
    CHECK_INT(n_dns, 10);
    static const char *const ips[] = { "127.0.0.1", "10.96.0.10", "::1" };
    vc__pki_req req = { "kube-apiserver", NULL, 0, (const char *const *)dns, n_dns, ips, 3, VC__PKI_SERVER, 30,
                        VC__PKI_EC_P256 };
    char *cert = NULL, *key = NULL;
    CHECK_INT(vc__pki_issue(ca, &req, &cert, &key), VC_OK);
    mbedtls_x509_crt leaf;
    CHECK_INT(parse_crt(&leaf, cert), 0);
    mbedtls_x509_dn_gets(dn, sizeof dn, &leaf.subject);
    CHECK_STR(dn, "CN=kube-apiserver");
    mbedtls_x509_dn_gets(dn, sizeof dn, &leaf.issuer);
    CHECK_STR(dn, "CN=test-ca");
    char sans[2048];
    sans_of(&leaf, sans, sizeof sans);
    CHECK_STR(sans, "DNS:localhost\nDNS:kubernetes\nDNS:kubernetes.default\nDNS:kubernetes.default.svc\n"
                    "DNS:kubernetes.default.svc.cluster.local\nDNS:my-vcluster\n"
                    "DNS:my-vcluster.vcluster-my-vcluster\nDNS:my-vcluster.vcluster-my-vcluster.svc\n"
                    "DNS:my-vcluster.vcluster-my-vcluster.svc.cluster.local\nDNS:vc.example.com\n"
                    "IP:127.0.0.1\nIP:10.96.0.10\nIP6:16\n");
    uint32_t flags = 0;
    CHECK_INT(mbedtls_x509_crt_verify(&leaf, &cacrt, NULL, "kubernetes.default.svc", &flags, NULL, NULL), 0);
    CHECK_INT(flags, 0);
    CHECK(mbedtls_x509_crt_verify(&leaf, &cacrt, NULL, "evil.example.com", &flags, NULL, NULL) != 0);
    CHECK_INT(mbedtls_x509_crt_check_key_usage(&leaf, MBEDTLS_X509_KU_DIGITAL_SIGNATURE), 0);
    CHECK(mbedtls_x509_crt_check_key_usage(&leaf, MBEDTLS_X509_KU_KEY_CERT_SIGN) != 0);
    CHECK_INT(mbedtls_x509_crt_check_extended_key_usage(&leaf, MBEDTLS_OID_SERVER_AUTH,
                                                        MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)), 0);
    CHECK(mbedtls_x509_crt_check_extended_key_usage(&leaf, MBEDTLS_OID_CLIENT_AUTH,
                                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0);
    CHECK(crt_time(&leaf.valid_to) > now + 29L * 86400 && crt_time(&leaf.valid_to) < now + 31L * 86400);
    CHECK_INT(check_pair(&leaf, key), 0);
    CHECK_CONTAINS(key, "-----BEGIN EC PRIVATE KEY-----");
    mbedtls_x509_crt_free(&leaf);
    vc__free(cert);
    vc__free(key);

    /* a client: CN = user, O = groups (several), RSA on request */
    static const char *const groups[] = { "system:masters", "team-a" };
    vc__pki_req cl = { "jane", groups, 2, NULL, 0, NULL, 0, VC__PKI_CLIENT, 0, VC__PKI_RSA_2048 };
    CHECK_INT(vc__pki_issue(ca, &cl, &cert, &key), VC_OK);
    CHECK_INT(parse_crt(&leaf, cert), 0);
    mbedtls_x509_dn_gets(dn, sizeof dn, &leaf.subject);
    CHECK_STR(dn, "O=system:masters, O=team-a, CN=jane");
    CHECK_INT(mbedtls_x509_crt_verify(&leaf, &cacrt, NULL, NULL, &flags, NULL, NULL), 0);
    CHECK_INT(mbedtls_x509_crt_check_extended_key_usage(&leaf, MBEDTLS_OID_CLIENT_AUTH,
                                                        MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)), 0);
    CHECK(mbedtls_pk_get_type(&leaf.pk) == MBEDTLS_PK_RSA);
    CHECK_INT(mbedtls_pk_get_bitlen(&leaf.pk), 2048);
    CHECK_INT(check_pair(&leaf, key), 0);
    CHECK(crt_time(&leaf.valid_to) > now + 364L * 86400);
    mbedtls_x509_crt_free(&leaf);
    vc__free(cert);
    vc__free(key);

    /* a CA loaded from PEM issues certificates that chain to it */
    vc__pki_ca *again = NULL;
    CHECK_INT(vc__pki_ca_load(&again, vc__pki_ca_cert_pem(ca), vc__pki_ca_key_pem(ca)), VC_OK);
    vc__pki_req c2 = { "system:kube-scheduler", NULL, 0, NULL, 0, NULL, 0, VC__PKI_CLIENT, 0, 0 };
    CHECK_INT(vc__pki_issue(again, &c2, &cert, &key), VC_OK);
    CHECK_INT(parse_crt(&leaf, cert), 0);
    CHECK_INT(mbedtls_x509_crt_verify(&leaf, &cacrt, NULL, NULL, &flags, NULL, NULL), 0);
    mbedtls_x509_crt_free(&leaf);
    vc__free(cert);
    vc__free(key);
    vc__pki_ca_free(again);

    /* errors */
    vc__pki_req bad = { "x", NULL, 0, NULL, 0, NULL, 0, VC__PKI_SERVER, 0, 0 };
    CHECK_INT(vc__pki_issue(ca, &bad, &cert, &key), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "needs at least one DNS name or IP address");
    CHECK(cert == NULL && key == NULL);
    static const char *const bad_ip[] = { "300.1.1.1" };
    vc__pki_req bad2 = { "x", NULL, 0, NULL, 0, bad_ip, 1, VC__PKI_SERVER, 0, 0 };
    CHECK_INT(vc__pki_issue(ca, &bad2, &cert, &key), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "not an IP address: \"300.1.1.1\"");
    CHECK_INT(vc_error_last()->klass, VC_ERRCLASS_PKI);
    static const char *const bad_dns[] = { "a b" };
    vc__pki_req bad3 = { "x", NULL, 0, bad_dns, 1, NULL, 0, VC__PKI_SERVER, 0, 0 };
    CHECK_INT(vc__pki_issue(ca, &bad3, &cert, &key), VC_EINVAL);
    vc__pki_req bad4 = { "", NULL, 0, NULL, 0, NULL, 0, VC__PKI_CLIENT, 0, 0 };
    CHECK_INT(vc__pki_issue(ca, &bad4, &cert, &key), VC_EINVAL);
    vc__pki_ca *other = NULL;
    CHECK_INT(vc__pki_ca_new(&other, "other", 1), VC_OK);
    CHECK_INT(vc__pki_ca_load(&again, vc__pki_ca_cert_pem(ca), vc__pki_ca_key_pem(other)), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "does not belong");
    CHECK_INT(vc__pki_ca_load(&again, "garbage", vc__pki_ca_key_pem(other)), VC_EINVAL);
    vc__pki_ca_free(other);
    mbedtls_x509_crt_free(&cacrt);
    vc__pki_strv_free(dns);
    vc__pki_ca_free(ca);
}

static void t_sa_keypair(void)
{
    char *key = NULL, *pub = NULL;
    CHECK_INT(vc__pki_sa_keypair(&key, &pub), VC_OK);
    CHECK_CONTAINS(key, "-----BEGIN EC PRIVATE KEY-----");
    CHECK_CONTAINS(pub, "-----BEGIN PUBLIC KEY-----");
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    CHECK_INT(mbedtls_pk_parse_public_key(&pk, (const unsigned char *)pub, strlen(pub) + 1), 0);
    CHECK(mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY);
    CHECK_INT(mbedtls_pk_get_bitlen(&pk), 256);
    mbedtls_pk_free(&pk);
    vc__free(key);
    vc__free(pub);
    CHECK_INT(vc__pki_keypair(VC__PKI_RSA_2048, &key, &pub), VC_OK);
    CHECK_CONTAINS(key, "-----BEGIN RSA PRIVATE KEY-----");
    vc__free(key);
    vc__free(pub);
    CHECK_INT(vc__pki_keypair(7, &key, &pub), VC_EINVAL);
}

static void t_kubeconfig(void)
{
    vc_buf out = VC_BUF_INIT;
    vc__kubeconfig_spec spec = { 0 };
    spec.server = "https://127.0.0.1:6443";
    spec.ca_pem = "CA PEM\n";
    spec.client_cert_pem = "CERT PEM\n";
    spec.client_key_pem = "KEY PEM\n";
    spec.context = "vcluster_my-vcluster_vcluster-my-vcluster_kind";
    spec.ns = "demo";
    CHECK_INT(vc__kubeconfig_render(&out, &spec), VC_OK);
    json_t *docs = NULL;
    CHECK_INT(vc__yaml_parse(out.ptr, out.size, "kc", &docs, NULL), VC_OK);
    json_t *d = json_array_get(docs, 0);
    CHECK_STR(json_string_value(json_object_get(d, "kind")), "Config");
    CHECK_STR(json_string_value(json_object_get(d, "current-context")), spec.context);
    json_t *cl = json_object_get(json_array_get(json_object_get(d, "clusters"), 0), "cluster");
    CHECK_STR(json_string_value(json_object_get(cl, "server")), "https://127.0.0.1:6443");
    CHECK_STR(json_string_value(json_object_get(cl, "certificate-authority-data")), "Q0EgUEVNCg==");
    json_t *us = json_object_get(json_array_get(json_object_get(d, "users"), 0), "user");
    CHECK_STR(json_string_value(json_object_get(us, "client-certificate-data")), "Q0VSVCBQRU0K");
    CHECK_STR(json_string_value(json_object_get(us, "client-key-data")), "S0VZIFBFTQo=");
    json_t *cx = json_object_get(json_array_get(json_object_get(d, "contexts"), 0), "context");
    CHECK_STR(json_string_value(json_object_get(cx, "namespace")), "demo");
    CHECK_STR(json_string_value(json_object_get(cx, "cluster")), spec.context);
    json_decref(docs);
    /* token, insecure, default names */
    vc__kubeconfig_spec t = { 0 };
    t.server = "https://vc.example.com";
    t.token = "abc";
    t.insecure = true;
    CHECK_INT(vc__kubeconfig_render(&out, &t), VC_OK);
    CHECK_CONTAINS(out.ptr, "insecure-skip-tls-verify: true");
    CHECK_CONTAINS(out.ptr, "token: abc");
    CHECK_CONTAINS(out.ptr, "current-context: vcluster");
    vc__kubeconfig_spec bad = { 0 };
    CHECK_INT(vc__kubeconfig_render(&out, &bad), VC_EINVAL);
    bad.server = "ftp://x";
    CHECK_INT(vc__kubeconfig_render(&out, &bad), VC_EINVAL);
    bad.server = "https://x";
    bad.client_cert_pem = "x";
    CHECK_INT(vc__kubeconfig_render(&out, &bad), VC_EINVAL);
    vc_buf_dispose(&out);
}

static char *slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    if (vc__file_read(path, &data, NULL) < 0)
        return NULL;
    return data;
}

static int mode_of(const char *dir, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* run a shell command, capture stdout+stderr */
static int run(const char *cmd, char *out, size_t n)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t j = fread(out, 1, n - 1, p);
    out[j] = '\0';
    return pclose(p);
}

static void verify_chain(const char *dir, const char *ca_name, const char *leaf_name)
{
    char *ca_pem = slurp(dir, ca_name), *leaf_pem = slurp(dir, leaf_name);
    CHECK(ca_pem && leaf_pem);
    if (ca_pem && leaf_pem) {
        mbedtls_x509_crt ca, leaf;
        CHECK_INT(parse_crt(&ca, ca_pem), 0);
        CHECK_INT(parse_crt(&leaf, leaf_pem), 0);
        uint32_t flags = 0;
        int r = mbedtls_x509_crt_verify(&leaf, &ca, NULL, NULL, &flags, NULL, NULL);
        if (r != 0)
            fprintf(stderr, "  %s does not verify against %s (flags 0x%x)\n", leaf_name, ca_name, flags);
        CHECK_INT(r, 0);
        mbedtls_x509_crt_free(&ca);
        mbedtls_x509_crt_free(&leaf);
    }
    vc__free(ca_pem);
    vc__free(leaf_pem);
}

static void t_write_dir(void)
{
    char tmpl[] = "/tmp/vc-pki-XXXXXX";
    char *base = mkdtemp(tmpl);
    CHECK(base != NULL);
    if (!base)
        return;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/nested/pki", base);
    static const char *const ips[] = { "127.0.0.1", "10.96.0.1" };
    static const char *const extra[] = { "vc.example.com" };
    vc__pki_dir_opts o = { 0 };
    o.name = "my-vcluster";
    o.ns = "vcluster-my-vcluster";
    o.dns_names = extra;
    o.n_dns_names = 1;
    o.ip_addresses = ips;
    o.n_ip_addresses = 2;
    o.server = "https://127.0.0.1:6443";
    CHECK_INT(vc__pki_write_dir(dir, &o), VC_OK);

    static const char *const keys[] = { "ca.key", "apiserver.key", "apiserver-kubelet-client.key",
                                        "front-proxy-ca.key", "front-proxy-client.key", "sa.key", "admin.key",
                                        "kube-controller-manager.key", "kube-scheduler.key", "admin.conf",
                                        "controller-manager.conf", "scheduler.conf" };
    static const char *const pub[] = { "ca.crt", "apiserver.crt", "apiserver-kubelet-client.crt",
                                       "front-proxy-ca.crt", "front-proxy-client.crt", "sa.pub", "admin.crt",
                                       "kube-controller-manager.crt", "kube-scheduler.crt" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        t_current = keys[i];
        CHECK_INT(mode_of(dir, keys[i]), 0600);
    }
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        t_current = pub[i];
        CHECK_INT(mode_of(dir, pub[i]), 0644);
    }
    t_current = "t_write_dir";
    CHECK_INT(mode_of(dir, "."), 0700);
    verify_chain(dir, "ca.crt", "apiserver.crt");
    verify_chain(dir, "ca.crt", "admin.crt");
    verify_chain(dir, "ca.crt", "kube-controller-manager.crt");
    verify_chain(dir, "ca.crt", "kube-scheduler.crt");
    verify_chain(dir, "ca.crt", "apiserver-kubelet-client.crt");
    verify_chain(dir, "front-proxy-ca.crt", "front-proxy-client.crt");

    char *admin = slurp(dir, "admin.crt");
    mbedtls_x509_crt crt;
    CHECK_INT(parse_crt(&crt, admin), 0);
    char dn[256];
    mbedtls_x509_dn_gets(dn, sizeof dn, &crt.subject);
    CHECK_STR(dn, "O=system:masters, CN=kubernetes-admin");
    mbedtls_x509_crt_free(&crt);
    char *kcm = slurp(dir, "kube-controller-manager.crt");
    CHECK_INT(parse_crt(&crt, kcm), 0);
    mbedtls_x509_dn_gets(dn, sizeof dn, &crt.subject);
    CHECK_STR(dn, "CN=system:kube-controller-manager");
    mbedtls_x509_crt_free(&crt);
    vc__free(kcm);

    char *conf = slurp(dir, "admin.conf");
    CHECK_CONTAINS(conf, "server: https://127.0.0.1:6443");
    CHECK_CONTAINS(conf, "client-key-data: ");
    vc__free(conf);

    /* again: CA, SA key and leaves are kept */
    char *ca1 = slurp(dir, "ca.crt"), *sa1 = slurp(dir, "sa.key"), *api1 = slurp(dir, "apiserver.crt");
    CHECK_INT(vc__pki_write_dir(dir, &o), VC_OK);
    char *ca2 = slurp(dir, "ca.crt"), *sa2 = slurp(dir, "sa.key"), *api2 = slurp(dir, "apiserver.crt");
    CHECK_STR(ca2, ca1);
    CHECK_STR(sa2, sa1);
    CHECK_STR(api2, api1);
    /* renew: new leaves, same CA */
    o.flags = VC__PKI_RENEW;
    CHECK_INT(vc__pki_write_dir(dir, &o), VC_OK);
    char *ca3 = slurp(dir, "ca.crt"), *api3 = slurp(dir, "apiserver.crt");
    CHECK_STR(ca3, ca1);
    CHECK(api3 && api1 && strcmp(api3, api1) != 0);
    verify_chain(dir, "ca.crt", "apiserver.crt");

    /* openssl agrees (the tool Kubernetes users reach for) */
    char cmd[1200], out[16384];
    if (access("/usr/bin/openssl", X_OK) == 0 || system("command -v openssl >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd, "cd '%s' && openssl verify -CAfile ca.crt apiserver.crt admin.crt "
                                  "kube-controller-manager.crt kube-scheduler.crt 2>&1", dir);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        CHECK_CONTAINS(out, "apiserver.crt: OK");
        CHECK_CONTAINS(out, "admin.crt: OK");
        snprintf(cmd, sizeof cmd, "cd '%s' && openssl verify -CAfile front-proxy-ca.crt front-proxy-client.crt 2>&1",
                 dir);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        snprintf(cmd, sizeof cmd, "cd '%s' && openssl verify -CAfile front-proxy-ca.crt apiserver.crt 2>&1", dir);
        CHECK(run(cmd, out, sizeof out) != 0); /* wrong CA */
        snprintf(cmd, sizeof cmd, "openssl x509 -noout -text -in '%s/apiserver.crt' 2>&1", dir);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        CHECK_CONTAINS(out, "DNS:kubernetes.default.svc.cluster.local");
        CHECK_CONTAINS(out, "DNS:my-vcluster.vcluster-my-vcluster.svc");
        CHECK_CONTAINS(out, "DNS:vc.example.com");
        CHECK_CONTAINS(out, "IP Address:127.0.0.1");
        CHECK_CONTAINS(out, "IP Address:10.96.0.1");
        CHECK_CONTAINS(out, "TLS Web Server Authentication");
        CHECK_CONTAINS(out, "CA:FALSE");
        CHECK_CONTAINS(out, "Digital Signature");
        CHECK_CONTAINS(out, "ecdsa-with-SHA256");
        snprintf(cmd, sizeof cmd, "openssl x509 -noout -text -in '%s/admin.crt' 2>&1", dir);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        CHECK_CONTAINS(out, "O = system:masters, CN = kubernetes-admin");
        CHECK_CONTAINS(out, "TLS Web Client Authentication");
        snprintf(cmd, sizeof cmd, "openssl x509 -noout -text -in '%s/ca.crt' 2>&1", dir);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        CHECK_CONTAINS(out, "CA:TRUE");
        CHECK_CONTAINS(out, "Certificate Sign");
        snprintf(cmd, sizeof cmd, "cd '%s' && openssl pkey -in sa.key -pubout 2>&1 | cmp -s - sa.pub", dir);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && openssl x509 -noout -pubkey -in apiserver.crt | cmp -s - <(openssl pkey -in apiserver.key "
                 "-pubout) 2>&1",
                 dir);
        char bash[1400];
        snprintf(bash, sizeof bash, "bash -c \"%s\"", cmd);
        CHECK_INT(run(bash, out, sizeof out), 0);
    } else {
        printf("# openssl not found: cross-check skipped\n");
    }

    vc__free(admin);
    vc__free(ca1);
    vc__free(sa1);
    vc__free(api1);
    vc__free(ca2);
    vc__free(sa2);
    vc__free(api2);
    vc__free(ca3);
    vc__free(api3);
    /* a file where the directory should be */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/admin.conf/x", dir);
    CHECK_INT(vc__pki_write_dir(bad, &o), VC_EIO);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    RUN(t_ca_and_server);
    RUN(t_sa_keypair);
    RUN(t_kubeconfig);
    RUN(t_write_dir);
    TEST_DONE();
}
