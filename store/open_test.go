package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// damagedFixture writes a state file through the store, big enough for many pages, and
// returns its path and bbolt's page size.
func damagedFixture(t *testing.T) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	b, err := OpenBolt(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 40 {
		if err := b.Put(ctx, fmt.Sprintf("bucket%d", i%4), fmt.Sprintf("key-%04d", i), []byte(strings.Repeat("v", 1000+100*i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	pageSize := b.db.Info().PageSize
	b.Close()
	return path, pageSize
}

func wantDamaged(t *testing.T, path string, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("a damaged file opened without an error")
	}
	msg := err.Error()
	for _, want := range []string{path + " is damaged", "move it aside", "mv " + path} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine") {
		t.Errorf("error is not one line: %q", msg)
	}
}

func TestOpenBoltTruncatedFile(t *testing.T) {
	path, pageSize := damagedFixture(t)
	info, _ := os.Stat(path)
	for _, size := range []int64{info.Size() / 2, int64(pageSize) * 3, int64(pageSize) + 100, 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "state.db")
			data, _ := os.ReadFile(path)
			os.WriteFile(cut, data[:size], 0o600)
			_, err := OpenBolt(cut, 0)
			wantDamaged(t, cut, err)
		})
	}
}

// Pages after the two meta pages, overwritten with random bytes one at a time: the file
// opens (the page was free) or gives the damaged error; it never panics or faults.
func TestOpenBoltRandomPagesOverwritten(t *testing.T) {
	path, pageSize := damagedFixture(t)
	orig, _ := os.ReadFile(path)
	rng := rand.New(rand.NewPCG(1, 2))
	failed := 0
	pages := len(orig) / pageSize
	for range 12 {
		page := 2 + rng.IntN(pages-2)
		data := append([]byte(nil), orig...)
		for i := page * pageSize; i < (page+1)*pageSize; i++ {
			data[i] = byte(rng.Uint32())
		}
		p := filepath.Join(t.TempDir(), "state.db")
		os.WriteFile(p, data, 0o600)
		b, err := OpenBolt(p, 0)
		if err == nil {
			b.Close()
			continue
		}
		failed++
		wantDamaged(t, p, err)
	}
	if failed == 0 {
		t.Fatal("no overwritten page was detected")
	}
}

func TestOpenBoltHeldByAnotherOpener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	first, err := OpenBolt(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = OpenBolt(path, 0)
	if err == nil || !strings.Contains(err.Error(), "another process holds "+path) || !strings.Contains(err.Error(), "its own file") {
		t.Fatalf("second opener: %v", err)
	}
}

// url.Parse's error quotes the URL; OpenRedis must not pass it on.
func TestOpenRedisNeverEchoesTheURL(t *testing.T) {
	for _, raw := range []string{"redis://:s3cr%tPW@127.0.0.1:1/0", "redis://u:s3cr%tPW@127.0.0.1:1/0", "redis://:s3cretPW@127.0.0.1:1/notanumber", "redis://:s3cretPW@127.0.0.1:1/0"} {
		_, err := OpenRedis(context.Background(), raw, "", 0)
		if err == nil || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("%s: %v", raw, err)
		}
	}
}
