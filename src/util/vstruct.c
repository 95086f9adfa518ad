/* Public structs that grow: version checks and version-sized copies (vstruct.h). */
#include <string.h>

#include "util/vstruct.h"

static int check(const vc__vstruct *t, uint32_t version)
{
    if (version < 1 || version > t->latest)
        return vc__error(VC_EVERSION, VC_ERRCLASS_INVALID, "%s version %u not supported (1..%u)", t->name,
                         (unsigned)version, (unsigned)t->latest);
    return VC_OK;
}

int vc__vstruct_init(const vc__vstruct *t, void *dst, const void *tmpl, uint32_t version)
{
    if (!dst)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "%s_init: opts is NULL", t->name);
    int rc = check(t, version);
    if (rc < 0)
        return rc;
    memcpy(dst, tmpl, t->sizes[version]);
    memcpy(dst, &version, sizeof version); /* the first member of every versioned struct */
    return VC_OK;
}

int vc__vstruct_read(const vc__vstruct *t, void *dst, const void *src)
{
    if (!src)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "%s is NULL", t->name);
    uint32_t version;
    memcpy(&version, src, sizeof version);
    int rc = check(t, version);
    if (rc < 0)
        return rc;
    memcpy(dst, src, t->sizes[version]);
    return VC_OK;
}

int vc__vstruct_write(const vc__vstruct *t, void *dst, const void *src)
{
    if (!dst)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "%s is NULL", t->name);
    uint32_t version;
    memcpy(&version, dst, sizeof version);
    int rc = check(t, version);
    if (rc < 0)
        return rc;
    memcpy(dst, src, t->sizes[version]);
    memcpy(dst, &version, sizeof version);
    return VC_OK;
}
