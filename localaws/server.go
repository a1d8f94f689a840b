package localaws

import (
	"context"
	"crypto/rand"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/broker-dev/broker"
)

// DefaultClockSkew is the clock skew allowed on SAML validity times when
// Config.ClockSkew is zero.
const DefaultClockSkew = 60 * time.Second

// Config configures a Server.
type Config struct {
	Registry *Registry
	// BaseURL is where the server is reached, e.g. http://127.0.0.1:8083:
	// used for links and to decide whether the console cookie is Secure.
	BaseURL string
	// ClockSkew is allowed on SAML NotBefore/NotOnOrAfter/IssueInstant;
	// zero means DefaultClockSkew.
	ClockSkew  time.Duration
	Now        func() time.Time // nil: time.Now
	Logger     *slog.Logger     // nil: discard
	HTTPClient *http.Client     // for OIDC discovery/JWKS (AssumeRoleWithWebIdentity); nil: http.DefaultClient
}

// Server is the local AWS: STS Query API, the sign-in federation endpoint
// and the console page. It is an http.Handler; all its state is in memory.
type Server struct {
	iam     *iam
	baseURL *url.URL
	skew    time.Duration
	now     func() time.Time
	log     *slog.Logger
	client  *http.Client
	actions map[string]stsAction
	pages   *template.Template
	mux     *http.ServeMux

	sealer     *sealer                  // session and sign-in tokens carry what they stand for (sealed.go)
	replay     *ttlMap[struct{}]        // used assertion IDs, until the assertion expires
	usedTokens *ttlMap[struct{}]        // ids of sign-in tokens used for a login, until they expire
	consoles   *ttlMap[*consoleSession] // console sessions by cookie value
	oidcKeys   keyCache                 // OIDC issuers' JWKS
}

// New validates cfg (the registry as Registry.Validate does, BaseURL as an
// absolute http(s) URL when set) and returns a Server.
//
// Errors are *broker.Error with Code EINVALID: Reason "registry_invalid"
// (naming each bad entry) or "config_invalid".
func New(cfg Config) (*Server, error) {
	m, probs := compileRegistry(cfg.Registry)
	if len(probs) > 0 {
		return nil, registryError("localaws: registry", probs)
	}
	s := &Server{
		iam: m, skew: cfg.ClockSkew, now: cfg.Now, log: cfg.Logger, client: cfg.HTTPClient,
		replay: newTTLMap[struct{}](), usedTokens: newTTLMap[struct{}](), consoles: newTTLMap[*consoleSession](),
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, broker.Errorf(broker.EINVALID, "config_invalid", "localaws: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
		}
		s.baseURL = u
	}
	if s.skew <= 0 {
		s.skew = DefaultClockSkew
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	var err error
	if s.sealer, err = newSealer(); err != nil {
		return nil, broker.Wrap(err, broker.EINTERNAL, "random_failed", "localaws: the token key could not be made")
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, broker.Wrap(err, broker.EINTERNAL, "templates_invalid", "localaws: page templates do not parse")
	}
	s.actions = s.stsActions()
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /{$}", s.handleSTS)
	s.mux.HandleFunc("GET /{$}", s.handleRoot)
	s.mux.HandleFunc("GET /federation", s.handleFederation)
	s.mux.HandleFunc("POST /federation", s.handleFederation)
	s.mux.HandleFunc("GET /console", s.handleConsole)
	s.mux.HandleFunc("POST /console/signout", s.handleSignOut)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	return s, nil
}

// ServeHTTP routes: POST / (STS Query API; GET / with parameters too),
// GET+POST /federation (getSigninToken, login), GET /console, POST
// /console/signout, GET /healthz. Every response carries a request id; a
// panic in a handler is answered with a 500 and logged, never propagated.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(ctx, "localaws: handler panic", "request_id", id, "panic", fmt.Sprint(v))
			http.Error(w, "internal error, request id "+id, http.StatusInternalServerError)
		}
	}()
	s.mux.ServeHTTP(w, r.WithContext(ctx))
}

// handleRoot answers GET / with parameters as an STS call (AWS accepts the
// Query API over GET) and without any with an index page.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		s.handleSTS(w, r)
		return
	}
	s.renderIndex(w, r)
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

type requestIDKey struct{}

func requestIDFrom(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	return newRequestID()
}

// newRequestID returns a random UUID (version 4), AWS's request id shape.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// urlFor returns the absolute URL of path when BaseURL is set, else path.
func (s *Server) urlFor(path string) string {
	if s.baseURL == nil {
		return path
	}
	u := *s.baseURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}
