/*
 * Keys and X.509 certificates with mbedTLS. One code path serves 2.28 (Debian
 * 12) and 3.x: the few calls whose signatures differ are guarded with
 * MBEDTLS_VERSION_NUMBER, and the extensions whose helpers exist only in 3.x
 * (subjectAltName, extendedKeyUsage) are written as DER here. Names are
 * built as lists directly (not parsed from "CN=...,O=..." strings) so that
 * values need no escaping and a certificate may carry several O= groups.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#  if __has_include(<mbedtls/build_info.h>)
#    include <mbedtls/build_info.h>
#  else
#    include <mbedtls/config.h>
#  endif
#endif
#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>
#if defined(MBEDTLS_USE_PSA_CRYPTO)
#  include <psa/crypto.h>
#endif

#include "pki/pki.h"

/* 3.x hides struct members behind MBEDTLS_PRIVATE(); the writer's name
 * lists have no setter that takes a list, so reach them the same way. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#  define VC__PRIV(m) MBEDTLS_PRIVATE(m)
#else
#  define VC__PRIV(m) m
#endif

#if defined(MBEDTLS_SHA1_C) || defined(MBEDTLS_MD_CAN_SHA1)
#  define VC__PKI_KEY_IDS 1
#endif

struct vc__pki_ca {
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    char *cert_pem;
    char *key_pem;
};

/* ------------------------------------------------------------------ */
/* errors and randomness                                               */

static int tls_error(int ret, const char *what)
{
    char buf[160];
    mbedtls_strerror(ret, buf, sizeof buf);
    return vc__error(VC_ETLS, VC_ERRCLASS_PKI, "%s: %s (mbedTLS -0x%04x)", what, buf, (unsigned)-ret);
}

typedef struct rng {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} rng;

static int rng_init(rng *r)
{
#if defined(MBEDTLS_USE_PSA_CRYPTO)
    if (psa_crypto_init() != PSA_SUCCESS)
        return vc__error(VC_ETLS, VC_ERRCLASS_PKI, "psa_crypto_init failed");
#endif
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    static const unsigned char pers[] = "libvcluster-pki";
    int ret = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, pers, sizeof pers - 1);
    if (ret != 0) {
        mbedtls_ctr_drbg_free(&r->drbg);
        mbedtls_entropy_free(&r->entropy);
        return tls_error(ret, "seeding the random generator");
    }
    return VC_OK;
}

static void rng_free(rng *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

/* ------------------------------------------------------------------ */
/* keys                                                                */

static int gen_key(mbedtls_pk_context *pk, int type, rng *r)
{
    int ret;
    if (type == VC__PKI_RSA_2048) {
        if ((ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA))) != 0)
            return tls_error(ret, "RSA key setup");
        if ((ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), mbedtls_ctr_drbg_random, &r->drbg, 2048, 65537)) != 0)
            return tls_error(ret, "generating an RSA 2048 key");
        return VC_OK;
    }
    if (type != VC__PKI_EC_P256)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "unknown key type %d", type);
    if ((ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0)
        return tls_error(ret, "EC key setup");
    if ((ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), mbedtls_ctr_drbg_random,
                                   &r->drbg)) != 0)
        return tls_error(ret, "generating an EC P-256 key");
    return VC_OK;
}

static int key_pem(mbedtls_pk_context *pk, bool pub, char **out)
{
    size_t cap = 16384;
    unsigned char *buf = vc__malloc(cap);
    if (!buf)
        return vc__error_oom();
    int ret = pub ? mbedtls_pk_write_pubkey_pem(pk, buf, cap) : mbedtls_pk_write_key_pem(pk, buf, cap);
    if (ret != 0) {
        mbedtls_platform_zeroize(buf, cap);
        vc__free(buf);
        return tls_error(ret, pub ? "writing a public key" : "writing a private key");
    }
    *out = vc__strdup((const char *)buf);
    mbedtls_platform_zeroize(buf, cap);
    vc__free(buf);
    return *out ? VC_OK : vc__error_oom();
}

