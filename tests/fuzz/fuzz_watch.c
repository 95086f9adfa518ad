/* Fuzz target: watch-stream framing. The input is cut into chunks at
 * positions taken from its first bytes and fed to a detached watch, as the
 * network would deliver it; events are drained. Never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/loop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024)
        return 0;
    size_t step = (size_t)(data[0] % 64) + 1;
    data++;
    size--;
    vc__watch *w = vc__watch_new_detached("fuzz");
    if (!w)
        return 0;
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        vc__watch_feed(w, (const char *)data + off, n, false);
        const char *type;
        json_t *obj;
        while (vc__watch_next(w, &type, &obj) == VC_OK) {
            if (!type || !json_is_object(obj))
                abort();
            json_decref(obj);
        }
    }
    vc__watch_feed(w, NULL, 0, true);
    const char *type;
    json_t *obj;
    while (vc__watch_next(w, &type, &obj) == VC_OK)
        json_decref(obj);
    int rc = 0;
    if (!vc__watch_ended(w, &rc))
        abort();
    vc__watch_free(w);
    return 0;
}

#include "replay.h"
