#!/usr/bin/env python3
"""The libcurl minimum that meson.build declares is the truth.

    curl_minimum.py SOURCE_ROOT

Every libcurl symbol src/ and examples/ use (CURL*_ macros and enum values,
curl_* functions) must be in SINCE below, with the version that introduced
it (from curl's docs/libcurl/symbols-in-versions); the newest of them must
not be newer than `dependency('libcurl', version : '>= X')` in meson.build,
and src/util/util.h's VC__CURL_MIN_VERSION (the #error in src/util/global.c
and the runtime check in vc_global_init) must say the same X. A symbol not
in the table fails: look it up and add it.
"""
import re
import sys
from pathlib import Path

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]

SINCE = {
    # options
    'CURLOPT_ACCEPT_ENCODING': '7.21.6', 'CURLOPT_CAINFO_BLOB': '7.77.0',
    'CURLOPT_CONNECTTIMEOUT_MS': '7.16.2', 'CURLOPT_CONNECT_ONLY': '7.15.2',
    'CURLOPT_CUSTOMREQUEST': '7.1', 'CURLOPT_DNS_CACHE_TIMEOUT': '7.9.3',
    'CURLOPT_ERRORBUFFER': '7.1', 'CURLOPT_HEADERDATA': '7.10', 'CURLOPT_HEADERFUNCTION': '7.7.2',
    'CURLOPT_HTTPAUTH': '7.10.6', 'CURLOPT_HTTPHEADER': '7.1', 'CURLOPT_HTTPPROXYTUNNEL': '7.3',
    'CURLOPT_HTTP_VERSION': '7.9.1', 'CURLOPT_NOBODY': '7.1', 'CURLOPT_NOPROXY': '7.19.4',
    'CURLOPT_NOSIGNAL': '7.10', 'CURLOPT_PASSWORD': '7.19.1', 'CURLOPT_POSTFIELDS': '7.1',
    'CURLOPT_POSTFIELDSIZE_LARGE': '7.11.1', 'CURLOPT_PRIVATE': '7.10.3',
    'CURLOPT_PROTOCOLS_STR': '7.85.0', 'CURLOPT_PIPEWAIT': '7.43.0', 'CURLPAUSE_CONT': '7.18.0',
    'CURL_WRITEFUNC_PAUSE': '7.18.0', 'curl_easy_pause': '7.18.0', 'CURLOPT_PROXY': '7.1', 'CURLOPT_RESOLVE': '7.21.3',
    'CURLOPT_SSLCERTTYPE': '7.9.3', 'CURLOPT_SSLCERT_BLOB': '7.71.0', 'CURLOPT_SSLKEYTYPE': '7.9.3',
    'CURLOPT_SSLKEY_BLOB': '7.71.0', 'CURLOPT_SSL_ENABLE_ALPN': '7.36.0',
    'CURLOPT_SSL_VERIFYHOST': '7.8.1', 'CURLOPT_SSL_VERIFYPEER': '7.4.2',
    'CURLOPT_TCP_KEEPALIVE': '7.25.0', 'CURLOPT_TCP_KEEPIDLE': '7.25.0',
    'CURLOPT_TCP_KEEPINTVL': '7.25.0', 'CURLOPT_TIMEOUT_MS': '7.16.2', 'CURLOPT_URL': '7.1',
    'CURLOPT_USERAGENT': '7.1', 'CURLOPT_USERNAME': '7.19.1', 'CURLOPT_WRITEDATA': '7.9.7',
    'CURLOPT_WRITEFUNCTION': '7.1',
    'CURLMOPT_MAXCONNECTS': '7.16.3', 'CURLMOPT_MAX_HOST_CONNECTIONS': '7.30.0',
    'CURLMOPT_PIPELINING': '7.16.0', 'CURLMOPT_SOCKETDATA': '7.15.4',
    'CURLMOPT_SOCKETFUNCTION': '7.15.4', 'CURLMOPT_TIMERDATA': '7.16.0',
    'CURLMOPT_TIMERFUNCTION': '7.16.0',
    'CURLINFO_ACTIVESOCKET': '7.45.0', 'CURLINFO_PRIVATE': '7.10.3', 'CURLINFO_RESPONSE_CODE': '7.10.8',
    # values
    'CURLAUTH_BASIC': '7.10.6', 'CURLPIPE_MULTIPLEX': '7.43.0', 'CURL_BLOB_COPY': '7.71.0',
    'CURL_CSELECT_ERR': '7.16.3', 'CURL_CSELECT_IN': '7.16.3', 'CURL_CSELECT_OUT': '7.16.3',
    'CURL_ERROR_SIZE': '7.1', 'CURL_GLOBAL_ALL': '7.8', 'CURL_HTTP_VERSION_1_1': '7.9.1',
    'CURL_POLL_IN': '7.14.0', 'CURL_POLL_INOUT': '7.14.0', 'CURL_POLL_NONE': '7.14.0',
    'CURL_POLL_OUT': '7.14.0', 'CURL_POLL_REMOVE': '7.14.0', 'CURL_SOCKET_BAD': '7.14.0',
    'CURL_SOCKET_TIMEOUT': '7.14.0', 'CURL_VERSION_ASYNCHDNS': '7.10.7', 'CURLVERSION_NOW': '7.10',
    'CURLMSG_DONE': '7.9.6', 'CURLM_OK': '7.9.6',
    'CURLE_AGAIN': '7.18.2', 'CURLE_COULDNT_CONNECT': '7.1', 'CURLE_COULDNT_RESOLVE_HOST': '7.1',
    'CURLE_GOT_NOTHING': '7.9.1', 'CURLE_HTTP2': '7.38.0', 'CURLE_HTTP2_STREAM': '7.49.0',
    'CURLE_OK': '7.1', 'CURLE_OPERATION_TIMEDOUT': '7.10.2', 'CURLE_OUT_OF_MEMORY': '7.1',
    'CURLE_PARTIAL_FILE': '7.1', 'CURLE_PEER_FAILED_VERIFICATION': '7.17.1', 'CURLE_RECV_ERROR': '7.10',
    'CURLE_SEND_ERROR': '7.10', 'CURLE_SSL_CACERT_BADFILE': '7.16.0', 'CURLE_SSL_CERTPROBLEM': '7.10',
    'CURLE_SSL_CIPHER': '7.10', 'CURLE_SSL_CONNECT_ERROR': '7.1', 'CURLE_SSL_ISSUER_ERROR': '7.19.0',
    'CURLE_WRITE_ERROR': '7.1',
    # functions
    'curl_easy_cleanup': '7.1', 'curl_easy_getinfo': '7.4.1', 'curl_easy_init': '7.1',
    'curl_easy_perform': '7.1', 'curl_easy_recv': '7.18.2', 'curl_easy_reset': '7.12.1',
    'curl_easy_send': '7.18.2', 'curl_easy_setopt': '7.1', 'curl_easy_strerror': '7.12.0',
    'curl_global_cleanup': '7.8', 'curl_global_init': '7.8', 'curl_global_init_mem': '7.12.0',
    'curl_multi_add_handle': '7.9.6', 'curl_multi_assign': '7.15.5', 'curl_multi_cleanup': '7.9.6',
    'curl_multi_info_read': '7.9.6', 'curl_multi_init': '7.9.6', 'curl_multi_remove_handle': '7.9.6',
    'curl_multi_setopt': '7.15.4', 'curl_multi_socket_action': '7.15.4', 'curl_multi_strerror': '7.12.0',
    'curl_multi_wakeup': '7.68.0', 'curl_slist_append': '7.1', 'curl_slist_free_all': '7.1',
    'curl_version_info': '7.10',
    # types
    'curl_blob': '7.71.0', 'curl_off_t': '7.11.0', 'curl_slist': '7.1', 'curl_socket_t': '7.14.0',
    'curl_version_info_data': '7.10',
}

