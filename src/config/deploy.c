/* experimental.deploy: the manifests a virtual cluster applies after it
 * starts (into itself, and into its host namespace), as upstream's deploy
 * controller does. Pure: rendering and parsing; the syncer applies them
 * (src/sync/deploy.c).
 *
 * manifestsTemplate is a Go template in upstream; the actions a values file
 * uses there are {{ .Release.Name }}, {{ .Release.Namespace }} and
 * {{ .Values.a.b }} (with the {{- -}} trims). Those are rendered here; any
 * other action is an error naming its line and column, never copied
 * through. */
#include <ctype.h>
#include <string.h>

#include "config/config.h"
#include "util/yaml.h"

/* 1-based line and column of p in text. */
static void position(const char *text, const char *p, int *line, int *col)
{
    int l = 1, c = 1;
    for (const char *q = text; q < p && *q; q++) {
        if (*q == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int tpl_fail(char *err, size_t cap, const char *text, const char *at, const char *msg)
{
    int line, col;
    position(text, at, &line, &col);
    snprintf(err, cap, "line %d column %d of the template: %s", line, col, msg);
    return VC_ECONFIG;
}

/* The value at ".Values.a.b" in the effective config: scalars only. */
static int values_scalar(vc_buf *out, const json_t *values, const char *path, size_t n)
{
    const json_t *cur = values;
    const char *p = path;
    const char *end = path + n;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
        char key[128];
        if (len == 0 || len >= sizeof key)
            return VC_EINVAL;
        memcpy(key, p, len);
        key[len] = '\0';
        cur = json_object_get(cur, key);
        if (!cur)
            return VC_ENOTFOUND;
        p += len + (dot ? 1 : 0);
        if (!dot)
            break;
    }
    char num[64];
    switch (json_typeof(cur)) {
    case JSON_STRING:
        return vc__buf_put(out, json_string_value(cur), json_string_length(cur));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(cur));
        return vc__buf_puts(out, num);
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(cur));
        return vc__buf_puts(out, num);
    case JSON_TRUE:
        return vc__buf_puts(out, "true");
    case JSON_FALSE:
        return vc__buf_puts(out, "false");
    default:
        return VC_EINVAL; /* objects, lists, null: no text form */
    }
}

int vc__deploy_render(vc_buf *out, const char *tpl, const char *release_name, const char *release_ns,
                      const json_t *values, char *err, size_t errcap)
{
    const char *p = tpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open)
            return vc__buf_puts(out, p) < 0 ? VC_ENOMEM : VC_OK;
        const char *text_end = open;
        const char *a = open + 2;
        if (*a == '-') { /* {{- trims the whitespace before */
            a++;
            while (text_end > p && isspace((unsigned char)text_end[-1]))
                text_end--;
        }
        if (vc__buf_put(out, p, (size_t)(text_end - p)) < 0)
            return VC_ENOMEM;
        const char *close = strstr(a, "}}");
        if (!close)
            return tpl_fail(err, errcap, tpl, open, "\"{{\" without \"}}\"");
        const char *b = close;
        bool trim_after = b > a && b[-1] == '-' && (b - 1 == a || isspace((unsigned char)b[-2]));
        if (trim_after)
            b--;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        size_t n = (size_t)(b - a);
        char msg[300];
        int an = (int)(n < 150 ? n : 150);
        int rc;
        if (n == 13 && !memcmp(a, ".Release.Name", 13)) {
            rc = vc__buf_puts(out, release_name);
        } else if (n == 18 && !memcmp(a, ".Release.Namespace", 18)) {
            rc = vc__buf_puts(out, release_ns);
        } else if (n > 8 && !memcmp(a, ".Values.", 8)) {
            rc = values_scalar(out, values, a + 8, n - 8);
            if (rc == VC_ENOTFOUND || rc == VC_EINVAL) {
                snprintf(msg, sizeof msg, "{{ %.*s }}: %s", an, a,
                         rc == VC_ENOTFOUND ? "no such value" : "not a string, number or boolean");
                return tpl_fail(err, errcap, tpl, open, msg);
            }
        } else {
            snprintf(msg, sizeof msg,
                     "{{ %.*s }}: unsupported template action (supported: .Release.Name, .Release.Namespace, "
                     ".Values.<path>)",
                     an, a);
            return tpl_fail(err, errcap, tpl, open, msg);
        }
        if (rc < 0)
            return VC_ENOMEM;
        p = close + 2;
        if (trim_after)
            while (isspace((unsigned char)*p))
                p++;
    }
    return VC_OK;
}

int vc__deploy_parse(json_t **out, const char *text, char *err, size_t errcap)
{
    *out = NULL;
    json_t *docs = NULL;
    int rc = vc__yaml_parse(text, strlen(text), NULL, &docs, NULL);
    if (rc == VC_ENOMEM)
        return rc;
    if (rc < 0) {
        snprintf(err, errcap, "%s", vc_error_last()->message);
        vc_error_clear();
        return VC_ECONFIG;
    }
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        if (json_is_null(d))
            continue;
        const char *what = !json_is_object(d)                                  ? "is not a mapping"
                           : !json_is_string(json_object_get(d, "apiVersion")) ? "has no apiVersion"
                           : !json_is_string(json_object_get(d, "kind"))       ? "has no kind"
                           : !json_is_string(json_object_get(json_object_get(d, "metadata"), "name"))
                               ? "has no metadata.name"
                               : NULL;
        if (what) {
            snprintf(err, errcap, "document %zu %s (each document is one Kubernetes object)", i + 1, what);
            json_decref(docs);
            return VC_ECONFIG;
        }
    }
    /* drop empty documents */
    json_t *objs = json_array();
    if (!objs) {
        json_decref(docs);
        return VC_ENOMEM;
    }
    json_array_foreach(docs, i, d) {
        if (json_is_object(d) && json_array_append(objs, d) < 0) {
            json_decref(docs);
            json_decref(objs);
            return VC_ENOMEM;
        }
    }
    json_decref(docs);
    *out = objs;
    return VC_OK;
}
