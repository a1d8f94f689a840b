package saml

import (
	"context"
	"crypto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/issuer"
)

func fp(kps ...issuer.KeyPair) []string {
	var out []string
	for _, kp := range kps {
		out = append(out, fingerprint(b64cert(kp)))
	}
	slices.Sort(out)
	return out
}

// A key rotation as IdPs do it (add the new key, switch, remove the old
// one): each step is logged and audited with the keys before and after,
// and sign-ins follow the keys the metadata lists.
func TestKeyRotationIsLoggedAndReported(t *testing.T) {
	clock := newTestClock(t, t0)
	k25, k26 := newKey(t, "idp 2025"), newKey(t, "idp 2026")
	srv := newMDServer(t, mdDoc{keys: []issuer.KeyPair{k25}}.xml())
	sp, logs, ch := urlSP(t, srv.URL, clock, newMemCache(), nil)
	if got := logs.lines("level=INFO", "metadata loaded", "keys="+fp(k25)[0]); len(got) != 1 {
		t.Fatalf("first load not logged with its key:\n%s", logs)
	}
	if len(ch.all()) != 0 {
		t.Fatalf("first load reported as a change: %+v", ch.all())
	}

	steps := []struct {
		name        string
		doc         mdDoc
		before      []string
		after       []string
		keysChanged bool
		signs, not  []issuer.KeyPair
	}{
		{"unchanged", mdDoc{keys: []issuer.KeyPair{k25}}, nil, nil, false, []issuer.KeyPair{k25}, []issuer.KeyPair{k26}},
		{"re-signed with a new ID and validUntil", mdDoc{keys: []issuer.KeyPair{k25}, id: "_x", validUntil: t0.Add(72 * time.Hour), cacheDuration: "PT1H"}, nil, nil, false, nil, nil},
		{"new key added", mdDoc{keys: []issuer.KeyPair{k25, k26}}, fp(k25), fp(k25, k26), true, []issuer.KeyPair{k25, k26}, nil},
		{"old key removed", mdDoc{keys: []issuer.KeyPair{k26}}, fp(k25, k26), fp(k26), true, []issuer.KeyPair{k26}, []issuer.KeyPair{k25}},
		{"endpoint moved", mdDoc{keys: []issuer.KeyPair{k26}, sso: "https://idp.example.com/sso2"}, fp(k26), fp(k26), false, []issuer.KeyPair{k26}, nil},
	}
	reported := 0
	for i, st := range steps {
		srv.serve(st.doc.xml())
		clock.Advance(time.Hour)
		before := len(logs.lines("level=INFO", "saml: IdP"))
		if err := sp.Refresh(context.Background()); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		cs := ch.all()
		if st.after == nil {
			if len(cs) != reported || len(logs.lines("level=INFO", "saml: IdP")) != before {
				t.Fatalf("%s: reported as a change:\n%s", st.name, logs)
			}
		} else {
			reported++
			if len(cs) != reported {
				t.Fatalf("%s: %d changes reported, want %d", st.name, len(cs), reported)
			}
			c := cs[reported-1]
			if c.Provider != "okta" || c.EntityID != idpEntity || c.Source != srv.URL || !slices.Equal(c.KeysBefore, st.before) ||
				!slices.Equal(c.KeysAfter, st.after) || c.KeysChanged() != st.keysChanged {
				t.Fatalf("%s: change %+v, want keys %v -> %v", st.name, c, st.before, st.after)
			}
			msg := "saml: IdP metadata changed; signing keys unchanged"
			if st.keysChanged {
				msg = "saml: IdP signing keys changed"
			}
			line := logs.lines("level=INFO", msg, "keys_before="+strings.Join(st.before, ","), "keys_after="+strings.Join(st.after, ","))
			if len(line) != 1 {
				t.Fatalf("%s: no INFO line %q with the keys:\n%s", st.name, msg, logs)
			}
			if strings.Contains(line[0], "MII") {
				t.Errorf("%s: key material logged: %s", st.name, line[0])
			}
		}
		for j, k := range st.signs {
			if err := signIn(t, sp, k, clock, "_ok"+string(rune('a'+i))+string(rune('a'+j))); err != nil {
				t.Errorf("%s: key %d refused: %v", st.name, j, err)
			}
		}
		for j, k := range st.not {
			if err := signIn(t, sp, k, clock, "_no"+string(rune('a'+i))+string(rune('a'+j))); err == nil {
				t.Errorf("%s: key %d not in the metadata signs people in", st.name, j)
			}
		}
	}
}

// Several instances on one store: the first to store a change reports it;
// the others log it, and an instance starting later reports nothing.
func TestChangeReportedOnceAcrossInstances(t *testing.T) {
	clock := newTestClock(t, t0)
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newMDServer(t, mdDoc{keys: []issuer.KeyPair{k1}}.xml())
	cache := newMemCache()
	a, _, chA := urlSP(t, srv.URL, clock, cache, nil)
	b, logsB, chB := urlSP(t, srv.URL, clock, cache, nil)

	srv.serve(mdDoc{keys: []issuer.KeyPair{k2}}.xml())
	clock.Advance(time.Hour)
	for _, sp := range []*ServiceProvider{a, b} {
		if err := sp.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(chA.all()) != 1 || len(chB.all()) != 0 {
		t.Fatalf("changes reported: a %d, b %d; want 1, 0", len(chA.all()), len(chB.all()))
	}
	if len(logsB.lines("level=INFO", "signing keys changed")) != 1 {
		t.Errorf("b did not log the change it saw:\n%s", logsB)
	}
	c, logsC, chC := urlSP(t, srv.URL, clock, cache, nil)
	if err := c.Ready(); err != nil || len(chC.all()) != 0 || len(logsC.lines("changed")) != 0 {
		t.Fatalf("a later instance reported a change: %v %+v\n%s", err, chC.all(), logsC)
	}

	// A change made while every broker was down is reported at start.
	srv.serve(mdDoc{keys: []issuer.KeyPair{k1, k2}}.xml())
	_, _, chD := urlSP(t, srv.URL, clock, cache, nil)
	if cs := chD.all(); len(cs) != 1 || !slices.Equal(cs[0].KeysBefore, fp(k2)) || !slices.Equal(cs[0].KeysAfter, fp(k1, k2)) {
		t.Fatalf("change while down: %+v", cs)
	}
}

// Signed metadata: a rotation of the IdP's keys is reported like any other.
func TestSignedKeyRotationReported(t *testing.T) {
	clock := newTestClock(t, t0)
	fed, k1, k2 := newKey(t, "federation"), newKey(t, "k1"), newKey(t, "k2")
	srv := newMDServer(t, signMD(t, fed, mdDoc{keys: []issuer.KeyPair{k1}, id: "_1"}.xml(), crypto.SHA256))
	sp, _, ch := urlSP(t, srv.URL, clock, newMemCache(), func(c *Config) { c.MetadataSigningCertificate = fed.Certificate })
	srv.serve(signMD(t, fed, mdDoc{keys: []issuer.KeyPair{k2}, id: "_2"}.xml(), crypto.SHA256))
	clock.Advance(time.Hour)
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cs := ch.all(); len(cs) != 1 || !cs[0].KeysChanged() || !slices.Equal(cs[0].KeysAfter, fp(k2)) {
		t.Fatalf("changes %+v", cs)
	}
	if err := signIn(t, sp, k2, clock, "_k2"); err != nil {
		t.Fatal(err)
	}
}
