package app

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/accounts"
	"agora/models"
	"agora/oauth"
	"agora/ratelimit"
	"agora/search"
)

// apiError is the one error body of the API.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Until   *time.Time        `json:"until,omitempty"`
}

// errBadCSRF: an unsafe cookie-authenticated request without the right token.
var errBadCSRF = errors.New("the form has expired or came from another site; reload the page and try again")

// errBadJSON: the request body is not the JSON object the route takes.
var errBadJSON = errors.New("the request body must be a JSON object")

// classify maps an error to its status, code and client-safe message. This is
// the only place errors become statuses.
func classify(err error) (int, apiErrorBody) {
	var ve *models.ValidationError
	var ce *models.ConflictError
	var se *models.SuspendedError
	var fe *fiber.Error
	var fbe *models.ForbiddenError
	var rle *models.RateLimitError
	var qe *search.QueryError
	var ref *accounts.Refused
	switch {
	case errors.As(err, &ref):
		if ref.Untrusted {
			return http.StatusForbidden, apiErrorBody{Code: ref.Code, Message: ref.Message}
		}
		return http.StatusBadRequest, apiErrorBody{Code: ref.Code, Message: ref.Message}
	case errors.Is(err, oauth.ErrProvider):
		return http.StatusBadGateway, apiErrorBody{Code: "provider_failed", Message: oauth.ErrProvider.Error()}
	case errors.As(err, &qe):
		return http.StatusUnprocessableEntity, apiErrorBody{Code: "invalid_query", Message: qe.Reason}
	case errors.As(err, &rle):
		return http.StatusTooManyRequests, apiErrorBody{Code: "rate_limited", Message: rle.Message}
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, apiErrorBody{Code: "validation_failed", Message: "some fields need attention", Fields: ve.Fields}
	case errors.As(err, &ce):
		b := apiErrorBody{Code: "conflict", Message: ce.Message}
		if ce.Field != "" {
			b.Fields = map[string]string{ce.Field: ce.Message}
		}
		return http.StatusConflict, b
	case errors.As(err, &se):
		return http.StatusForbidden, apiErrorBody{Code: "account_suspended", Message: se.Error(), Until: se.Until}
	case errors.As(err, &fbe):
		return http.StatusForbidden, apiErrorBody{Code: fbe.Code, Message: fbe.Message}
	case errors.Is(err, accounts.ErrBadCredentials):
		return http.StatusUnauthorized, apiErrorBody{Code: "invalid_credentials", Message: err.Error()}
	case errors.Is(err, models.ErrUnauthenticated):
		return http.StatusUnauthorized, apiErrorBody{Code: "unauthenticated", Message: "sign in to do this"}
	case errors.Is(err, errBadCSRF):
		return http.StatusForbidden, apiErrorBody{Code: "csrf_failed", Message: err.Error()}
	case errors.Is(err, models.ErrForbidden):
		return http.StatusForbidden, apiErrorBody{Code: "forbidden", Message: "you are not allowed to do this"}
	case errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound, apiErrorBody{Code: "not_found", Message: "not found"}
	case errors.Is(err, models.ErrConflict):
		return http.StatusConflict, apiErrorBody{Code: "conflict", Message: "the change conflicts with the current state; reload and try again"}
	case errors.Is(err, errBadJSON):
		return http.StatusBadRequest, apiErrorBody{Code: "bad_json", Message: errBadJSON.Error()}
	case errors.Is(err, search.ErrUnavailable), errors.Is(err, errLimitsUnavailable):
		return http.StatusServiceUnavailable, apiErrorBody{Code: "unavailable", Message: err.Error()}
	case errors.As(err, &fe):
		return fe.Code, apiErrorBody{Code: fiberCode(fe.Code), Message: fiberMessage(fe)}
	}
	return http.StatusInternalServerError, apiErrorBody{Code: "internal", Message: "internal error"}
}

func fiberCode(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}

func fiberMessage(fe *fiber.Error) string {
	switch fe.Code {
	case http.StatusRequestEntityTooLarge:
		return "the request body is too large"
	case http.StatusTooManyRequests:
		return "too many requests; wait a moment and try again"
	}
	if fe.Code >= 500 && fe.Code != http.StatusServiceUnavailable {
		return "internal error"
	}
	return fe.Message
}

// handleError is Fiber's error handler: JSON under /api, an HTML page elsewhere.
// Only server faults are logged at error level, and their text never reaches the client.
func (s *server) handleError(c *fiber.Ctx, err error) error {
	c.Locals(localShared, nil) // an error page is always the viewer's own (see cache.go)
	status, body := classify(err)
	setRetryAfter(c, err)
	if status >= 500 {
		s.Log.Error("request failed", "method", c.Method(), "path", logPath(c), "err", err)
	}
	if isAPI(c) {
		return c.Status(status).JSON(apiError{Error: body})
	}
	c.Status(status)
	return s.render(c, "error", "Error", errorPage{Status: status, Message: pageMessage(status, body)})
}

type errorPage struct {
	Status  int
	Message string
}

func pageMessage(status int, b apiErrorBody) string {
	switch {
	case status == http.StatusNotFound && (b.Message == "not found" || strings.HasPrefix(b.Message, "Cannot ")):
		return "We couldn't find that page. It may have been moved or removed."
	case b.Code == "unauthenticated":
		return "Please sign in to continue."
	case b.Message == "":
		return http.StatusText(status)
	}
	return sentence(b.Message)
}

// formFailed puts err on the form f when it is about what was submitted or
// whether the submitter may do it (any 4xx but "sign in first" and "not
// found"): the fields' messages with a summary, or one message for the
// whole form, and err's status. The page is then rendered again with what
// was typed. It reports false for any other error, which the error handler
// answers. This is the one translation of domain errors for forms, as
// classify is for the API.
func formFailed(c *fiber.Ctx, f *form, err error) bool {
	status, body := classify(err)
	if status < 400 || status >= 500 || status == http.StatusNotFound || body.Code == "unauthenticated" {
		return false
	}
	setRetryAfter(c, err)
	f.Errors = body.Fields
	if len(body.Fields) > 0 {
		f.Error = "Please fix the highlighted fields."
	} else {
		f.Error = sentence(body.Message)
	}
	c.Status(status)
	return true
}

// setRetryAfter tells a rate-limited client, page or API, when to try
// again, and which allowance it used up when no limiter has said so.
func setRetryAfter(c *fiber.Ctx, err error) {
	var rle *models.RateLimitError
	if !errors.As(err, &rle) {
		return
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(rle.RetryAfter.Seconds())))
	if rle.Limit > 0 {
		setLimitHeaders(c, ratelimit.Result{Limit: rle.Limit, Remaining: 0, Reset: rle.RetryAfter})
	}
}

func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }
