/* Pod Security Standards as Kubernetes' PodSecurity admission evaluates them
 * at version "latest" (v1.37): the baseline checks, and for restricted the
 * baseline checks plus the restricted ones. Pure; the syncer refuses a pod
 * that fails before it reaches the host (policies.podSecurityStandard), as
 * upstream vcluster does with the same evaluator.
 *
 * Each failed check adds "reason (detail)" to the message; the wording of
 * reasons and details follows the admission plugin's, so a tenant sees the
 * same explanation from the syncer as from an API server. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "translate/translate.h"

typedef struct pss {
    const json_t *meta, *spec;
    bool windows;          /* spec.os.name: windows (some restricted checks do not apply) */
    bool userns;           /* spec.hostUsers: false (some checks are relaxed) */
    vc_buf out;            /* "reason (detail), reason (detail)" */
    size_t n;
    bool oom;
} pss;

/* ---- small string lists ---- */

typedef struct slist {
    json_t *a;             /* array of strings */
} slist;

static void sl_add(pss *p, slist *l, const char *s, bool unique)
{
    if (!l->a && !(l->a = json_array())) {
        p->oom = true;
        return;
    }
    if (unique) {
        size_t i;
        json_t *v;
        json_array_foreach(l->a, i, v) {
            if (vc__streq(json_string_value(v), s))
                return;
        }
    }
    if (json_array_append_new(l->a, json_string(s ? s : "")) < 0)
        p->oom = true;
}

