package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/app"
	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store/sqlstore/sqltest"
)

// startSecondInstance runs another broker from the stack's config file
// (the same store) on its own port and returns its URL.
func startSecondInstance(t *testing.T, st *devstack.Stack) string {
	t.Helper()
	cfg, probs := config.Load(st.ConfigPath)
	if errs := probs.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := app.New(ctx, cfg, app.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; b.Close() })
	return "http://" + ln.Addr().String()
}

func apiCall(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Two brokers on one store: a rule saved through one is in force on the
// other without a restart. On SQLite they share a file; with
// BROKER_TEST_POSTGRES_DSN they share a PostgreSQL schema, as a fleet would.
func TestRuleSavedOnOneInstanceIsUsedByAnother(t *testing.T) {
	st := startStackWith(t, devstack.Options{PostgresDSN: sqltest.PostgresSchema(t)})
	other := startSecondInstance(t, st)

	token := adminToken(t, st.App.Store, "rules", "rules:read", "rules:write")
	simulate := `{"provider":"demo","subject":"x","attributes":{"groups":["sre"]}}`
	if code, body := apiCall(t, "POST", other+"/api/v1/simulate", token, simulate); code != 200 || strings.Contains(body, "role/ReadOnly") {
		t.Fatalf("before: %d %s", code, body)
	}
	rule := `{"name":"sre-readonly","when":{"all":[{"attribute":"groups","equals":"sre"}]},"grant":{"account":"production","role":"ReadOnly"}}`
	saved := time.Now()
	if code, body := apiCall(t, "POST", st.BrokerURL+"/api/v1/rules", token, rule); code != http.StatusCreated {
		t.Fatalf("create on instance A: %d %s", code, body)
	}
	deadline := saved.Add(10 * time.Second)
	for {
		code, body := apiCall(t, "POST", other+"/api/v1/simulate", token, simulate)
		var res struct {
			Roles []struct {
				RoleARN string `json:"role_arn"`
			}
		}
		if code != 200 || json.Unmarshal([]byte(body), &res) != nil {
			t.Fatalf("simulate on B: %d %s", code, body)
		}
		if len(res.Roles) == 1 && strings.HasSuffix(res.Roles[0].RoleARN, ":role/ReadOnly") {
			t.Logf("instance B used the rule %v after it was saved on A (poll interval %v)", time.Since(saved).Round(time.Millisecond), app.RulesPollInterval)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instance B never used the rule saved on instance A")
		}
		time.Sleep(25 * time.Millisecond)
	}
	// And the other way round: a delete on B is seen by A.
	_, body := apiCall(t, "GET", other+"/api/v1/rules/sre-readonly", token, "")
	var r struct{ Version int64 }
	_ = json.Unmarshal([]byte(body), &r)
	if code, body := apiCall(t, "DELETE", other+"/api/v1/rules/sre-readonly?version="+strconv.FormatInt(r.Version, 10), token, ""); code != http.StatusNoContent {
		t.Fatalf("delete on B: %d %s", code, body)
	}
	for {
		_, body := apiCall(t, "POST", st.BrokerURL+"/api/v1/simulate", token, simulate)
		if !strings.Contains(body, "role/ReadOnly") {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("instance A kept the rule deleted on B")
		}
		time.Sleep(25 * time.Millisecond)
	}
}
