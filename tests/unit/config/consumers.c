/* No vcluster.yaml key is accepted and then ignored (issue 13, item 8).
 *
 * Every key of the schema (src/config/schema.c) is exactly one of:
 *  - consumed: a row below names the field of vc__cfg_values the schema
 *    fills, the file outside src/config that reads it and the text that
 *    reads it; the test checks the field (offsetof == the schema's), that
 *    the file holds the text, and that the text can only mean that field
 *    (see check_token);
 *  - refused: listed in src/config/refused.c; the test loads each with a
 *    value other than its default and expects the load-time error naming
 *    the key at its file:line:col, and loads the default without error.
 * A new schema key without a row fails this test, and so does a row for a
 * key that is not in the schema. */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>

#include "config/config.h"
#include "test.h"

#define ROOT VC_TEST_RESOURCES "/../.."

typedef struct row {
    const char *key;
    size_t off;        /* offsetof in vc__cfg_values, or VC__CFG_NOFIELD */
    const char *field; /* the field as written in C, or NULL */
    const char *file;  /* the reader, relative to the source root */
    const char *token; /* the text that reads it */
} row;

/* C: read through the typed view. The token is one of
 *   "a.b"      a suffix of the field (>= 2 parts unless the field has 1),
 *              preceded by '.' or "->" in the file, and the suffix of no
 *              other field of vc__cfg_values;
 *   "x->tail"  through an alias declared in the same file as
 *              "x = &<var>-><field minus tail>";
 *   "fn("      a src/config helper that reads the field (the field's last
 *              two parts appear in src/config/config.c or check.c), called
 *              in the file.
 * N: read from the effective tree by its dotted path: the token is the
 *    quoted path. */
#define C(key, field, file, token) { key, offsetof(vc__cfg_values, field), #field, file, token }
#define N(key, file) { key, VC__CFG_NOFIELD, NULL, file, "\"" key "\"" }

static const row consumers[] = {
#include "consumers.inc"
};

/* ---- source text ---- */

static char *slurp(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ROOT, rel);
    char *data = NULL;
    if (vc__file_read(path, &data, NULL) < 0)
        return NULL;
    return data;
}