static int parse_key(mbedtls_pk_context *pk, const char *pem, rng *r)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    int ret = mbedtls_pk_parse_key(pk, (const unsigned char *)pem, strlen(pem) + 1, NULL, 0,
                                   mbedtls_ctr_drbg_random, &r->drbg);
#else
    (void)r;
    int ret = mbedtls_pk_parse_key(pk, (const unsigned char *)pem, strlen(pem) + 1, NULL, 0);
#endif
    if (ret != 0)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "the private key is not valid PEM: -0x%04x", (unsigned)-ret);
    return VC_OK;
}

int vc__pki_keypair(int key_type, char **out_key_pem, char **out_pub_pem)
{
    *out_key_pem = NULL;
    *out_pub_pem = NULL;
    rng r;
    int rc = rng_init(&r);
    if (rc < 0)
        return rc;
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    rc = gen_key(&pk, key_type, &r);
    if (rc == VC_OK)
        rc = key_pem(&pk, false, out_key_pem);
    if (rc == VC_OK)
        rc = key_pem(&pk, true, out_pub_pem);
    if (rc < 0) {
        vc__free(*out_key_pem);
        vc__free(*out_pub_pem);
        *out_key_pem = *out_pub_pem = NULL;
    }
    mbedtls_pk_free(&pk);
    rng_free(&r);
    return rc;
}

int vc__pki_sa_keypair(char **out_key_pem, char **out_pub_pem)
{
    return vc__pki_keypair(VC__PKI_EC_P256, out_key_pem, out_pub_pem);
}

/* ------------------------------------------------------------------ */
/* names and extensions                                                */

/* Prepend one attribute to a writer's name list (lists are written last
 * element first, so prepending in DER order yields DER order). */
static int name_prepend(mbedtls_asn1_named_data **head, const char *oid, size_t oid_len, int tag,
                        const unsigned char *val, size_t val_len)
{
    mbedtls_asn1_named_data *n = mbedtls_calloc(1, sizeof(*n));
    if (!n)
        return vc__error_oom();
    n->oid.p = mbedtls_calloc(1, oid_len ? oid_len : 1);
    n->val.p = mbedtls_calloc(1, val_len ? val_len : 1);
    if (!n->oid.p || !n->val.p) {
        mbedtls_free(n->oid.p);
        mbedtls_free(n->val.p);
        mbedtls_free(n);
        return vc__error_oom();
    }
    memcpy(n->oid.p, oid, oid_len);
    n->oid.len = oid_len;
    n->oid.tag = MBEDTLS_ASN1_OID;
    if (val_len)
        memcpy(n->val.p, val, val_len);
    n->val.len = val_len;
    n->val.tag = tag;
    n->next = *head;
    *head = n;
    return VC_OK;
}

static bool name_text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* subject: O=... (each), then CN=... */
static int subject_names(mbedtls_asn1_named_data **head, const char *cn, const char *const *orgs, size_t n_orgs)
{
    for (size_t i = 0; i < n_orgs; i++) {
        if (!orgs[i] || !name_text_ok(orgs[i]))
            return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "organization %zu is empty or not printable", i);
        int r = name_prepend(head, MBEDTLS_OID_AT_ORGANIZATION, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORGANIZATION),
                             MBEDTLS_ASN1_UTF8_STRING, (const unsigned char *)orgs[i], strlen(orgs[i]));
        if (r < 0)
            return r;
    }
    if (!cn || !name_text_ok(cn))
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "the common name is empty or not printable");
    return name_prepend(head, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), MBEDTLS_ASN1_UTF8_STRING,
                        (const unsigned char *)cn, strlen(cn));
}

/* issuer: an exact copy of the CA's subject, so chains match byte for byte */
static int copy_names(mbedtls_asn1_named_data **head, const mbedtls_x509_name *src)
{
    for (const mbedtls_x509_name *n = src; n; n = n->next) {
        int r = name_prepend(head, (const char *)n->oid.p, n->oid.len, n->val.tag, n->val.p, n->val.len);
        if (r < 0)
            return r;
    }
    return VC_OK;
}

static bool dns_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              (c == '*' && i == 0)))
            return false;
    }
    return true;
}

