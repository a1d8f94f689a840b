package admin

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/adminauth"
)

type simulatePage struct {
	Source    string // signin | saml | claims
	SignIn    string
	SAML      string
	Claims    string
	Provider  string
	Providers []string
	SignIns   []signInOpt
	Result    *simResult
	Problem   string
}

func (h *Handler) providerIDs() []string { return h.cfg.Providers.IDs() }

// simulateInput resolves the simulator's identity from one of its sources.
func (h *Handler) simulateInput(c echo.Context, source, signIn, samlText, claims, provider string) (*broker.Identity, bool, error) {
	switch source {
	case "signin", "":
		id, err := h.signInIdentity(c, signIn)
		return id, false, err
	case "saml":
		id, err := saml.ParseUnverified(provider, samlText)
		return id, true, err
	case "claims":
		id, err := oidc.ParseUnverifiedClaims(provider, claims)
		return id, true, err
	}
	return nil, false, broker.Errorf(broker.EINVALID, "simulate_source", "Pick a recent sign-in, a SAML response or claims JSON.")
}

func (h *Handler) adminSimulate(c echo.Context) error {
	p := simulatePage{Source: "signin", Providers: h.providerIDs(), SignIns: h.signInOptions(c)}
	if len(p.Providers) > 0 {
		p.Provider = p.Providers[0]
	}
	status := http.StatusOK
	if c.Request().Method == http.MethodPost {
		r := c.Request()
		p.Source, p.SignIn, p.SAML, p.Claims = r.PostFormValue("source"), r.PostFormValue("signin"), r.PostFormValue("saml"), r.PostFormValue("claims")
		if v := r.PostFormValue("provider"); v != "" {
			p.Provider = v
		}
		id, unverified, err := h.simulateInput(c, p.Source, p.SignIn, p.SAML, p.Claims, p.Provider)
		if err != nil {
			p.Problem = broker.ErrorMessage(err)
			status = web.StatusOf(broker.ErrorCode(err))
			h.Log().InfoContext(r.Context(), "simulation input refused", "request_id", web.RequestID(c), "reason", broker.ErrorReason(err), "err", err)
		} else {
			sim, err := h.cfg.Admin.Simulate(r.Context(), nil, id)
			if err != nil {
				return err
			}
			res := simResultOf(sim)
			res.Unverified = unverified
			p.Result = &res
		}
		p.SAML = "" // never echo a pasted assertion back into the page
	}
	return h.renderAdmin(c, status, "admin_simulate.html", h.adminPage(c, "Simulator", "simulate", p))
}

type auditPage struct {
	F      admins.AuditQuery
	Events []auditRowView
	Query  string
	More   int64
	// EventNames are the event filter's choices: the known events, and
	// the one asked for if it is not among them.
	EventNames []string
}

// auditRowView is an event as the page shows it, with its user in the
// one form the page and the CSV use (auditUser).
type auditRowView struct {
	admins.AuditEvent
	User string
}

// auditUser is how the audit page and its CSV name a person: PROVIDER/SUBJECT
// (the form the sessions page and rule editor use), the subject alone
// when the event has no provider, "" when it names nobody.
func auditUser(e admins.AuditEvent) string {
	switch {
	case e.Subject == "":
		return ""
	case e.Provider == "":
		return e.Subject
	}
	return e.Provider + "/" + e.Subject
}

// auditQuery reads an audit search from the query string (the page's
// form and the API take the same parameters).
func auditQuery(c echo.Context) (admins.AuditQuery, admins.AuditFilter, error) {
	aq := admins.ParseAuditQuery(c.QueryParams())
	f, err := aq.Filter()
	return aq, f, err
}

func (h *Handler) adminAudit(c echo.Context) error {
	f, sf, err := auditQuery(c)
	if err != nil {
		return err
	}
	if c.QueryParam("format") == "csv" {
		return h.auditCSV(c, sf)
	}
	evs, err := h.cfg.Admins.Audit(c.Request().Context(), sf)
	if err != nil {
		return err
	}
	p := auditPage{F: f, Query: c.Request().URL.RawQuery, EventNames: auditEventChoices(f.Event)}
	for _, e := range evs {
		p.Events = append(p.Events, auditRowView{AuditEvent: e, User: auditUser(e)})
	}
	if len(evs) == sf.Limit {
		p.More = evs[len(evs)-1].ID
	}
	return h.renderAdmin(c, http.StatusOK, "admin_audit.html", h.adminPage(c, "Audit log", "audit", p))
}

