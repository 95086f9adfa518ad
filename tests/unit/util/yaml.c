/* YAML -> JSON with marks; emitter round trip; base64; sha256. */
#include <math.h>

#include "util/yaml.h"
#include "test.h"

static json_t *one(const char *y, json_t **marks)
{
    json_t *docs = NULL, *m = NULL;
    if (vc__yaml_parse(y, strlen(y), "t.yaml", &docs, marks ? &m : NULL) < 0)
        return NULL;
    json_t *d = json_incref(json_array_get(docs, 0));
    if (marks)
        *marks = json_incref(json_array_get(m, 0));
    json_decref(docs);
    json_decref(m);
    return d;
}

static void t_scalars(void)
{
    json_t *d = one("a: 1\nb: -2\nc: 1.5\nd: true\ne: yes\nf: ~\ng: '1'\nh: \"true\"\ni: 0x1F\nj: 1e3\n"
                    "k: hello world\nl: 99999999999999999999\nm: .inf\nn: 2020-01-01\no: off\n", NULL);
    CHECK(d != NULL);
    CHECK(json_integer_value(json_object_get(d, "a")) == 1);
    CHECK(json_integer_value(json_object_get(d, "b")) == -2);
    CHECK(fabs(json_real_value(json_object_get(d, "c")) - 1.5) < 1e-9);
    CHECK(json_is_true(json_object_get(d, "d")));
    CHECK(json_is_true(json_object_get(d, "e")));
    CHECK(json_is_null(json_object_get(d, "f")));
    CHECK_STR(json_string_value(json_object_get(d, "g")), "1");
    CHECK_STR(json_string_value(json_object_get(d, "h")), "true");
    CHECK(json_integer_value(json_object_get(d, "i")) == 31);
    CHECK(json_is_real(json_object_get(d, "j")));
    CHECK_STR(json_string_value(json_object_get(d, "k")), "hello world");
    CHECK(json_is_real(json_object_get(d, "l")));
    CHECK_STR(json_string_value(json_object_get(d, "m")), ".inf");
    CHECK_STR(json_string_value(json_object_get(d, "n")), "2020-01-01");
    CHECK(json_is_false(json_object_get(d, "o")));
    json_decref(d);
}

static void t_marks_and_multidoc(void)
{
    const char *y = "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n    image: nginx\n"
                    "---\n# empty doc follows\n---\nkind: Service\n";
    json_t *docs = NULL, *marks = NULL;
    CHECK_INT(vc__yaml_parse(y, strlen(y), "pod.yaml", &docs, &marks), VC_OK);
    CHECK_INT(json_array_size(docs), 2);
    char *w = vc__yaml_where(json_array_get(marks, 0), "pod.yaml", "/spec/containers/0/image");
    CHECK_STR(w, "pod.yaml:9:12");
    vc__free(w);
    w = vc__yaml_where(json_array_get(marks, 0), "pod.yaml", "/spec/containers/0/missing");
    CHECK_STR(w, "pod.yaml:8:5");
    vc__free(w);
    w = vc__yaml_where(json_array_get(marks, 1), "pod.yaml", "/kind");
    CHECK_STR(w, "pod.yaml:13:7");
    vc__free(w);
    json_decref(docs);
    json_decref(marks);
}

static void t_errors(void)
{
    json_t *docs = NULL;
    CHECK_INT(vc__yaml_parse("a: [1, 2\n", 9, "bad.yaml", &docs, NULL), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "bad.yaml:");
    CHECK(docs == NULL);
    CHECK_INT(vc__yaml_parse("a: 1\na: 2\n", 10, "dup.yaml", &docs, NULL), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "dup.yaml:2:1: duplicate key \"a\"");
    CHECK_INT(vc__yaml_parse("a: *nope\n", 9, NULL, &docs, NULL), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "<input>:1:4");
    CHECK_INT(vc__yaml_parse("? [a]\n: 1\n", 10, NULL, &docs, NULL), VC_EINVAL);
    /* billion laughs is refused, not expanded */
    const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
    CHECK_INT(vc__yaml_parse(bomb, strlen(bomb), NULL, &docs, NULL), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "too large");
}