/* subjectAltName ::= SEQUENCE OF GeneralName ([2] dNSName, [7] iPAddress) */
static int san_der(const vc__pki_req *req, unsigned char **out, size_t *out_len)
{
    size_t cap = 64;
    for (size_t i = 0; i < req->n_dns_names; i++)
        cap += (req->dns_names[i] ? strlen(req->dns_names[i]) : 0) + 8;
    cap += req->n_ip_addresses * 24;
    unsigned char *buf = vc__malloc(cap);
    if (!buf)
        return vc__error_oom();
    unsigned char *p = buf + cap;
    size_t len = 0;
    int ret;
    for (size_t i = req->n_ip_addresses; i-- > 0;) {
        unsigned char ip[16];
        size_t n;
        const char *s = req->ip_addresses[i] ? req->ip_addresses[i] : "";
        if (inet_pton(AF_INET, s, ip) == 1)
            n = 4;
        else if (inet_pton(AF_INET6, s, ip) == 1)
            n = 16;
        else {
            vc__free(buf);
            return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "not an IP address: \"%.64s\"", s);
        }
        if ((ret = mbedtls_asn1_write_raw_buffer(&p, buf, ip, n)) < 0)
            goto asn1;
        len += (size_t)ret;
        if ((ret = mbedtls_asn1_write_len(&p, buf, n)) < 0)
            goto asn1;
        len += (size_t)ret;
        if ((ret = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)) < 0)
            goto asn1;
        len += (size_t)ret;
    }
    for (size_t i = req->n_dns_names; i-- > 0;) {
        const char *s = req->dns_names[i] ? req->dns_names[i] : "";
        if (!dns_name_ok(s)) {
            vc__free(buf);
            return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "not a DNS name: \"%.64s\"", s);
        }
        size_t n = strlen(s);
        if ((ret = mbedtls_asn1_write_raw_buffer(&p, buf, (const unsigned char *)s, n)) < 0)
            goto asn1;
        len += (size_t)ret;
        if ((ret = mbedtls_asn1_write_len(&p, buf, n)) < 0)
            goto asn1;
        len += (size_t)ret;
        if ((ret = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) < 0)
            goto asn1;
        len += (size_t)ret;
    }
    if ((ret = mbedtls_asn1_write_len(&p, buf, len)) < 0)
        goto asn1;
    len += (size_t)ret;
    if ((ret = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
        goto asn1;
    len += (size_t)ret;
    memmove(buf, p, len);
    *out = buf;
    *out_len = len;
    return VC_OK;
asn1:
    vc__free(buf);
    return tls_error(ret, "encoding subjectAltName");
}

/* extKeyUsage ::= SEQUENCE OF KeyPurposeId */
static int eku_der(uint32_t usage, unsigned char *buf, size_t cap, size_t *out_len)
{
    unsigned char *p = buf + cap;
    size_t len = 0;
    int ret;
    if (usage & VC__PKI_CLIENT) {
        if ((ret = mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH))) < 0)
            return tls_error(ret, "encoding extKeyUsage");
        len += (size_t)ret;
    }
    if (usage & VC__PKI_SERVER) {
        if ((ret = mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH))) < 0)
            return tls_error(ret, "encoding extKeyUsage");
        len += (size_t)ret;
    }
    if ((ret = mbedtls_asn1_write_len(&p, buf, len)) < 0)
        return tls_error(ret, "encoding extKeyUsage");
    len += (size_t)ret;
    if ((ret = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
        return tls_error(ret, "encoding extKeyUsage");
    len += (size_t)ret;
    memmove(buf, p, len);
    *out_len = len;
    return VC_OK;
}

static void fmt_time(time_t t, char out[16])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    /* "YYYYMMDDhhmmss"; strftime keeps the compiler's range checks quiet */
    if (strftime(out, 16, "%Y%m%d%H%M%S", &tm) != 14)
        memcpy(out, "20000101000000", 15);
}

/* ------------------------------------------------------------------ */
/* certificates                                                        */

