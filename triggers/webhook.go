package triggers

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/twilio-connector/twilio-connector/metrics"
)

// DefaultMaxBodyBytes limits a webhook body. Twilio's inbound SMS form is a few KiB even with
// a 1600-character body and media URLs.
const DefaultMaxBodyBytes = 64 << 10

// Outcomes, the label values of metrics.Webhooks. Each webhook request ends in exactly one.
const (
	OutcomeMethodNotAllowed = "method_not_allowed" // 405
	OutcomeTooLarge         = "too_large"          // 413
	OutcomeBadRequest       = "bad_request"        // 400: not a form, or a required field missing
	OutcomeBadSignature     = "bad_signature"      // 403
	OutcomeStoreFailed      = "store_failed"       // 503: nothing recorded, Twilio may redeliver
	OutcomeDuplicate        = "duplicate"          // 200: MessageSid seen before, same reply, nothing published
	OutcomeOptOut           = "opt_out"            // 200 <Response/>: STOP, HELP, …
	OutcomeNoMatch          = "no_match"           // 200 <Response/>
	OutcomePublished        = "published"          // 200, echo replies
	OutcomeEngineFailed     = "engine_failed"      // 200, echoError replies; kept in the outbox

	OutcomeStatusPublished    = "status_published"     // 204
	OutcomeStatusDuplicate    = "status_duplicate"     // 204
	OutcomeStatusEngineFailed = "status_engine_failed" // 204; kept in the outbox
	OutcomeStatusProgress     = "status_progress"      // 204; not a final status, not published
)

// readForm runs the common first steps of a Twilio webhook in their fixed order: method, size
// limit, form decoding, signature. On failure it has answered and returns ok false.
func readForm(w http.ResponseWriter, r *http.Request, maxBytes int64, v *Verifier, log *slog.Logger) (url.Values, bool) {
	if !isPost(w, r) {
		return nil, false
	}
	body, ok := readBody(w, r, maxBytes)
	if !ok {
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			reject(w, http.StatusBadRequest, OutcomeBadRequest, "expected Content-Type application/x-www-form-urlencoded")
			return nil, false
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		reject(w, http.StatusBadRequest, OutcomeBadRequest, "the body is not a valid form")
		return nil, false
	}
	if !v.knowsAccount(form) {
		// The account SID is not a secret (Twilio sends it in every form); no token is named.
		log.Warn("webhook AccountSid is not the account of TWILIO_ACCOUNT or of a twilio connection in CONNECTOR_CONNECTIONS_FILE; add the account there, or point the number's webhook elsewhere",
			"accountSid", form.Get("AccountSid"))
		reject(w, http.StatusForbidden, OutcomeBadSignature, "unknown AccountSid")
		return nil, false
	}
	if !v.Verify(r, form) {
		// The signature and token are secrets of a sort: log neither, only where it was checked.
		log.Warn("webhook signature does not verify; check the account's token (TWILIO_TOKEN, or the token of its twilio connection) and CONNECTOR_PUBLIC_URL (Twilio signs the URL configured on the number)",
			"expectedURL", v.ExpectedURL(r), "signaturePresent", r.Header.Get(SignatureHeader) != "")
		reject(w, http.StatusForbidden, OutcomeBadSignature, "invalid X-Twilio-Signature")
		return nil, false
	}
	return form, true
}

// isPost answers 405 to anything but POST.
func isPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reject(w, http.StatusMethodNotAllowed, OutcomeMethodNotAllowed, "use POST")
		return false
	}
	return true
}

// readBody reads the body up to maxBytes (0: DefaultMaxBodyBytes), answering 413 beyond.
func readBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, bool) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	if r.ContentLength > maxBytes {
		reject(w, http.StatusRequestEntityTooLarge, OutcomeTooLarge, "body larger than "+strconv.FormatInt(maxBytes, 10)+" bytes")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			reject(w, http.StatusRequestEntityTooLarge, OutcomeTooLarge, "body larger than "+strconv.FormatInt(maxBytes, 10)+" bytes")
			return nil, false
		}
		reject(w, http.StatusBadRequest, OutcomeBadRequest, "cannot read the body")
		return nil, false
	}
	return body, true
}

func reject(w http.ResponseWriter, status int, outcome, msg string) {
	metrics.Webhooks.WithLabelValues(outcome).Inc()
	http.Error(w, msg, status)
}