// auditCSV streams every matching event (keyset pages of 1000).
func (h *Handler) auditCSV(c echo.Context, sf admins.AuditFilter) error {
	w := c.Response()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="broker-audit.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "time", "event", "result", "reason", "user", "role_arn", "session_name", "remote_addr", "user_agent", "request_id", "message"})
	sf.Limit = 1000
	for rows := 0; rows < 1_000_000; {
		evs, err := h.cfg.Admins.Audit(c.Request().Context(), sf)
		if err != nil {
			h.Log().ErrorContext(c.Request().Context(), "audit export", "request_id", web.RequestID(c), "err", err)
			_ = cw.Write([]string{"", "", "export_failed", "failure", broker.ErrorReason(err)})
			break
		}
		for _, e := range evs {
			_ = cw.Write(auditRow(e))
		}
		rows += len(evs)
		if len(evs) < sf.Limit {
			break
		}
		sf.Before = evs[len(evs)-1].ID
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formula injection in user-controlled cells.
// auditRow is one audit event as a CSV row. Every cell is neutralised:
// any of them can hold text a person chose (a user name, a role they asked
// for, a user agent, an IdP's provider id).
func auditRow(e admins.AuditEvent) []string {
	row := []string{strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Event, e.Result, e.Reason, auditUser(e),
		e.RoleARN, e.SessionName, e.RemoteAddr, e.UserAgent, e.RequestID, e.Message}
	for i := range row {
		row[i] = csvSafe(row[i])
	}
	return row
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: a cell
// that starts (after any spaces) with = + - @ or a tab or carriage return
// gets a leading apostrophe.
func csvSafe(v string) string {
	t := strings.TrimLeft(v, " ")
	if t != "" && strings.ContainsRune("=+-@\t\r", rune(t[0])) {
		return "'" + v
	}
	return v
}

type accountsPage struct {
	Accounts []mapping.Account
	Flash    string
	Problem  string
	Form     mapping.Account
	// IDPValidUntil is the broker's IdP metadata validUntil ("" when the
	// broker is no SAML IdP), as a date.
	IDPValidUntil string
}

// idpValidUntil is the accounts page's date of the IdP metadata expiry.
func (h *Handler) idpValidUntil() string {
	if h.cfg.IDPMetadataValidUntil.IsZero() {
		return ""
	}
	return h.cfg.IDPMetadataValidUntil.UTC().Format("2006-01-02 15:04 MST")
}

func (h *Handler) adminAccounts(c echo.Context) error {
	accts, err := h.cfg.Admin.Accounts(c.Request().Context())
	if err != nil {
		return err
	}
	p := accountsPage{Accounts: accts, Flash: h.adminFlash(c), IDPValidUntil: h.idpValidUntil()}
	return h.renderAdmin(c, http.StatusOK, "admin_accounts.html", h.adminPage(c, "AWS accounts", "accounts", p))
}

func (h *Handler) adminAccountSave(c echo.Context) error {
	r := c.Request()
	a := mapping.Account{ID: strings.TrimSpace(r.PostFormValue("id")), Alias: strings.TrimSpace(r.PostFormValue("alias")), Label: strings.TrimSpace(r.PostFormValue("label"))}
	if err := h.cfg.Admin.SaveAccount(r.Context(), actor(c), a); err != nil {
		code := broker.ErrorCode(err)
		if code != broker.EINVALID && code != broker.ECONFLICT {
			return err
		}
		accts, aerr := h.cfg.Admin.Accounts(r.Context())
		if aerr != nil {
			return aerr
		}
		p := accountsPage{Accounts: accts, Problem: broker.ErrorMessage(err), Form: a, IDPValidUntil: h.idpValidUntil()}
		return h.renderAdmin(c, web.StatusOf(code), "admin_accounts.html", h.adminPage(c, "AWS accounts", "accounts", p))
	}
	return h.flashRedirect(c, "Saved account "+a.ID+".", "/admin/accounts")
}

func (h *Handler) adminAccountDelete(c echo.Context) error {
	id := c.Param("id")
	if err := h.cfg.Admin.DeleteAccount(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return h.flashRedirect(c, "Removed account "+id+".", "/admin/accounts")
}

func (h *Handler) adminTokenDelete(c echo.Context) error {
	if err := h.cfg.Admins.RevokeToken(c.Request().Context(), adminauth.Of(c).Actor, c.Param("id")); err != nil {
		return err
	}
	return h.flashRedirect(c, "Revoked the token.", "/admin/tokens")
}
