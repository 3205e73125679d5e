package twilio

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

// peakTransport counts the requests in flight and remembers the most at once.
type peakTransport struct {
	next      http.RoundTripper
	now, peak atomic.Int64
}

func (p *peakTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := p.now.Add(1)
	defer p.now.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	return p.next.RoundTrip(r)
}

// However many sends run at once, no more than MaxConcurrent requests are at Twilio.
func TestMaxConcurrentRequests(t *testing.T) {
	fake := twiliotest.New(t)
	fake.SetLatency(30 * time.Millisecond)
	peak := &peakTransport{next: http.DefaultTransport}
	tw, err := New(Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, BaseURL: fake.URL(),
		Transport: peak, MaxConcurrent: 3})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tw.Send(context.Background(), providers.Message{To: fmt.Sprintf("+1415555011%d", i%10), From: "+15005550006", Body: "hi"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.peak.Load(); p != 3 {
		t.Errorf("peak of %d requests in flight, want 3", p)
	}
	if n := len(fake.Sent()); n != 12 {
		t.Errorf("%d sent", n)
	}
}
