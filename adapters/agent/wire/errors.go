package wire

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/durable-delivery/durable/adapters"
)

// Error is the body of every answer that is not 200.
type Error struct {
	// Code says which of the adapters' error values the error wraps (or
	// why the agent refused the call); Message says what happened.
	Code    string `json:"code"`
	Message string `json:"error"`
}

// The codes of Error, and the statuses they go with.
const (
	CodeNotFound    = "not_found"   // 404, adapters.ErrNotFound
	CodeConflict    = "conflict"    // 409, adapters.ErrConflict
	CodeUnavailable = "unavailable" // 503 (504 for the agent's deadline), adapters.ErrUnavailable
	CodeInvalid     = "invalid"     // 400 or 413, adapters.ErrInvalid
	CodeForbidden   = "forbidden"   // 403: the caller's certificate is not allowed
	CodeFenced      = "fenced"      // 409, adapters.ErrFenced: a newer owner's token was seen
	CodeInternal    = "internal"    // 500: any other failure
)

// errorCodes map the adapters' error values to codes and statuses, in the
// order an error is tested against them.
var errorCodes = []struct {
	err    error
	code   string
	status int
}{
	{adapters.ErrFenced, CodeFenced, http.StatusConflict},
	{adapters.ErrInvalid, CodeInvalid, http.StatusBadRequest},
	{adapters.ErrNotFound, CodeNotFound, http.StatusNotFound},
	{adapters.ErrConflict, CodeConflict, http.StatusConflict},
	{adapters.ErrUnavailable, CodeUnavailable, http.StatusServiceUnavailable},
	{context.DeadlineExceeded, CodeUnavailable, http.StatusGatewayTimeout},
	{context.Canceled, CodeUnavailable, http.StatusServiceUnavailable},
}

// ErrorOf is how the agent answers err: its status and body.
func ErrorOf(err error) (int, Error) {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.status, Error{Code: c.code, Message: err.Error()}
		}
	}
	return http.StatusInternalServerError, Error{Code: CodeInternal, Message: err.Error()}
}

// Err is the error a client returns for an answer of status with body e,
// wrapping the adapters' error value its code names. A refused certificate
// is ErrUnavailable: the target cannot be driven until the operator fixes
// the credentials, which is a hold, not a failure of the release.
func (e Error) Err(status int) error {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	switch e.Code {
	case CodeNotFound:
		return fmt.Errorf("%s: %w", msg, adapters.ErrNotFound)
	case CodeConflict:
		return fmt.Errorf("%s: %w", msg, adapters.ErrConflict)
	case CodeFenced:
		return fmt.Errorf("%s: %w", msg, adapters.ErrFenced)
	case CodeUnavailable, CodeForbidden:
		return fmt.Errorf("%s: %w", msg, adapters.ErrUnavailable)
	case CodeInvalid:
		return fmt.Errorf("%s: %w", msg, adapters.ErrInvalid)
	}
	if status >= 500 && e.Code == "" { // not the agent's answer: a proxy's, say
		return fmt.Errorf("status %d: %s: %w", status, msg, adapters.ErrUnavailable)
	}
	return fmt.Errorf("status %d: %s", status, msg)
}
