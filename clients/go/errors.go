package taskline

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Error codes the server sends (SPEC §1, §4), in Error.Code.
const (
	CodeInvalidJSON         = "invalid_json"
	CodeValidation          = "validation_error"
	CodeUnauthorized        = "unauthorized"
	CodeForbidden           = "forbidden"
	CodeNotFound            = "not_found"
	CodePayloadTooLarge     = "payload_too_large"
	CodeConflict            = "conflict"
	CodeInvalidState        = "invalid_state"
	CodeLeaseLost           = "lease_lost"
	CodeIdempotencyConflict = "idempotency_conflict"
	CodeRateLimited         = "rate_limited"
	CodeQueueFull           = "queue_full"
	CodeBackendUnavailable  = "backend_unavailable"
	CodeInternal            = "internal_error"
	// CodeUnexpectedResponse is this client's own: an error response without a Taskline
	// error body (a proxy's 502 page, say).
	CodeUnexpectedResponse = "unexpected_response"
)

// Error is an error response of the server: SPEC's {"error": {"code", "message", "details"}}
// with the HTTP status and Retry-After. Take it out of a returned error with errors.As:
//
//	var apiErr *taskline.Error
//	if errors.As(err, &apiErr) && apiErr.Code == taskline.CodeNotFound { ... }
type Error struct {
	Status  int    // the HTTP status
	Code    string // snake_case, one of the Code* constants (or a newer server's own)
	Message string
	// Details is the decoded "details" (nil when absent): for a 422, a list of
	// {"field", "message"} objects ({"index", "field", "message"} for a bulk).
	Details    any
	RetryAfter time.Duration // from the Retry-After header; 0 when absent

	retryAfterSent bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("taskline: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsCode reports whether err is (or wraps) a Taskline *Error with the given code.
func IsCode(err error, code string) bool {
	var apiErr *Error
	return errors.As(err, &apiErr) && apiErr.Code == code
}

// errorFromResponse reads an error response; a body that is not SPEC's shape gives
// CodeUnexpectedResponse.
func errorFromResponse(status int, body []byte, retryAfter string) *Error {
	e := &Error{Status: status}
	e.RetryAfter, e.retryAfterSent = parseRetryAfter(retryAfter)
	var shape struct {
		Error *struct {
			Code    *string `json:"code"`
			Message string  `json:"message"`
			Details any     `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &shape) != nil || shape.Error == nil || shape.Error.Code == nil {
		e.Code = CodeUnexpectedResponse
		e.Message = fmt.Sprintf("the server answered %d without a Taskline error body", status)
		if text := strings.TrimSpace(string(body)); text != "" && len(text) <= 200 {
			e.Message += ": " + text
		}
		return e
	}
	e.Code, e.Message, e.Details = *shape.Error.Code, shape.Error.Message, shape.Error.Details
	if e.Message == "" {
		e.Message = e.Code
	}
	return e
}

// parseRetryAfter reads Retry-After's seconds form, which is all the server sends.
func parseRetryAfter(value string) (time.Duration, bool) {
	seconds, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || seconds < 0 {
		return 0, false
	}
	return time.Duration(seconds) * time.Second, true
}

// retryable: what the client waits out and sends again (as the Python client does): a rate
// limit or a full queue, when the server says to come back soon enough.
func retryable(err error, maxWait time.Duration) (time.Duration, bool) {
	var apiErr *Error
	if !errors.As(err, &apiErr) || (apiErr.Code != CodeRateLimited && apiErr.Code != CodeQueueFull) {
		return 0, false
	}
	wait := apiErr.RetryAfter
	if !apiErr.retryAfterSent {
		wait = time.Second
	}
	return wait, wait <= maxWait
}
