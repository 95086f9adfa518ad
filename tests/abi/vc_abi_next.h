/* Forced into every file of the library built from tests/abi/v2headers.py's
 * headers: where the version those headers add begins (src/util/vstruct.h). */
#define VC__VSIZES_NEXT(T) offsetof(T, vc_abi_test_next),
