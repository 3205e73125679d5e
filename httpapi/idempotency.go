package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/store"
)

// Buckets of the state store. A record lives for the store's retention; a claim only as long
// as one request may take, so a crashed replica does not block the key for good.
const (
	recordsBucket = "api_requests"
	claimsBucket  = "api_claims"
)

// Records keeps the answer to each idempotency key (the HTTP API's Idempotency-Key, the AMQP
// entry point's message_id) and a claim on a key while one request handles it.
type Records struct {
	Store          store.Store
	Bucket, Claims string        // buckets of the records and of the claims
	Field          string        // the key's name in errors, e.g. "Idempotency-Key"
	ClaimTTL       time.Duration // how long a claim outlives a crashed holder
}

// Record is what the store knows of one key. A done record is the answer to replay; one that
// is not done (the last attempt failed transiently) only pins the body hash.
type Record struct {
	Hash   string          `json:"hash"`
	Done   bool            `json:"done,omitempty"`
	Status int             `json:"status,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// TryClaim returns the done record of key to replay, or claims key (claimed: release it with
// Release once the answer is saved); neither when another request holds the claim. The
// error's code is StoreUnavailable or IdempotencyKeyReused (key came with another body).
func (r Records) TryClaim(ctx context.Context, key, hash string) (rec *Record, claimed bool, e *errs.Error) {
	if rec, e := r.Lookup(ctx, key, hash); rec != nil || e != nil {
		return rec, false, e
	}
	ok, err := r.Store.PutIfAbsent(ctx, r.Claims, key, []byte(time.Now().UTC().Format(time.RFC3339)), r.ClaimTTL)
	if err != nil {
		return nil, false, StoreUnavailable(err)
	}
	if !ok {
		return nil, false, nil
	}
	// The request that held the claim may have finished between the lookup and the claim.
	if rec, e := r.Lookup(ctx, key, hash); rec != nil || e != nil {
		r.Release(ctx, key) // else it expires by itself
		return rec, false, e
	}
	return nil, true, nil
}

// Lookup returns the done record of key, or an error when key belongs to another body.
func (r Records) Lookup(ctx context.Context, key, hash string) (*Record, *errs.Error) {
	raw, ok, err := r.Store.Get(ctx, r.Bucket, key)
	if err != nil {
		return nil, StoreUnavailable(err)
	}
	if !ok {
		return nil, nil
	}
	var rec Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, errs.New(errs.IdempotencyKeyReused, r.Field, "the stored record of this %s is unreadable: use a new one", r.Field)
	}
	if rec.Hash != hash {
		return nil, errs.New(errs.IdempotencyKeyReused, r.Field,
			"this %s was used with a different body: use a new %s for a new request", r.Field, r.Field)
	}
	if !rec.Done {
		return nil, nil
	}
	return &rec, nil
}

// Save records the answer under key. A 200 is final and replayed from now on; a 503 keeps
// only the body hash, so the repeat sends what is missing and a different body is refused.
// Other statuses sent nothing and save nothing: the caller may fix the body and reuse the key.
func (r Records) Save(ctx context.Context, key, hash string, status int, body []byte) error {
	var rec Record
	switch status {
	case http.StatusOK:
		rec = Record{Hash: hash, Done: true, Status: status, Body: body}
	case http.StatusServiceUnavailable:
		rec = Record{Hash: hash}
	default:
		return nil
	}
	raw, _ := json.Marshal(rec)
	return r.Store.Put(ctx, r.Bucket, key, raw, 0)
}

// Release lets another request claim key; a claim not released expires after ClaimTTL.
func (r Records) Release(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return r.Store.Delete(ctx, r.Claims, key)
}

// StoreUnavailable is the error of a request refused because the state store failed.
func StoreUnavailable(err error) *errs.Error {
	return &errs.Error{Code: errs.StoreUnavailable, Message: "state store unavailable, nothing sent: " + err.Error(), Err: err}
}

// records are the HTTP API's.
func (a *api) records() Records {
	return Records{Store: a.store, Bucket: recordsBucket, Claims: claimsBucket, Field: headerIdempotencyKey, ClaimTTL: a.timeout + time.Minute}
}

// claim is a request's exclusive hold on an Idempotency-Key while it sends.
type claim struct {
	a         *api
	key, hash string
}

// claim returns either a stored result to replay or a claim on key. The error's code tells
// the status: StoreUnavailable 503, errs.IdempotencyKeyReused 422, errs.IdempotencyKeyInProgress 409.
func (a *api) claim(ctx context.Context, key, hash string) (*claim, *Record, *errs.Error) {
	rec, claimed, e := a.records().TryClaim(ctx, key, hash)
	switch {
	case rec != nil || e != nil:
		return nil, rec, e
	case !claimed:
		return nil, nil, errs.New(errs.IdempotencyKeyInProgress, headerIdempotencyKey,
			"a request with this %s is in progress: repeat it once that one has finished", headerIdempotencyKey)
	}
	return &claim{a: a, key: key, hash: hash}, nil, nil
}

// record saves the outcome under the key (see Records.Save).
func (c *claim) record(status int, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.a.records().Save(ctx, c.key, c.hash, status, body); err != nil {
		// The sends themselves are recorded per recipient by the actions, so a repeat still
		// sends nothing twice; only the replay of this answer is lost.
		c.a.log.Error("state store write failed; a repeat of this request will be answered from the per-recipient records",
			"status", status, "err", err)
	}
}

func (c *claim) release() {
	if err := c.a.records().Release(context.Background(), c.key); err != nil {
		c.a.log.Warn("could not release an Idempotency-Key claim; it expires by itself", "err", err)
	}
}
