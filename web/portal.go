package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

func encodeResponse(xml []byte) string { return base64.StdEncoding.EncodeToString(xml) }

// signIn starts a fresh session for a verified identity (a new id every
// time: no session fixation), then continues where the person was going.
func (s *Server) signIn(c echo.Context, data *sessionData, cont pendingRequest) error {
	id := &data.Identity
	r := c.Request()
	ctx := r.Context()
	sess, old := s.loadBrowser(r)
	if old.ID != "" {
		_ = s.cfg.Sessions.DeleteSession(ctx, old.ID)
	}
	sid := randomToken(32)
	if err := s.cfg.Sessions.CreateSession(ctx, &store.Session{
		ID: sid, Subject: id.Subject, Provider: id.Provider, Data: data.marshal(),
		ExpiresAt: s.now().Add(s.cfg.SessionLifetime),
	}); err != nil {
		return err
	}
	b := browserSession{ID: sid, CSRF: randomToken(32)}
	s.recordSignIn(c, id)
	decision := s.cfg.Access.Decide(id)
	s.cfg.Access.Audit(ctx, &store.AuditEvent{
		RequestID: requestIDOf(c), Event: "signin", Result: store.ResultSuccess,
		Provider: id.Provider, Subject: id.Subject, RemoteAddr: c.RealIP(), UserAgent: r.UserAgent(),
		Details: map[string]string{"roles": strconv.Itoa(len(decision.Grants))},
	})
	s.log.InfoContext(ctx, "signed in", "request_id", requestIDOf(c), "provider", id.Provider,
		"subject", id.Subject, "roles", len(decision.Grants))

	grantKey := cont.Grant
	if grantKey == "" && s.cfg.AutoSelectSingleRole && len(decision.Grants) == 1 {
		grantKey = decision.Grants[0].Key()
	}
	if grantKey != "" {
		// Open the role from a page of our own rather than redirecting from
		// the ACS: this request is the IdP page's form POST, and its CSP
		// form-action would block a redirect chain ending at AWS. The page
		// moves on to /continue with a single-use token.
		token := randomToken(18)
		b.Next = token + "\n" + grantKey + "\n" + cont.Destination
		if err := s.saveBrowser(c.Response(), r, sess, b); err != nil {
			return err
		}
		pd := s.page(c, "Opening the AWS console")
		pd.SignedIn, pd.User, pd.CSRF = true, displayName(id), b.CSRF
		pd.Refresh = "/continue?t=" + url.QueryEscape(token)
		pd.Message = "You are signed in. Opening the AWS console…"
		return s.render(c, http.StatusOK, "reauth.html", pd)
	}
	if err := s.saveBrowser(c.Response(), r, sess, b); err != nil {
		return err
	}
	target := "/"
	if cont.Destination != "" {
		target += "?destination=" + url.QueryEscape(cont.Destination)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// recordSignIn keeps the person's verified attributes (no credentials: the
// Identity holds none) for the rule simulator and the impact preview. A
// failure is logged, never fatal to the sign-in.
func (s *Server) recordSignIn(c echo.Context, id *broker.Identity) {
	if s.cfg.SignIns == nil {
		return
	}
	b, err := json.Marshal(id)
	if err == nil {
		err = s.cfg.SignIns.RecordSignIn(c.Request().Context(), &store.SignIn{Provider: id.Provider, Subject: id.Subject, Identity: b})
	}
	if err != nil {
		s.log.WarnContext(c.Request().Context(), "record sign-in for the simulator", "request_id", requestIDOf(c), "err", err)
	}
}

// current loads the signed-in session, or returns ok=false.
func (s *Server) current(c echo.Context) (string, *sessionData, browserSession, bool) {
	_, b := s.loadBrowser(c.Request())
	if b.ID == "" {
		return "", nil, b, false
	}
	st, err := s.cfg.Sessions.GetSession(c.Request().Context(), b.ID)
	if err != nil {
		if broker.ErrorCode(err) != broker.ENOTFOUND {
			s.log.ErrorContext(c.Request().Context(), "load session", "request_id", requestIDOf(c), "err", err)
		}
		return "", nil, b, false
	}
	var d sessionData
	if err := json.Unmarshal(st.Data, &d); err != nil {
		s.log.ErrorContext(c.Request().Context(), "decode session", "request_id", requestIDOf(c), "err", err)
		return "", nil, b, false
	}
	return b.ID, &d, b, true
}

func (s *Server) index(c echo.Context) error {
	dest := boundedParam(c.QueryParam("destination"), 2000)
	_, data, b, ok := s.current(c)
	if !ok {
		pd := s.page(c, "Sign in")
		pd.Destination = dest
		for _, id := range s.order {
			p := s.providers[id]
			login := p.loginPath()
			if dest != "" {
				login += "?destination=" + url.QueryEscape(dest)
			}
			pd.Providers = append(pd.Providers, providerView{ID: id, Label: p.Label, LoginURL: login, Ready: p.Ready() == nil})
		}
		pd.Flash = s.takeFlash(c, b)
		if pd.Flash == "" && c.QueryParam("admin") == "1" {
			pd.Flash = "Sign in to use the admin pages; then follow Admin at the top of the page."
		}
		return s.render(c, http.StatusOK, "signin.html", pd)
	}

	pd := s.page(c, "Your AWS roles")
	pd.SignedIn = true
	pd.User = displayName(&data.Identity)
	pd.CSRF = b.CSRF
	pd.Destination = dest
	pd.Accounts = accountsView(s.cfg.Access.Decide(&data.Identity).Grants)
	pd.IsAdmin = s.isAdmin(&data.Identity)
	pd.Flash = s.takeFlash(c, b)
	return s.render(c, http.StatusOK, "portal.html", pd)
}

// takeFlash returns the one-time message and clears it from the cookie.
func (s *Server) takeFlash(c echo.Context, b browserSession) string {
	if b.Flash == "" {
		return ""
	}
	msg := b.Flash
	sess, _ := s.loadBrowser(c.Request())
	b.Flash = ""
	_ = s.saveBrowser(c.Response(), c.Request(), sess, b)
	return msg
}

func displayName(id *broker.Identity) string {
	for _, k := range []string{"displayName", "name", "email", "mail"} {
		if v := id.First(k); v != "" {
			return v
		}
	}
	return id.Subject
}

func accountsView(grants []broker.Grant) []accountView {
	byAcct := map[string]*accountView{}
	var order []string
	for _, g := range grants {
		a, ok := byAcct[g.AccountID]
		if !ok {
			label := g.AccountLabel
			if label == "" {
				label = g.AccountID
			}
			a = &accountView{ID: g.AccountID, Label: label}
			byAcct[g.AccountID] = a
			order = append(order, g.AccountID)
		}
		arn, _ := broker.ParseARN(g.RoleARN)
		a.Roles = append(a.Roles, roleView{
			Key: g.Key(), Label: g.Label, Description: g.Description, RoleName: arn.Name(), RoleARN: g.RoleARN,
			Mode: string(g.Mode), Duration: g.CredentialDuration, ConsoleDuration: g.ConsoleDuration,
		})
	}
	sort.SliceStable(order, func(i, j int) bool {
		return strings.ToLower(byAcct[order[i]].Label) < strings.ToLower(byAcct[order[j]].Label)
	})
	out := make([]accountView, 0, len(order))
	for _, id := range order {
		out = append(out, *byAcct[id])
	}
	return out
}

// console assumes the chosen role and sends the browser to AWS.
func (s *Server) console(c echo.Context) error {
	sid, data, b, ok := s.current(c)
	if !ok {
		return broker.Errorf(broker.EUNAUTHORIZED, "not_signed_in", "Your portal session has ended. Sign in again.")
	}
	r := c.Request()
	return s.assume(c, sid, data, b, boundedParam(r.PostFormValue("grant"), 600), boundedParam(r.PostFormValue("destination"), 2000), true)
}

func (s *Server) logout(c echo.Context) error {
	r := c.Request()
	sess, b := s.loadBrowser(r)
	if b.ID != "" {
		if st, err := s.cfg.Sessions.GetSession(r.Context(), b.ID); err == nil {
			s.cfg.Access.Audit(r.Context(), &store.AuditEvent{
				RequestID: requestIDOf(c), Event: "logout", Result: store.ResultSuccess,
				Provider: st.Provider, Subject: st.Subject, RemoteAddr: c.RealIP(), UserAgent: r.UserAgent(),
			})
		}
		if err := s.cfg.Sessions.DeleteSession(r.Context(), b.ID); err != nil {
			return err
		}
	}
	if err := s.saveBrowser(c.Response(), r, sess, browserSession{Flash: "You are signed out of the portal. AWS console sessions you opened last until they expire; sign out of them in the console."}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}
