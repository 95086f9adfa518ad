/* libvcluster version macros. The meson project version must match (a test checks). */
#ifndef VCLUSTER_VERSION_H
#define VCLUSTER_VERSION_H

#include "common.h"

#define VC_VERSION_MAJOR 0
#define VC_VERSION_MINOR 1
#define VC_VERSION_PATCH 0
/** 0xMMmmpp as a literal, so bindings can read it. */
#define VC_VERSION_NUMBER 0x000100
#define VC_VERSION_STRING "0.1.0"

#ifndef VC_CDEF
/** True when the headers are at least version M.m.p. */
#define VC_VERSION_CHECK(M, m, p) (VC_VERSION_NUMBER >= (((M) << 16) | ((m) << 8) | (p)))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The runtime library version as 0xMMmmpp; `out_string` (may be NULL)
 * receives a static string such as "0.1.0".
 * @since 0.1
 */
VC_API uint32_t vc_version(const char **out_string);

#ifdef __cplusplus
}
#endif
#endif
