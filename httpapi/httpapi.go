// Package httpapi is the connector's HTTP API for systems that are neither BPMN processes nor
// MQTT clients: POST /v1/messages, POST /v1/calls, GET /v1/messages/{messageSid} and
// POST /v1/messages/{messageSid}/cancel run the same actions as the Zeebe jobs (send_sms,
// make_call, get_message, cancel_message) and answer with the same result JSON, so callers
// never hold Twilio credentials.
//
// Status codes (also in openapi.json, which a test keeps in step with this file):
//
//	200  the request was processed: twilioError is null when every recipient succeeded, else it
//	     lists the permanent per-recipient failures (as a job would complete); do not repeat it
//	400  the request as a whole is invalid (MISSING_INPUT, INVALID_INPUT, a bad sender), or Twilio
//	     refused a get_message or cancel_message (a message that is not scheduled); nothing sent
//	401  no API key, or one that is not configured
//	404  get_message, cancel_message: Twilio has no message with this SID
//	405  wrong method
//	409  another request with this Idempotency-Key is in progress; repeat it later
//	413  body larger than the limit
//	415  body is not JSON
//	422  this Idempotency-Key was used with a different body
//	500  the connector cannot send at all (no Twilio credentials, internal error); nothing sent
//	503  transient failure (Twilio or the state store); Retry-After says when to repeat; the body
//	     is the partial result, and repeating with the same Idempotency-Key sends only what is missing
package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/templates"
)

// Action is what an endpoint invokes.
type Action = actions.Action

// Options configure the API.
type Options struct {
	Messages Action // POST /v1/messages
	Calls    Action // POST /v1/calls
	// GetMessage and CancelMessage serve GET /v1/messages/{messageSid} and
	// POST /v1/messages/{messageSid}/cancel (get_message, cancel_message).
	GetMessage, CancelMessage Action
	// Store keeps Idempotency-Key records for the store's retention. Required.
	Store store.Store
	// APIKeys are the keys callers may present. None means the API is off: every route is 404.
	APIKeys []string
	// MaxBodyBytes limits a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Timeout bounds the sending of one request, retries included; 0 means DefaultTimeout. A
	// caller that disconnects does not cut the sending short.
	Timeout time.Duration
	Logger  *slog.Logger
}

// DefaultMaxBodyBytes is the body limit when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 64 << 10

// DefaultTimeout bounds one request's sending when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// DefaultRetryAfter is the Retry-After of a 503 when Twilio did not ask for a wait.
const DefaultRetryAfter = 5 * time.Second

const (
	headerIdempotencyKey   = "Idempotency-Key"
	headerReplayed         = "Idempotent-Replayed"
	fieldTemplateEngine    = "templateEngine"
	fieldConnection        = providers.FieldConnection
	fieldVariables         = "variables"
	maxIdempotencyKeyChars = 255
)

// Request fields per endpoint, besides connection, templateEngine and variables. openapi_test.go
// checks these against the actions' Field* constants and the OpenAPI schemas.
var (
	smsFields  = actions.SendSMS.Fields
	callFields = actions.MakeCall.Fields
)

//go:embed openapi.json
var openAPI []byte

// New returns the API's handler for routes under /v1/; mount it with mux.Handle("/v1/", h).
func New(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "httpapi")
	var keys []string
	for _, k := range opts.APIKeys {
		if k = strings.TrimSpace(k); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		log.Info("HTTP API off: no API key is configured (CONNECTOR_API_KEYS), /v1/ answers 404")
		return http.NotFoundHandler()
	}
	if opts.Store == nil {
		panic("httpapi: Options.Store is required")
	}
	a := &api{store: opts.Store, log: log, maxBody: opts.MaxBodyBytes, timeout: opts.Timeout}
	if a.maxBody <= 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	for _, k := range keys {
		a.keys = append(a.keys, sha256.Sum256([]byte(k)))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	if opts.Messages != nil {
		mux.Handle("POST /v1/messages", a.endpoint("messages", opts.Messages, jsonBody(smsFields)))
	}
	if opts.Calls != nil {
		mux.Handle("POST /v1/calls", a.endpoint("calls", opts.Calls, jsonBody(callFields)))
	}
	if opts.GetMessage != nil {
		mux.Handle("GET /v1/messages/{"+actions.FieldMessageSID+"}", a.endpoint("get_message", opts.GetMessage, messageSIDPath))
	}
	if opts.CancelMessage != nil {
		mux.Handle("POST /v1/messages/{"+actions.FieldMessageSID+"}/cancel", a.endpoint("cancel_message", opts.CancelMessage, messageSIDPath))
	}
	ids := make([]string, len(a.keys))
	for i, h := range a.keys {
		ids[i] = keyID(h)
	}
	log.Info("HTTP API on", "endpoints", "/v1/messages /v1/messages/{messageSid} /v1/messages/{messageSid}/cancel /v1/calls /v1/openapi.json", "apiKeys", ids)
	return mux
}

