// Package cdp drives a headless Chromium through the Chrome DevTools Protocol over
// --remote-debugging-pipe (no websocket, no dependency): enough for the console's browser
// test to open pages, run JavaScript in them, resize the window and take screenshots.
package cdp

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Browser is a running headless Chromium.
type Browser struct {
	cmd  *exec.Cmd
	w    *os.File
	done chan struct{}

	mu      sync.Mutex
	next    int
	pending map[int]chan reply
	err     error
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Start runs chromium (its path) headless with a fresh profile in profileDir. noSandbox is
// needed when running as root.
func Start(chromium, profileDir string, noSandbox bool) (*Browser, error) {
	args := []string{"--headless=new", "--remote-debugging-pipe", "--user-data-dir=" + profileDir, "--no-first-run",
		"--no-default-browser-check", "--disable-gpu", "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio"}
	if noSandbox {
		args = append(args, "--no-sandbox")
	}
	cmd := exec.Command(chromium, append(args, "about:blank")...)
	toR, toW, err := os.Pipe() // Chromium reads commands on fd 3
	if err != nil {
		return nil, err
	}
	fromR, fromW, err := os.Pipe() // and writes answers on fd 4
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{toR, fromW}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", chromium, err)
	}
	toR.Close()
	fromW.Close()
	b := &Browser{cmd: cmd, w: toW, done: make(chan struct{}), pending: map[int]chan reply{}}
	go b.read(fromR)
	return b, nil
}

// read dispatches answers to their callers; events are not used.
func (b *Browser) read(r *os.File) {
	defer close(b.done)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("chromium closed the pipe: %w", err)
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m struct {
			ID *int `json:"id"`
			reply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == nil {
			continue
		}
		b.mu.Lock()
		ch := b.pending[*m.ID]
		delete(b.pending, *m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.reply
		}
	}
}

// Call sends one command (to a page's session, or the browser with session "") and waits
// for its answer.
func (b *Browser) Call(ctx context.Context, session, method string, params any, result any) error {
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return b.err
	}
	b.next++
	id := b.next
	ch := make(chan reply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if params == nil {
		msg["params"] = struct{}{}
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: %w", method, b.err)
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(r.Result, result)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Close stops Chromium.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.Call(ctx, "", "Browser.close", nil, nil)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
	}
	b.w.Close()
	return b.cmd.Wait()
}

// Page is one tab.
type Page struct {
	b       *Browser
	session string
}

// NewPage opens a blank tab.
func (b *Browser) NewPage(ctx context.Context) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.Call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: attached.SessionID}
	return p, b.Call(ctx, p.session, "Page.enable", nil, nil)
}

// Navigate opens url and waits until the document has loaded.
func (p *Page) Navigate(ctx context.Context, url string) error {
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.Call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, nav.ErrorText)
	}
	return p.WaitFor(ctx, fmt.Sprintf(`document.readyState === "complete" && location.href === %q`, url))
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise) and stores its
// JSON value in result (nil: ignored).
func (p *Page) Eval(ctx context.Context, expr string, result any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.b.Call(ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("%s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if result != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, result)
	}
	return nil
}

// WaitFor polls a JavaScript condition until it is true or ctx ends.
func (p *Page) WaitFor(ctx context.Context, cond string) error {
	for {
		var ok bool
		err := p.Eval(ctx, "Boolean("+cond+")", &ok)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("waiting for %s: %w", cond, ctx.Err()), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Resize sets the viewport to width x height CSS pixels (a phone's when width is small).
func (p *Page) Resize(ctx context.Context, width, height int) error {
	return p.b.Call(ctx, p.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}, nil)
}

// Screenshot writes a PNG of the whole page to path.
func (p *Page) Screenshot(ctx context.Context, path string) error {
	var m struct {
		Content struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	if err := p.b.Call(ctx, p.session, "Page.getLayoutMetrics", nil, &m); err != nil {
		return err
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := p.b.Call(ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": m.Content.Width, "height": m.Content.Height, "scale": 1}}, &shot); err != nil {
		return err
	}
	data, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// keys are the keys Press knows: DOM key, code and Windows virtual key code, text typed.
var keys = map[string]struct {
	code string
	vk   int
	text string
}{
	"Tab": {"Tab", 9, ""}, "Enter": {"Enter", 13, "\r"}, " ": {"Space", 32, " "},
}

// Press presses and releases a key (Tab, Enter or " ") as a keyboard would.
func (p *Page) Press(ctx context.Context, key string) error {
	k, ok := keys[key]
	if !ok {
		return fmt.Errorf("cdp: Press does not know the key %q", key)
	}
	down := map[string]any{"type": "keyDown", "key": key, "code": k.code, "windowsVirtualKeyCode": k.vk}
	if k.text != "" {
		down["text"] = k.text
	}
	if err := p.b.Call(ctx, p.session, "Input.dispatchKeyEvent", down, nil); err != nil {
		return err
	}
	return p.b.Call(ctx, p.session, "Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key, "code": k.code, "windowsVirtualKeyCode": k.vk}, nil)
}
