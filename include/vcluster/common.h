/*
 * libvcluster — virtual Kubernetes clusters, embeddable.
 *
 * common.h: export macros, status codes, the thread-local last error,
 * buffers, the allocator hook, global init and logging.
 *
 * Platform: Linux only. The syncer's pollable fd is an epoll set with a
 * timerfd and an eventfd (there is no kqueue or IOCP backend), and the
 * local driver uses Linux process and /proc interfaces. Requires libcurl
 * >= 7.85.0, checked at build time and by vc_global_init().
 *
 * Ownership rules used in every doc comment of this library:
 *  - `**out` results are owned by the caller and released with the matching
 *    vc_*_free() function;
 *  - returned `const char *` and `const vc_*` pointers are borrowed: valid
 *    until the object they came from changes or is freed;
 *  - strings returned in a vc_buf are released with vc_buf_dispose();
 *  - any other memory the library hands out is released with vc_free().
 *
 * Threads (doc/threading.md has the details; each handle's doc comment
 * repeats its line). The library starts no thread of its own.
 *  - vc_global_init() / vc_global_shutdown(): from one thread, while no
 *    other thread is inside a library call; the last shutdown resets the
 *    last error of every thread.
 *  - A handle is used by one thread at a time (libgit2's rule); different
 *    handles may be used on different threads at once. Exceptions:
 *    vc_syncer_wakeup() and vc_port_forward_cancel() may be called from any
 *    thread or a signal handler; vc_kubelet_proxy_serve() from many threads
 *    at once; port-forwards and kubelet proxies use their vc_kube on their
 *    own threads while its owner keeps using it.
 *  - Freeing (vc_*_free) may happen on any thread, in any order: children
 *    (vc_syncer, vc_port_forward, vc_kubelet_proxy) hold an atomic reference
 *    on their vc_kube, so finalizers of garbage-collected bindings are safe.
 *    A handle must not be freed while another thread is inside a call on it
 *    (vc_kubelet_proxy_free() excepted: the proxy lives until its last
 *    vc_kubelet_proxy_serve() returns).
 *  - Results the caller owns (vc_buf, vc_sync_event, vc_cluster_list,
 *    vc_cluster_info, memory for vc_free()) belong to no thread.
 *  - vc_error_last() is per thread: read it on the thread of the failing call.
 *  - vc_log_set() may be called from any thread; the sink is called from
 *    whichever thread logs, must be thread-safe, and must not call the
 *    library except vc_log_set(). vc_log_set() returns when no call to the
 *    replaced sink is still running.
 *  - The allocator is set once by vc_global_init() and called from every
 *    thread that uses the library: it must be thread-safe.
 *
 * Structs the caller allocates (the options structs, vc_allocator,
 * vc_syncer_stats) begin with `uint32_t version` and only grow at the end.
 * The library writes and reads only the bytes of the version the caller
 * set, so a program built against an older header keeps working with a
 * newer library; fields of newer versions take their defaults.
 */
#ifndef VCLUSTER_COMMON_H
#define VCLUSTER_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifndef VC_CDEF
#  if defined(_WIN32) && defined(VC_BUILDING)
#    define VC_API __declspec(dllexport)
#  elif defined(__GNUC__) && defined(VC_BUILDING)
#    define VC_API __attribute__((visibility("default")))
#  else
#    define VC_API
#  endif
#  if defined(VC_DEPRECATE_HARD) && defined(__GNUC__)
#    define VC_DEPRECATED(msg) __attribute__((deprecated(msg)))
#  else
#    define VC_DEPRECATED(msg)
#  endif
#else
#  define VC_API
#  define VC_DEPRECATED(msg)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Status codes returned by every fallible call. Values are frozen: new codes
 * are added, never renumbered or reused. 0 is success, > 0 informational,
 * < 0 an error whose detail is in vc_error_last().
 * @since 0.1
 */