// MinAPIKeyLength is the shortest API key ParseAPIKeys accepts.
const MinAPIKeyLength = 16

// ParseAPIKeys splits a CONNECTOR_API_KEYS value (comma-separated) or the contents of
// CONNECTOR_API_KEYS_FILE (one per line; lines starting with # are comments) into keys. The
// error names a key by its position only, never by its value.
func ParseAPIKeys(s string) ([]string, error) {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, k := range strings.Split(line, ",") {
			if k = strings.TrimSpace(k); k != "" && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	for i, k := range out {
		if len(k) < MinAPIKeyLength {
			return nil, fmt.Errorf("key %d has %d characters; use at least %d random ones (e.g. openssl rand -hex 32)", i+1, len(k), MinAPIKeyLength)
		}
		if strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return nil, fmt.Errorf("key %d contains a space or a non-ASCII character, which HTTP headers cannot carry reliably", i+1)
		}
	}
	return out, nil
}

type api struct {
	keys    [][sha256.Size]byte
	store   store.Store
	log     *slog.Logger
	maxBody int64
	timeout time.Duration
}

// keyID names an API key in logs and store keys: the first 8 hex digits of its SHA-256.
func keyID(sum [sha256.Size]byte) string { return hex.EncodeToString(sum[:4]) }

// authenticate returns the id of the caller's key, or "" when the key is missing or unknown.
// Every configured key is compared, so the time taken does not tell which one came close.
func (a *api) authenticate(r *http.Request) string {
	presented := r.Header.Get("X-API-Key")
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		token = strings.TrimSpace(token)
		if presented != "" && presented != token {
			return ""
		}
		presented = token
	}
	if presented == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(presented))
	match := -1
	for i := range a.keys {
		if subtle.ConstantTimeCompare(sum[:], a.keys[i][:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return ""
	}
	return keyID(a.keys[match])
}

// reader builds an endpoint's request: from a JSON body (jsonBody) or the path
// (messageSIDPath). The status goes with the error.
type reader func(a *api, w http.ResponseWriter, r *http.Request) (Request, int, *errs.Error)

// jsonBody reads a JSON object of fields, connection, templateEngine and variables: content
// type, size limit, decode.
func jsonBody(fields []string) reader {
	return func(a *api, w http.ResponseWriter, r *http.Request) (Request, int, *errs.Error) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return Request{}, http.StatusUnsupportedMediaType, errs.Invalid("Content-Type", "send the body as JSON with Content-Type: application/json")
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return Request{}, http.StatusRequestEntityTooLarge, errs.Invalid("body", "the body is larger than %d bytes", a.maxBody)
			}
			return Request{}, http.StatusBadRequest, errs.Invalid("body", "cannot read the body: %v", err)
		}
		req, e := DecodeRequest(raw, fields)
		if e != nil {
			return req, http.StatusBadRequest, e
		}
		return req, 0, nil
	}
}

// messageSIDPath reads the message SID from the path and the connection from the query
// (?connection=NAME); a body is not read.
func messageSIDPath(_ *api, _ http.ResponseWriter, r *http.Request) (Request, int, *errs.Error) {
	q := r.URL.Query()
	for k := range q {
		if k != fieldConnection {
			return Request{}, http.StatusBadRequest, errs.Invalid(k, "unknown query parameter %q: the only one is %s", k, fieldConnection)
		}
	}
	sid, conn := r.PathValue(actions.FieldMessageSID), q.Get(fieldConnection)
	sum := sha256.Sum256([]byte(sid + "\x00" + conn))
	return Request{Vars: map[string]any{actions.FieldMessageSID: sid}, Connection: conn, Hash: hex.EncodeToString(sum[:])}, 0, nil
}

