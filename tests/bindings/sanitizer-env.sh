# Sourced by python.sh and go.sh. Sets SAN_PRELOAD (the sanitizer runtimes
# the library needs, to LD_PRELOAD into the host process) and SAN_ENV (env
# assignments for running a Python interpreter or a Go test binary that loads
# a sanitized libvcluster), from what the library itself links, so it follows
# whatever `-Db_sanitize` the build dir uses.
#
# Why preload: an ASan runtime must be the first DSO in the process; python3
# and Go test binaries are not built with -fsanitize, so the runtime that
# libvcluster.so pulls in arrives too late ("ASan runtime does not come first
# in initial library list") unless preloaded. Leak detection is off in these
# processes only: the Python interpreter and the Go runtime keep memory
# until exit by design, and the C suites already run with detect_leaks=1.
lib=${VC_LIBRARY:?VC_LIBRARY is not set}
SAN_PRELOAD=""
for so in $(ldd "$lib" 2>/dev/null | awk '/lib(asan|ubsan|tsan|lsan)\.so/ {print $3}'); do
  SAN_PRELOAD="${SAN_PRELOAD:+$SAN_PRELOAD:}$so"
done
if [ -z "$SAN_PRELOAD" ] && nm -D --undefined-only "$lib" 2>/dev/null | grep -q ' __asan_'; then
  # clang links the ASan runtime into executables only: find the shared one.
  rt=$(${CC:-cc} -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null || true)
  if [ -f "$rt" ]; then SAN_PRELOAD=$rt; fi
fi
SAN_ENV=()
if [ -n "$SAN_PRELOAD" ]; then
  SAN_ENV=(LD_PRELOAD="$SAN_PRELOAD"
           ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:handle_segv=0:allow_user_segv_handler=1"
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
fi