SYMBOL = re.compile(r'\b(CURL[A-Z]*_[A-Z0-9_]+|curl_[a-z_]+)\b')


def vt(v: str) -> tuple:
    t = [int(x) for x in v.split('.')]
    return tuple(t + [0] * (3 - len(t)))


def main() -> int:
    bad = []
    m = re.search(r"dependency\('libcurl',\s*version\s*:\s*'>=\s*([0-9.]+)'", (ROOT / 'meson.build').read_text())
    if not m:
        print('FAIL meson.build declares no libcurl minimum')
        return 1
    declared = m.group(1)
    m = re.search(r'#define VC__CURL_MIN_VERSION "([0-9.]+)"', (ROOT / 'src/util/util.h').read_text())
    if not m or m.group(1) != declared:
        bad.append(f'src/util/util.h VC__CURL_MIN_VERSION is {m.group(1) if m else "missing"}, '
                   f'meson.build says {declared}')
    used: dict[str, str] = {}
    for top in ('src', 'examples'):
        for f in sorted((ROOT / top).rglob('*.[ch]')):
            text = f.read_text(encoding='utf-8', errors='replace')
            if 'curl' not in text.lower():
                continue
            for s in SYMBOL.findall(re.sub(r'/\*.*?\*/|//[^\n]*', ' ', text, flags=re.S)):
                used.setdefault(s, str(f.relative_to(ROOT)))
    newest = ('7.1', '')
    for s, where in sorted(used.items()):
        if s not in SINCE:
            bad.append(f'{s} ({where}) is not in the table: add the version that introduced it '
                       "(curl's docs/libcurl/symbols-in-versions)")
            continue
        if vt(SINCE[s]) > vt(newest[0]):
            newest = (SINCE[s], s)
        if vt(SINCE[s]) > vt(declared):
            bad.append(f'{s} ({where}) needs libcurl {SINCE[s]}, but meson.build declares >= {declared}')
    for b in bad:
        print('FAIL', b)
    print(f'{len(used)} libcurl symbols used; the newest is {newest[1]} ({newest[0]}); declared >= {declared}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
