package vcluster

/*
#include "zz_shims.h"
*/
import "C"

import (
	"context"
	"log/slog"
	"runtime/cgo"
	"sync"
)

// LogFunc receives one preformatted library message. It may be called from
// any goroutine that is inside a library call, several at once, and must not
// call back into the library (SetLogFunc and SetLogger included: they wait
// for running calls of the sink they replace, see doc/threading.md).
type LogFunc func(level LogLevel, subsystem, msg string)

var (
	logMu     sync.Mutex
	logHandle cgo.Handle
)

// SetLogFunc installs fn as the library's log sink for messages at maxLevel
// and more severe (LOG_ERROR < LOG_WARN < ... < LOG_TRACE); nil removes it.
// The callback travels as a runtime/cgo.Handle through the C user_data and
// comes back through a C trampoline (zz_trampolines.c).
func SetLogFunc(maxLevel LogLevel, fn LogFunc) {
	logMu.Lock()
	defer logMu.Unlock()
	old := logHandle
	if fn == nil {
		vc_log_set(0, nil, nil)
		logHandle = 0
	} else {
		cb := callback_vc_log_fn(func(level C.int, subsystem *C.char, msg *C.char) {
			fn(LogLevel(level), gostr(subsystem), gostr(msg))
		})
		logHandle = cgo.NewHandle(cb)
		vc_log_set(C.int(maxLevel), tramp_vc_log_fn(), C.vcgo_handle_ptr(C.uintptr_t(logHandle)))
	}
	// vc_log_set returns only when no call of the old sink is still running
	// (doc/threading.md), so the old handle can go now.
	if old != 0 {
		old.Delete()
	}
}

// SetLogger routes library messages at maxLevel and more severe to an
// slog.Logger, with the subsystem as an attribute.
func SetLogger(l *slog.Logger, maxLevel LogLevel) {
	if l == nil {
		SetLogFunc(0, nil)
		return
	}
	SetLogFunc(maxLevel, func(level LogLevel, subsystem, msg string) {
		l.Log(context.Background(), SlogLevel(level), msg, slog.String("subsystem", subsystem))
	})
}

// SlogLevel maps a library level to slog's (TRACE is below DEBUG).
func SlogLevel(l LogLevel) slog.Level {
	switch l {
	case LOG_ERROR:
		return slog.LevelError
	case LOG_WARN:
		return slog.LevelWarn
	case LOG_INFO:
		return slog.LevelInfo
	case LOG_DEBUG:
		return slog.LevelDebug
	}
	return slog.LevelDebug - 4
}
