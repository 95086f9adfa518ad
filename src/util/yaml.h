/* YAML (and JSON) documents to jansson values, with source positions. */
#ifndef VC_UTIL_YAML_H
#define VC_UTIL_YAML_H

#include <jansson.h>

#include "util/util.h"

/*
 * Parse every document of `data` (YAML 1.1 as Kubernetes reads it, which
 * also covers JSON). `*out_docs` receives a new array with one value per
 * document (empty documents are skipped). When `out_marks` is not NULL it
 * receives a parallel array: for each document an object mapping a JSON
 * pointer ("/spec/containers/0/image", "" for the root) to [line, column]
 * (1-based) of where that value starts.
 * Errors: VC_EINVAL with "FILE:LINE:COL: problem" (`filename` may be NULL).
 */
int vc__yaml_parse(const char *data, size_t len, const char *filename,
                   json_t **out_docs, json_t **out_marks);
/* The same walk, and with `out_key_marks` not NULL a second parallel array:
 * for each document, the pointer of every mapping entry to [line, column]
 * of its key (where "unknown key" and "duplicate key" point). */
int vc__yaml_parse_keys(const char *data, size_t len, const char *filename,
                        json_t **out_docs, json_t **out_marks, json_t **out_key_marks);

/* "FILE:LINE:COL" for a pointer in one document's marks (falls back to the
 * nearest parent that has a mark; to "FILE" alone when none). Caller frees. */
char *vc__yaml_where(const json_t *doc_marks, const char *filename, const char *pointer);

/* Emit a jansson value as block-style YAML into `out` (appends). */
int vc__yaml_emit(vc_buf *out, const json_t *value);

#endif
