//go:build cgo

package vcluster

import (
	"errors"
	"fmt"
)

// Error is a failed libvcluster call: the detail of vc_error_last() on the
// failing thread, copied in the same cgo call. Use errors.As to get it, or
// errors.Is against the sentinels (ErrNotFound, ...) which match by Code.
type Error struct {
	Code       Status     // a Status < 0
	Class      ErrorClass // which layer failed
	HTTPStatus int        // HTTP status of the failing response, or 0
	Reason     string     // Kubernetes Status reason ("NotFound", "AlreadyExists", ...) or ""
	Message    string     // one line
	Func       string     // the C function
}

func (e *Error) Error() string {
	s := e.Message
	if e.Func != "" {
		s = e.Func + ": " + s
	}
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("%s [%s, HTTP %d]", s, e.Code.Name(), e.HTTPStatus)
	}
	return fmt.Sprintf("%s [%s]", s, e.Code.Name())
}

// Is matches a sentinel *Error (one with only Code set) by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is(err, vcluster.ErrNotFound).
var (
	ErrGeneric      = &Error{Code: EGENERIC}
	ErrNoMemory     = &Error{Code: ENOMEM}
	ErrInvalid      = &Error{Code: EINVAL}
	ErrVersion      = &Error{Code: EVERSION}
	ErrNotFound     = &Error{Code: ENOTFOUND}
	ErrExists       = &Error{Code: EEXISTS}
	ErrConflict     = &Error{Code: ECONFLICT}
	ErrTimedOut     = &Error{Code: ETIMEDOUT}
	ErrAPI          = &Error{Code: EAPI}
	ErrState        = &Error{Code: ESTATE}
	ErrConnect      = &Error{Code: ECONNECT}
	ErrAuth         = &Error{Code: EAUTH}
	ErrForbidden    = &Error{Code: EFORBIDDEN}
	ErrGone         = &Error{Code: EGONE}
	ErrIO           = &Error{Code: EIO}
	ErrNotSupported = &Error{Code: ENOTSUPPORTED}
	ErrConfig       = &Error{Code: ECONFIG}
	ErrTLS          = &Error{Code: ETLS}
	ErrInvalidObj   = &Error{Code: EINVALIDOBJ}
	ErrTooMany      = &Error{Code: ETOOMANY}
	ErrCanceled     = &Error{Code: ECANCELED}
)

// CodeOf is the Status of a libvcluster error in err's chain, OK for nil and
// EGENERIC for other errors.
func CodeOf(err error) Status {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EGENERIC
}

// IsNotFound reports a VC_ENOTFOUND error (HTTP 404) in err's chain.
func IsNotFound(err error) bool { return CodeOf(err) == ENOTFOUND }

// IsAlreadyExists reports VC_EEXISTS (HTTP 409 AlreadyExists).
func IsAlreadyExists(err error) bool { return CodeOf(err) == EEXISTS }

// IsConflict reports VC_ECONFLICT (stale resourceVersion, failed precondition).
func IsConflict(err error) bool { return CodeOf(err) == ECONFLICT }

// IsTimeout reports VC_ETIMEDOUT.
func IsTimeout(err error) bool { return CodeOf(err) == ETIMEDOUT }

// IsForbidden reports VC_EFORBIDDEN (HTTP 403).
func IsForbidden(err error) bool { return CodeOf(err) == EFORBIDDEN }

// IsGone reports VC_EGONE (HTTP 410: relist).
func IsGone(err error) bool { return CodeOf(err) == EGONE }

// IsInvalid reports VC_EINVAL or VC_EINVALIDOBJ.
func IsInvalid(err error) bool { c := CodeOf(err); return c == EINVAL || c == EINVALIDOBJ }
