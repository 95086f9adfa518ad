/* A LabelSelector ({matchLabels, matchExpressions}) as a labelSelector
 * query string: what the syncer's host informers list with (storage.c), and
 * what config validation checks a `selector` key with. */
#include <string.h>

#include "config/config.h"
#include "translate/translate.h"

static int sel_bad(const char *key, const char *what)
{
    return key ? vc__error(VC_EINVAL, VC_ERRCLASS_CONFIG, "%s: %s", key, what)
               : vc__error(VC_EINVAL, VC_ERRCLASS_CONFIG, "%s", what);
}

int vc__config_label_selector(const json_t *sel, const char *key, char **out)
{
    *out = NULL;
    if (!sel || json_is_null(sel))
        return VC_OK;
    if (!json_is_object(sel))
        return sel_bad(key, "must be an object with matchLabels and/or matchExpressions");
    vc_buf b = VC_BUF_INIT;
    int rc = VC_OK;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)sel, k, val) {
        if (strcmp(k, "matchLabels") != 0 && strcmp(k, "matchExpressions") != 0) {
            rc = vc__error(VC_EINVAL, VC_ERRCLASS_CONFIG, "%s%s%s: unknown field (matchLabels, matchExpressions)",
                           key ? key : "", key ? "." : "", k);
            goto out;
        }
    }
    json_t *ml = json_object_get(sel, "matchLabels");
    if (ml && !json_is_object(ml) && !json_is_null(ml)) {
        rc = sel_bad(key, "matchLabels must be an object of strings");
        goto out;
    }
    json_object_foreach(ml, k, val) {
        if (!json_is_string(val)) {
            rc = sel_bad(key, "matchLabels must be an object of strings");
            goto out;
        }
        if ((b.size && vc__buf_puts(&b, ",") < 0) || vc__buf_puts(&b, k) < 0 || vc__buf_puts(&b, "=") < 0 ||
            vc__buf_puts(&b, json_string_value(val)) < 0) {
            rc = VC_ENOMEM;
            goto out;
        }
    }
    json_t *me = json_object_get(sel, "matchExpressions");
    if (me && !json_is_array(me) && !json_is_null(me)) {
        rc = sel_bad(key, "matchExpressions must be a list");
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(me, i, e) {
        const char *ek = vc__jstr(e, "key"), *op = vc__jstr(e, "operator");
        json_t *vals = json_object_get(e, "values");
        bool set_op = vc__streq(op, "In") || vc__streq(op, "NotIn");
        bool exist_op = vc__streq(op, "Exists") || vc__streq(op, "DoesNotExist");
        if (!ek || !*ek || (!set_op && !exist_op)) {
            rc = sel_bad(key, "matchExpressions: each needs a key and an operator In, NotIn, Exists or DoesNotExist");
            goto out;
        }
        if (set_op != (json_is_array(vals) && json_array_size(vals) > 0)) {
            rc = sel_bad(key, "matchExpressions: In and NotIn need values, Exists and DoesNotExist take none");
            goto out;
        }
        if (b.size && vc__buf_puts(&b, ",") < 0) {
            rc = VC_ENOMEM;
            goto out;
        }
        if (exist_op) {
            if ((vc__streq(op, "DoesNotExist") && vc__buf_puts(&b, "!") < 0) || vc__buf_puts(&b, ek) < 0)
                rc = VC_ENOMEM;
        } else if (vc__buf_puts(&b, ek) < 0 || vc__buf_puts(&b, vc__streq(op, "In") ? " in (" : " notin (") < 0) {
            rc = VC_ENOMEM;
        }
        size_t j;
        json_t *v;
        json_array_foreach(set_op ? vals : NULL, j, v) {
            if (rc == VC_OK && !json_is_string(v))
                rc = sel_bad(key, "matchExpressions: values must be strings");
            if (rc == VC_OK && ((j && vc__buf_puts(&b, ",") < 0) || vc__buf_puts(&b, json_string_value(v)) < 0))
                rc = VC_ENOMEM;
        }
        if (rc == VC_OK && set_op && vc__buf_puts(&b, ")") < 0)
            rc = VC_ENOMEM;
        if (rc < 0)
            goto out;
    }
    if (b.size) {
        *out = b.ptr;
        return VC_OK;
    }
out:
    if (rc == VC_ENOMEM)
        rc = vc__error_oom();
    vc_buf_dispose(&b);
    return rc;
}