static void t_anchors_merge(void)
{
    json_t *d = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\nlist: &l [1, 2]\ncopy: *l\n", NULL);
    CHECK(d != NULL);
    json_t *der = json_object_get(d, "derived");
    CHECK(json_integer_value(json_object_get(der, "x")) == 1);
    CHECK(json_integer_value(json_object_get(der, "y")) == 3);
    CHECK(json_array_size(json_object_get(d, "copy")) == 2);
    json_decref(d);
}

static void t_emit_roundtrip(void)
{
    const char *j = "{\"a\":\"yes\",\"b\":\"1\",\"c\":1,\"d\":[{\"e\":\"x: y\",\"f\":[]},\"-dash\"],\"g\":{},\"h\":\"\","
                    "\"i\":\"multi\\nline\",\"j\":null,\"k\":true,\"l\":\"a #b\",\"m\":[[1,2],[]]}";
    json_t *v = json_loads(j, 0, NULL);
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc__yaml_emit(&b, v), VC_OK);
    json_t *back = one(b.ptr, NULL);
    CHECK(back && json_equal(v, back));
    if (!back || !json_equal(v, back))
        fprintf(stderr, "emitted:\n%s\n", b.ptr);
    json_decref(back);
    json_decref(v);
    vc_buf_dispose(&b);
}

/* The emitter keeps strings strings (YAML 1.1 words, numbers, odd
 * characters), writes multi-line text double-quoted on one line (as the
 * goldens have it), never folds long lines, and gives the block layout kubectl users know. */
static void t_emit_format(void)
{
    const char *j = "{\"apiVersion\":\"v1\",\"data\":{\"script\":\"#!/bin/sh\\necho hi\\n\","
                    "\"spaced\":\"  lead\\ntrail  \\n\",\"words\":[\"on\",\"No\",\"~\",\"0x1F\",\"1e3\",\".inf\","
                    "\"2020-01-01\",\"null\",\"-\",\"@x\",\"a: b\",\"tab\\there\",\"caf\u00e9\",\"\\u0001\"],"
                    "\"long\":\"";
    vc_buf in = VC_BUF_INIT;
    vc__buf_puts(&in, j);
    for (int i = 0; i < 40; i++)
        vc__buf_puts(&in, "abcdefghij ");
    vc__buf_puts(&in, "\"},\"items\":[{\"name\":\"a\",\"ports\":[80,443]},{}],\"n\":1.5,\"t\":true}");
    json_t *v = json_loads(in.ptr, 0, NULL);
    CHECK(v != NULL);
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc__yaml_emit(&b, v), VC_OK);
    json_t *back = one(b.ptr, NULL);
    CHECK(back && json_equal(v, back));
    if (!back || !json_equal(v, back))
        fprintf(stderr, "emitted:\n%s\n", b.ptr);
    CHECK_CONTAINS(b.ptr, "apiVersion: v1\n");
    CHECK_CONTAINS(b.ptr, "  script: \"#!/bin/sh\\necho hi\\n\"\n");
    CHECK_CONTAINS(b.ptr, "items:\n- name: a\n  ports:\n  - 80\n  - 443\n- {}\n");
    CHECK_CONTAINS(b.ptr, "caf\xc3\xa9");     /* UTF-8 as is */
    CHECK_CONTAINS(b.ptr, "  long: \"abcdefghij abcdefghij"); /* one line (quoted: it ends in a space) */
    CHECK(strstr(b.ptr, "abcdefghij\n") == NULL);
    CHECK(strncmp(b.ptr, "---", 3) != 0 && strstr(b.ptr, "\n...") == NULL);
    json_decref(back);
    json_decref(v);
    vc_buf_dispose(&b);
    vc_buf_dispose(&in);
    /* a scalar or an empty container as the whole document */
    json_t *s = json_string("true");
    CHECK_INT(vc__yaml_emit(&b, s), VC_OK);
    back = one(b.ptr, NULL);
    CHECK(back && json_equal(s, back));
    json_decref(back);
    json_decref(s);
    vc_buf_dispose(&b);
    json_t *e = json_object();
    CHECK_INT(vc__yaml_emit(&b, e), VC_OK);
    CHECK_STR(b.ptr, "{}\n");
    json_decref(e);
    vc_buf_dispose(&b);
}

/* Where keys start comes from the same walk as the values
 * (vc__yaml_parse_keys), per document. */
