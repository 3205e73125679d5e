// Package console is the web console at /console: send a message through any connection
// (Send), try a trigger on a message (Try a trigger), list the loaded triggers (Triggers),
// watch the last sends and inbound messages live (Activity) and see the dependencies' health
// (Health). It is server-rendered HTML (html/template) with a little JavaScript, embedded in
// the binary.
//
// Security: with Options.Secrets set, every page needs a login (one of the secrets, e.g. an
// API key); the session is an HttpOnly, SameSite=Strict cookie (Secure over HTTPS) naming a
// session kept in memory, every POST carries the session's CSRF token, secrets are compared
// in constant time, and an address refused five times within a minute may not try again
// until that minute has passed. Pages show connection names and provider kinds, never their
// settings.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// Path is where the console is mounted.
const Path = "/console/"

// Check is one dependency's health: Err is why it is down (nil: up).
type Check struct {
	Name string
	Err  error
}

// Options configure the console.
type Options struct {
	// Messages is the send_sms action the other entry points run.
	Messages actions.Action
	// Connections are the configured connections (Send lists them, Health shows them).
	Connections providers.Connections
	// Triggers are the loaded SMS received triggers; MessageTTL the default TTL of start events.
	Triggers   *triggers.Registry
	MessageTTL time.Duration
	// Health returns the readiness checks (what /readyz answers), one per dependency.
	Health func(context.Context) []Check
	// Activity is fed by the actions and the inbound endpoints.
	Activity *Activity
	// Store tells whether an inbound message waits in the outbox; nil: not shown.
	Store store.Store
	// Secrets sign in (API keys, the console password); none means the console is open (dev).
	Secrets []string
	// SecureCookies sets the Secure attribute on every cookie (the connector is reached over
	// HTTPS through a proxy); it is set anyway on TLS requests and X-Forwarded-Proto: https.
	SecureCookies bool
	// Timeout bounds one send from the Send page; 0 means 30 s.
	Timeout time.Duration
	Logger  *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const (
	sessionCookie = "console_session"
	loginCookie   = "console_login" // CSRF token of the login form (double-submit)
	fieldCSRF     = "csrf"
	sessionFor    = 12 * time.Hour
	maxSessions   = 1000
	maxForm       = 256 << 10

	// Sign-in guessing: after maxFailures refused sign-ins from one address within
	// failureWindow, that address may not try again until the window has passed.
	maxFailures    = 5
	failureWindow  = time.Minute
	maxFailingAddr = 10000
)

// Console is the console's handler; mount it with mux.Handle(console.Path, c).
type Console struct {
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux

	secrets [][sha256.Size]byte

	mu       sync.Mutex
	sessions map[string]*session
	failures map[string]*failures // sign-in attempts by remote address
}

// failures counts the sign-in attempts from one address since the first of its window; a
// successful one clears them.
type failures struct {
	n     int
	since time.Time
}

type session struct {
	csrf    string
	expires time.Time
}

// New returns the console.
func New(opts Options) *Console {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Activity == nil {
		opts.Activity = NewActivity(0)
	}
	if opts.Triggers == nil {
		opts.Triggers = triggers.NewRegistry()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	c := &Console{opts: opts, log: opts.Logger.With("component", "console"), pages: map[string]*template.Template{}, sessions: map[string]*session{}, failures: map[string]*failures{}}
	for _, s := range opts.Secrets {
		if s = strings.TrimSpace(s); s != "" {
			c.secrets = append(c.secrets, sha256.Sum256([]byte(s)))
		}
	}
	for _, p := range []string{"send", "try", "triggers", "activity", "health", "login"} {
		c.pages[p] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html"))
	}
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/login", c.loginPage)
	mux.HandleFunc("POST /console/login", c.login)
	mux.Handle("POST /console/logout", c.auth(c.logout))
	mux.Handle("GET /console/{$}", c.auth(func(w http.ResponseWriter, r *http.Request, _ *session) {
		http.Redirect(w, r, "/console/send", http.StatusSeeOther)
	}))
	mux.Handle("GET /console/send", c.auth(c.sendPage))
	mux.Handle("POST /console/send", c.auth(c.send))
	mux.Handle("GET /console/try", c.auth(c.tryPage))
	mux.Handle("POST /console/try", c.auth(c.try))
	mux.Handle("GET /console/triggers", c.auth(c.triggersPage))
	mux.Handle("GET /console/activity", c.auth(c.activityPage))
	mux.Handle("GET /console/activity/live", c.auth(c.activityLive))
	mux.Handle("GET /console/health", c.auth(c.healthPage))
	c.mux = mux
	return c
}

// Open reports whether the console needs no login.
func (c *Console) Open() bool { return len(c.secrets) == 0 }

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	c.mux.ServeHTTP(w, r)
}

// auth runs h with the caller's session: an open console gives every caller one, a closed
// one sends callers without a session to the login page (a 401 for anything but a page).
// Every POST must carry the session's CSRF token.
func (c *Console) auth(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil && c.Open() {
			s = c.newSession(w, r)
		}
		if s == nil {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/live") {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in to the console first: /console/login", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !equal(r.PostFormValue(fieldCSRF), s.csrf) {
			http.Error(w, "the form's CSRF token is missing or stale: reload the page and submit again", http.StatusForbidden)
			return
		}
		h(w, r, s)
	})
}