// endpoint handles one action route in a fixed order: auth, read (content type, size limit,
// decode), idempotency, invoke, record, reply.
func (a *api) endpoint(kind string, act Action, read reader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		log := a.log.With("route", r.URL.Path)
		reply := func(status int, res actions.Result, attrs ...any) {
			writeJSON(w, status, Encode(res))
			attrs = append(attrs, "status", status, "duration", time.Since(start))
			if f := res.Failure(); f != nil {
				attrs = append(attrs, "code", f.Code)
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelWarn
			}
			log.Log(r.Context(), level, "api request", attrs...)
		}
		fail := func(status int, e *errs.Error, attrs ...any) {
			reply(status, actions.RequestFailure(e), attrs...)
		}

		caller := a.authenticate(r)
		if caller == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="twilio-connector"`)
			fail(http.StatusUnauthorized, errs.New(errs.APIKeyRejected, "Authorization",
				"give an API key configured on the connector, as \"Authorization: Bearer KEY\" or \"X-API-Key: KEY\""))
			return
		}
		log = log.With("apiKey", caller)
		req, status, e := read(a, w, r)
		if e != nil {
			fail(status, e)
			return
		}
		idem := r.Header.Get(headerIdempotencyKey)
		if e := checkIdempotencyKey(idem); e != nil {
			fail(http.StatusBadRequest, e)
			return
		}
		var held *claim
		if idem != "" {
			log = log.With("idempotencyKey", idem)
			c, stored, e := a.claim(r.Context(), kind+"/"+caller+"/"+idem, req.Hash)
			switch {
			case e != nil && e.Code == errs.StoreUnavailable:
				w.Header().Set("Retry-After", strconv.Itoa(int(DefaultRetryAfter/time.Second)))
				fail(http.StatusServiceUnavailable, e)
				return
			case e != nil && e.Code == errs.IdempotencyKeyReused:
				fail(http.StatusUnprocessableEntity, e)
				return
			case e != nil && e.Code == errs.IdempotencyKeyInProgress:
				fail(http.StatusConflict, e)
				return
			case e != nil:
				fail(http.StatusInternalServerError, e)
				return
			case stored != nil:
				w.Header().Set(headerReplayed, "true")
				writeJSON(w, stored.Status, stored.Body)
				log.Info("api request replayed", "status", stored.Status)
				return
			}
			held = c
			defer held.release()
		}

		// Detached from the caller: a client that hangs up must not leave half a fan-out.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), a.timeout)
		defer cancel()
		inv := actions.Invocation{Vars: req.Vars, Engine: req.Engine, Connection: req.Connection}
		if idem != "" {
			// The actions' delivery records are shared with Zeebe jobs: keep these apart from
			// job keys and between the two endpoints.
			inv.IdempotencyKey = "http/" + kind + "/" + caller + "/" + idem
		}
		res, sendErr := act.Invoke(ctx, inv)
		status, body := Answer(res, sendErr)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(sendErr)))
		}
		if held != nil {
			held.record(status, body)
		}
		reply(status, res, "recipients", len(res.TwilioResult))
	})
}

// twilioNotFound is Twilio's error code of an unknown resource (a message SID of another
// account, say).
const twilioNotFound = 20404

// Answer is the HTTP API's answer to an action's outcome: the status (see the package
// comment) and the JSON body. The AMQP entry point answers the same.
func Answer(res actions.Result, sendErr error) (status int, body []byte) {
	return statusOf(res, sendErr), Encode(res)
}

// statusOf maps an action's outcome to the HTTP status (see the package comment).
func statusOf(res actions.Result, sendErr error) int {
	if sendErr != nil {
		return http.StatusServiceUnavailable
	}
	for _, e := range res.TwilioError {
		if e.To != nil {
			continue
		}
		switch {
		case e.Code == errs.TwilioRequestRejected && e.TwilioCode != nil && *e.TwilioCode == twilioNotFound:
			return http.StatusNotFound
		case e.Code == errs.MissingInput, e.Code == errs.InvalidInput, e.Code == errs.InvalidFromPhone, e.Code == errs.InvalidToPhoneNumber,
			e.Code == errs.TwilioRequestRejected: // get_message, cancel_message: Twilio refused the request
			return http.StatusBadRequest
		}
		if e.Code.Retryable() {
			return http.StatusServiceUnavailable
		}
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

func retryAfterSeconds(err error) int {
	if err != nil {
		if d := errs.As(err).RetryAfter; d > 0 {
			return int(math.Ceil(d.Seconds()))
		}
	}
	return int(DefaultRetryAfter / time.Second)
}

// Encode is the JSON of a result, as the HTTP API answers it (twilioResult is a list, never null).
func Encode(res actions.Result) []byte {
	if res.TwilioResult == nil {
		res.TwilioResult = []actions.RecipientResult{}
	}
	b, err := json.Marshal(res)
	if err != nil {
		panic("httpapi: cannot encode a result: " + err.Error())
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// Request is a decoded request body: the action's variables and how to run it.
type Request struct {
	Vars       map[string]any
	Engine     templates.Engine
	Connection string
	// Hash identifies the request's content for idempotency checks: the SHA-256 of its JSON
	// re-encoded with sorted keys, so whitespace and key order do not matter.
	Hash string
}

// DecodeRequest reads a JSON object of the action's fields (actions.SendSMS.Fields,
// actions.MakeCall.Fields), connection, templateEngine and variables; the AMQP entry point
// reads its bodies with it too. Unknown fields are rejected: a misspelt optional field would
// otherwise be silently ignored.
func DecodeRequest(raw []byte, fields []string) (Request, *errs.Error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return req, errs.Invalid("body", "the body is not a JSON object: %s", jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, errs.Invalid("body", "the body has data after the JSON object")
	}
	vars := map[string]any{}
	if v, ok := doc[fieldVariables]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return req, errs.Invalid(fieldVariables, "%s must be an object of template variables", fieldVariables)
		}
		for k, x := range m {
			if slices.Contains(fields, k) {
				return req, errs.Invalid(fieldVariables, "%s.%s clashes with the request field %s: rename the variable", fieldVariables, k, k)
			}
			vars[k] = x
		}
	}
	if v, ok := doc[fieldConnection]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return req, errs.Invalid(fieldConnection, "%s must be a string: the name of a configured connection", fieldConnection)
		}
		req.Connection = s
	}
	if v, ok := doc[fieldTemplateEngine]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return req, errs.Invalid(fieldTemplateEngine, "%s must be a string", fieldTemplateEngine)
		}
		engine, err := templates.ParseEngine(fieldTemplateEngine, s)
		if err != nil {
			return req, errs.As(err)
		}
		req.Engine = engine
	}
	for k, v := range doc {
		switch {
		case k == fieldVariables || k == fieldTemplateEngine || k == fieldConnection:
		case slices.Contains(fields, k):
			vars[k] = v
		default:
			return req, errs.Invalid(k, "unknown field %q: the fields are %s, %s, %s and %s", k,
				strings.Join(fields, ", "), fieldConnection, fieldTemplateEngine, fieldVariables)
		}
	}
	canon, _ := json.Marshal(doc)
	sum := sha256.Sum256(canon)
	req.Vars, req.Hash = vars, hex.EncodeToString(sum[:])
	return req, nil
}

func jsonErr(err error) string {
	if err == nil {
		return "null"
	}
	return err.Error()
}

func checkIdempotencyKey(k string) *errs.Error {
	if len(k) > maxIdempotencyKeyChars {
		return errs.Invalid(headerIdempotencyKey, "%s is longer than %d characters", headerIdempotencyKey, maxIdempotencyKeyChars)
	}
	for _, c := range k {
		if c < 0x21 || c > 0x7e {
			return errs.Invalid(headerIdempotencyKey, "%s may contain only printable ASCII without spaces (a UUID is a good choice)", headerIdempotencyKey)
		}
	}
	return nil
}