static bool ident(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* `tok` in `text` as a member access: after '.' or "->", not followed by an
 * identifier character (so "a.b" does not match "a.bc"). */
static bool has_member(const char *text, const char *tok)
{
    size_t n = strlen(tok);
    for (const char *p = text; (p = strstr(p, tok)) != NULL; p++) {
        bool before = p > text && (p[-1] == '.' || (p > text + 1 && p[-1] == '>' && p[-2] == '-'));
        if (before && !ident(p[n]))
            return true;
    }
    return false;
}

/* every F(...) of schema.c: the fields of vc__cfg_values that keys fill */
static char *all_fields[600];
static size_t n_fields;

static void load_fields(void)
{
    char *s = slurp("src/config/schema.c");
    CHECK(s != NULL);
    for (char *p = s; p && (p = strstr(p, "F(")) != NULL; p += 2) {
        if (p > s && ident(p[-1]))
            continue;
        char *e = strchr(p, ')');
        if (!e || n_fields >= VC__ARRAY_LEN(all_fields))
            break;
        all_fields[n_fields++] = vc__strndup(p + 2, (size_t)(e - p - 2));
    }
    vc__free(s);
    CHECK(n_fields > 200);
}

static bool ends_with_part(const char *field, const char *tok)
{
    size_t fl = strlen(field), tl = strlen(tok);
    return tl <= fl && strcmp(field + fl - tl, tok) == 0 && (tl == fl || field[fl - tl - 1] == '.');
}

static size_t parts(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == '.';
    return n;
}

/* the last two parts of a field ("coredns.image"), or the field */
static const char *tail2(const char *field)
{
    const char *last = strrchr(field, '.');
    if (!last)
        return field;
    for (const char *p = last - 1; p > field; p--)
        if (*p == '.')
            return p + 1;
    return field;
}

/* "type name(args)\n{": a function definition in `text` */
static bool is_defined(const char *text, const char *tok)
{
    for (const char *p = text; p && (p = strstr(p, tok)) != NULL; p++) {
        if (p > text && p[-1] != ' ' && p[-1] != '*' && p[-1] != '\n')
            continue;
        const char *eol = strchr(p, '\n');
        if (eol && eol[1] == '{')
            return true;
    }
    return false;
}

static bool check_token(const row *r, const char *text)
{
    const char *tok = r->token;
    size_t tl = strlen(tok);
    if (!r->field) { /* N: the quoted dotted path */
        char want[300];
        snprintf(want, sizeof want, "\"%s\"", r->key);
        if (strcmp(tok, want) != 0) {
            fprintf(stderr, "%s: a tree read must name the key's own path\n", r->key);
            return false;
        }
        return strstr(text, tok) != NULL;
    }
    if (tl > 1 && tok[tl - 1] == '(') { /* a helper in src/config */
        char *cfg = slurp("src/config/config.c"), *chk = slurp("src/config/check.c");
        bool defined = is_defined(cfg, tok) || is_defined(chk, tok);
        bool reads = (cfg && has_member(cfg, tail2(r->field))) || (chk && has_member(chk, tail2(r->field)));
        vc__free(cfg);
        vc__free(chk);
        if (!defined || !reads) {
            fprintf(stderr, "%s: helper %s %s\n", r->key, tok,
                    !defined ? "is not defined in src/config" : "does not read the field in src/config");
            return false;
        }
        return strstr(text, tok) != NULL;
    }
    const char *arrow = strstr(tok, "->");
    if (arrow && !strchr(tok, '.')) { /* alias->tail */
        char name[64], decl[96];
        snprintf(name, sizeof name, "%.*s", (int)(arrow - tok), tok);
        const char *tail = arrow + 2;
        snprintf(decl, sizeof decl, "*%s = &", name);
        const char *d = strstr(text, decl);
        if (!d) {
            snprintf(decl, sizeof decl, ", *%s = &", name);
            d = strstr(text, decl);
        }
        if (!d) {
            fprintf(stderr, "%s: no alias declaration \"*%s = &...\" in %s\n", r->key, name, r->file);
            return false;
        }
        d = strchr(d, '&') + 1;
        while (ident(*d))
            d++;
        if (strncmp(d, "->", 2) == 0)
            d += 2;
        else if (*d == '.')
            d++;
        size_t bl = 0;
        while (ident(d[bl]) || d[bl] == '.')
            bl++;
        char full[256];
        snprintf(full, sizeof full, "%.*s.%s", (int)bl, d, tail);
        if (strcmp(full, r->field) != 0) {
            fprintf(stderr, "%s: alias %s reads %s, not %s\n", r->key, tok, full, r->field);
            return false;
        }
        return strstr(text, tok) != NULL;
    }
    /* a suffix of the field, unique among the fields */
    if (!ends_with_part(r->field, tok) || (parts(tok) < 2 && parts(r->field) >= 2)) {
        fprintf(stderr, "%s: token %s is not a suffix of %s with at least two parts\n", r->key, tok, r->field);
        return false;
    }
    for (size_t i = 0; i < n_fields; i++)
        if (strcmp(all_fields[i], r->field) != 0 && ends_with_part(all_fields[i], tok)) {
            fprintf(stderr, "%s: token %s also names %s: use a longer suffix\n", r->key, tok, all_fields[i]);
            return false;
        }
    return has_member(text, tok);
}

/* ---- the partition ---- */

static const vc__cfg_key *schema_key(const char *path)
{
    return vc__cfg_schema_find(path);
}

static void t_every_key_has_one_place(void)
{
    for (size_t i = 0; i < vc__cfg_schema_len; i++) {
        const char *p = vc__cfg_schema[i].path;
        int n = 0;
        for (size_t j = 0; j < VC__ARRAY_LEN(consumers); j++)
            n += strcmp(consumers[j].key, p) == 0;
        n += vc__cfg_refused_find(p) != NULL;
        if (n != 1)
            fprintf(stderr, "%s: %s\n", p,
                    n == 0 ? "accepted but neither consumed nor refused (add a consumer, or refuse it "
                             "in src/config/refused.c)"
                           : "listed more than once (consumed / refused)");
        CHECK_INT(n, 1);
    }
    for (size_t j = 0; j < VC__ARRAY_LEN(consumers); j++)
        if (!schema_key(consumers[j].key)) {
            fprintf(stderr, "consumer row for %s: not a schema key\n", consumers[j].key);
            CHECK(0);
        }
    for (size_t j = 0; j < vc__cfg_refused_len; j++)
        if (!schema_key(vc__cfg_refused[j].path)) {
            fprintf(stderr, "refused %s: not a schema key\n", vc__cfg_refused[j].path);
            CHECK(0);
        }
}

static void t_consumers_read_their_field(void)
{
    load_fields();
    for (size_t j = 0; j < VC__ARRAY_LEN(consumers); j++) {
        const row *r = &consumers[j];
        const vc__cfg_key *k = schema_key(r->key);
        if (!k)
            continue;
        /* N rows read the tree by the dotted path, whether or not the
         * schema also fills a field */
        if (r->off != VC__CFG_NOFIELD && k->off != r->off) {
            fprintf(stderr, "%s: the schema fills a different field than %s\n", r->key,
                    r->field ? r->field : "(the tree)");
            CHECK(0);
            continue;
        }
        if (strncmp(r->file, "src/config/", 11) == 0 || strncmp(r->file, "src/", 4) != 0) {
            fprintf(stderr, "%s: the reader must be library code outside src/config, not %s\n", r->key, r->file);
            CHECK(0);
            continue;
        }
        char *text = slurp(r->file);
        bool ok = text && check_token(r, text);
        if (!ok)
            fprintf(stderr, "%s: %s does not read it as \"%s\"\n", r->key, r->file, r->token);
        CHECK(ok);
        vc__free(text);
    }
    for (size_t i = 0; i < n_fields; i++)
        vc__free(all_fields[i]);
}

/* ---- refused keys fail at load time, at their place ---- */

/* A value other than the default, as YAML. */
static const char *other_value(const vc__cfg_key *k, char *buf, size_t n)
{
    const char *def = k->def ? k->def : "";
    switch (k->type) {
    case VC__CT_BOOL: return strcmp(def, "true") == 0 ? "false" : "true";
    case VC__CT_INT: snprintf(buf, n, "%d", atoi(def) + 1); return buf;
    case VC__CT_STR: /* valid for the key's check, so the refusal is what fails */
        if (k->extra && strcmp(k->extra, "quantity") == 0)
            return "7Gi";
        if (k->extra && strcmp(k->extra, "url") == 0)
            return "https://refused.example";
        return "\"x-refused\"";
    case VC__CT_ENUM: {
        const char *c = k->extra;
        while (c && *c) {
            const char *bar = strchr(c, '|');
            size_t l = bar ? (size_t)(bar - c) : strlen(c);
            if (l && (strlen(def) != l || strncmp(c, def, l) != 0)) {
                snprintf(buf, n, "%.*s", (int)l, c);
                return buf;
            }
            c = bar ? bar + 1 : NULL;
        }
        return NULL;
    }
    case VC__CT_STRBOOL: return strcmp(def, "true") == 0 ? "false" : "true";
    case VC__CT_IMAGE: return "example.com/refused:1";
    case VC__CT_STRLIST: return "[\"x-refused\"]";
    case VC__CT_STRMAP: return "{x-refused: \"1\"}";
    case VC__CT_QUANTITIES: return "{cpu: \"3\"}";
    case VC__CT_RESOURCES: return "{limits: {cpu: \"3\"}}";
    case VC__CT_OBJECT: return "{xRefused: 1}";
    case VC__CT_LIST: return "[{xRefused: 1}]";
    default: return NULL;
    }
}

/* "a.b.c" with value v as block YAML; line and col: where "c" starts */
static char *nest(const char *path, const char *v, int *line, int *col)
{
    vc_buf b = VC_BUF_INIT;
    int depth = 0;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        for (int i = 0; i < depth; i++)
            vc__buf_puts(&b, "  ");
        if (!dot) {
            vc__buf_printf(&b, "%s: %s\n", p, v);
            break;
        }
        vc__buf_printf(&b, "%.*s:\n", (int)(dot - p), p);
        depth++;
        p = dot + 1;
    }
    *line = depth + 1;
    *col = 2 * depth + 1;
    return vc__buf_detach(&b);
}

