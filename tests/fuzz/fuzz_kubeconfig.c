/* Fuzz target: kubeconfig loading (YAML parsing, merging, field checks,
 * base64 data, exec sections). Any input must give VC_OK or a clean error
 * with a one-line message, never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 128 * 1024)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static const char *const contexts[] = { NULL, "x", "ctx" };
    for (size_t i = 0; i < 3; i++) {
        vc__kube_cfg c;
        int rc = vc__kubeconfig_load(&c, NULL, text, contexts[i]);
        if (rc == VC_OK)
            vc__kube_cfg_clear(&c);
        else if (strchr(vc_error_last()->message, '\n') || !vc_error_last()->message[0])
            abort(); /* errors are one non-empty line */
    }
    free(text);
    return 0;
}

#include "replay.h"
