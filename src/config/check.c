/*
 * Checking one vcluster.yaml value against its schema type: booleans,
 * bounded integers, enums, quantities, images, tolerations, CIDRs, Service
 * references. Every failure sets the error as "WHERE: key.path: problem".
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define ptr_append vc__cfg_ptr_append
/* ------------------------------------------------------------------ */
/* validators                                                          */

bool vc__config_valid_quantity(const char *s)
{
    /* Kubernetes resource.Quantity: [+-]digits[.digits][suffix] */
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    bool digits = false, dot = false;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits = true;
        else if (*p == '.' && !dot)
            dot = true;
        else
            break;
    }
    if (!digits)
        return false;
    static const char *const suffixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m",
                                            "k", "M", "G", "T", "P", "E", NULL };
    for (int i = 0; suffixes[i]; i++)
        if (strcmp(p, suffixes[i]) == 0)
            return true;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!*p)
            return false;
        for (; *p; p++)
            if (*p < '0' || *p > '9')
                return false;
        return true;
    }
    return false;
}

static bool label_value_ok(const char *s, size_t n)
{
    if (n == 0)
        return true;
    if (n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !((c == '-' || c == '_' || c == '.') && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

static bool label_key_ok(const char *s, size_t n)
{
    if (n == 0 || n > 316)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == '/'))
            return false;
    }
    return true;
}

bool vc__config_valid_toleration(const char *s)
{
    if (strcmp(s, "*") == 0)
        return true;
    const char *colon = strchr(s, ':');
    size_t kv_len = colon ? (size_t)(colon - s) : strlen(s);
    if (colon) {
        const char *effect = colon + 1;
        if (strchr(effect, ':'))
            return false;
        if (*effect && strcmp(effect, "NoSchedule") != 0 && strcmp(effect, "PreferNoSchedule") != 0 &&
            strcmp(effect, "NoExecute") != 0)
            return false;
    }
    const char *eq = memchr(s, '=', kv_len);
    if (eq && memchr(eq + 1, '=', kv_len - (size_t)(eq + 1 - s)))
        return false;
    size_t key_len = eq ? (size_t)(eq - s) : kv_len;
    if (!label_key_ok(s, key_len))
        return false;
    return !eq || label_value_ok(eq + 1, kv_len - key_len - 1);
}

bool vc__config_valid_dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && s[n - 1] != '-';
}

static bool valid_cidr(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || slash - s >= 64)
        return false;
    char addr[64];
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    unsigned char buf[16];
    int max;
    if (inet_pton(AF_INET, addr, buf) == 1)
        max = 32;
    else if (inet_pton(AF_INET6, addr, buf) == 1)
        max = 128;
    else
        return false;
    const char *p = slash + 1;
    if (!*p || strlen(p) > 3)
        return false;
    int bits = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        bits = bits * 10 + (*p - '0');
    }
    return bits <= max;
}

static bool valid_service_ref(const char *s)
{
    /* "name" or "namespace/name", each a DNS label */
    const char *slash = strchr(s, '/');
    if (slash && strchr(slash + 1, '/'))
        return false;
    char part[254];
    const char *parts[2] = { s, slash ? slash + 1 : NULL };
    size_t lens[2] = { slash ? (size_t)(slash - s) : strlen(s), slash ? strlen(slash + 1) : 0 };
    for (int i = 0; i < 2 && parts[i]; i++) {
        if (lens[i] == 0 || lens[i] > 63)
            return false;
        memcpy(part, parts[i], lens[i]);
        part[lens[i]] = '\0';
        if (strchr(part, '.') || !vc__config_valid_dns_subdomain(part))
            return false;
    }
    return true;
}

/* etcd client endpoints as the API server takes them (--etcd-servers):
 * comma-separated, each [http(s)://]host[:port] with a DNS name, an IPv4
 * address or a bracketed IPv6 address. */