static void t_refused_keys_fail_at_load(void)
{
    for (size_t j = 0; j < vc__cfg_refused_len; j++) {
        const vc__cfg_refusal *rf = &vc__cfg_refused[j];
        const vc__cfg_key *k = schema_key(rf->path);
        if (!k)
            continue;
        char buf[64];
        const char *v = other_value(k, buf, sizeof buf);
        if (rf->also_ok && v && strcmp(v, rf->also_ok) == 0) {
            /* both values load: only telemetry.enabled may be such a key
             * (libvcluster never reports; `true` permits, it does not ask) */
            CHECK_STR(rf->path, "telemetry.enabled");
            v = NULL;
            vc_config *c = NULL;
            CHECK_INT(vc_config_new(&c), VC_OK);
            CHECK_INT(vc_config_load_string(c, "telemetry:\n  enabled: false\n", "t.yaml"), VC_OK);
            vc_config_free(c);
            continue;
        }
        CHECK(v != NULL);
        if (!v)
            continue;
        int line = 0, col = 0;
        char *doc = nest(rf->path, v, &line, &col);
        vc_config *c = NULL;
        CHECK_INT(vc_config_new(&c), VC_OK);
        int rc = vc_config_load_string(c, doc, "refused.yaml");
        if (rc != VC_ECONFIG)
            fprintf(stderr, "%s: %s loaded without error\n", rf->path, v);
        CHECK_INT(rc, VC_ECONFIG);
        char want[320];
        snprintf(want, sizeof want, "refused.yaml:%d:%d: %s: ", line, col, rf->path);
        const char *msg = vc_error_last()->message;
        if (rc == VC_ECONFIG && strncmp(msg, want, strlen(want)) != 0)
            fprintf(stderr, "%s: message \"%s\" does not start with \"%s\"\n", rf->path, msg, want);
        CHECK(rc != VC_ECONFIG || strncmp(msg, want, strlen(want)) == 0);
        if (rc == VC_ECONFIG && !strstr(msg, rf->reason))
            fprintf(stderr, "%s: message \"%s\" does not give the reason\n", rf->path, msg);
        CHECK(rc != VC_ECONFIG || strstr(msg, rf->reason) != NULL);
        vc__free(doc);
        /* the default loads (an upstream values file or our own to_yaml output) */
        vc_buf def = VC_BUF_INIT;
        CHECK_INT(vc_config_get(c, rf->path, &def), VC_OK);
        if (def.ptr && k->type != VC__CT_STR && k->type != VC__CT_ENUM) {
            /* vc_config_get prints scalars bare and the rest as YAML: load it back whole */
            vc_buf all = VC_BUF_INIT;
            CHECK_INT(vc_config_to_yaml(c, &all), VC_OK);
            vc_config *c2 = NULL;
            CHECK_INT(vc_config_new(&c2), VC_OK);
            CHECK_INT(vc_config_load_string(c2, all.ptr ? all.ptr : "", "to_yaml"), VC_OK);
            vc_config_free(c2);
            vc_buf_dispose(&all);
        }
        vc_buf_dispose(&def);
        if (rf->also_ok) {
            doc = nest(rf->path, rf->also_ok, &line, &col);
            CHECK_INT(vc_config_load_string(c, doc, "also-ok.yaml"), VC_OK);
            vc__free(doc);
        }
        vc_config_free(c);
    }
}

