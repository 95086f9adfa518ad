/* placeholder replaced below */
#include <stdio.h>
#include <vcluster.h>
int main(void) { const char *s; vc_version(&s); printf("%s\n", s); return 0; }