static void t_key_marks(void)
{
    const char *y = "a: 1\nb:\n  c: x\n  'd/e': [1, {f: 2}]\nlist:\n- g: 3\n  h: 4\n---\nz: 9\n";
    json_t *docs = NULL, *marks = NULL, *keys = NULL;
    CHECK_INT(vc__yaml_parse_keys(y, strlen(y), "k.yaml", &docs, &marks, &keys), VC_OK);
    CHECK_INT(json_array_size(keys), 2);
    json_t *k = json_array_get(keys, 0);
#define KEY_AT(ptr, l, c)                                                                                          \
    CHECK(json_integer_value(json_array_get(json_object_get(k, ptr), 0)) == (l) &&                                 \
          json_integer_value(json_array_get(json_object_get(k, ptr), 1)) == (c))
    KEY_AT("/a", 1, 1);
    KEY_AT("/b", 2, 1);
    KEY_AT("/b/c", 3, 3);
    KEY_AT("/b/d~1e", 4, 3);
    KEY_AT("/b/d~1e/1/f", 4, 15);
    KEY_AT("/list/0/g", 6, 3);
    KEY_AT("/list/0/h", 7, 3);
    CHECK(json_object_get(k, "/b/d~1e/0") == NULL); /* sequence items have no key */
    k = json_array_get(keys, 1);
    KEY_AT("/z", 9, 1);
#undef KEY_AT
    /* the value marks are unchanged: /b/c's value starts after the key */
    json_t *vm = json_object_get(json_array_get(marks, 0), "/b/c");
    CHECK(json_integer_value(json_array_get(vm, 0)) == 3 && json_integer_value(json_array_get(vm, 1)) == 6);
    json_decref(docs);
    json_decref(marks);
    json_decref(keys);
}

static void t_base64_sha(void)
{
    unsigned char *o;
    size_t n;
    CHECK_INT(vc__base64_decode("aGVs\nbG8=", 9, &o, &n), VC_OK);
    CHECK(n == 5 && !memcmp(o, "hello", 5));
    vc__free(o);
    CHECK_INT(vc__base64_decode("a$b", 3, &o, &n), VC_EINVAL);
    char *e = vc__base64_encode((const unsigned char *)"hello", 5);
    CHECK_STR(e, "aGVsbG8=");
    vc__free(e);
    /* accepted as before (kubeconfig data in YAML block scalars, tokens):
     * whitespace anywhere, the URL-safe alphabet, missing padding */
    CHECK_INT(vc__base64_decode(" aG\tVs\r\nbG8", strlen(" aG\tVs\r\nbG8"), &o, &n), VC_OK);
    CHECK(n == 5 && !memcmp(o, "hello", 5));
    vc__free(o);
    CHECK_INT(vc__base64_decode("-_-_", 4, &o, &n), VC_OK);
    CHECK(n == 3 && o[0] == 0xfb && o[1] == 0xff && o[2] == 0xbf);
    vc__free(o);
    CHECK_INT(vc__base64_decode("", 0, &o, &n), VC_OK);
    CHECK(n == 0 && o && o[0] == 0);
    vc__free(o);
    /* refused: data after the padding, characters outside both alphabets */
    CHECK_INT(vc__base64_decode("aGVs=bG8", 8, &o, &n), VC_EINVAL);
    CHECK_INT(vc__base64_decode("aGVs.bG8", 8, &o, &n), VC_EINVAL);
    e = vc__base64_encode((const unsigned char *)"", 0);
    CHECK_STR(e, "");
    vc__free(e);
    /* every byte value, every length mod 3, round trip */
    unsigned char all[258];
    for (int i = 0; i < 258; i++)
        all[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 255; len <= 258; len++) {
        e = vc__base64_encode(all, len);
        CHECK(e && strlen(e) == (len + 2) / 3 * 4);
        CHECK_INT(vc__base64_decode(e, strlen(e), &o, &n), VC_OK);
        CHECK(n == len && !memcmp(o, all, len));
        vc__free(o);
        vc__free(e);
    }
    char hex[65];
    vc__sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    vc_global_init(NULL);
    RUN(t_scalars);
    RUN(t_marks_and_multidoc);
    RUN(t_errors);
    RUN(t_anchors_merge);
    RUN(t_emit_roundtrip);
    RUN(t_emit_format);
    RUN(t_key_marks);
    RUN(t_base64_sha);
    vc_global_shutdown();
    TEST_DONE();
}
