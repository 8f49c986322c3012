package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/connect-oss/connect/internal/errs"
)

const (
	jsonContentType = "application/json; charset=UTF-8"
	xmlContentType  = "application/xml; charset=UTF-8"
)

// Options for one response.
type Options struct {
	DefaultXML bool   // the endpoint's default representation is XML (legacy set)
	Root       string // XML root element name override (e.g. "profile"); "" = the automatic rule
}

// Write encodes v with status in the format chosen by Negotiate. XML is
// produced from the JSON encoding of v (spec §5.3), so a type's JSON tags and
// MarshalJSON methods define both representations.
func Write(w http.ResponseWriter, r *http.Request, status int, v any, opts Options) {
	format := Negotiate(r, opts.DefaultXML)
	addVary(w.Header())

	buf := getBuffer()
	defer putBuffer(buf)
	if err := encodeJSON(buf, v, format == JSON); err != nil {
		WriteError(w, r, errs.Wrap(errs.Internal, err, "encoding response"), Options{DefaultXML: opts.DefaultXML})
		return
	}
	body := buf.Bytes()
	contentType := jsonContentType
	if format == XML {
		out := xmlPool.Get().(*[]byte)
		*out = jsonToXML((*out)[:0], body, opts.Root)
		defer putXMLBuffer(out)
		body = *out
		contentType = xmlContentType
	}
	writeBody(w, status, contentType, body)
}

// WriteJSON writes v as JSON whatever the request asked for; for the OAuth
// endpoints and metadata, which the spec pins to JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	buf := getBuffer()
	defer putBuffer(buf)
	if err := encodeJSON(buf, v, true); err != nil {
		slog.Error("encoding JSON response", "error", err)
		buf.Reset()
		buf.WriteString(`{"exceptionType":"InternalException","errorMessage":"internal error"}` + "\n")
		status = http.StatusInternalServerError
	}
	writeBody(w, status, jsonContentType, buf.Bytes())
}

// apiError is the documented API error body (spec §8).
type apiError struct {
	ExceptionType string `json:"exceptionType"`
	ErrorMessage  string `json:"errorMessage"`
}

// oauthError is the RFC 6749/6750 error body used for 401 and wrong-mode 403.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// WriteError writes err as the documented error body with the status of its
// kind, in the negotiated format. Errors that are not *errs.Error, and errors
// of kind Internal, become a 500 whose body reveals nothing; they are logged.
func WriteError(w http.ResponseWriter, r *http.Request, err error, opts Options) {
	opts.Root = "" // error bodies always use <response>
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind == errs.Internal {
		slog.ErrorContext(r.Context(), "internal error", "error", err, "method", r.Method, "path", r.URL.Path)
		Write(w, r, http.StatusInternalServerError, apiError{"InternalException", "internal error"}, opts)
		return
	}
	status, exceptionType := statusOf(e.Kind)
	message := e.PublicMessage()
	if message == "" {
		message = strings.ToLower(http.StatusText(status))
	}
	if e.Kind == errs.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="connect", error="invalid_token"`)
		Write(w, r, status, oauthError{"invalid_token", message}, opts)
		return
	}
	Write(w, r, status, apiError{exceptionType, message}, opts)
}

// WriteInsufficientScope answers a valid token of the wrong mode (spec §3.1, §8).
func WriteInsufficientScope(w http.ResponseWriter, r *http.Request, msg string, opts Options) {
	opts.Root = ""
	Write(w, r, http.StatusForbidden, oauthError{"insufficient_scope", msg}, opts)
}

// statusOf maps a kind to its status and exceptionType (spec §8).
func statusOf(kind errs.Kind) (int, string) {
	switch kind {
	case errs.Invalid:
		return http.StatusBadRequest, "ValidationException"
	case errs.Unauthenticated:
		return http.StatusUnauthorized, ""
	case errs.Forbidden:
		return http.StatusForbidden, "AccessDeniedException"
	case errs.NotFound:
		return http.StatusNotFound, "NotFoundException"
	case errs.MethodNotAllowed:
		return http.StatusMethodNotAllowed, "MethodNotAllowedException"
	case errs.Conflict:
		return http.StatusConflict, "ConflictException"
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge, "ValidationException"
	case errs.UnsupportedMedia:
		return http.StatusUnsupportedMediaType, "ValidationException"
	case errs.TooManyRequests:
		return http.StatusTooManyRequests, "TooManyRequestsException"
	default:
		return http.StatusInternalServerError, "InternalException"
	}
}

// encodeJSON writes v and a newline to buf. HTML escaping is kept for JSON
// responses (harmless, and safer if a browser ever renders one) but turned
// off when the JSON only feeds the XML converter, where it would merely force
// the slow unescaping path.
// JSONAppender is a response value that encodes itself: AppendJSON appends
// exactly the bytes encoding/json would write for the value (without the
// trailing newline), escaping HTML when asked. Write uses it for large, hot
// responses (a customer search page), where reflection costs more than the
// query; the XML form is made from the same JSON.
type JSONAppender interface {
	AppendJSON(dst []byte, escapeHTML bool) []byte
}

func encodeJSON(buf *bytes.Buffer, v any, escapeHTML bool) error {
	if a, ok := v.(JSONAppender); ok {
		buf.Write(a.AppendJSON(buf.AvailableBuffer(), escapeHTML))
		buf.WriteByte('\n')
		return nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(escapeHTML)
	return enc.Encode(v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	if status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status) // these may not carry a body
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body) // a failed write means the client went away; nothing to do
}

// addVary adds "Vary: Accept" unless a middleware already did.
func addVary(h http.Header) {
	for _, v := range h.Values("Vary") {
		for _, field := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(field), "Accept") {
				return
			}
		}
	}
	h.Add("Vary", "Accept")
}

// Pools keep steady-state encoding free of large allocations. Buffers that
// grew large are dropped, so one huge response does not pin its memory.
const maxPooledBuffer = 256 << 10

var xmlPool = sync.Pool{New: func() any { return new([]byte) }}

func putXMLBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		xmlPool.Put(b)
	}
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return bufferPool.Get().(*bytes.Buffer) }

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledBuffer {
		return
	}
	buf.Reset()
	bufferPool.Put(buf)
}