static bool valid_etcd_endpoints(const char *s)
{
    for (const char *p = s;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char one[512];
        if (n == 0 || n >= sizeof one)
            return false;
        memcpy(one, p, n);
        one[n] = '\0';
        char *h = one;
        char *sch = strstr(one, "://");
        if (sch) {
            if (!vc__str_startswith(one, "http://") && !vc__str_startswith(one, "https://"))
                return false;
            h = sch + 3;
        }
        char *slash = strchr(h, '/');
        if (slash) {
            if (slash[1] != '\0')
                return false; /* no path */
            *slash = '\0';
        }
        char *port = NULL;
        if (*h == '[') {
            char *rb = strchr(h, ']');
            if (!rb || rb == h + 1)
                return false;
            port = rb[1] == ':' ? rb + 2 : NULL;
            if (rb[1] && rb[1] != ':')
                return false;
        } else {
            char *c = strchr(h, ':');
            if (c) {
                *c = '\0';
                port = c + 1;
            }
            if (!*h || !vc__config_valid_dns_subdomain(h))
                return false;
        }
        if (port) {
            long v = 0;
            if (!*port || strlen(port) > 5)
                return false;
            for (const char *d = port; *d; d++) {
                if (*d < '0' || *d > '9')
                    return false;
                v = v * 10 + (*d - '0');
            }
            if (v < 1 || v > 65535)
                return false;
        }
        if (!end)
            return true;
        p = end + 1;
    }
}

/* Check a string against a schema `extra` tag; NULL when fine, else the problem. */
static const char *check_string_extra(const char *extra, const char *s)
{
    if (!extra || !*s)
        return NULL;
    if (!strcmp(extra, "dns"))
        return vc__config_valid_dns_subdomain(s) ? NULL : "not a valid DNS name";
    if (!strcmp(extra, "quantity"))
        return vc__config_valid_quantity(s) ? NULL : "not a valid Kubernetes quantity (e.g. 5Gi, 500m)";
    if (!strcmp(extra, "cidr"))
        return valid_cidr(s) ? NULL : "not a valid CIDR (e.g. 10.0.0.0/8)";
    if (!strcmp(extra, "toleration"))
        return vc__config_valid_toleration(s) ? NULL
                                              : "not a valid toleration (key[=value][:NoSchedule|PreferNoSchedule|NoExecute] or *)";
    if (!strcmp(extra, "url"))
        return (vc__str_startswith(s, "https://") || vc__str_startswith(s, "http://"))
                   ? NULL
                   : "must be a URL starting with https:// or http://";
    if (!strcmp(extra, "etcd-endpoint"))
        return valid_etcd_endpoints(s) ? NULL
                                       : "not an etcd endpoint: host:port or http(s)://host:port, several separated "
                                         "by commas";
    if (!strcmp(extra, "secretkey")) {
        /* a Secret's data key: [-._a-zA-Z0-9]+, at most 253 */
        bool ok = strlen(s) <= 253 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
        for (const char *p = s; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                 *p == '_' || *p == '.';
        return ok ? NULL : "not a valid Secret key (letters, digits, '-', '_' and '.')";
    }
    if (!strcmp(extra, "datasource"))
        return (vc__str_startswith(s, "mysql://") || vc__str_startswith(s, "postgres://") ||
                vc__str_startswith(s, "postgresql://"))
                   ? NULL
                   : "must start with mysql://, postgres:// or postgresql://";
    return NULL;
}

/* ------------------------------------------------------------------ */
/* images                                                              */

json_t *vc__config_parse_image(const char *ref)
{
    size_t n = strlen(ref);
    if (n == 0 || n > 1024)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ref[i] <= ' ' || ref[i] == 0x7f)
            return NULL;
    const char *slash = strchr(ref, '/');
    const char *rest = ref;
    char *registry = NULL;
    if (slash) {
        size_t fl = (size_t)(slash - ref);
        if (memchr(ref, '.', fl) || memchr(ref, ':', fl) || (fl == 9 && !memcmp(ref, "localhost", 9))) {
            registry = vc__strndup(ref, fl);
            rest = slash + 1;
        }
    }
    if (!registry)
        registry = vc__strdup("");
    char *repo, *tag;
    const char *at = strchr(rest, '@');
    const char *last_slash = strrchr(rest, '/');
    const char *colon = strrchr(rest, ':');
    if (!at && colon && (!last_slash || colon > last_slash)) {
        repo = vc__strndup(rest, (size_t)(colon - rest));
        tag = vc__strdup(colon + 1);
    } else {
        /* no tag; digests stay in the repository: registry/repo@sha256:... */
        repo = vc__strdup(rest);
        tag = vc__strdup("");
    }
    json_t *o = NULL;
    if (registry && repo && tag && *repo && !(colon && !at && !*tag) && repo[strlen(repo) - 1] != '/')
        o = json_pack("{s:s, s:s, s:s}", "registry", registry, "repository", repo, "tag", tag);
    vc__free(registry);
    vc__free(repo);
    vc__free(tag);
    return o;
}

