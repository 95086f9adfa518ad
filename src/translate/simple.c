/* Kinds whose translation is a line or two beyond host metadata: Secrets,
 * ServiceAccounts, PriorityClasses, PodDisruptionBudgets. (ConfigMaps and
 * StorageClasses need only metadata.) */
#include "translate/translate.h"

int vc__secret_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    /* the host must not treat it as a token for one of *its* accounts */
    if (vc__streq(vc__jstr(obj, "type"), "kubernetes.io/service-account-token"))
        return vc__set_str(obj, "type", "Opaque");
    return VC_OK;
}

int vc__serviceaccount_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    json_object_del(obj, "secrets");
    json_object_del(obj, "imagePullSecrets");
    return json_object_set_new_nocheck(obj, "automountServiceAccountToken", json_false()) == 0 ? VC_OK
                                                                                               : vc__error_oom();
}

int vc__priorityclass_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    json_object_del(obj, "globalDefault");
    json_t *v = json_object_get(obj, "value");
    if (v && !json_is_integer(v))
        return vc__bad(c, "must be an integer", "/value");
    if (json_integer_value(v) > 1000000000)
        return json_object_set_new_nocheck(obj, "value", json_integer(1000000000)) == 0 ? VC_OK : vc__error_oom();
    return VC_OK;
}

int vc__pdb_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    json_t *spec = json_object_get(obj, "spec");
    if (!spec)
        return VC_OK;
    if (!json_is_object(spec))
        return vc__bad(c, "must be an object", "/spec");
    json_t *hs = NULL;
    if ((rc = vc__host_selector(c, json_object_get(spec, "selector"), "/spec/selector", false, &hs)) < 0)
        return rc;
    if (!hs) {
        json_object_del(spec, "selector"); /* null: selects nothing */
        return VC_OK;
    }
    json_object_set_new_nocheck(spec, "selector", hs);
    /* Unlike upstream, the selector is pinned to this virtual namespace's
     * pods of this cluster (as NetworkPolicies are): on the host it would
     * otherwise also cover the host namespace's other pods, the control
     * plane's own included, and block their eviction. */
    if ((rc = vc__selector_pin(hs, VC__L_NAMESPACE, json_string(c->vns))) < 0 ||
        (rc = vc__selector_pin(hs, VC__L_MARKER, json_incref(c->t->s_name))) < 0)
        return rc;
    return VC_OK;
}