typedef struct cert_in {
    mbedtls_pk_context *subject_key;
    mbedtls_pk_context *issuer_key;
    const mbedtls_x509_name *issuer_name; /* NULL: self-signed (issuer = subject) */
    const char *cn;
    const char *const *orgs;
    size_t n_orgs;
    bool is_ca;
    const vc__pki_req *req;               /* leaf: SANs and usage */
    int32_t days;
} cert_in;

static int write_cert(const cert_in *in, rng *r, char **out_pem)
{
    mbedtls_x509write_cert crt;
    mbedtls_x509write_crt_init(&crt);
    unsigned char *san = NULL;
    size_t san_len = 0;
    int rc = VC_OK, ret = 0;
    const char *what = "";

    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, in->subject_key);
    mbedtls_x509write_crt_set_issuer_key(&crt, in->issuer_key);
    if ((rc = subject_names(&crt.VC__PRIV(subject), in->cn, in->orgs, in->n_orgs)) < 0)
        goto out;
    if (in->issuer_name)
        rc = copy_names(&crt.VC__PRIV(issuer), in->issuer_name);
    else
        rc = subject_names(&crt.VC__PRIV(issuer), in->cn, in->orgs, in->n_orgs);
    if (rc < 0)
        goto out;

    /* a random positive 127-bit serial */
    unsigned char serial[16];
    if ((ret = mbedtls_ctr_drbg_random(&r->drbg, serial, sizeof serial)) != 0) {
        what = "drawing a serial number";
        goto tls;
    }
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01);
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
    if ((ret = mbedtls_x509write_crt_set_serial_raw(&crt, serial, sizeof serial)) != 0) {
        what = "setting the serial number";
        goto tls;
    }
#else
    {
        mbedtls_mpi s;
        mbedtls_mpi_init(&s);
        ret = mbedtls_mpi_read_binary(&s, serial, sizeof serial);
        if (ret == 0)
            ret = mbedtls_x509write_crt_set_serial(&crt, &s);
        mbedtls_mpi_free(&s);
        if (ret != 0) {
            what = "setting the serial number";
            goto tls;
        }
    }
#endif
    /* an hour of slack for clocks that disagree */
    time_t now = time(NULL);
    char nb[16], na[16];
    fmt_time(now - 3600, nb);
    fmt_time(now + (time_t)in->days * 86400, na);
    if ((ret = mbedtls_x509write_crt_set_validity(&crt, nb, na)) != 0) {
        what = "setting the validity";
        goto tls;
    }
    if ((ret = mbedtls_x509write_crt_set_basic_constraints(&crt, in->is_ca ? 1 : 0, -1)) != 0) {
        what = "setting basicConstraints";
        goto tls;
    }
#ifdef VC__PKI_KEY_IDS
    if ((ret = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
        (ret = mbedtls_x509write_crt_set_authority_key_identifier(&crt)) != 0) {
        what = "setting key identifiers";
        goto tls;
    }
#endif
    unsigned int ku;
    if (in->is_ca)
        ku = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN | MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
    else if (mbedtls_pk_get_type(in->subject_key) == MBEDTLS_PK_RSA)
        ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
    else
        ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
    if ((ret = mbedtls_x509write_crt_set_key_usage(&crt, (unsigned char)ku)) != 0) {
        what = "setting keyUsage";
        goto tls;
    }
    if (in->req && (in->req->usage & (VC__PKI_SERVER | VC__PKI_CLIENT))) {
        unsigned char eku[64];
        size_t eku_len = 0;
        if ((rc = eku_der(in->req->usage, eku, sizeof eku, &eku_len)) < 0)
            goto out;
        if ((ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                       MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, eku,
                                                       eku_len)) != 0) {
            what = "setting extKeyUsage";
            goto tls;
        }
    }
    if (in->req && (in->req->n_dns_names || in->req->n_ip_addresses)) {
        if ((rc = san_der(in->req, &san, &san_len)) < 0)
            goto out;
        if ((ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                       MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san,
                                                       san_len)) != 0) {
            what = "setting subjectAltName";
            goto tls;
        }
    }
    {
        size_t cap = 8192 + san_len * 2;
        unsigned char *pem = vc__malloc(cap);
        if (!pem) {
            rc = vc__error_oom();
            goto out;
        }
        ret = mbedtls_x509write_crt_pem(&crt, pem, cap, mbedtls_ctr_drbg_random, &r->drbg);
        if (ret == 0)
            *out_pem = vc__strdup((const char *)pem);
        vc__free(pem);
        if (ret != 0) {
            what = "signing the certificate";
            goto tls;
        }
        if (!*out_pem)
            rc = vc__error_oom();
    }
    goto out;