char *vc__config_image_ref(const vc_config *cfg, const vc__cfg_image *img)
{
    const char *reg = img->registry && *img->registry ? img->registry : NULL;
    if (!reg && cfg && cfg->values.control_plane.advanced.default_image_registry &&
        *cfg->values.control_plane.advanced.default_image_registry)
        reg = cfg->values.control_plane.advanced.default_image_registry;
    const char *repo = img->repository ? img->repository : "";
    const char *tag = img->tag ? img->tag : "";
    if (!*repo)
        return vc__strdup("");
    size_t rl = reg ? strlen(reg) : 0;
    while (rl > 0 && reg[rl - 1] == '/')
        rl--;
    return vc__sprintf("%.*s%s%s%s%s", (int)rl, reg ? reg : "", rl ? "/" : "", repo, *tag ? ":" : "", tag);
}

/* ------------------------------------------------------------------ */
/* type checks                                                         */

static int parse_range(const char *extra, long long *lo, long long *hi)
{
    *lo = INT32_MIN;
    *hi = INT32_MAX;
    if (!extra)
        return 0;
    char *end = NULL;
    *lo = strtoll(extra, &end, 10);
    if (end && end[0] == '.' && end[1] == '.')
        *hi = strtoll(end + 2, NULL, 10);
    return 0;
}

static bool enum_has(const char *extra, const char *s)
{
    size_t n = strlen(s);
    const char *p = extra;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, s, n))
            return true;
        if (!bar)
            return false;
        p = bar + 1;
    }
}

static void enum_list(const char *extra, char *buf, size_t n)
{
    size_t j = 0;
    const char *p = extra;
    bool first = true;
    while (j + 1 < n) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        int w = snprintf(buf + j, n - j, "%s%s%.*s%s", first ? "" : ", ", len ? "" : "\"", (int)len, p,
                         len ? "" : "\"");
        if (w < 0)
            break;
        j += (size_t)w;
        first = false;
        if (!bar)
            break;
        p = bar + 1;
    }
    buf[n - 1] = '\0';
}

#define GOT(v) (vc__cfg_describe((v), got, sizeof got), got)