func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sessions[ck.Value]
	if !ok || time.Now().After(s.expires) {
		return nil
	}
	return s
}

func (c *Console) newSession(w http.ResponseWriter, r *http.Request) *session {
	id, s := rand.Text(), &session{csrf: rand.Text(), expires: time.Now().Add(sessionFor)}
	c.mu.Lock()
	now := time.Now()
	for k, old := range c.sessions {
		if now.After(old.expires) || len(c.sessions) >= maxSessions {
			delete(c.sessions, k)
		}
	}
	c.sessions[id] = s
	c.mu.Unlock()
	c.setCookie(w, r, sessionCookie, id, sessionFor)
	return s
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/console", MaxAge: int(maxAge / time.Second), HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   c.opts.SecureCookies || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	})
}

// equal compares two tokens in constant time; an empty token never matches.
func equal(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// signIn reports whether secret is one of the configured secrets; every one is compared, so
// the time taken does not tell which one came close.
func (c *Console) signIn(secret string) bool {
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	ok := 0
	for i := range c.secrets {
		ok |= subtle.ConstantTimeCompare(sum[:], c.secrets[i][:])
	}
	return secret != "" && ok == 1
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.Open() || c.session(r) != nil {
		http.Redirect(w, r, "/console/send", http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	token := rand.Text()
	c.setCookie(w, r, loginCookie, token, time.Hour)
	c.render(w, status, "login", page{Title: "Sign in", CSRF: token, Data: problem})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	if err != nil || !equal(r.PostFormValue(fieldCSRF), ck.Value) {
		http.Error(w, "the form's CSRF token is missing or stale: reload the sign-in page and submit again", http.StatusForbidden)
		return
	}
	if c.Open() {
		http.Redirect(w, r, "/console/send", http.StatusSeeOther)
		return
	}
	addr := remoteAddr(r)
	if wait := c.attempt(addr); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		http.Error(w, fmt.Sprintf("too many refused sign-ins from your address: try again in %d s", secs), http.StatusTooManyRequests)
		return
	}
	if !c.signIn(r.PostFormValue("secret")) {
		c.log.Warn("console sign-in refused", "remote", r.RemoteAddr)
		c.renderLogin(w, r, http.StatusUnauthorized, "That is not an API key of CONNECTOR_API_KEYS nor the CONNECTOR_CONSOLE_PASSWORD.")
		return
	}
	c.mu.Lock()
	delete(c.failures, addr)                            // a success clears the address's attempts
	if ck, err := r.Cookie(sessionCookie); err == nil { // a fresh id: no session fixation
		delete(c.sessions, ck.Value)
	}
	c.mu.Unlock()
	c.newSession(w, r)
	c.setCookie(w, r, loginCookie, "", -time.Second)
	c.log.Info("console sign-in", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/console/send", http.StatusSeeOther)
}

// remoteAddr is the caller's IP address (behind a proxy: the proxy's, so its callers share
// one allowance of refused sign-ins).
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// attempt counts a sign-in attempt from addr, or returns how long addr must wait before it may
// try again (its attempts are not cleared by a success yet: maxFailures were refused). The
// count is taken before the secret is checked, so concurrent guesses cannot pass the limit.
func (c *Console) attempt(addr string) (wait time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	f := c.failures[addr]
	if f == nil || now.Sub(f.since) >= failureWindow {
		for a, old := range c.failures {
			if now.Sub(old.since) >= failureWindow || len(c.failures) >= maxFailingAddr {
				delete(c.failures, a)
			}
		}
		f = &failures{since: now}
		c.failures[addr] = f
	}
	if f.n >= maxFailures {
		return f.since.Add(failureWindow).Sub(now)
	}
	f.n++
	return 0
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.mu.Lock()
		delete(c.sessions, ck.Value)
		c.mu.Unlock()
	}
	c.setCookie(w, r, sessionCookie, "", -time.Second)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// page is what every page template gets.
type page struct {
	Title  string
	Nav    string // the page's name, marks the current navigation link
	CSRF   string
	Logout bool // show the sign-out button
	Data   any
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	p.Nav = name
	p.Logout = !c.Open() && name != "login"
	c.execute(w, status, c.pages[name], "layout", p)
}

func (c *Console) execute(w http.ResponseWriter, status int, t *template.Template, name string, data any) {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		c.log.Error("console page failed", "template", name, "err", err)
		http.Error(w, "the page could not be rendered (see the connector's log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// navigation lists the pages, in the order of the navigation bar.
var navigation = []struct{ Path, Name string }{
	{"send", "Send"}, {"try", "Try a trigger"}, {"triggers", "Triggers"}, {"activity", "Activity"}, {"health", "Health"},
}

var funcs = template.FuncMap{
	"list": func() any { return navigation },
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("15:04:05")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}