typedef enum vc_status {
    VC_OK = 0,
    VC_ITEROVER = 1,       /**< an iterator or queue is drained */
    VC_EGENERIC = -1,      /**< an error with no better code */
    VC_ENOMEM = -2,        /**< out of memory */
    VC_EINVAL = -3,        /**< bad argument or malformed input */
    VC_EVERSION = -4,      /**< options struct version not supported */
    VC_ENOTFOUND = -5,     /**< the object does not exist (HTTP 404) */
    VC_EEXISTS = -6,       /**< the object already exists (HTTP 409 AlreadyExists) */
    VC_ECONFLICT = -7,     /**< stale resourceVersion or precondition failed (HTTP 409) */
    VC_ETIMEDOUT = -8,     /**< a deadline passed */
    VC_EAPI = -9,          /**< the API server refused the request (see http_status) */
    VC_ESTATE = -10,       /**< the object is in the wrong state for this call */
    VC_ECONNECT = -11,     /**< the server could not be reached */
    VC_EAUTH = -12,        /**< authentication failed (HTTP 401) or credentials are unusable */
    VC_EFORBIDDEN = -13,   /**< authorization denied (HTTP 403) */
    VC_EGONE = -14,        /**< resourceVersion too old (HTTP 410): relist */
    VC_EIO = -15,          /**< a local file or process operation failed */
    VC_ENOTSUPPORTED = -16,/**< the operation is not available in this build or mode */
    VC_ECONFIG = -17,      /**< a configuration file (kubeconfig, vcluster.yaml) is invalid */
    VC_ETLS = -18,         /**< a TLS or certificate failure */
    VC_EINVALIDOBJ = -19,  /**< the API server rejected the object as invalid (HTTP 422) */
    VC_ETOOMANY = -20,     /**< throttled (HTTP 429) and retries exhausted */
    VC_ECANCELED = -21     /**< the operation was cancelled or the object is closing */
} vc_status;

/** Error classes: which layer produced an error. @since 0.1 */
typedef enum vc_error_class {
    VC_ERRCLASS_NONE = 0,
    VC_ERRCLASS_OS = 1,
    VC_ERRCLASS_NOMEMORY = 2,
    VC_ERRCLASS_INVALID = 3,
    VC_ERRCLASS_HTTP = 4,      /**< transport: connection, TLS, timeout */
    VC_ERRCLASS_API = 5,       /**< the Kubernetes API answered with an error */
    VC_ERRCLASS_KUBECONFIG = 6,
    VC_ERRCLASS_CONFIG = 7,
    VC_ERRCLASS_TRANSLATE = 8,
    VC_ERRCLASS_SYNC = 9,
    VC_ERRCLASS_LIFECYCLE = 10,
    VC_ERRCLASS_PKI = 11
} vc_error_class;

/**
 * Detail of the last error on this thread. `message` is never NULL.
 * `reason` is the API server's Status reason (e.g. "NotFound") or "".
 * `http_status` is 0 when no HTTP exchange was involved.
 * @since 0.1
 */
typedef struct vc_error {
    int32_t code;          /**< a vc_status value */
    int32_t klass;         /**< a vc_error_class value */
    int32_t http_status;   /**< HTTP status of the failing response, or 0 */
    const char *reason;    /**< Kubernetes Status reason, or "" */
    const char *message;   /**< human-readable, one line, never NULL, at most 4,096 bytes (longer ones end in "...") */
} vc_error;

/**
 * The last error raised on the calling thread. Never NULL: when there was no
 * error, code is VC_OK and message is "". The pointer is borrowed and valid
 * until the next library call on this thread (or the last
 * vc_global_shutdown(), which resets every thread's last error).
 * Threads: per thread; call it on the thread whose call failed.
 * @since 0.1
 */
VC_API const vc_error *vc_error_last(void);

/** Reset this thread's last error to VC_OK. @since 0.1 */
VC_API void vc_error_clear(void);

/** A static, never-NULL description of a status code. @since 0.1 */
VC_API const char *vc_strerror(int code);