tls:
    rc = tls_error(ret, what);
out:
    vc__free(san);
    mbedtls_x509write_crt_free(&crt);
    return rc;
}

static void ca_clear(vc__pki_ca *ca)
{
    mbedtls_x509_crt_free(&ca->crt);
    mbedtls_pk_free(&ca->key);
    if (ca->key_pem) {
        mbedtls_platform_zeroize(ca->key_pem, strlen(ca->key_pem));
        vc__free(ca->key_pem);
    }
    vc__free(ca->cert_pem);
}

void vc__pki_ca_free(vc__pki_ca *ca)
{
    if (!ca)
        return;
    ca_clear(ca);
    vc__free(ca);
}

static int ca_parse(vc__pki_ca *ca, rng *r)
{
    if (!ca->cert_pem || !ca->key_pem)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "the CA certificate and key are required");
    int ret = mbedtls_x509_crt_parse(&ca->crt, (const unsigned char *)ca->cert_pem, strlen(ca->cert_pem) + 1);
    if (ret != 0)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "the CA certificate is not valid PEM: -0x%04x", (unsigned)-ret);
    int rc = parse_key(&ca->key, ca->key_pem, r);
    if (rc < 0)
        return rc;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    ret = mbedtls_pk_check_pair(&ca->crt.pk, &ca->key, mbedtls_ctr_drbg_random, &r->drbg);
#else
    ret = mbedtls_pk_check_pair(&ca->crt.pk, &ca->key);
#endif
    if (ret != 0)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "the CA key does not belong to the CA certificate");
    if (!ca->crt.VC__PRIV(ca_istrue))
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "the certificate is not a CA (basicConstraints CA:FALSE)");
    return VC_OK;
}

int vc__pki_ca_load(vc__pki_ca **out, const char *cert_pem, const char *key_pem)
{
    *out = NULL;
    if (!cert_pem || !key_pem)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "vc__pki_ca_load: missing PEM");
    vc__pki_ca *ca = vc__calloc(1, sizeof(*ca));
    if (!ca)
        return vc__error_oom();
    mbedtls_x509_crt_init(&ca->crt);
    mbedtls_pk_init(&ca->key);
    ca->cert_pem = vc__strdup(cert_pem);
    ca->key_pem = vc__strdup(key_pem);
    rng r;
    int rc = (ca->cert_pem && ca->key_pem) ? rng_init(&r) : vc__error_oom();
    if (rc == VC_OK) {
        rc = ca_parse(ca, &r);
        rng_free(&r);
    }
    if (rc < 0) {
        vc__pki_ca_free(ca);
        return rc;
    }
    *out = ca;
    return VC_OK;
}

int vc__pki_ca_new(vc__pki_ca **out, const char *common_name, int32_t days)
{
    *out = NULL;
    vc__pki_ca *ca = vc__calloc(1, sizeof(*ca));
    if (!ca)
        return vc__error_oom();
    mbedtls_x509_crt_init(&ca->crt);
    mbedtls_pk_init(&ca->key);
    rng r;
    int rc = rng_init(&r);
    if (rc < 0) {
        vc__pki_ca_free(ca);
        return rc;
    }
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    rc = gen_key(&pk, VC__PKI_EC_P256, &r);
    if (rc == VC_OK) {
        cert_in in = { &pk, &pk, NULL, common_name, NULL, 0, true, NULL, days > 0 ? days : VC__PKI_CA_DAYS };
        rc = write_cert(&in, &r, &ca->cert_pem);
    }
    if (rc == VC_OK)
        rc = key_pem(&pk, false, &ca->key_pem);
    if (rc == VC_OK)
        rc = ca_parse(ca, &r);
    mbedtls_pk_free(&pk);
    rng_free(&r);
    if (rc < 0) {
        vc__pki_ca_free(ca);
        return rc;
    }
    *out = ca;
    return VC_OK;
}

