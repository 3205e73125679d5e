package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Store for several replicas sharing the work (github.com/redis/go-redis/v9).
// Each entry is its own key, "<prefix><bucket>:<key>", expiring with Redis's own TTL, so
// PutIfAbsent is one atomic SET NX across every replica. Scan needs the keys of one bucket
// without walking the keyspace: a sorted set per bucket, "<prefix>idx:<bucket>", holds them
// scored by expiry and is pruned on every Scan.
type Redis struct {
	client    *redis.Client
	prefix    string
	retention time.Duration
	closed    atomic.Bool
}

var _ Store = (*Redis)(nil)

// DefaultRedisPrefix namespaces the connector's keys; deployments sharing one Redis use
// different prefixes.
const DefaultRedisPrefix = "twilio-connector:"

// OpenRedis connects to rawURL (redis://[user:password@]host:port/db, or rediss:// for TLS)
// and checks the connection. The password never appears in errors.
func OpenRedis(ctx context.Context, rawURL, prefix string, retention time.Duration) (*Redis, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		if _, perr := url.Parse(rawURL); perr != nil {
			// url.Parse's error quotes the whole URL, password included: say only what it is.
			return nil, errors.New("not a valid URL (not shown: it may hold a password); expected redis://[:password@]host:6379/0, with a % in the password written as %25")
		}
		return nil, fmt.Errorf("redis URL %s: %v", redactURL(rawURL), scrubURL(err, rawURL))
	}
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	if retention <= 0 {
		retention = DefaultRetention
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis at %s: %v", redactURL(rawURL), redactErr(err, opts))
	}
	return &Redis{client: c, prefix: prefix, retention: retention}, nil
}

// redactURL drops the credentials of a Redis URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}

// scrubURL removes rawURL and its password from err's text.
func scrubURL(err error, rawURL string) error {
	msg := strings.ReplaceAll(err.Error(), rawURL, redactURL(rawURL))
	if u, perr := url.Parse(rawURL); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "****")
		}
	}
	return errors.New(msg)
}

func redactErr(err error, opts *redis.Options) error {
	if opts == nil || opts.Password == "" {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), opts.Password, "****"))
}

func (r *Redis) key(bucket, key string) string { return r.prefix + bucket + ":" + key }
func (r *Redis) index(bucket string) string    { return r.prefix + "idx:" + bucket }

func (r *Redis) ttl(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return r.retention
	}
	return ttl
}

func (r *Redis) check() error {
	if r.closed.Load() {
		return ErrClosed
	}
	return nil
}

func (r *Redis) Get(ctx context.Context, bucket, key string) ([]byte, bool, error) {
	if err := r.check(); err != nil {
		return nil, false, err
	}
	v, err := r.client.Get(ctx, r.key(bucket, key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis get: %w", err)
	}
	return v, true, nil
}

func (r *Redis) Put(ctx context.Context, bucket, key string, value []byte, ttl time.Duration) error {
	if err := r.check(); err != nil {
		return err
	}
	ttl = r.ttl(ttl)
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.key(bucket, key), value, ttl)
		p.ZAdd(ctx, r.index(bucket), redis.Z{Score: float64(time.Now().Add(ttl).UnixMilli()), Member: key})
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis put: %w", err)
	}
	return nil
}

func (r *Redis) PutIfAbsent(ctx context.Context, bucket, key string, value []byte, ttl time.Duration) (bool, error) {
	return r.ClaimWith(ctx, Entry{Bucket: bucket, Key: key, Value: value, TTL: ttl})
}

// claimScript is ClaimWith on the server, where a script runs without anything in between.
// KEYS holds an entry key and its bucket's index per entry, the claim last; ARGV holds value,
// ttl (ms), index score and index member per entry. Redis does not undo the writes of a
// script that fails half-way, so the claim is written last: a failure can leave entries
// without their claim (a redelivery claims and writes them again), never the claim alone.
var claimScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[#KEYS - 1]) == 1 then return 0 end
for i = 1, #KEYS / 2 do
  local a = (i - 1) * 4
  redis.call('SET', KEYS[2 * i - 1], ARGV[a + 1], 'PX', ARGV[a + 2])
  redis.call('ZADD', KEYS[2 * i], ARGV[a + 3], ARGV[a + 4])
end
return 1
`)

func (r *Redis) ClaimWith(ctx context.Context, claim Entry, with ...Entry) (bool, error) {
	if err := r.check(); err != nil {
		return false, err
	}
	keys := make([]string, 0, 2*(len(with)+1))
	args := make([]any, 0, 4*(len(with)+1))
	for _, e := range append(with[:len(with):len(with)], claim) {
		ttl := r.ttl(e.TTL)
		keys = append(keys, r.key(e.Bucket, e.Key), r.index(e.Bucket))
		args = append(args, e.Value, max(ttl.Milliseconds(), 1), time.Now().Add(ttl).UnixMilli(), e.Key)
	}
	stored, err := claimScript.Run(ctx, r.client, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("redis claim: %w", err)
	}
	return stored == 1, nil
}

func (r *Redis) Delete(ctx context.Context, bucket, key string) error {
	if err := r.check(); err != nil {
		return err
	}
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.key(bucket, key))
		p.ZRem(ctx, r.index(bucket), key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis delete: %w", err)
	}
	return nil
}

// scanBatch bounds the keys fetched per MGET.
const scanBatch = 256

func (r *Redis) Scan(ctx context.Context, bucket string, fn func(key string, value []byte) error) error {
	if err := r.check(); err != nil {
		return err
	}
	idx := r.index(bucket)
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := r.client.ZRemRangeByScore(ctx, idx, "-inf", now).Err(); err != nil {
		return fmt.Errorf("redis scan: %w", err)
	}
	keys, err := r.client.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("redis scan: %w", err)
	}
	for start := 0; start < len(keys); start += scanBatch {
		batch := keys[start:min(start+scanBatch, len(keys))]
		full := make([]string, len(batch))
		for i, k := range batch {
			full[i] = r.key(bucket, k)
		}
		vals, err := r.client.MGet(ctx, full...).Result()
		if err != nil {
			return fmt.Errorf("redis scan: %w", err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue // expired or deleted since the index was read
			}
			if err := fn(batch[i], []byte(s)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Redis) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	return r.client.Close()
}

// RedisDirectory resolves user:NAME recipients from Redis hashes "users.<name>" with a field
// per provider ("phone", "pushover"), the layout of the Zato notify service (hset users.sean
// phone +14155550100). The
// keys are not prefixed: the directory is shared with whatever system maintains it.
type RedisDirectory struct{ R *Redis }

// Lookup implements actions.Directory.
func (d RedisDirectory) Lookup(ctx context.Context, user, field string) (string, bool, error) {
	if err := d.R.check(); err != nil {
		return "", false, err
	}
	v, err := d.R.client.HGet(ctx, "users."+user, field).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("redis directory: %w", err)
	}
	return v, v != "", nil
}
