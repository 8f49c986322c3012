// Package errs defines the one error type that domain code returns. The HTTP
// layer (internal/httpx) maps its Kind to a status and the documented body in
// one place, so handlers never choose status codes for failures themselves.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	Internal         Kind = iota // unexpected; logged, never shown
	Invalid                      // 400: malformed input or a broken rule
	Unauthenticated              // 401: missing or bad token
	Forbidden                    // 403: authenticated but not allowed
	NotFound                     // 404: missing or outside the caller's scope
	MethodNotAllowed             // 405
	Conflict                     // 409: duplicate or conflicting state
	TooLarge                     // 413: body over the limit
	UnsupportedMedia             // 415: body neither JSON nor XML
	TooManyRequests              // 429
)

// Error is a domain error with a kind, a message safe to show to the caller
// and, for validation errors, the field it is about.
type Error struct {
	Kind    Kind
	Field   string // dotted path of the offending field, e.g. "payer.postalCode"
	Message string
	Err     error // underlying cause; never shown to callers
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// PublicMessage is the message shown to API callers: the field, if any, then the message.
func (e *Error) PublicMessage() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// E builds an error of the given kind with a formatted message.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Field builds a validation error about one field.
func Field(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a kind and message to an underlying error.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf reports the kind of err: the kind of the first *Error in its chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err carries the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }
