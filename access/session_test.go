package access

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/sts"
)

// webSessionData is the server-side session as web stored it before
// Session (web.sessionData), transcribed: sessions already in the store
// must decode, and new ones must be the same bytes.
type webSessionData struct {
	Identity       broker.Identity `json:"identity"`
	SAMLResponse   string          `json:"saml_response,omitempty"`
	Used           bool            `json:"used,omitempty"`
	IDToken        string          `json:"id_token,omitempty"`
	IDTokenExpires time.Time       `json:"id_token_expires,omitzero"`
	RefreshToken   string          `json:"refresh_token,omitempty"`
}

func TestSessionRoundTrip(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	id := *identity()
	id.Expires = exp
	oidcID := broker.Identity{Provider: "kc", Protocol: broker.ProtocolOIDC, Subject: "bob", Expires: exp,
		Attributes: map[string][]string{"groups": {"dev"}}}
	tests := []struct {
		name string
		sess *Session
		old  webSessionData
	}{
		{"saml", &Session{Identity: id, samlResponse: upstreamXML}, webSessionData{Identity: id, SAMLResponse: upstream}},
		{"saml used", &Session{Identity: id, samlResponse: upstreamXML, used: true}, webSessionData{Identity: id, SAMLResponse: upstream, Used: true}},
		{"saml without response", &Session{Identity: id}, webSessionData{Identity: id}},
		{"oidc", NewOIDCSession(oidcID, "id.token.x", exp, "rt-1"), webSessionData{Identity: oidcID, IDToken: "id.token.x", IDTokenExpires: exp, RefreshToken: "rt-1"}},
		{"oidc without refresh token", NewOIDCSession(oidcID, "id.token.x", exp, ""), webSessionData{Identity: oidcID, IDToken: "id.token.x", IDTokenExpires: exp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.sess.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			old, err := json.Marshal(tt.old)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, old) {
				t.Errorf("stored form changed:\n got %s\nwant %s", b, old)
			}
			var got Session
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got, tt.sess) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, *tt.sess)
			}
		})
	}
	t.Run("refreshed is not stored", func(t *testing.T) {
		s := NewOIDCSession(oidcID, "id.token.x", exp, "rt-1")
		s.Refreshed("id.token.y", exp.Add(time.Hour), "rt-2")
		b, _ := s.MarshalBinary()
		var got Session
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if got.refreshed || got.idToken != "id.token.y" || got.RefreshToken() != "rt-2" || !got.Identity.Expires.Equal(exp.Add(time.Hour)) {
			t.Errorf("decoded %+v", got)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		var s Session
		if err := s.UnmarshalBinary([]byte("{not json")); err == nil || !strings.HasPrefix(err.Error(), "access: decode session") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSessionKeepsSecretsOut(t *testing.T) {
	s := NewOIDCSession(broker.Identity{Provider: "kc", Subject: "bob"}, "secret.id.token", time.Now(), "secret-refresh")
	s.samlResponse = []byte("secret-assertion")
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "session", s)
	for _, out := range []string{string(b), logged.String()} {
		if strings.Contains(out, "secret") {
			t.Errorf("secret in %q", out)
		}
	}
	if !strings.Contains(logged.String(), "session.subject=bob") {
		t.Errorf("log lacks the subject: %q", logged.String())
	}
}

func TestNewSAMLSession(t *testing.T) {
	xml := []byte("<samlp:Response/>")
	if s := NewSAMLSession(*identity(), xml); !bytes.Equal(s.samlResponse, xml) || base64.StdEncoding.EncodeToString(s.samlResponse) != upstream || s.used {
		t.Errorf("with AWS roles: %+v", s)
	}
	id := *identity()
	id.Roles = nil
	if s := NewSAMLSession(id, xml); s.samlResponse != nil || s.Identity.Subject != "alice" {
		t.Errorf("without AWS roles the Response is not kept: %+v", s)
	}
}

// TestAssumeMarksUpstreamUsed: once STS has seen the upstream Response,
// the session says so, whatever the outcome, unless the error is EINVALID.
func TestAssumeMarksUpstreamUsed(t *testing.T) {
	expired := identity()
	expired.Expires = time.Now().Add(-time.Second)
	tests := []struct {
		name       string
		id         *broker.Identity
		role       string
		used       bool  // before
		stsErr     error // STS answer
		consoleErr error // console answer
		wantReason string
		wantUsed   bool // after, and Outcome.SessionChanged
	}{
		{"success", identity(), admRole, false, nil, nil, "", true},
		{"sts refuses", identity(), admRole, false, broker.Errorf(broker.EFORBIDDEN, "sts_access_denied", "x"), nil, "sts_access_denied", true},
		{"sts says expired", identity(), admRole, false, broker.Errorf(broker.EEXPIRED, sts.ReasonExpiredToken, "x"), nil, sts.ReasonExpiredToken, true},
		{"sts unreachable", identity(), admRole, false, broker.Errorf(broker.EUPSTREAM, "sts_unreachable", "x"), nil, "sts_unreachable", true},
		{"sts invalid request", identity(), admRole, false, broker.Errorf(broker.EINVALID, "assertion_size", "x"), nil, "assertion_size", false},
		{"console fails after sts", identity(), admRole, false, nil, broker.Errorf(broker.EUPSTREAM, "signin_unreachable", "x"), "signin_unreachable", true},
		{"console invalid after sts", identity(), admRole, false, nil, broker.Errorf(broker.EINVALID, "console_invalid", "x"), "console_invalid", false},
		{"broker-issued", identity(), devRole, false, nil, nil, "", false},
		{"assertion expired: not presented", expired, admRole, false, nil, nil, ReasonUpstreamExpired, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeSTS{err: tt.stsErr}
			s, con, _, _ := newService(t, st)
			con.err = tt.consoleErr
			sess := &Session{Identity: *tt.id, samlResponse: upstreamXML, used: tt.used}
			out, err := s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: grantKey(t, s, identity(), tt.role)})
			if broker.ErrorReason(err) != tt.wantReason {
				t.Fatalf("err = %v, want reason %q", err, tt.wantReason)
			}
			if sess.used != tt.wantUsed {
				t.Errorf("used = %v, want %v", sess.used, tt.wantUsed)
			}
			if changed := out != nil && out.SessionChanged; changed != tt.wantUsed {
				t.Errorf("SessionChanged = %v, want %v", changed, tt.wantUsed)
			}
		})
	}
	t.Run("already used: not presented again", func(t *testing.T) {
		st := &fakeSTS{}
		s, _, _, _ := newService(t, st)
		sess := &Session{Identity: *identity(), samlResponse: upstreamXML, used: true}
		out, err := s.Assume(context.Background(), AssumeInput{Session: sess, GrantKey: grantKey(t, s, identity(), admRole)})
		if broker.ErrorReason(err) != ReasonUpstreamUsed || len(st.calls) != 0 || out.SessionChanged || !sess.used {
			t.Fatalf("err %v, %d STS calls, outcome %+v", err, len(st.calls), out)
		}
	})
	t.Run("no session", func(t *testing.T) {
		s, _, _, au := newService(t, &fakeSTS{})
		_, err := s.Assume(context.Background(), AssumeInput{GrantKey: "x"})
		if broker.ErrorCode(err) != broker.EUNAUTHORIZED || len(au.evs) != 1 {
			t.Fatalf("err %v, audit %+v", err, au.evs)
		}
	})
}