static json_t *check_map(const vc__cfg_layer *L, int type, json_t *v, const char *path, const char *ptr)
{
    char got[96];
    if (!json_is_object(v)) {
        vc__cfg_errorf(L, ptr, path, "expected a mapping, got %s", GOT(v));
        return NULL;
    }
    json_t *out = json_object();
    if (!out) {
        vc__error_oom();
        return NULL;
    }
    const char *k;
    json_t *item;
    vc_buf cptr = VC_BUF_INIT;
    json_object_foreach(v, k, item) {
        json_t *nv = NULL;
        if (json_is_null(item)) {
            nv = json_null(); /* helm: null deletes the entry */
        } else if (json_is_string(item)) {
            if (type == VC__CT_QUANTITIES && !vc__config_valid_quantity(json_string_value(item))) {
                vc__buf_clear(&cptr);
                vc__buf_puts(&cptr, ptr);
                ptr_append(&cptr, k, strlen(k));
                vc__cfg_errorf(L, cptr.ptr, path, "%s: not a valid Kubernetes quantity, got %s", k, GOT(item));
                goto fail;
            }
            nv = json_incref(item);
        } else if (type == VC__CT_QUANTITIES && json_is_integer(item)) {
            nv = json_sprintf("%lld", (long long)json_integer_value(item));
        } else if (type == VC__CT_QUANTITIES && json_is_real(item)) {
            char num[64];
            snprintf(num, sizeof num, "%.15g", json_real_value(item));
            if (!vc__config_valid_quantity(num)) {
                vc__cfg_errorf(L, ptr, path, "%s: not a valid Kubernetes quantity, got %s", k, GOT(item));
                goto fail;
            }
            nv = json_string(num);
        } else {
            vc__buf_clear(&cptr);
            vc__buf_puts(&cptr, ptr);
            ptr_append(&cptr, k, strlen(k));
            vc__cfg_errorf(L, cptr.ptr, path, "%s: expected a %s, got %s", k,
                           type == VC__CT_QUANTITIES ? "quantity (e.g. 512Mi, 100m, 20)" : "string", GOT(item));
            goto fail;
        }
        if (!nv || json_object_set_new(out, k, nv) < 0) {
            vc__error_oom();
            goto fail;
        }
    }
    vc_buf_dispose(&cptr);
    return out;
fail:
    vc_buf_dispose(&cptr);
    json_decref(out);
    return NULL;
}

static json_t *check_str_list(const vc__cfg_layer *L, const char *extra, json_t *v, const char *path,
                              const char *ptr)
{
    char got[96];
    if (!json_is_array(v)) {
        vc__cfg_errorf(L, ptr, path, "expected a list of strings, got %s", GOT(v));
        return NULL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char *cptr = vc__sprintf("%s/%zu", ptr, i);
        if (!cptr) {
            vc__error_oom();
            return NULL;
        }
        if (!json_is_string(item)) {
            vc__cfg_errorf(L, cptr, path, "item %zu: expected a string, got %s", i, GOT(item));
            vc__free(cptr);
            return NULL;
        }
        const char *problem = check_string_extra(extra, json_string_value(item));
        if (problem) {
            vc__cfg_errorf(L, cptr, path, "item %zu: %s, got %s", i, problem, GOT(item));
            vc__free(cptr);
            return NULL;
        }
        vc__free(cptr);
    }
    return json_incref(v);
}

static json_t *check_svcmaps(const vc__cfg_layer *L, json_t *v, const char *path, const char *ptr)
{
    char got[96];
    if (!json_is_array(v)) {
        vc__cfg_errorf(L, ptr, path, "expected a list of {from, to}, got %s", GOT(v));
        return NULL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char *iptr = vc__sprintf("%s/%zu", ptr, i);
        char *ipath = vc__sprintf("%s[%zu]", path, i);
        bool ok = iptr && ipath;
        if (ok && !json_is_object(item)) {
            vc__cfg_errorf(L, iptr, ipath, "expected a mapping with from and to, got %s", GOT(item));
            ok = false;
        }
        const char *k;
        json_t *f;
        if (ok) {
            json_object_foreach(item, k, f) {
                char *fptr = vc__sprintf("%s/%s", iptr, k);
                if (strcmp(k, "from") != 0 && strcmp(k, "to") != 0) {
                    vc__cfg_errorf(L, fptr, ipath, "unknown key \"%s\" (expected from and to)", k);
                    ok = false;
                } else if (!json_is_string(f)) {
                    vc__cfg_errorf(L, fptr, ipath, "%s: expected a string, got %s", k, GOT(f));
                    ok = false;
                } else if (!valid_service_ref(json_string_value(f))) {
                    vc__cfg_errorf(L, fptr, ipath, "%s: expected NAMESPACE/NAME or NAME of a Service, got %s", k,
                                   GOT(f));
                    ok = false;
                }
                vc__free(fptr);
                if (!ok)
                    break;
            }
        }
        if (ok && (!json_object_get(item, "from") || !json_object_get(item, "to"))) {
            vc__cfg_errorf(L, iptr, ipath, "needs both from and to");
            ok = false;
        }
        if (ok && !strchr(json_string_value(json_object_get(item, "from")), '/')) {
            vc__cfg_errorf(L, iptr, ipath, "from: expected NAMESPACE/NAME, got %s",
                           GOT(json_object_get(item, "from")));
            ok = false;
        }
        vc__free(iptr);
        vc__free(ipath);
        if (!ok)
            return NULL;
    }
    return json_incref(v);
}