/* Keys that became consumers instead of refusals, as src/config resolves
 * them: deployed etcd's persistence switch and replicas. */
static void t_deployed_etcd(void)
{
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_load_string(c, "enableHA: true\n", "ha.yaml"), VC_OK);
    CHECK(vc__config_persistence_enabled(c)); /* etcd.storage.persistence defaults to true */
    vc_config_free(c);
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_load_file(c, VC_TEST_RESOURCES "/config/article-ha.yaml"), VC_OK);
    CHECK(!vc__config_persistence_enabled(c)); /* the article: persistence: false */
    CHECK_INT(vc_config_ha_replicas(c), 3);
    CHECK_INT(vc__config_values(c)->control_plane.backing_store.etcd.deploy.replicas, 3);
    vc_config_free(c);
}

/* doc/config.md marks every refused key in its table */
static void t_doc_marks_refused(void)
{
    char *doc = slurp("doc/config.md");
    CHECK(doc != NULL);
    for (size_t j = 0; doc && j < vc__cfg_refused_len; j++) {
        char needle[320];
        snprintf(needle, sizeof needle, "\n| `%s` |", vc__cfg_refused[j].path);
        bool marked = false;
        for (const char *p = strstr(doc, needle); p && !marked; p = strstr(p + 1, needle)) {
            const char *eol = strchr(p + 1, '\n');
            size_t n = eol ? (size_t)(eol - p) : strlen(p);
            char *line = vc__strndup(p, n);
            marked = line && strstr(line, "only the default") != NULL;
            vc__free(line);
        }
        if (!marked)
            fprintf(stderr, "doc/config.md: the row of %s does not say \"only the default\"\n",
                    vc__cfg_refused[j].path);
        CHECK(marked);
    }
    vc__free(doc);
}

/* The mechanism itself: a refused key set through a 2022-era key names
 * that key, and --set goes through the same check. */
static void t_refusal_paths(void)
{
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_set(c, "plugins", "{hooks: {image: x}}"), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "plugins");
    CHECK_CONTAINS(vc_error_last()->message, "not supported");
    CHECK_INT(vc_config_set(c, "telemetry.enabled", "false"), VC_OK);
    CHECK_INT(vc_config_set(c, "telemetry.enabled", "true"), VC_OK);
    vc_buf y = VC_BUF_INIT;
    CHECK_INT(vc_config_to_yaml(c, &y), VC_OK);
    vc_config *c2 = NULL;
    CHECK_INT(vc_config_new(&c2), VC_OK);
    CHECK_INT(vc_config_load_string(c2, y.ptr, "roundtrip"), VC_OK);
    vc_config_free(c2);
    vc_buf_dispose(&y);
    vc_config_free(c);
}

int main(void)
{
    RUN(t_every_key_has_one_place);
    RUN(t_consumers_read_their_field);
    RUN(t_refused_keys_fail_at_load);
    RUN(t_refusal_paths);
    RUN(t_doc_marks_refused);
    RUN(t_deployed_etcd);
    TEST_DONE();
}
