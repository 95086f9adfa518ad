/* Name translation: upstream's SafeConcatName and the mappings built on it. */
#include <stdint.h>
#include <string.h>

#include "translate/translate.h"

static const char *const k_reserved_labels[4] = {
    VC__L_RELEASE, VC__L_NAMESPACE, VC__L_MARKER, VC__L_CONTROLLER,
};

size_t vc__safe_concat(char *out, size_t cap, const char *const *parts, size_t n)
{
    /* Join into a scratch buffer first: the hash covers the full string. */
    char full[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(parts[i]);
        if (i > 0) {
            if (len + 1 < sizeof full)
                full[len] = '-';
            len++;
        }
        if (len + pl < sizeof full)
            memcpy(full + len, parts[i], pl);
        len += pl;
    }
    if (len <= 63) {
        /* short names fit any caller buffer of VC__NAME_MAX */
        if (len >= cap)
            len = cap - 1;
        memcpy(out, full, len);
        out[len] = '\0';
        return len;
    }
    char hex[65];
    if (len < sizeof full) {
        vc__sha256_hex(full, len, hex);
    } else {
        /* Longer than any valid Kubernetes name: hash the parts again, joined
         * through a buffer big enough. Rare, so allocate. */
        vc_buf b = VC_BUF_INIT;
        for (size_t i = 0; i < n; i++)
            if ((i && vc__buf_put(&b, "-", 1) < 0) || vc__buf_puts(&b, parts[i]) < 0)
                break;
        vc__sha256_hex(b.ptr ? b.ptr : "", b.size, hex);
        vc_buf_dispose(&b);
    }
    char tmp[64];
    memcpy(tmp, full, 52);
    tmp[52] = '-';
    memcpy(tmp + 53, hex, 10);
    tmp[63] = '\0';
    /* strings.ReplaceAll(s, ".-", "-") */
    size_t o = 0;
    for (size_t i = 0; i < 63 && o + 1 < cap; i++) {
        if (tmp[i] == '.' && tmp[i + 1] == '-')
            continue;
        out[o++] = tmp[i];
    }
    out[o] = '\0';
    return o;
}

void vc__host_name_ns(const vc_translator *t, const char *name, const char *ns, char out[VC__NAME_MAX])
{
    const char *parts[5] = { name, "x", ns, "x", t->name };
    vc__safe_concat(out, VC__NAME_MAX, parts, 5);
}

void vc__host_name_cluster(const vc_translator *t, const char *name, char out[VC__NAME_MAX])
{
    const char *parts[6] = { "vcluster", name, "x", t->host_ns, "x", t->name };
    vc__safe_concat(out, VC__NAME_MAX, parts, 6);
}

static bool cluster_kind_mirrored(const vc_translator *t, const vc__kind *k)
{
    return !k->namespaced && k->sync_flag && !(t->sync & k->sync_flag);
}

void vc__host_name(const vc_translator *t, const vc__kind *k, const char *ns, const char *name,
                   char out[VC__NAME_MAX])
{
    if (!k->namespaced) {
        if (cluster_kind_mirrored(t, k)) {
            snprintf(out, VC__NAME_MAX, "%s", name);
            return;
        }
        vc__host_name_cluster(t, name, out);
        return;
    }
    if (k->id == VC__K_SERVICE && !strcmp(name, "kubernetes") && vc__streq(ns, "default")) {
        snprintf(out, VC__NAME_MAX, "%s", t->name);
        return;
    }
    vc__host_name_ns(t, name, ns, out);
}

const char *vc__host_label_key(const vc_translator *t, const char *key)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(key, k_reserved_labels[i]))
            return t->label_keys[i];
    return key;
}

bool vc__is_translated_label(const vc_translator *t, const char *key)
{
    if (strncmp(key, VC__LABEL_PREFIX, sizeof(VC__LABEL_PREFIX) - 1) != 0)
        return false;
    for (int i = 0; i < 4; i++)
        if (!strcmp(key, t->label_keys[i]))
            return true;
    return false;
}

const char *vc__virtual_label_key(const vc_translator *t, const char *key)
{
    for (int i = 0; i < 4; i++) {
        if (!strcmp(key, k_reserved_labels[i]))
            return NULL; /* the host's own bookkeeping label */
        if (!strcmp(key, t->label_keys[i]))
            return k_reserved_labels[i];
    }
    return key;
}

/* Direct-mapped: a collision only costs a recomputation. */
#define NSKEY_SLOTS 32
struct vc__nskey_cache {
    struct {
        char key[64]; /* "" = empty; longer keys are not cached */
        char out[64];
    } e[NSKEY_SLOTS];
};