static json_t *check_image(const vc__cfg_layer *L, json_t *v, const char *path, const char *ptr)
{
    char got[96];
    if (json_is_string(v)) {
        json_t *o = vc__config_parse_image(json_string_value(v));
        if (!o)
            vc__cfg_errorf(L, ptr, path, "not a valid image reference, got %s", GOT(v));
        return o;
    }
    if (!json_is_object(v)) {
        vc__cfg_errorf(L, ptr, path, "expected an image ({registry, repository, tag} or \"repo:tag\"), got %s",
                       GOT(v));
        return NULL;
    }
    const char *k;
    json_t *f;
    json_object_foreach(v, k, f) {
        if (strcmp(k, "registry") != 0 && strcmp(k, "repository") != 0 && strcmp(k, "tag") != 0) {
            char *fptr = vc__sprintf("%s/%s", ptr, k);
            vc__cfg_errorf(L, fptr, path, "unknown key \"%s\" (expected registry, repository, tag)", k);
            vc__free(fptr);
            return NULL;
        }
        if (!json_is_string(f) && !json_is_null(f)) {
            char *fptr = vc__sprintf("%s/%s", ptr, k);
            vc__cfg_errorf(L, fptr, path, "%s: expected a string, got %s", k, GOT(f));
            vc__free(fptr);
            return NULL;
        }
    }
    return json_incref(v);
}

/* A label selector as Kubernetes takes it: matchLabels of valid label keys
 * and values; matchExpressions of {key, operator, values}, with values for
 * In/NotIn and none for Exists/DoesNotExist. */
