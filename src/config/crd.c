/* sync.toHost.customResources / sync.fromHost.customResources: a mapping of
 * "<resource>.<group>[/<version>]" to {enabled, scope, patches, mappings}
 * (upstream's SyncToHostCustomResource / SyncFromHostCustomResource). Every
 * entry and sub-key is checked here at load time; what libvcluster cannot do
 * (patches, a cluster-scoped toHost kind, mapping forms other than the two
 * below) is an error naming the entry, never a silent ignore. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

static bool dns_label(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

int vc__cfg_cr_key(const char *key, vc__cfg_cr *out)
{
    memset(out, 0, sizeof *out);
    const char *slash = strchr(key, '/');
    size_t rg = slash ? (size_t)(slash - key) : strlen(key);
    const char *dot = memchr(key, '.', rg);
    if (!dot || rg >= sizeof out->group || (slash && strlen(slash + 1) >= sizeof out->version))
        return -1;
    size_t rl = (size_t)(dot - key);
    if (!dns_label(key, rl))
        return -1;
    memcpy(out->resource, key, rl);
    memcpy(out->group, dot + 1, rg - rl - 1);
    /* the group: dot-separated labels, at least two (a CRD's group has a dot) */
    const char *g = out->group;
    if (!strchr(g, '.'))
        return -1;
    for (const char *p = g; *p;) {
        const char *e = strchr(p, '.');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!dns_label(p, n))
            return -1;
        p = e ? e + 1 : p + n;
    }
    if (slash) {
        if (!dns_label(slash + 1, strlen(slash + 1)))
            return -1;
        strcpy(out->version, slash + 1);
    }
    return 0;
}

/* hostNs/ANY -> virtualNs/ANY (ANY is the wildcard star), or hostNs/name -> virtualNs/name */
static bool mapping_ok(const char *from, const char *to)
{
    const char *fs = strchr(from, '/'), *ts = strchr(to, '/');
    if (!fs || !ts || strchr(fs + 1, '/') || strchr(ts + 1, '/'))
        return false;
    if (!dns_label(from, (size_t)(fs - from)) || !dns_label(to, (size_t)(ts - to)))
        return false;
    bool fw = strcmp(fs + 1, "*") == 0, tw = strcmp(ts + 1, "*") == 0;
    if (fw || tw)
        return fw && tw;
    return *(fs + 1) && *(ts + 1);
}

#define FAIL(...) (snprintf(msg, mcap, __VA_ARGS__), -1)

static int check_one(const char *key, const json_t *e, bool from_host, char *msg, size_t mcap)
{
    vc__cfg_cr cr;
    if (vc__cfg_cr_key(key, &cr) < 0)
        return FAIL("\"%s\": expected <resource>.<group> or <resource>.<group>/<version> of a custom resource "
                    "(e.g. certificates.cert-manager.io)",
                    key);
    if (!json_is_object(e))
        return FAIL("\"%s\": expected a mapping ({enabled: true, ...})", key);
    const char *k;
    json_t *v;
    const char *scope = NULL;
    json_t *mappings = NULL;
    json_object_foreach((json_t *)e, k, v) {
        if (!strcmp(k, "enabled")) {
            if (!json_is_boolean(v))
                return FAIL("\"%s\".enabled: expected a boolean", key);
        } else if (!strcmp(k, "scope")) {
            if (!json_is_string(v))
                return FAIL("\"%s\".scope: expected a string", key);
            scope = json_string_value(v);
            if (!from_host && *scope && strcmp(scope, "Namespaced") != 0)
                return FAIL("\"%s\".scope: only Namespaced is supported for sync.toHost.customResources, got %s", key,
                            scope);
            if (from_host && strcmp(scope, "Namespaced") != 0 && strcmp(scope, "Cluster") != 0)
                return FAIL("\"%s\".scope: must be Cluster or Namespaced, got \"%s\"", key, scope);
        } else if (!strcmp(k, "patches")) {
            if (!json_is_null(v) && json_array_size(v) > 0)
                return FAIL("\"%s\".patches: translation patches are not supported by libvcluster", key);
            if (!json_is_null(v) && !json_is_array(v))
                return FAIL("\"%s\".patches: expected a list", key);
        } else if (from_host && !strcmp(k, "mappings")) {
            if (!json_is_object(v))
                return FAIL("\"%s\".mappings: expected a mapping", key);
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv) {
                if (strcmp(mk, "byName") != 0)
                    return FAIL("\"%s\".mappings.%s: unknown key (only byName)", key, mk);
                if (!json_is_object(mv))
                    return FAIL("\"%s\".mappings.byName: expected a mapping", key);
                mappings = mv;
            }
        } else {
            return FAIL("\"%s\".%s: unknown key (%s)", key, k,
                        from_host ? "enabled, scope, patches, mappings" : "enabled, scope, patches");
        }
    }
    if (!from_host)
        return 0;
    if (!scope || !*scope)
        return FAIL("\"%s\".scope: required (Cluster or Namespaced)", key);
    bool ns = !strcmp(scope, "Namespaced");
    if (!ns && json_object_size(mappings) > 0)
        return FAIL("\"%s\".mappings: only for scope Namespaced", key);
    if (ns && json_object_size(mappings) == 0)
        return FAIL("\"%s\".mappings.byName: required for scope Namespaced (\"host-ns/*\": \"virtual-ns/*\")", key);
    const char *mk;
    json_t *mv;
    json_object_foreach(mappings, mk, mv) {
        if (!json_is_string(mv) || !mapping_ok(mk, json_string_value(mv)))
            return FAIL("\"%s\".mappings.byName.\"%s\": expected \"host-ns/*\": \"virtual-ns/*\" or "
                        "\"host-ns/name\": \"virtual-ns/name\"",
                        key, mk);
    }
    return 0;
}

int vc__cfg_custom_resources_check(const json_t *to_host, const json_t *from_host, bool *out_from, char *msg,
                                   size_t mcap)
{
    const char *k;
    json_t *v;
    *out_from = false;
    json_object_foreach((json_t *)to_host, k, v) {
        if (check_one(k, v, false, msg, mcap) < 0)
            return -1;
    }
    *out_from = true;
    json_object_foreach((json_t *)from_host, k, v) {
        if (check_one(k, v, true, msg, mcap) < 0)
            return -1;
        /* one direction per resource (upstream refuses the same) */
        vc__cfg_cr a;
        vc__cfg_cr_key(k, &a);
        const char *k2;
        json_t *v2;
        json_object_foreach((json_t *)to_host, k2, v2) {
            vc__cfg_cr b;
            if (vc__cfg_cr_key(k2, &b) == 0 && !strcmp(a.resource, b.resource) && !strcmp(a.group, b.group) &&
                json_is_true(json_object_get(v, "enabled")) && json_is_true(json_object_get(v2, "enabled")))
                return FAIL("\"%s\": also in sync.toHost.customResources: choose one direction", k);
        }
    }
    return 0;
}
