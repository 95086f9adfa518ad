/* vc_global_init() refuses a libcurl older than the declared minimum
 * (7.85.0): this program's curl_version_info() stands in for an old
 * libcurl.so.4 (the static library's reference binds to it first). */
#include <string.h>

#include <curl/curl.h>
#include <vcluster.h>

#include "test.h"

static char old_version[] = "7.84.0";
static curl_version_info_data fake;

curl_version_info_data *curl_version_info(CURLversion v)
{
    (void)v;
    fake.age = CURLVERSION_NOW;
    fake.version = old_version;
    fake.version_num = 0x075400;
    return &fake;
}

static void t_refused(void)
{
    CHECK_INT(vc_global_init(NULL), VC_ENOTSUPPORTED);
    CHECK_CONTAINS(vc_error_last()->message, "7.84.0");
    CHECK_CONTAINS(vc_error_last()->message, ">= 7.85.0");
    CHECK_INT(vc_global_shutdown(), VC_ESTATE); /* nothing was initialised */
}

int main(void)
{
    RUN(t_refused);
    TEST_DONE();
}
