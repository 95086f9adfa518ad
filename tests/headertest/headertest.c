/* The public headers compile alone, in C11 -pedantic and in C++. */
#include <vcluster.h>
#include <vcluster/common.h>
#include <vcluster/kube.h>
#include <vcluster/version.h>
int main(void)
{
    vc_buf b = VC_BUF_INIT;
    (void)b;
    return vc_version(0) == VC_VERSION_NUMBER ? 0 : 1;
}
