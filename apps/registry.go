package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// Registry is where admins register apps with the OpenID Provider: the
// admin UI, the JSON API and `broker clients apply` all go through it, so
// each change is checked, versioned and audited the same way. Apps in the
// config file (and the built-in CLI) are listed too, read-only: they are
// changed in the config file.
//
// A confidential app's secret is generated here (256 random bits), shown
// once to whoever created or rotated it, and stored only as its SHA-256.
type Registry struct {
	st     store.ClientStore
	audit  Auditor
	static []Client
	log    *slog.Logger
}

// RegistryConfig configures NewRegistry.
type RegistryConfig struct {
	Store store.ClientStore
	Audit Auditor
	// Static are the apps of the config file and the built-in CLI: listed,
	// never stored; an admin cannot register an app with one of their ids.
	Static []Client
	Logger *slog.Logger
}

// NewRegistry returns a registry over the store.
func NewRegistry(cfg RegistryConfig) *Registry {
	r := &Registry{st: cfg.Store, audit: cfg.Audit, static: cfg.Static, log: cfg.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Registry returns the provider's registry of apps.
func (p *Provider) Registry() *Registry {
	static := make([]Client, 0, len(p.clients))
	for _, c := range p.clients {
		static = append(static, *c)
	}
	slices.SortFunc(static, func(a, b Client) int { return strings.Compare(a.ID, b.ID) })
	return NewRegistry(RegistryConfig{Store: p.cfg.Store, Audit: p.cfg.Audit, Static: static, Logger: p.log})
}

// Registered is an app as the registry lists it.
type Registered struct {
	Spec ClientSpec
	// Source is SourceConfig, SourceBuiltIn or SourceAdmin; only
	// SourceAdmin apps can be changed through the registry.
	Source       string
	Confidential bool
	Version      int64
	// SecretHash is a stored confidential app's secret hash (for export).
	SecretHash           string
	CreatedAt, UpdatedAt time.Time
	CreatedBy, UpdatedBy string
}

// Editable reports whether the registry may change the app.
func (r *Registered) Editable() bool { return r.Source == SourceAdmin }

// List returns every app: the configured and built-in ones, then the
// registered ones, each group by id.
func (r *Registry) List(ctx context.Context) ([]Registered, error) {
	out := make([]Registered, 0, len(r.static))
	for _, c := range r.static {
		out = append(out, staticRegistered(c))
	}
	stored, err := r.st.AppClients(ctx)
	if err != nil {
		return nil, err
	}
	for _, sc := range stored {
		reg, err := storedRegistered(&sc)
		if err != nil {
			r.log.ErrorContext(ctx, "registered app unreadable", "client", sc.ID, "err", err)
			continue
		}
		out = append(out, *reg)
	}
	return out, nil
}

// Get returns the app id; ENOTFOUND (ReasonClientUnknown) if there is none.
func (r *Registry) Get(ctx context.Context, id string) (*Registered, error) {
	for _, c := range r.static {
		if c.ID == id {
			reg := staticRegistered(c)
			return &reg, nil
		}
	}
	sc, err := r.st.AppClient(ctx, id)
	if broker.ErrorCode(err) == broker.ENOTFOUND {
		return nil, errUnknownClient(id)
	}
	if err != nil {
		return nil, err
	}
	return storedRegistered(sc)
}

// Create registers a new app and returns its secret (shown once; "" for a
// public app). EINVALID (ReasonClientInvalid, with Problems) for a spec
// with problems, ECONFLICT if the id is taken (by a stored, configured or
// built-in app).
func (r *Registry) Create(ctx context.Context, who broker.Actor, spec ClientSpec) (string, error) {
	spec.Normalize()
	if err := r.check(&spec); err != nil {
		return "", r.refused(ctx, who, "create", spec.ID, err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	secret := ""
	sc := &store.AppClient{ID: spec.ID, Spec: raw}
	if !spec.Public {
		secret = newSecret()
		sc.SecretHash = HashSecret(secret)
	}
	if err := r.st.CreateAppClient(ctx, sc, who.ID); err != nil {
		return "", r.refused(ctx, who, "create", spec.ID, err)
	}
	r.done(ctx, who, "app_client_created", spec.ID, sc.Version, describe(&spec))
	return secret, nil
}

// Update replaces the registration of app spec.ID if it is still at
// version. An app that turns public loses its secret; one that turns
// confidential gets a new one, returned (else ""). ENOTFOUND, ECONFLICT
// (stale version, or an app of the config file), EINVALID as Create.
func (r *Registry) Update(ctx context.Context, who broker.Actor, spec ClientSpec, version int64) (string, error) {
	spec.Normalize()
	if r.isStatic(spec.ID) {
		return "", r.refused(ctx, who, "update", spec.ID, errManaged(spec.ID))
	}
	if ps := spec.Check(); ps != nil {
		return "", r.refused(ctx, who, "update", spec.ID, invalid(ps))
	}
	cur, err := r.st.AppClient(ctx, spec.ID)
	if err != nil {
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			err = errUnknownClient(spec.ID)
		}
		return "", r.refused(ctx, who, "update", spec.ID, err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	secret := ""
	sc := &store.AppClient{ID: spec.ID, Spec: raw, SecretHash: cur.SecretHash, Version: version}
	switch {
	case spec.Public:
		sc.SecretHash = ""
	case cur.SecretHash == "":
		secret = newSecret()
		sc.SecretHash = HashSecret(secret)
	}
	if err := r.st.UpdateAppClient(ctx, sc, who.ID); err != nil {
		return "", r.refused(ctx, who, "update", spec.ID, err)
	}
	r.done(ctx, who, "app_client_updated", spec.ID, sc.Version, describe(&spec))
	return secret, nil
}

// RotateSecret gives confidential app id a new secret (returned, shown
// once) if it is still at version; the old one stops working at once.
// Tokens already issued stay valid until they expire or are revoked.
func (r *Registry) RotateSecret(ctx context.Context, who broker.Actor, id string, version int64) (string, error) {
	if r.isStatic(id) {
		return "", r.refused(ctx, who, "rotate_secret", id, errManaged(id))
	}
	cur, err := r.st.AppClient(ctx, id)
	if err != nil {
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			err = errUnknownClient(id)
		}
		return "", r.refused(ctx, who, "rotate_secret", id, err)
	}
	if cur.SecretHash == "" {
		return "", r.refused(ctx, who, "rotate_secret", id,
			broker.Errorf(broker.EINVALID, ReasonSecretForPublic, "%.64q is a public app: it has no secret to rotate.", id))
	}
	secret := newSecret()
	sc := &store.AppClient{ID: id, Spec: cur.Spec, SecretHash: HashSecret(secret), Version: version}
	if err := r.st.UpdateAppClient(ctx, sc, who.ID); err != nil {
		return "", r.refused(ctx, who, "rotate_secret", id, err)
	}
	r.done(ctx, who, "app_client_secret_rotated", id, sc.Version, "new secret; the old one no longer works")
	return secret, nil
}

// Delete removes app id if it is still at version (0: any): every token
// it holds is revoked and people's consents to it forgotten.
func (r *Registry) Delete(ctx context.Context, who broker.Actor, id string, version int64) error {
	if r.isStatic(id) {
		return r.refused(ctx, who, "delete", id, errManaged(id))
	}
	if err := r.st.DeleteAppClient(ctx, id, version); err != nil {
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			err = errUnknownClient(id)
		}
		return r.refused(ctx, who, "delete", id, err)
	}
	r.done(ctx, who, "app_client_deleted", id, version, "removed; its tokens are revoked")
	return nil
}

// Exported is an app as `broker clients export` writes it and `apply`
// reads it: the registration and, for a confidential app, the hash of its
// secret, so that applying the file elsewhere keeps the app's secret
// working. The hash is not the secret: it cannot be used to sign in.
type Exported struct {
	ClientSpec   `yaml:",inline"`
	SecretSHA256 string `yaml:"secret_sha256,omitempty" json:"secret_sha256,omitempty"`
}

// Export returns the registered (admin) apps, by id.
func (r *Registry) Export(ctx context.Context) ([]Exported, error) {
	list, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Exported
	for _, reg := range list {
		if reg.Editable() {
			out = append(out, Exported{ClientSpec: reg.Spec, SecretSHA256: reg.SecretHash})
		}
	}
	return out, nil
}

// Change is one step of Apply.
type Change struct {
	Op string // "create", "update", "delete", "unchanged"
	ID string
	// Secret is a new confidential app's generated secret (shown once);
	// only when the app came without secret_sha256.
	Secret string
}

// Apply makes the registered apps exactly want: it creates the new ones,
// updates the changed ones and deletes the ones not in want. Every spec is
// checked before anything changes; with dryRun nothing changes. A want
// with no apps while some are registered is refused (ReasonClientsApplyEmpty)
// unless allowEmpty. Changes are applied one by one, each audited; a
// failure stops there and returns the changes made so far with the error.
func (r *Registry) Apply(ctx context.Context, who broker.Actor, want []Exported, dryRun, allowEmpty bool) ([]Change, error) {
	cur, err := r.st.AppClients(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string]*store.AppClient{}
	for i := range cur {
		have[cur[i].ID] = &cur[i]
	}
	var ps Problems
	seen := map[string]bool{}
	for i := range want {
		w := &want[i]
		w.Normalize()
		at := fmt.Sprintf("clients[%d]", i)
		for _, p := range w.Check() {
			ps = append(ps, Problem{at + "." + p.Field, p.Reason})
		}
		if seen[w.ID] {
			ps = append(ps, Problem{at + ".id", fmt.Sprintf("duplicate id %.64q", w.ID)})
		}
		seen[w.ID] = true
		if r.isStatic(w.ID) {
			ps = append(ps, Problem{at + ".id", fmt.Sprintf("%.64q is configured in the config file (or built in); it cannot be registered", w.ID)})
		}
		switch {
		case w.Public && w.SecretSHA256 != "":
			ps = append(ps, Problem{at + ".secret_sha256", "a public app has no secret"})
		case w.SecretSHA256 != "" && !validHash(w.SecretSHA256):
			ps = append(ps, Problem{at + ".secret_sha256", "must be the base64url SHA-256 that broker clients export writes (43 characters)"})
		}
	}
	if ps != nil {
		return nil, invalid(ps)
	}
	if len(want) == 0 && len(cur) > 0 && !allowEmpty {
		return nil, broker.Errorf(broker.EINVALID, ReasonClientsApplyEmpty,
			"The file lists no apps: applying it would remove all %d registered app(s). Nothing was applied.", len(cur))
	}
	var plan []Change
	for _, w := range want {
		raw, err := json.Marshal(w.ClientSpec)
		if err != nil {
			return nil, err
		}
		h, ok := have[w.ID]
		switch {
		case !ok:
			plan = append(plan, Change{Op: "create", ID: w.ID})
		case string(h.Spec) != string(raw) || (w.SecretSHA256 != "" && w.SecretSHA256 != h.SecretHash) || (w.Public != (h.SecretHash == "")):
			plan = append(plan, Change{Op: "update", ID: w.ID})
		default:
			plan = append(plan, Change{Op: "unchanged", ID: w.ID})
		}
	}
	for _, c := range cur {
		if !seen[c.ID] {
			plan = append(plan, Change{Op: "delete", ID: c.ID})
		}
	}
	if dryRun {
		return plan, nil
	}
	byID := map[string]*Exported{}
	for i := range want {
		byID[want[i].ID] = &want[i]
	}
	for i := range plan {
		ch := &plan[i]
		var err error
		switch ch.Op {
		case "create", "update":
			ch.Secret, err = r.applyOne(ctx, who, byID[ch.ID], have[ch.ID])
		case "delete":
			err = r.Delete(ctx, who, ch.ID, have[ch.ID].Version)
		}
		if err != nil {
			return plan[:i], err
		}
	}
	return plan, nil
}

// applyOne creates or updates one app of Apply, keeping (or taking from
// the file) its secret hash.
func (r *Registry) applyOne(ctx context.Context, who broker.Actor, w *Exported, cur *store.AppClient) (string, error) {
	raw, err := json.Marshal(w.ClientSpec)
	if err != nil {
		return "", err
	}
	secret := ""
	sc := &store.AppClient{ID: w.ID, Spec: raw, SecretHash: w.SecretSHA256}
	if cur != nil {
		sc.Version = cur.Version
		if sc.SecretHash == "" {
			sc.SecretHash = cur.SecretHash
		}
	}
	switch {
	case w.Public:
		sc.SecretHash = ""
	case sc.SecretHash == "":
		secret = newSecret()
		sc.SecretHash = HashSecret(secret)
	}
	if cur == nil {
		err = r.st.CreateAppClient(ctx, sc, who.ID)
	} else {
		err = r.st.UpdateAppClient(ctx, sc, who.ID)
	}
	if err != nil {
		return "", r.refused(ctx, who, "apply", w.ID, err)
	}
	event := "app_client_updated"
	if cur == nil {
		event = "app_client_created"
	}
	r.done(ctx, who, event, w.ID, sc.Version, "applied from a file: "+describe(&w.ClientSpec))
	return secret, nil
}

func (r *Registry) check(spec *ClientSpec) error {
	var ps Problems
	ps = append(ps, spec.Check()...)
	if r.isStatic(spec.ID) {
		ps = append(ps, Problem{"id", fmt.Sprintf("%.64q is taken by an app in the config file (or the built-in CLI)", spec.ID)})
	}
	if ps != nil {
		return invalid(ps)
	}
	return nil
}

func (r *Registry) isStatic(id string) bool {
	return slices.ContainsFunc(r.static, func(c Client) bool { return c.ID == id })
}

// done audits a change that was saved (a failed audit write is logged).
func (r *Registry) done(ctx context.Context, who broker.Actor, event, id string, version int64, msg string) {
	r.audit.Audit(ctx, &store.AuditEvent{
		RequestID: who.RequestID, Event: event, Result: store.ResultSuccess, Message: msg,
		Subject: who.ID, RemoteAddr: who.RemoteAddr, UserAgent: who.UserAgent,
		Details: map[string]string{"client": id, "version": fmt.Sprint(version)},
	})
	r.log.InfoContext(ctx, "app registration changed", "request_id", who.RequestID, "event", event, "client", id, "actor", who.ID)
}

// refused logs a change the registry or the store refused.
func (r *Registry) refused(ctx context.Context, who broker.Actor, op, id string, err error) error {
	r.log.InfoContext(ctx, "app registration change refused", "request_id", who.RequestID, "op", op,
		"client", id, "actor", who.ID, "reason", broker.ErrorReason(err))
	return err
}

// ProblemsOf returns the problems behind an EINVALID error of the registry (nil for others).
func ProblemsOf(err error) Problems {
	var e *invalidError
	if errors.As(err, &e) {
		return e.ps
	}
	return nil
}

// invalidError is a *broker.Error (EINVALID, ReasonClientInvalid) that
// carries the problems.
type invalidError struct {
	be *broker.Error
	ps Problems
}

func (e *invalidError) Error() string { return e.be.Error() }
func (e *invalidError) Unwrap() error { return e.be }

func invalid(ps Problems) error {
	msg := "The app's registration has problems: " + ps.Error()
	if len(ps) == 1 {
		msg = "The app's registration has a problem: " + ps.Error()
	}
	return &invalidError{be: broker.Errorf(broker.EINVALID, ReasonClientInvalid, "%s", msg), ps: ps}
}

func errUnknownClient(id string) error {
	return broker.Errorf(broker.ENOTFOUND, ReasonClientUnknown, "There is no app %.64q.", id)
}

func errManaged(id string) error {
	return broker.Errorf(broker.ECONFLICT, ReasonClientManaged,
		"%.64q is configured in the broker's config file (or built in): change it there.", id)
}

func validHash(h string) bool {
	if len(h) != 43 {
		return false
	}
	for _, c := range h {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// describe summarizes a spec for the audit log (no secrets in a spec).
func describe(s *ClientSpec) string {
	kind := "confidential"
	if s.Public {
		kind = "public"
	}
	party := "third-party"
	if s.FirstParty {
		party = "first-party"
	}
	return fmt.Sprintf("%s %s app %q; redirect URIs %s; scopes %s", kind, party, s.Name,
		strings.Join(s.RedirectURIs, " "), strings.Join(s.Scopes, " "))
}

func staticRegistered(c Client) Registered {
	spec := c.spec
	if spec.ID == "" { // a Client built without ClientFromSpec
		spec = ClientSpec{ID: c.ID, Name: c.Name, Public: c.Public(), RedirectURIs: c.RedirectURIs,
			PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, Scopes: c.Scopes, FirstParty: c.FirstParty}
		dev := c.Device
		spec.Device = &dev
	}
	return Registered{Spec: spec, Source: c.Source, Confidential: !c.Public()}
}

func storedRegistered(sc *store.AppClient) (*Registered, error) {
	var spec ClientSpec
	if err := json.Unmarshal(sc.Spec, &spec); err != nil {
		return nil, fmt.Errorf("apps: registered app %q: %w", sc.ID, err)
	}
	return &Registered{Spec: spec, Source: SourceAdmin, Confidential: sc.SecretHash != "", Version: sc.Version,
		SecretHash: sc.SecretHash, CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt, CreatedBy: sc.CreatedBy, UpdatedBy: sc.UpdatedBy}, nil
}

// AuditTo returns an Auditor that appends straight to the store's audit
// log, for tools that change registrations without the running service
// (`broker clients apply --config`); a failed write is logged.
func AuditTo(st interface {
	AppendAudit(ctx context.Context, e *store.AuditEvent) error
}, log *slog.Logger) Auditor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return storeAuditor{st, log}
}

type storeAuditor struct {
	st interface {
		AppendAudit(ctx context.Context, e *store.AuditEvent) error
	}
	log *slog.Logger
}

func (a storeAuditor) Audit(ctx context.Context, ev *store.AuditEvent) {
	if err := a.st.AppendAudit(ctx, ev); err != nil {
		a.log.ErrorContext(ctx, "audit write failed", "event", ev.Event, "subject", ev.Subject, "err", err)
	}
}
