package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
)

// Buckets of the state store. A record lives for the store's retention; a claim only as long
// as one request may take, so a crashed replica does not block the key for good.
const (
	recordsBucket = "api_requests"
	claimsBucket  = "api_claims"
)

// record is what the store knows of one Idempotency-Key. Done records are replayed as they
// are; a record that is not done (the last attempt failed transiently) only pins the body hash.
type record struct {
	Hash   string          `json:"hash"`
	Done   bool            `json:"done,omitempty"`
	Status int             `json:"status,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// claim is a request's exclusive hold on an Idempotency-Key while it sends.
type claim struct {
	a         *api
	key, hash string
}

// claim returns either a stored result to replay or a claim on key. The error's code tells
// the status: StoreUnavailable 503, errs.IdempotencyKeyReused 422, errs.IdempotencyKeyInProgress 409.
func (a *api) claim(ctx context.Context, key, hash string) (*claim, *record, *errs.Error) {
	if rec, e := a.lookup(ctx, key, hash); rec != nil || e != nil {
		return nil, rec, e
	}
	ok, err := a.store.PutIfAbsent(ctx, claimsBucket, key, []byte(time.Now().UTC().Format(time.RFC3339)), a.timeout+time.Minute)
	if err != nil {
		return nil, nil, storeUnavailable(err)
	}
	if !ok {
		return nil, nil, errs.New(errs.IdempotencyKeyInProgress, headerIdempotencyKey,
			"a request with this %s is in progress: repeat it once that one has finished", headerIdempotencyKey)
	}
	c := &claim{a: a, key: key, hash: hash}
	// The request that held the claim may have finished between the lookup and the claim.
	if rec, e := a.lookup(ctx, key, hash); rec != nil || e != nil {
		c.release()
		return nil, rec, e
	}
	return c, nil, nil
}

// lookup returns the done record of key, or an error when key belongs to another body.
func (a *api) lookup(ctx context.Context, key, hash string) (*record, *errs.Error) {
	raw, ok, err := a.store.Get(ctx, recordsBucket, key)
	if err != nil {
		return nil, storeUnavailable(err)
	}
	if !ok {
		return nil, nil
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, errs.New(errs.Internal, headerIdempotencyKey, "the stored record of this %s is unreadable: use a new key", headerIdempotencyKey)
	}
	if rec.Hash != hash {
		return nil, errs.New(errs.IdempotencyKeyReused, headerIdempotencyKey,
			"this %s was used with a different body: use a new key for a new request", headerIdempotencyKey)
	}
	if !rec.Done {
		return nil, nil
	}
	return &rec, nil
}

// record stores the outcome under the key. A 200 is final and replayed from now on; a 503
// keeps only the body hash, so the repeat sends what is missing and a different body is
// refused. 400 and 500 sent nothing and store nothing: the caller may fix the body and reuse
// the key.
func (c *claim) record(status int, body []byte) {
	var rec record
	switch status {
	case http.StatusOK:
		rec = record{Hash: c.hash, Done: true, Status: status, Body: body}
	case http.StatusServiceUnavailable:
		rec = record{Hash: c.hash}
	default:
		return
	}
	raw, _ := json.Marshal(rec)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.a.store.Put(ctx, recordsBucket, c.key, raw, 0); err != nil {
		// The sends themselves are recorded per recipient by the actions, so a repeat still
		// sends nothing twice; only the replay of this answer is lost.
		c.a.log.Error("state store write failed; a repeat of this request will be answered from the per-recipient records",
			"status", status, "err", err)
	}
}

func (c *claim) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.a.store.Delete(ctx, claimsBucket, c.key); err != nil {
		c.a.log.Warn("could not release an Idempotency-Key claim; it expires by itself", "err", err)
	}
}

func storeUnavailable(err error) *errs.Error {
	return &errs.Error{Code: errs.StoreUnavailable, Message: "state store unavailable, nothing sent: " + err.Error(), Err: err}
}