static size_t sl_len(const slist *l)
{
    return l->a ? json_array_size(l->a) : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's %q for the values of annotations: quotes, backslashes and control
 * characters escaped, the rest (UTF-8 included) as is. */
static int go_q(vc_buf *b, const char *s)
{
    if (vc__buf_puts(b, "\"") < 0)
        return VC_ENOMEM;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int rc;
        if (*p == '"' || *p == '\\')
            rc = vc__buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            rc = vc__buf_puts(b, "\\n");
        else if (*p == '\t')
            rc = vc__buf_puts(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            rc = vc__buf_printf(b, "\\x%02x", *p);
        else
            rc = vc__buf_put(b, p, 1);
        if (rc < 0)
            return VC_ENOMEM;
    }
    return vc__buf_puts(b, "\"");
}

/* `"a", "b"` (quoted as the plugin does: in quotes, not escaped), sorted
 * when asked. */
static void sl_join(pss *p, vc_buf *b, const slist *l, bool sorted, bool quoted)
{
    size_t n = sl_len(l);
    if (!n)
        return;
    const char **v = vc__calloc(n, sizeof(*v));
    if (!v) {
        p->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(l->a, i));
    if (sorted)
        qsort(v, n, sizeof(*v), cmp_str);
    for (size_t i = 0; i < n && !p->oom; i++) {
        if (i && vc__buf_puts(b, ", ") < 0)
            p->oom = true;
        if ((quoted && vc__buf_puts(b, "\"") < 0) || vc__buf_puts(b, v[i]) < 0 ||
            (quoted && vc__buf_puts(b, "\"") < 0))
            p->oom = true;
    }
    vc__free(v);
}

static void sl_free(slist *l)
{
    json_decref(l->a);
    l->a = NULL;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Add one violation; `detail` is consumed (a vc_buf's string). */
static void violation(pss *p, const char *reason, vc_buf *detail)
{
    if (p->oom || (p->n && vc__buf_puts(&p->out, ", ") < 0) || vc__buf_puts(&p->out, reason) < 0 ||
        vc__buf_printf(&p->out, " (%s)", detail->ptr ? detail->ptr : "") < 0)
        p->oom = true;
    p->n++;
    vc_buf_dispose(detail);
}

/* "containers \"a\", \"b\"" into b */
static void who(pss *p, vc_buf *b, const slist *containers)
{
    if (vc__buf_printf(b, "%s ", plural(sl_len(containers), "container", "containers")) < 0)
        p->oom = true;
    sl_join(p, b, containers, false, true);
}

/* "pod and containers \"a\"" into b: setters is "pod" or not, plus containers */
static void setters(pss *p, vc_buf *b, bool pod, const slist *containers)
{
    if (pod && vc__buf_puts(b, "pod") < 0)
        p->oom = true;
    if (sl_len(containers)) {
        if (pod && vc__buf_puts(b, " and ") < 0)
            p->oom = true;
        who(p, b, containers);
    }
}

/* ---- field access ---- */

static bool jtrue(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

static const json_t *sc_of(const json_t *o)
{
    return vc__jobj(o, "securityContext");
}

typedef void (*ctr_fn)(pss *p, const json_t *c, const char *name, void *ud);

/* Init containers, containers, ephemeral containers (the plugin's order). */
static void each_container(pss *p, ctr_fn fn, void *ud)
{
    static const char *const lists[] = { "initContainers", "containers", "ephemeralContainers" };
    for (size_t l = 0; l < VC__ARRAY_LEN(lists); l++) {
        size_t i;
        json_t *c;
        VC__ARRAY_FOREACH(vc__jarr(p->spec, lists[l]), i, c) {
            if (json_is_object(c))
                fn(p, c, vc__jstr(c, "name") ? vc__jstr(c, "name") : "", ud);
        }
    }
}

/* ---- baseline ---- */

static void c_host_process(pss *p, const json_t *c, const char *name, void *ud)
{
    if (jtrue(vc__jobj(sc_of(c), "windowsOptions"), "hostProcess"))
        sl_add(p, ud, name, false);
}

static void check_host_process(pss *p)
{
    bool pod = jtrue(vc__jobj(sc_of(p->spec), "windowsOptions"), "hostProcess");
    slist bad = { 0 };
    each_container(p, c_host_process, &bad);
    if (pod || sl_len(&bad)) {
        vc_buf d = VC_BUF_INIT;
        setters(p, &d, pod, &bad);
        if (vc__buf_puts(&d, " must not set securityContext.windowsOptions.hostProcess=true") < 0)
            p->oom = true;
        violation(p, "hostProcess", &d);
    }
    sl_free(&bad);
}

static void check_host_namespaces(pss *p)
{
    static const char *const keys[] = { "hostNetwork", "hostPID", "hostIPC" };
    vc_buf d = VC_BUF_INIT;
    for (size_t i = 0; i < VC__ARRAY_LEN(keys); i++) {
        if (jtrue(p->spec, keys[i]) && vc__buf_printf(&d, "%s%s=true", d.size ? ", " : "", keys[i]) < 0)
            p->oom = true;
    }
    if (d.size)
        violation(p, "host namespaces", &d);
    vc_buf_dispose(&d);
}

static void c_privileged(pss *p, const json_t *c, const char *name, void *ud)
{
    if (jtrue(sc_of(c), "privileged"))
        sl_add(p, ud, name, false);
}

static void check_privileged(pss *p)
{
    slist bad = { 0 };
    each_container(p, c_privileged, &bad);
    if (sl_len(&bad)) {
        vc_buf d = VC_BUF_INIT;
        who(p, &d, &bad);
        if (vc__buf_puts(&d, " must not set securityContext.privileged=true") < 0)
            p->oom = true;
        violation(p, "privileged", &d);
    }
    sl_free(&bad);
}

typedef struct caps_ud {
    slist containers, values;
    bool restricted;
} caps_ud;

static bool cap_baseline_ok(const char *cap)
{
    static const char *const ok[] = { "AUDIT_WRITE", "CHOWN",  "DAC_OVERRIDE", "FOWNER", "FSETID",
                                      "KILL",        "MKNOD",  "NET_BIND_SERVICE", "SETFCAP", "SETGID",
                                      "SETPCAP",     "SETUID", "SYS_CHROOT" };
    for (size_t i = 0; i < VC__ARRAY_LEN(ok); i++) {
        if (vc__streq(cap, ok[i]))
            return true;
    }
    return false;
}

static void c_caps_add(pss *p, const json_t *c, const char *name, void *ud)
{
    caps_ud *u = ud;
    bool bad = false;
    size_t i;
    json_t *v;
    VC__ARRAY_FOREACH(vc__jarr(vc__jobj(sc_of(c), "capabilities"), "add"), i, v) {
        const char *cap = json_string_value(v);
        bool ok = u->restricted ? vc__streq(cap, "NET_BIND_SERVICE") : cap_baseline_ok(cap);
        if (!ok) {
            bad = true;
            sl_add(p, &u->values, cap ? cap : "", true);
        }
    }
    if (bad)
        sl_add(p, &u->containers, name, false);
}

static void caps_add_detail(pss *p, vc_buf *d, caps_ud *u)
{
    who(p, d, &u->containers);
    if (vc__buf_puts(d, " must not include ") < 0)
        p->oom = true;
    sl_join(p, d, &u->values, true, true);
    if (vc__buf_puts(d, " in securityContext.capabilities.add") < 0)
        p->oom = true;
}

static void check_caps_baseline(pss *p)
{
    caps_ud u = { .restricted = false };
    each_container(p, c_caps_add, &u);
    if (sl_len(&u.containers)) {
        vc_buf d = VC_BUF_INIT;
        caps_add_detail(p, &d, &u);
        violation(p, "non-default capabilities", &d);
    }
    sl_free(&u.containers);
    sl_free(&u.values);
}

static void check_host_path(pss *p)
{
    slist bad = { 0 };
    size_t i;
    json_t *v;
    VC__ARRAY_FOREACH(vc__jarr(p->spec, "volumes"), i, v) {
        if (json_object_get(v, "hostPath"))
            sl_add(p, &bad, vc__jstr(v, "name"), false);
    }
    if (sl_len(&bad)) {
        vc_buf d = VC_BUF_INIT;
        if (vc__buf_printf(&d, "%s ", plural(sl_len(&bad), "volume", "volumes")) < 0)
            p->oom = true;
        sl_join(p, &d, &bad, false, true);
        violation(p, "hostPath volumes", &d);
    }
    sl_free(&bad);
}

typedef struct two_lists {
    slist a, b;
} two_lists;

static void c_host_ports(pss *p, const json_t *c, const char *name, void *ud)
{
    two_lists *u = ud;
    bool bad = false;
    size_t i;
    json_t *port;
    VC__ARRAY_FOREACH(vc__jarr(c, "ports"), i, port) {
        json_int_t hp = json_integer_value(json_object_get(port, "hostPort"));
        if (hp != 0) {
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)hp);
            sl_add(p, &u->b, num, true);
            bad = true;
        }
    }
    if (bad)
        sl_add(p, &u->a, name, false);
}

static void check_host_ports(pss *p)
{
    two_lists u = { 0 };
    each_container(p, c_host_ports, &u);
    if (sl_len(&u.a)) {
        vc_buf d = VC_BUF_INIT;
        who(p, &d, &u.a);
        if (vc__buf_printf(&d, " %s %s ", plural(sl_len(&u.a), "uses", "use"),
                           plural(sl_len(&u.b), "hostPort", "hostPorts")) < 0)
            p->oom = true;
        sl_join(p, &d, &u.b, false, false);
        violation(p, "hostPort", &d);
    }
    sl_free(&u.a);
    sl_free(&u.b);
}

static bool apparmor_type_ok(const char *t)
{
    return vc__streq(t, "RuntimeDefault") || vc__streq(t, "Localhost");
}

static void c_apparmor(pss *p, const json_t *c, const char *name, void *ud)
{
    two_lists *u = ud;
    const json_t *prof = vc__jobj(sc_of(c), "appArmorProfile");
    if (prof && !apparmor_type_ok(vc__jstr(prof, "type"))) {
        sl_add(p, &u->a, name, false);
        sl_add(p, &u->b, vc__jstr(prof, "type") ? vc__jstr(prof, "type") : "", true);
    }
}

static void check_apparmor(pss *p)
{
    two_lists u = { 0 };
    bool pod = false;
    const json_t *prof = vc__jobj(sc_of(p->spec), "appArmorProfile");
    if (prof && !apparmor_type_ok(vc__jstr(prof, "type"))) {
        pod = true;
        sl_add(p, &u.b, vc__jstr(prof, "type") ? vc__jstr(prof, "type") : "", true);
    }
    each_container(p, c_apparmor, &u);
    /* the deprecated beta annotations: runtime/default, localhost/... or "" */
    slist ann = { 0 };
    const char *k;
    json_t *v;
    VC__OBJECT_FOREACH(vc__jobj(p->meta, "annotations"), k, v) {
        const char *val = json_string_value(v);
        if (!vc__str_startswith(k, "container.apparmor.security.beta.kubernetes.io/") || vc__str_empty(val) ||
            vc__streq(val, "runtime/default") || vc__str_startswith(val, "localhost/"))
            continue;
        vc_buf kv = VC_BUF_INIT;
        if (vc__buf_printf(&kv, "%s=", k) < 0 || go_q(&kv, val) < 0)
            p->oom = true;
        else
            sl_add(p, &ann, kv.ptr, false);
        vc_buf_dispose(&kv);
    }
    if (pod || sl_len(&u.a) || sl_len(&ann)) {
        vc_buf d = VC_BUF_INIT;
        setters(p, &d, pod, &u.a);
        if (sl_len(&ann) && vc__buf_printf(&d, "%s%s", pod || sl_len(&u.a) ? " and " : "",
                                           plural(sl_len(&ann), "annotation", "annotations")) < 0)
            p->oom = true;
        if (vc__buf_puts(&d, " must not set AppArmor profile type to ") < 0)
            p->oom = true;
        /* the types quoted and sorted, then the annotations as they are */
        slist all = { 0 };
        size_t i;
        json_t *x;
        vc_buf types = VC_BUF_INIT;
        sl_join(p, &types, &u.b, true, true);
        if (types.size && vc__buf_puts(&d, types.ptr) < 0)
            p->oom = true;
        vc_buf_dispose(&types);
        if (sl_len(&ann)) {
            json_array_foreach(ann.a, i, x) sl_add(p, &all, json_string_value(x), false);
            if (sl_len(&u.b) && vc__buf_puts(&d, ", ") < 0)
                p->oom = true;
            sl_join(p, &d, &all, true, true);
        }
        sl_free(&all);
        size_t nvals = sl_len(&u.b) + sl_len(&ann);
        violation(p, plural(nvals, "forbidden AppArmor profile", "forbidden AppArmor profiles"), &d);
    }
    sl_free(&u.a);
    sl_free(&u.b);
    sl_free(&ann);
}

typedef struct selinux_ud {
    slist containers, types;
    bool user, role;
} selinux_ud;

static bool selinux_ok(pss *p, selinux_ud *u, const json_t *o)
{
    static const char *const types[] = { "", "container_t", "container_init_t", "container_kvm_t",
                                         "container_engine_t" };
    const char *t = vc__jstr(o, "type") ? vc__jstr(o, "type") : "";
    bool ok = false;
    for (size_t i = 0; i < VC__ARRAY_LEN(types); i++)
        ok = ok || strcmp(t, types[i]) == 0;
    if (!ok)
        sl_add(p, &u->types, t, true);
    if (!vc__str_empty(vc__jstr(o, "user"))) {
        ok = false;
        u->user = true;
    }
    if (!vc__str_empty(vc__jstr(o, "role"))) {
        ok = false;
        u->role = true;
    }
    return ok;
}

static void c_selinux(pss *p, const json_t *c, const char *name, void *ud)
{
    const json_t *o = vc__jobj(sc_of(c), "seLinuxOptions");
    if (o && !selinux_ok(p, ud, o))
        sl_add(p, &((selinux_ud *)ud)->containers, name, false);
}

static void check_selinux(pss *p)
{
    selinux_ud u = { 0 };
    const json_t *o = vc__jobj(sc_of(p->spec), "seLinuxOptions");
    bool pod = o && !selinux_ok(p, &u, o);
    each_container(p, c_selinux, &u);
    if (pod || sl_len(&u.containers)) {
        vc_buf d = VC_BUF_INIT;
        setters(p, &d, pod, &u.containers);
        if (vc__buf_puts(&d, " set forbidden securityContext.seLinuxOptions: ") < 0)
            p->oom = true;
        bool any = false;
        if (sl_len(&u.types)) {
            if (vc__buf_printf(&d, "%s ", plural(sl_len(&u.types), "type", "types")) < 0)
                p->oom = true;
            sl_join(p, &d, &u.types, true, true);
            any = true;
        }
        if (u.user && vc__buf_printf(&d, "%suser may not be set", any ? "; " : "") < 0)
            p->oom = true;
        any = any || u.user;
        if (u.role && vc__buf_printf(&d, "%srole may not be set", any ? "; " : "") < 0)
            p->oom = true;
        violation(p, "seLinuxOptions", &d);
    }
    sl_free(&u.containers);
    sl_free(&u.types);
}

static void c_proc_mount(pss *p, const json_t *c, const char *name, void *ud)
{
    two_lists *u = ud;
    const char *pm = vc__jstr(sc_of(c), "procMount");
    if (pm && !vc__streq(pm, "Default")) {
        sl_add(p, &u->a, name, false);
        sl_add(p, &u->b, pm, true);
    }
}

/* baseline relaxes it for pods in a user namespace; restricted does not */
static void check_proc_mount(pss *p, bool restricted)
{
    if (p->userns && !restricted)
        return;
    two_lists u = { 0 };
    each_container(p, c_proc_mount, &u);
    if (sl_len(&u.a)) {
        vc_buf d = VC_BUF_INIT;
        who(p, &d, &u.a);
        if (vc__buf_puts(&d, " must not set securityContext.procMount to ") < 0)
            p->oom = true;
        sl_join(p, &d, &u.b, true, true);
        violation(p, "procMount", &d);
    }
    sl_free(&u.a);
    sl_free(&u.b);
}

typedef struct seccomp_ud {
    slist bad, implicit, values;
    bool restricted, pod_set;
} seccomp_ud;

static bool seccomp_ok(const char *t)
{
    return vc__streq(t, "RuntimeDefault") || vc__streq(t, "Localhost");
}

static void c_seccomp(pss *p, const json_t *c, const char *name, void *ud)
{
    seccomp_ud *u = ud;
    const json_t *prof = vc__jobj(sc_of(c), "seccompProfile");
    const char *t = vc__jstr(prof, "type");
    if (prof) {
        bool bad = u->restricted ? !seccomp_ok(t) : vc__streq(t, "Unconfined");
        if (bad) {
            sl_add(p, &u->bad, name, false);
            sl_add(p, &u->values, t ? t : "", true);
        }
    } else if (u->restricted && !u->pod_set) {
        sl_add(p, &u->implicit, name, false);
    }
}

/* baseline: Unconfined is forbidden; restricted: RuntimeDefault or
 * Localhost on the pod or on every container (not for Windows pods) */
static void check_seccomp(pss *p, bool restricted)
{
    if (restricted && p->windows)
        return;
    seccomp_ud u = { .restricted = restricted };
    bool pod = false;
    const json_t *prof = vc__jobj(sc_of(p->spec), "seccompProfile");
    if (prof) {
        const char *t = vc__jstr(prof, "type");
        if (restricted ? !seccomp_ok(t) : vc__streq(t, "Unconfined")) {
            pod = true;
            sl_add(p, &u.values, t ? t : "", true);
        } else {
            u.pod_set = true;
        }
    }
    each_container(p, c_seccomp, &u);
    vc_buf d = VC_BUF_INIT;
    if (pod || sl_len(&u.bad)) {
        setters(p, &d, pod, &u.bad);
        if (vc__buf_puts(&d, " must not set securityContext.seccompProfile.type to ") < 0)
            p->oom = true;
        sl_join(p, &d, &u.values, true, true);
        violation(p, "seccompProfile", &d);
    } else if (sl_len(&u.implicit)) {
        if (vc__buf_printf(&d, "pod or %s ", plural(sl_len(&u.implicit), "container", "containers")) < 0)
            p->oom = true;
        sl_join(p, &d, &u.implicit, false, true);
        if (vc__buf_puts(&d, " must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"") < 0)
            p->oom = true;
        violation(p, "seccompProfile", &d);
    }
    vc_buf_dispose(&d);
    sl_free(&u.bad);
    sl_free(&u.implicit);
    sl_free(&u.values);
}

static void check_sysctls(pss *p)
{
    static const char *const ok[] = {
        "kernel.shm_rmid_forced",       "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",    "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",            "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat",
    };
    slist bad = { 0 };
    size_t i;
    json_t *v;
    VC__ARRAY_FOREACH(vc__jarr(sc_of(p->spec), "sysctls"), i, v) {
        const char *name = vc__jstr(v, "name");
        bool allowed = false;
        for (size_t j = 0; j < VC__ARRAY_LEN(ok) && !allowed; j++)
            allowed = vc__streq(name, ok[j]);
        if (!allowed)
            sl_add(p, &bad, name ? name : "", false);
    }
    if (sl_len(&bad)) {
        vc_buf d = VC_BUF_INIT;
        sl_join(p, &d, &bad, false, false);
        violation(p, "forbidden sysctls", &d);
    }
    sl_free(&bad);
}

static void handler_hosts(pss *p, const json_t *h, slist *hosts, bool *bad)
{
    static const char *const kinds[] = { "httpGet", "tcpSocket" };
    for (size_t i = 0; i < VC__ARRAY_LEN(kinds); i++) {
        const char *host = vc__jstr(vc__jobj(h, kinds[i]), "host");
        if (!vc__str_empty(host)) {
            sl_add(p, hosts, host, true);
            *bad = true;
        }
    }
}

static void c_probe_hosts(pss *p, const json_t *c, const char *name, void *ud)
{
    two_lists *u = ud;
    bool bad = false;
    handler_hosts(p, vc__jobj(c, "livenessProbe"), &u->b, &bad);
    handler_hosts(p, vc__jobj(c, "readinessProbe"), &u->b, &bad);
    handler_hosts(p, vc__jobj(c, "startupProbe"), &u->b, &bad);
    handler_hosts(p, vc__jobj(vc__jobj(c, "lifecycle"), "postStart"), &u->b, &bad);
    handler_hosts(p, vc__jobj(vc__jobj(c, "lifecycle"), "preStop"), &u->b, &bad);
    if (bad)
        sl_add(p, &u->a, name, true);
}

static void check_probe_hosts(pss *p)
{
    two_lists u = { 0 };
    each_container(p, c_probe_hosts, &u);
    if (sl_len(&u.a)) {
        vc_buf d = VC_BUF_INIT;
        if (vc__buf_printf(&d, "%s ", plural(sl_len(&u.a), "container", "containers")) < 0)
            p->oom = true;
        sl_join(p, &d, &u.a, true, true);
        if (vc__buf_printf(&d, " %s %s ", plural(sl_len(&u.a), "uses", "use"),
                           plural(sl_len(&u.b), "probe or lifecycle host", "probe or lifecycle hosts")) < 0)
            p->oom = true;
        sl_join(p, &d, &u.b, true, true);
        violation(p, "probe or lifecycle host", &d);
    }
    sl_free(&u.a);
    sl_free(&u.b);
}

/* ---- restricted ---- */

static void check_volumes_restricted(pss *p)
{
    static const char *const ok[] = { "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                      "image", "persistentVolumeClaim", "projected", "secret" };
    two_lists u = { 0 };
    size_t i;
    json_t *v;
    VC__ARRAY_FOREACH(vc__jarr(p->spec, "volumes"), i, v) {
        bool allowed = false;
        for (size_t j = 0; j < VC__ARRAY_LEN(ok) && !allowed; j++)
            allowed = json_object_get(v, ok[j]) != NULL;
        if (allowed)
            continue;
        sl_add(p, &u.a, vc__jstr(v, "name"), false);
        /* the source's type: the key that is not the name */
        const char *k, *type = "unknown";
        json_t *x;
        json_object_foreach(v, k, x) {
            if (strcmp(k, "name") != 0) {
                type = k;
                break;
            }
        }
        sl_add(p, &u.b, type, true);
    }
    if (sl_len(&u.a)) {
        vc_buf d = VC_BUF_INIT;
        if (vc__buf_printf(&d, "%s ", plural(sl_len(&u.a), "volume", "volumes")) < 0)
            p->oom = true;
        sl_join(p, &d, &u.a, false, true);
        if (vc__buf_printf(&d, " %s restricted volume %s ", plural(sl_len(&u.a), "uses", "use"),
                           plural(sl_len(&u.b), "type", "types")) < 0)
            p->oom = true;
        sl_join(p, &d, &u.b, true, true);
        violation(p, "restricted volume types", &d);
    }
    sl_free(&u.a);
    sl_free(&u.b);
}

static void c_escalation(pss *p, const json_t *c, const char *name, void *ud)
{
    json_t *v = json_object_get(sc_of(c), "allowPrivilegeEscalation");
    if (!json_is_false(v))
        sl_add(p, ud, name, false);
}

static void check_escalation(pss *p)
{
    if (p->windows)
        return;
    slist bad = { 0 };
    each_container(p, c_escalation, &bad);
    if (sl_len(&bad)) {
        vc_buf d = VC_BUF_INIT;
        who(p, &d, &bad);
        if (vc__buf_puts(&d, " must set securityContext.allowPrivilegeEscalation=false") < 0)
            p->oom = true;
        violation(p, "allowPrivilegeEscalation != false", &d);
    }
    sl_free(&bad);
}

typedef struct nonroot_ud {
    slist bad, implicit;
    bool pod_true;
} nonroot_ud;

static void c_nonroot(pss *p, const json_t *c, const char *name, void *ud)
{
    nonroot_ud *u = ud;
    json_t *v = json_object_get(sc_of(c), "runAsNonRoot");
    if (json_is_boolean(v)) {
        if (json_is_false(v))
            sl_add(p, &u->bad, name, false);
    } else if (!u->pod_true) {
        sl_add(p, &u->implicit, name, false);
    }
}

static void check_run_as_non_root(pss *p)
{
    if (p->userns)
        return;
    nonroot_ud u = { 0 };
    json_t *pv = json_object_get(sc_of(p->spec), "runAsNonRoot");
    bool pod_bad = json_is_false(pv);
    u.pod_true = json_is_true(pv);
    each_container(p, c_nonroot, &u);
    vc_buf d = VC_BUF_INIT;
    if (pod_bad || sl_len(&u.bad)) {
        setters(p, &d, pod_bad, &u.bad);
        if (vc__buf_puts(&d, " must not set securityContext.runAsNonRoot=false") < 0)
            p->oom = true;
        violation(p, "runAsNonRoot != true", &d);
    } else if (sl_len(&u.implicit)) {
        if (vc__buf_printf(&d, "pod or %s ", plural(sl_len(&u.implicit), "container", "containers")) < 0)
            p->oom = true;
        sl_join(p, &d, &u.implicit, false, true);
        if (vc__buf_puts(&d, " must set securityContext.runAsNonRoot=true") < 0)
            p->oom = true;
        violation(p, "runAsNonRoot != true", &d);
    }
    vc_buf_dispose(&d);
    sl_free(&u.bad);
    sl_free(&u.implicit);
}

static bool is_root_uid(const json_t *sc)
{
    json_t *v = json_object_get(sc, "runAsUser");
    return json_is_integer(v) && json_integer_value(v) == 0;
}

static void c_root_uid(pss *p, const json_t *c, const char *name, void *ud)
{
    if (is_root_uid(sc_of(c)))
        sl_add(p, ud, name, false);
}

static void check_run_as_user(pss *p)
{
    if (p->userns)
        return;
    slist bad = { 0 };
    bool pod = is_root_uid(sc_of(p->spec));
    each_container(p, c_root_uid, &bad);
    if (pod || sl_len(&bad)) {
        vc_buf d = VC_BUF_INIT;
        setters(p, &d, pod, &bad);
        if (vc__buf_puts(&d, " must not set runAsUser=0") < 0)
            p->oom = true;
        violation(p, "runAsUser=0", &d);
    }
    sl_free(&bad);
}

typedef struct capsr_ud {
    slist no_drop;
    caps_ud add;
} capsr_ud;

static void c_caps_restricted(pss *p, const json_t *c, const char *name, void *ud)
{
    capsr_ud *u = ud;
    bool drops_all = false;
    size_t i;
    json_t *v;
    VC__ARRAY_FOREACH(vc__jarr(vc__jobj(sc_of(c), "capabilities"), "drop"), i, v) {
        drops_all = drops_all || vc__streq(json_string_value(v), "ALL");
    }
    if (!drops_all)
        sl_add(p, &u->no_drop, name, false);
    c_caps_add(p, c, name, &u->add);
}

static void check_caps_restricted(pss *p)
{
    if (p->windows)
        return;
    capsr_ud u = { .add.restricted = true };
    each_container(p, c_caps_restricted, &u);
    if (sl_len(&u.no_drop) || sl_len(&u.add.containers)) {
        vc_buf d = VC_BUF_INIT;
        if (sl_len(&u.no_drop)) {
            who(p, &d, &u.no_drop);
            if (vc__buf_puts(&d, " must set securityContext.capabilities.drop=[\"ALL\"]") < 0)
                p->oom = true;
        }
        if (sl_len(&u.add.containers)) {
            if (d.size && vc__buf_puts(&d, "; ") < 0)
                p->oom = true;
            caps_add_detail(p, &d, &u.add);
        }
        violation(p, "unrestricted capabilities", &d);
    }
    sl_free(&u.no_drop);
    sl_free(&u.add.containers);
    sl_free(&u.add.values);
}

int vc__pod_security_check(const json_t *pod, const char *level, char **out_msg)
{
    *out_msg = NULL;
    bool baseline = vc__streq(level, "baseline"), restricted = vc__streq(level, "restricted");
    if (vc__str_empty(level) || vc__streq(level, "privileged"))
        return VC_OK;
    if (!baseline && !restricted)
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "unknown pod security standard \"%.40s\"", level);
    pss p = { .meta = vc__jobj(pod, "metadata"), .spec = vc__jobj(pod, "spec") };
    if (!p.spec)
        return VC_OK; /* nothing that could run */
    p.windows = vc__streq(vc__jpath_str(p.spec, "os", "name"), "windows");
    p.userns = json_is_false(json_object_get(p.spec, "hostUsers"));

    /* the plugin's order: baseline checks by ID, then restricted ones by
     * ID; restricted's capabilities, volumes, procMount and seccomp checks
     * replace baseline's */
    check_apparmor(&p);
    if (!restricted)
        check_caps_baseline(&p);
    check_host_namespaces(&p);
    if (!restricted)
        check_host_path(&p);
    check_host_ports(&p);
    check_probe_hosts(&p);
    check_privileged(&p);
    if (!restricted)
        check_proc_mount(&p, false);
    check_selinux(&p);
    if (!restricted)
        check_seccomp(&p, false);
    check_sysctls(&p);
    check_host_process(&p);
    if (restricted) {
        check_escalation(&p);
        check_caps_restricted(&p);
        check_proc_mount(&p, true);
        check_volumes_restricted(&p);
        check_run_as_non_root(&p);
        check_run_as_user(&p);
        check_seccomp(&p, true);
    }
    if (p.oom) {
        vc_buf_dispose(&p.out);
        return vc__error_oom();
    }
    if (!p.n)
        return VC_OK;
    *out_msg = vc__sprintf("violates PodSecurity \"%s:latest\": %s", level, p.out.ptr ? p.out.ptr : "");
    vc_buf_dispose(&p.out);
    return *out_msg ? VC_OK : vc__error_oom();
}
