package engine

import (
	"log/slog"
	"sync"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn"
)

// Gateway defaults the engine applies when a request leaves them open, as Zeebe's gateway does.
const (
	// DefaultLongPollTimeout is how long ActivateJobs waits for jobs when requestTimeout is 0.
	DefaultLongPollTimeout = 10 * time.Second
	// DefaultRequestTimeout bounds CreateProcessInstanceWithResult when requestTimeout is not
	// positive (Zeebe's gateway request timeout).
	DefaultRequestTimeout = 15 * time.Second
	// DefaultJobRetries is used when a task definition has no retries attribute.
	DefaultJobRetries = 3
	// GatewayVersion is reported by Topology: the Zeebe version whose API is reproduced.
	GatewayVersion = "8.3.0"
)

// Options configure an Engine. The zero value is usable.
type Options struct {
	// Logger receives the engine's logs; nil means slog.Default().
	Logger *slog.Logger
	// OnDeploy, if set, is called for every BPMN resource of a successful deployment (also
	// when it is unchanged and creates no new version), without engine locks held, e.g. so the
	// trigger loader sees processes deployed to the dev engine.
	OnDeploy func(defs *bpmn.Definitions)
}

// Engine holds all state. Every gRPC call takes one mutex, runs the process instances it
// affects until they wait (for a job, a message or an incident) and releases it; time-based
// transitions (job deadlines, retry backoffs, message TTLs) are applied when state is read.
type Engine struct {
	log      *slog.Logger
	onDeploy func(*bpmn.Definitions)

	mu sync.Mutex
	// changed is closed and replaced whenever state changes, waking long-polling requests.
	changed chan struct{}
	lastKey int64

	processes map[int64]*process    // by process definition key
	versions  map[string][]*process // by BPMN process id, oldest version first

	instances map[int64]*instance
	elements  map[int64]*elementInstance // active element instances of all instances
	jobs      map[int64]*job             // jobs that are neither completed nor cancelled
	incidents map[int64]*incident        // open incidents

	messages      []*message // published messages, oldest first (see pruneMessages)
	subscriptions []*subscription

	stats JobStats
	// waitingPolls counts ActivateJobs calls currently long polling.
	waitingPolls int
}

// New returns an empty engine.
func New(opts Options) *Engine {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Engine{
		log:       log.With("component", "dev-engine"),
		onDeploy:  opts.OnDeploy,
		changed:   make(chan struct{}),
		processes: map[int64]*process{},
		versions:  map[string][]*process{},
		instances: map[int64]*instance{},
		elements:  map[int64]*elementInstance{},
		jobs:      map[int64]*job{},
		incidents: map[int64]*incident{},
	}
}

// partitionOneKeyBase makes keys look like Zeebe's: the partition id (1) in the top bits.
const partitionOneKeyBase = int64(1) << 51

// nextKey returns a new unique key. Callers hold e.mu.
func (e *Engine) nextKey() int64 {
	e.lastKey++
	return partitionOneKeyBase + e.lastKey
}

// broadcast wakes everything waiting on e.changed. Callers hold e.mu.
func (e *Engine) broadcast() {
	close(e.changed)
	e.changed = make(chan struct{})
}