struct vc__nskey_cache *vc__nskey_cache_new(void)
{
    return vc__calloc(1, sizeof(struct vc__nskey_cache));
}

void vc__ns_label_key(const vc_translator *t, const char *key, char out[64])
{
    size_t n = strlen(key);
    unsigned slot = 0;
    if (t->nskeys && n > 0 && n < 64) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)key[i]) * 16777619u;
        slot = (h ^ (h >> 16)) % NSKEY_SLOTS;
        if (!strcmp(t->nskeys->e[slot].key, key)) {
            memcpy(out, t->nskeys->e[slot].out, 64);
            return;
        }
    }
    char hex[65];
    vc__sha256_hex(key, n, hex);
    hex[10] = '\0';
    const char *parts[4] = { VC__NS_LABEL_PREFIX, t->name, "x", hex };
    vc__safe_concat(out, 64, parts, 4);
    if (t->nskeys && n > 0 && n < 64) {
        memcpy(t->nskeys->e[slot].key, key, n + 1);
        memcpy(t->nskeys->e[slot].out, out, 64);
    }
}

static bool is_alnum_lower(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum_lower(s[i]) && s[i] != '-')
            return false;
    return true;
}

bool vc__is_dns1123_label(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n <= 63 && label_ok(s, n);
}

bool vc__is_dns1123_subdomain(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253)
        return false;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, len))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

static bool ends_with(const char *s, size_t n, const char *suffix, size_t sn)
{
    return n >= sn && !memcmp(s + n - sn, suffix, sn);
}

int vc__virtual_name_by_name(const vc_translator *t, const vc__kind *k, const char *host_ns,
                             const char *host_name, char **out_ns, char **out_name)
{
    *out_ns = *out_name = NULL;
    size_t n = strlen(host_name);
    const char *vns = NULL;
    char name[VC__NAME_MAX], ns[VC__NAME_MAX];

    if (!k->namespaced) {
        if (cluster_kind_mirrored(t, k)) {
            snprintf(name, sizeof name, "%s", host_name);
        } else {
            char suffix[VC__NAME_MAX];
            int sl = snprintf(suffix, sizeof suffix, "-x-%s-x-%s", t->host_ns, t->name);
            if (n <= 9 + (size_t)sl || strncmp(host_name, "vcluster-", 9) != 0 ||
                !ends_with(host_name, n, suffix, (size_t)sl))
                goto notfound;
            size_t len = n - 9 - (size_t)sl;
            memcpy(name, host_name + 9, len);
            name[len] = '\0';
            char again[VC__NAME_MAX];
            vc__host_name_cluster(t, name, again);
            if (strcmp(again, host_name) != 0)
                goto notfound;
        }
        vns = "";
        goto found;
    }
    if (!vc__streq(host_ns, t->host_ns))
        goto notfound;
    if (k->id == VC__K_SERVICE && !strcmp(host_name, t->name)) {
        snprintf(name, sizeof name, "kubernetes");
        vns = "default";
        goto found;
    }
    {
        char suffix[VC__NAME_MAX];
        int sl = snprintf(suffix, sizeof suffix, "-x-%s", t->name);
        if (!ends_with(host_name, n, suffix, (size_t)sl))
            goto notfound;
        size_t rl = n - (size_t)sl;
        /* Split at the last "-x-": names contain "-x-" more often than
         * namespaces do (doc/translate.md, "Reverse lookup"). */
        for (size_t i = rl >= 5 ? rl - 4 : 0; i > 0; i--) {
            if (memcmp(host_name + i, "-x-", 3) != 0)
                continue;
            memcpy(name, host_name, i);
            name[i] = '\0';
            memcpy(ns, host_name + i + 3, rl - i - 3);
            ns[rl - i - 3] = '\0';
            if (!vc__is_dns1123_label(ns))
                break;
            char again[VC__NAME_MAX];
            vc__host_name_ns(t, name, ns, again);
            if (strcmp(again, host_name) != 0)
                break;
            vns = ns;
            goto found;
        }
    }
notfound:
    return vc__error(VC_ENOTFOUND, VC_ERRCLASS_TRANSLATE,
                     "%s %s%s%s is not a translated name of virtual cluster %s", k->kind,
                     host_ns && *host_ns ? host_ns : "", host_ns && *host_ns ? "/" : "", host_name,
                     t->name);
found:
    *out_ns = vc__strdup(vns);
    *out_name = vc__strdup(name);
    if (!*out_ns || !*out_name) {
        vc__free(*out_ns);
        vc__free(*out_name);
        *out_ns = *out_name = NULL;
        return vc__error_oom();
    }
    return VC_OK;
}
