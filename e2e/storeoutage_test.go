package e2e

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/web"
)

// PostgreSQL goes away mid-traffic (its connections terminated, CONNECT
// revoked, as in a restart or fail-over): the portal and a sign-in answer
// 503 with Retry-After, the sign-in is not accepted (its replay entry
// could not be written), /readyz is 503; CONNECT restored, everything
// works again without a restart.
//
// It needs BROKER_TEST_POSTGRES_OUTAGE_DSN: a database of its own whose
// owner is the DSN's role (CONNECT is revoked on it for a moment, which
// would disturb every other test on a shared database), e.g.
// `CREATE DATABASE broker_outage OWNER broker`.
func TestPostgresOutageAnswers503ThenRecovers(t *testing.T) {
	dsn := os.Getenv("BROKER_TEST_POSTGRES_OUTAGE_DSN")
	if dsn == "" {
		if os.Getenv("BROKER_REQUIRE_POSTGRES") == "1" {
			t.Fatal("BROKER_REQUIRE_POSTGRES=1 but BROKER_TEST_POSTGRES_OUTAGE_DSN is not set (make services creates the database broker_outage)")
		}
		t.Skip("BROKER_TEST_POSTGRES_OUTAGE_DSN is not set (a database of its own, owned by the DSN's role)")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin.SetMaxOpenConns(1)
	defer admin.Close()
	var dbName, role string
	if err := admin.QueryRow(`SELECT current_database(), current_user`).Scan(&dbName, &role); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "brokertest_outage_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	st := startStackWith(t, devstack.Options{PostgresDSN: withSearchPath(dsn, schema), NoRateLimits: true})
	br, portal := signInSP(t, st, "demo", "alice")
	action, form := roleForm(t, portal, sandboxDeveloper)

	// A second person is half-way through signing in: the IdP's Response
	// is in their browser, ready to post.
	br2 := newBrowser(t)
	idp := br2.get(st.BrokerURL + "/saml/demo/login")
	idpAction, idpForm := idp.form(t, formWithID("login"))
	idpForm.Set("username", "bob")
	idpForm.Set("password", password(t, st, "bob"))
	autoPost := br2.post(idpAction, idpForm)
	acs, samlForm := autoPost.form(t, formWithID("saml-post"))

	// The outage: the broker's connections cut, no new ones allowed.
	// The admin connection is on its own: terminate every other one.
	if _, err := admin.Exec(`REVOKE CONNECT ON DATABASE ` + dbName + ` FROM PUBLIC, ` + role); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		if _, err := admin.Exec(`GRANT CONNECT ON DATABASE ` + dbName + ` TO PUBLIC, ` + role); err != nil {
			t.Fatal(err)
		}
	}
	defer restore()
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}

	c := br.client
	check503 := func(what string, a answer) {
		t.Helper()
		if a.Err != nil || a.Status != http.StatusServiceUnavailable || a.Header.Get("Retry-After") != web.RetryAfterUnavailable {
			t.Fatalf("%s during the outage: %d %v Retry-After %q\n%s", what, a.Status, a.Err, a.Header.Get("Retry-After"), clip(a.Body))
		}
		if !strings.Contains(a.Body, "Temporarily unavailable") && !strings.Contains(a.Body, "unavailable") {
			t.Errorf("%s: the answer does not say it is temporary:\n%s", what, clip(a.Body))
		}
	}
	check503("the portal", send(c, st.BrokerURL+"/", nil))
	check503("a console sign-in", send(c, action, form))
	signin := send(br2.client, acs, samlForm)
	check503("a sign-in at the ACS", signin)
	if ready := send(c, st.BrokerURL+"/readyz", nil); ready.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz during the outage: %d %s", ready.Status, ready.Body)
	}

	restore()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := send(c, st.BrokerURL+"/", nil)
		if a.Status == http.StatusOK && strings.Contains(a.Body, `name="grant"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the portal did not come back: %d %v\n%s", a.Status, a.Err, clip(a.Body))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if a := send(c, action, form); a.Status != http.StatusFound || !strings.Contains(a.Header.Get("Location"), "Action=login") {
		t.Fatalf("console sign-in after the outage: %d %v\n%s", a.Status, a.Err, clip(a.Body))
	}
	// The Response refused during the outage was never accepted: it is
	// still unused, so it signs bob in now, once.
	signedIn := func(a answer) bool {
		return a.Status == http.StatusSeeOther || (a.Status == http.StatusOK && strings.Contains(a.Body, "You are signed in"))
	}
	if a := send(br2.client, acs, samlForm); !signedIn(a) {
		t.Fatalf("bob's sign-in after the outage: %d\n%s", a.Status, clip(a.Body))
	}
	if a := send(newBrowser(t).client, acs, samlForm); signedIn(a) || a.Status < 400 {
		t.Fatalf("the same Response was accepted twice: %d\n%s", a.Status, clip(a.Body))
	}
}

// withSearchPath is sqltest's: a DSN that uses schema.
func withSearchPath(dsn, schema string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
