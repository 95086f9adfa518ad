/* A faster JSON reader and compact writer over jansson trees, for the hot
 * string paths (the public translate API). Both give exactly what jansson
 * gives (same trees, same bytes, same errors): anything outside their fast
 * path (reals, invalid or rare input, other dump flags) is handed to jansson
 * itself. */
#ifndef VC_UTIL_JSON_H
#define VC_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "util/util.h"

/* json_loads(text, flags, err) for flags 0 or JSON_REJECT_DUPLICATES (other
 * flags go straight to jansson). The fast path builds the tree with the same
 * jansson calls json_loads makes; on any input it does not handle (reals,
 * invalid JSON, \u0000, depth over jansson's 2048), json_loads decides, so
 * errors and their line:column are jansson's. */
json_t *vc__json_loads(const char *text, size_t flags, json_error_t *err);

/* json_dump_callback(v, ..., JSON_COMPACT | JSON_ENCODE_ANY) into `out`
 * (appended), byte for byte; returns 0 or -1 (out of memory, or what jansson
 * rejects: invalid UTF-8 in a string). Reals go through jansson. */
int vc__json_dump_compact(const json_t *v, vc_buf *out);

#endif
