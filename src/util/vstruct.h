/*
 * Public structs that grow: the options structs, vc_syncer_stats and
 * vc_allocator. Their fields are append-only and their first member is
 * `uint32_t version`; a program compiled against version v owns only the
 * bytes of version v, so the library must never write or read past them
 * (libgit2 copies the whole template and moves its soname every minor; we
 * keep one soname per major, so we may not).
 *
 * Each such struct has one table, next to the function that reads it:
 *
 *     VC__VSTRUCT(vc_syncer_options, VC_SYNCER_OPTIONS_VERSION,
 *                 VC__VEND(vc_syncer_options, kubelet_address));
 *
 * lists, oldest first, the first field of every version after 1 (the size
 * of version v is the offset of the first field of version v + 1; the
 * newest is sizeof). Appending the fields of version N + 1 means appending
 * VC__VEND(T, first_new_field) and bumping VC_..._VERSION; the static assert
 * fails the build when one is done without the other. Then:
 *   - VC__OPTIONS_INIT_FN(T, VC_T_INIT) is the whole of T's _init();
 *   - a reader copies the caller's struct into a local newest struct that
 *     holds the defaults (vc__vstruct_read()) and reads only the local, so
 *     a field newer than the caller's version is never read from it;
 *   - a struct the library fills (stats) is written with vc__vstruct_write().
 * tests/abi/old_caller.c proves it: an old caller against a library whose
 * headers have one more version of every struct, under ASan.
 */
#ifndef VC_UTIL_VSTRUCT_H
#define VC_UTIL_VSTRUCT_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct vc__vstruct {
    const char *name;    /* the C type, for messages */
    uint32_t latest;     /* VC_..._VERSION */
    const size_t *sizes; /* sizes[v]: the bytes of version v, 1 <= v <= latest */
} vc__vstruct;

/* A comma inside VC__VSTRUCT's list (a version that added no field: sizeof(T) VC__COMMA). */
#define VC__COMMA ,

/* The first field of a version after 1, in VC__VSTRUCT's list. */
#define VC__VEND(T, first_field) offsetof(T, first_field),

/* tests/abi defines this to one more VC__VEND, for the field its headers add. */
#ifndef VC__VSIZES_NEXT
#define VC__VSIZES_NEXT(T)
#endif

/* Defines `static const vc__vstruct T##__vs`. ENDS: VC__VEND()s, or empty
 * while the struct has only version 1. */
#define VC__VSTRUCT(T, LATEST, ENDS)                                                            \
    static const size_t T##__vsizes[] = { 0, ENDS VC__VSIZES_NEXT(T) sizeof(T) };               \
    _Static_assert(VC__ARRAY_LEN(T##__vsizes) == (size_t)(LATEST) + 1,                          \
                   #T ": one VC__VEND per version after 1 (src/util/vstruct.h)");               \
    static const vc__vstruct T##__vs = { #T, (LATEST), T##__vsizes }

/* Write the defaults `tmpl` (a newest struct) into the caller's `dst` for
 * `version`: only that version's bytes, with dst->version = version.
 * @return VC_OK, VC_EINVAL (dst NULL), VC_EVERSION. */
int vc__vstruct_init(const vc__vstruct *t, void *dst, const void *tmpl, uint32_t version);

/* Read the caller's `src` into `dst`, a newest struct already holding the
 * defaults: src's version is checked, then only its bytes are copied.
 * @return VC_OK, VC_EINVAL (src NULL), VC_EVERSION. */
int vc__vstruct_read(const vc__vstruct *t, void *dst, const void *src);

/* Write `src` (a newest struct) into the caller's `dst` up to the bytes of
 * dst->version, which is kept. @return VC_OK, VC_EINVAL, VC_EVERSION. */
int vc__vstruct_write(const vc__vstruct *t, void *dst, const void *src);

/* The whole body of T's public `T##_init(T *opts, uint32_t version)`. */
#define VC__OPTIONS_INIT_FN(T, INIT)                                                            \
    int T##_init(T *opts, uint32_t version) /* NOLINT(bugprone-macro-parentheses): a type */    \
    {                                                                                           \
        static const T defaults = INIT;                                                         \
        return vc__vstruct_init(&T##__vs, opts, &defaults, version);                            \
    }

#endif /* VC_UTIL_VSTRUCT_H */