const char *vc__pki_ca_cert_pem(const vc__pki_ca *ca)
{
    return ca->cert_pem;
}

const char *vc__pki_ca_key_pem(const vc__pki_ca *ca)
{
    return ca->key_pem;
}

int vc__pki_issue(vc__pki_ca *ca, const vc__pki_req *req, char **out_cert_pem, char **out_key_pem)
{
    *out_cert_pem = NULL;
    *out_key_pem = NULL;
    if (!ca || !req)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "vc__pki_issue: missing CA or request");
    if ((req->usage & VC__PKI_SERVER) && !req->n_dns_names && !req->n_ip_addresses)
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI,
                         "%s: a serving certificate needs at least one DNS name or IP address",
                         req->common_name ? req->common_name : "certificate");
    rng r;
    int rc = rng_init(&r);
    if (rc < 0)
        return rc;
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    rc = gen_key(&pk, req->key_type, &r);
    if (rc == VC_OK) {
        cert_in in = { &pk, &ca->key, &ca->crt.subject, req->common_name, req->organizations, req->n_organizations,
                       false, req, req->days > 0 ? req->days : VC__PKI_LEAF_DAYS };
        rc = write_cert(&in, &r, out_cert_pem);
    }
    if (rc == VC_OK)
        rc = key_pem(&pk, false, out_key_pem);
    if (rc < 0) {
        vc__free(*out_cert_pem);
        *out_cert_pem = NULL;
        if (rc != VC_ENOMEM && vc_error_last()->code == rc)
            vc__error_prefix("%s", req->common_name ? req->common_name : "certificate");
    }
    mbedtls_pk_free(&pk);
    rng_free(&r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* API server names                                                    */

void vc__pki_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        vc__free(*p);
    vc__free(v);
}

char **vc__pki_apiserver_dns_names(const char *name, const char *ns, const char *domain,
                                   const char *const *extra, size_t n_extra, size_t *out_n)
{
    const char *d = domain && *domain ? domain : "cluster.local";
    size_t cap = 10 + n_extra, n = 0;
    char **v = vc__calloc(cap + 1, sizeof(char *));
    if (!v)
        return NULL;
    char *cand[10] = { 0 };
    size_t nc = 0;
    cand[nc++] = vc__strdup("localhost");
    cand[nc++] = vc__strdup("kubernetes");
    cand[nc++] = vc__strdup("kubernetes.default");
    cand[nc++] = vc__strdup("kubernetes.default.svc");
    cand[nc++] = vc__sprintf("kubernetes.default.svc.%s", d);
    if (name && *name) {
        cand[nc++] = vc__strdup(name);
        if (ns && *ns) {
            cand[nc++] = vc__sprintf("%s.%s", name, ns);
            cand[nc++] = vc__sprintf("%s.%s.svc", name, ns);
            cand[nc++] = vc__sprintf("%s.%s.svc.%s", name, ns, d);
        }
    }
    bool ok = true;
    for (size_t i = 0; i < nc + n_extra; i++) {
        char *s = i < nc ? cand[i] : vc__strdup(extra[i - nc] ? extra[i - nc] : "");
        if (i < nc)
            cand[i] = NULL;
        if (!s) {
            ok = false;
            continue;
        }
        bool dup = !*s;
        for (size_t j = 0; j < n && !dup; j++)
            dup = strcmp(v[j], s) == 0;
        if (dup)
            vc__free(s);
        else
            v[n++] = s;
    }
    for (size_t i = 0; i < nc; i++)
        vc__free(cand[i]);
    if (!ok) {
        vc__pki_strv_free(v);
        vc__error_oom();
        return NULL;
    }
    if (out_n)
        *out_n = n;
    return v;
}