static json_t *check_selector(const vc__cfg_layer *L, json_t *v, const char *path, const char *ptr)
{
    char got[96];
    if (!json_is_object(v)) {
        vc__cfg_errorf(L, ptr, path, "expected a label selector (matchLabels, matchExpressions), got %s", GOT(v));
        return NULL;
    }
    const char *k;
    json_t *f;
    char fptr[600];
    json_object_foreach(v, k, f) {
        snprintf(fptr, sizeof fptr, "%s/%s", ptr, k);
        if (json_is_null(f))
            continue;
        if (!strcmp(k, "matchLabels")) {
            json_t *m = check_map(L, VC__CT_STRMAP, f, path, fptr);
            if (!m)
                return NULL;
            json_decref(m);
            const char *lk;
            json_t *lv;
            json_object_foreach(f, lk, lv) {
                const char *sv = json_string_value(lv);
                if (!sv || !label_key_ok(lk, strlen(lk)) || !label_value_ok(sv, strlen(sv))) {
                    vc__cfg_errorf(L, fptr, path, "matchLabels: \"%s: %s\" is not a valid label", lk, sv ? sv : "null");
                    return NULL;
                }
            }
        } else if (!strcmp(k, "matchExpressions")) {
            if (!json_is_array(f)) {
                vc__cfg_errorf(L, fptr, path, "matchExpressions: expected a list, got %s", GOT(f));
                return NULL;
            }
            size_t i;
            json_t *e;
            json_array_foreach(f, i, e) {
                char eptr[640];
                snprintf(eptr, sizeof eptr, "%s/%zu", fptr, i);
                const char *key = json_string_value(json_object_get(e, "key"));
                const char *op = json_string_value(json_object_get(e, "operator"));
                json_t *vals = json_object_get(e, "values");
                bool set_op = op && (!strcmp(op, "In") || !strcmp(op, "NotIn"));
                bool exist_op = op && (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist"));
                const char *ek;
                json_t *ev;
                json_object_foreach(e, ek, ev) {
                    if (strcmp(ek, "key") != 0 && strcmp(ek, "operator") != 0 && strcmp(ek, "values") != 0) {
                        vc__cfg_errorf(L, eptr, path, "matchExpressions: unknown key \"%s\" (expected key, operator, values)", ek);
                        return NULL;
                    }
                }
                if (!json_is_object(e) || !key || !label_key_ok(key, strlen(key))) {
                    vc__cfg_errorf(L, eptr, path, "matchExpressions: each needs a valid label key");
                    return NULL;
                }
                if (!set_op && !exist_op) {
                    vc__cfg_errorf(L, eptr, path, "matchExpressions: operator must be In, NotIn, Exists or DoesNotExist, got %s",
                                   op ? op : "nothing");
                    return NULL;
                }
                if ((set_op && json_array_size(vals) == 0) || (exist_op && json_array_size(vals) > 0) ||
                    (vals && !json_is_null(vals) && !json_is_array(vals))) {
                    vc__cfg_errorf(L, eptr, path, "matchExpressions: %s needs %s", op,
                                   set_op ? "a non-empty list of values" : "no values");
                    return NULL;
                }
                size_t j;
                json_t *x;
                json_array_foreach(vals, j, x) {
                    if (!json_is_string(x) || !label_value_ok(json_string_value(x), strlen(json_string_value(x)))) {
                        vc__cfg_errorf(L, eptr, path, "matchExpressions: values must be valid label values");
                        return NULL;
                    }
                }
            }
        } else {
            vc__cfg_errorf(L, fptr, path, "unknown key \"%s\" (expected matchLabels, matchExpressions)", k);
            return NULL;
        }
    }
    return json_incref(v);
}

json_t *vc__cfg_check(const vc__cfg_layer *L, int type, const char *extra, json_t *v, const char *path,
                      const char *ptr)
{
    char got[96];
    if (json_is_null(v))
        return json_null(); /* reset to the default */
    switch (type) {
    case VC__CT_BOOL:
        if (json_is_boolean(v))
            return json_incref(v);
        vc__cfg_errorf(L, ptr, path, "expected a boolean, got %s", GOT(v));
        return NULL;
    case VC__CT_INT: {
        long long x;
        if (json_is_integer(v)) {
            x = (long long)json_integer_value(v);
        } else if (json_is_real(v) && json_real_value(v) > -1e15 && json_real_value(v) < 1e15 &&
                   json_real_value(v) == (double)(long long)json_real_value(v)) {
            x = (long long)json_real_value(v);
        } else {
            vc__cfg_errorf(L, ptr, path, "expected an integer, got %s", GOT(v));
            return NULL;
        }
        long long lo, hi;
        parse_range(extra, &lo, &hi);
        if (x < lo || x > hi) {
            if (hi == INT32_MAX)
                vc__cfg_errorf(L, ptr, path, "must be at least %lld, got %lld", lo, x);
            else
                vc__cfg_errorf(L, ptr, path, "must be between %lld and %lld, got %lld", lo, hi, x);
            return NULL;
        }
        return json_integer(x);
    }
    case VC__CT_STR: {
        if (extra && !strcmp(extra, "quantity") && (json_is_integer(v) || json_is_real(v))) {
            char num[64];
            if (json_is_integer(v))
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            else
                snprintf(num, sizeof num, "%.15g", json_real_value(v));
            return json_string(num);
        }
        if (!json_is_string(v)) {
            if (json_is_number(v) || json_is_boolean(v))
                vc__cfg_errorf(L, ptr, path, "expected a string, got %s (quote it to mean the text)", GOT(v));
            else
                vc__cfg_errorf(L, ptr, path, "expected a string, got %s", GOT(v));
            return NULL;
        }
        const char *problem = check_string_extra(extra, json_string_value(v));
        if (problem) {
            vc__cfg_errorf(L, ptr, path, "%s, got %s", problem, GOT(v));
            return NULL;
        }
        return json_incref(v);
    }
    case VC__CT_ENUM:
        if (json_is_string(v) && enum_has(extra, json_string_value(v)))
            return json_incref(v);
        {
            char choices[200];
            enum_list(extra, choices, sizeof choices);
            vc__cfg_errorf(L, ptr, path, "expected one of %s, got %s", choices, GOT(v));
        }
        return NULL;
    case VC__CT_STRBOOL:
        if (json_is_boolean(v))
            return json_incref(v);
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            if (!strcmp(s, "true"))
                return json_true();
            if (!strcmp(s, "false"))
                return json_false();
            if (!strcmp(s, "auto"))
                return json_incref(v);
        }
        vc__cfg_errorf(L, ptr, path, "expected true, false or \"auto\", got %s", GOT(v));
        return NULL;
    case VC__CT_IMAGE:
        return check_image(L, v, path, ptr);
    case VC__CT_STRLIST:
        return check_str_list(L, extra, v, path, ptr);
    case VC__CT_STRMAP:
    case VC__CT_QUANTITIES:
        return check_map(L, type, v, path, ptr);
    case VC__CT_RESOURCES: {
        if (!json_is_object(v)) {
            vc__cfg_errorf(L, ptr, path, "expected a mapping with limits and requests, got %s", GOT(v));
            return NULL;
        }
        json_t *out = json_object();
        if (!out) {
            vc__error_oom();
            return NULL;
        }
        const char *k;
        json_t *f;
        json_object_foreach(v, k, f) {
            char *fptr = vc__sprintf("%s/%s", ptr, k);
            char *fpath = vc__sprintf("%s.%s", path, k);
            json_t *nv = NULL;
            if (!fptr || !fpath)
                vc__error_oom();
            else if (strcmp(k, "limits") != 0 && strcmp(k, "requests") != 0)
                vc__cfg_errorf(L, fptr, path, "unknown key \"%s\" (expected limits, requests)", k);
            else
                nv = json_is_null(f) ? json_null() : check_map(L, VC__CT_QUANTITIES, f, fpath, fptr);
            vc__free(fptr);
            vc__free(fpath);
            if (!nv) { /* the error is set */
                json_decref(out);
                return NULL;
            }
            if (json_object_set_new(out, k, nv) < 0) {
                json_decref(out);
                vc__error_oom();
                return NULL;
            }
        }
        return out;
    }
    case VC__CT_SVCMAPS:
        return check_svcmaps(L, v, path, ptr);
    case VC__CT_OBJECT:
        if (json_is_object(v))
            return json_incref(v);
        vc__cfg_errorf(L, ptr, path, "expected a mapping, got %s", GOT(v));
        return NULL;
    case VC__CT_SELECTOR:
        return check_selector(L, v, path, ptr);
    case VC__CT_LIST:
        if (json_is_array(v))
            return json_incref(v);
        vc__cfg_errorf(L, ptr, path, "expected a list, got %s", GOT(v));
        return NULL;
    default:
        vc__cfg_errorf(L, ptr, path, "unsupported key");
        return NULL;
    }
}

