package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twilio-connector/twilio-connector/pace"
)

// reserveScript is pace.Limiter's Reserve on the server: one atomic step across every replica,
// timed by Redis's own clock (TIME), so that the replicas' clocks do not matter. Each bucket
// key holds the microsecond at which it is free again. KEYS are the buckets; ARGV[1] is the
// longest wait to book (µs), ARGV[1+i] the hold of KEYS[i] (µs). It returns {booked (0/1),
// wait (µs)} followed, when booked, by each bucket's value before and after.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local start, before = now, {}
for i, k in ipairs(KEYS) do
  before[i] = tonumber(redis.call('GET', k) or '0')
  if before[i] > start then start = before[i] end
end
local wait = start - now
if wait > tonumber(ARGV[1]) then return {0, wait} end
local out = {1, wait}
for i, k in ipairs(KEYS) do
  local free = start + tonumber(ARGV[i + 1])
  redis.call('SET', k, string.format('%d', free), 'PX', math.ceil((free - now) / 1000) + 1000)
  out[#out + 1] = before[i]
  out[#out + 1] = free
end
return out
`)

// releaseScript gives a booking back: each bucket still holding the booked value (nobody booked
// after it) returns to its value before. ARGV[2i-1] is KEYS[i]'s booked value, ARGV[2i] its
// value before.
var releaseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[2 * i - 1] then
    local before = tonumber(ARGV[2 * i])
    if before > now then
      redis.call('SET', k, ARGV[2 * i], 'PX', math.ceil((before - now) / 1000) + 1000)
    else
      redis.call('DEL', k)
    end
  end
end
return 0
`)

// releaseTimeout bounds giving a booking back, which runs after the send's context ended.
const releaseTimeout = 2 * time.Second

// Reserve implements pace.Limiter with one bucket per key in Redis, shared by every replica
// using this prefix.
func (r *Redis) Reserve(ctx context.Context, claims []pace.Claim, maxWait time.Duration) (pace.Booking, error) {
	if err := r.check(); err != nil {
		return pace.Booking{}, err
	}
	keys := make([]string, len(claims))
	args := make([]any, 0, len(claims)+1)
	args = append(args, maxWait.Microseconds())
	for i, c := range claims {
		keys[i] = r.prefix + c.Key
		args = append(args, max(c.Hold.Microseconds(), 1))
	}
	res, err := reserveScript.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return pace.Booking{}, fmt.Errorf("redis pace: %w", err)
	}
	if len(res) < 2 || (res[0] == 1 && len(res) != 2+2*len(claims)) {
		return pace.Booking{}, fmt.Errorf("redis pace: unexpected answer %v", res)
	}
	wait := time.Duration(res[1]) * time.Microsecond
	if res[0] != 1 {
		return pace.Booking{Wait: wait}, nil
	}
	release := make([]any, 0, 2*len(claims))
	for i := range claims {
		release = append(release, strconv.FormatInt(res[3+2*i], 10), strconv.FormatInt(res[2+2*i], 10))
	}
	cancel := func() {
		ctx, done := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer done()
		_ = releaseScript.Run(ctx, r.client, keys, release...).Err() // at worst the slot is lost
	}
	return pace.Booking{Wait: wait, OK: true, Cancel: cancel}, nil
}

var _ pace.Limiter = (*Redis)(nil)