/**
 * A byte buffer the library fills. `ptr` is NUL-terminated when size > 0
 * (and also when the library sets it to an empty string).
 * Initialise with VC_BUF_INIT; release with vc_buf_dispose().
 * Threads: the caller's memory; dispose of it on any thread.
 * @since 0.1
 */
typedef struct vc_buf {
    char *ptr;
    size_t reserved;
    size_t size;
} vc_buf;

#define VC_BUF_INIT { 0, 0, 0 }

/** Release the memory of a buffer filled by the library and reset it. NULL-safe. @since 0.1 */
VC_API void vc_buf_dispose(vc_buf *buf);

/** Release memory the library allocated and handed out. NULL-safe. @since 0.1 */
VC_API void vc_free(void *ptr);

/**
 * A memory allocator for every allocation libvcluster, libcurl and jansson
 * make. libyaml has no allocator hook and uses libc, and so do the
 * library's last-error strings (an out-of-memory error must be reportable).
 * Threads: called from every thread that calls the library, and from any
 * thread that frees a handle: it must be thread-safe.
 * @since 0.1
 */
typedef struct vc_allocator {
    uint32_t version;     /**< VC_ALLOCATOR_VERSION */
    void *(*malloc_fn)(size_t size, void *user_data);
    void *(*realloc_fn)(void *ptr, size_t size, void *user_data);
    void (*free_fn)(void *ptr, void *user_data);
    void *user_data;
} vc_allocator;

#define VC_ALLOCATOR_VERSION 1

/**
 * Initialise the library (and libcurl). Refcounted: each successful call must
 * be balanced by vc_global_shutdown(). `alloc` may be NULL for libc malloc; a
 * custom allocator is honoured only by the first (outermost) call and is
 * copied. Call it before any other function.
 * Threads: from one thread, while no other thread is inside a library call
 * (libcurl's global init is not thread-safe).
 * @return VC_OK, VC_EVERSION, VC_EINVAL, VC_ENOTSUPPORTED (the libcurl
 *   loaded is older than 7.85.0) or VC_EGENERIC (libcurl failed).
 * @since 0.1
 */
VC_API int vc_global_init(const vc_allocator *alloc);

/**
 * Drop one reference taken by vc_global_init(); the last one releases global
 * state, including the last-error strings of every thread (each thread's
 * vc_error_last() is then VC_OK again).
 * Threads: from one thread, while no other thread is inside a library call
 * and after every handle was freed.
 * @return the remaining count, or VC_ESTATE when not initialised.
 * @since 0.1
 */
VC_API int vc_global_shutdown(void);

/** Log levels. @since 0.1 */
typedef enum vc_log_level {
    VC_LOG_ERROR = 1,
    VC_LOG_WARN = 2,
    VC_LOG_INFO = 3,
    VC_LOG_DEBUG = 4,
    VC_LOG_TRACE = 5
} vc_log_level;

/**
 * A log sink. `subsystem` ("kube", "sync", ...) and `msg` are preformatted
 * UTF-8, borrowed for the call. Threads: called on whichever thread logs,
 * possibly on several at once, so it must be thread-safe. It must not call
 * back into the library, except vc_log_set(), and must not wait for a
 * thread that may be inside vc_log_set() (vc_log_set() waits for it).
 * @since 0.1
 */
typedef void (*vc_log_fn)(int level, const char *subsystem, const char *msg, void *user_data);

/**
 * Install (fn != NULL) or remove (fn == NULL) the log sink; messages above
 * `max_level` are not formatted at all. The library never writes to
 * stdout/stderr itself.
 * Threads: may be called from any thread. It returns only when no call to
 * the sink it replaced is still running on another thread, so the caller
 * may release the old sink's user_data at once. Called from inside a sink
 * it swaps without waiting (it would wait for itself): calls of the old
 * sink on other threads may then still be running when it returns.
 * @since 0.1
 */
VC_API void vc_log_set(int max_level, vc_log_fn fn, void *user_data);

#ifdef __cplusplus
}
#endif
#endif /* VCLUSTER_COMMON_H */
