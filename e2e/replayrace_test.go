package e2e

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store/sqlstore/sqltest"
)

// The same SAML Response posted to two instances at the same moment:
// exactly one accepts it, 50 times over. With BROKER_TEST_POSTGRES_DSN the
// two brokers share a PostgreSQL schema (a fleet); without, a SQLite file.
func TestSameResponseAtTwoInstancesAcceptedOnce(t *testing.T) {
	st := startStackWith(t, devstack.Options{PostgresDSN: sqltest.PostgresSchema(t), NoRateLimits: true})
	other := startSecondInstance(t, st)
	acs := []string{st.BrokerURL + "/saml/demo/acs", other + "/saml/demo/acs"}
	const pairs = 50
	var accepted, refused [2]int
	for i := range pairs {
		// IdP-initiated (no InResponseTo): nothing but the replay cache
		// stands between the two posts.
		resp, err := st.IdP.IssueResponse(devidp.IssueOptions{SPEntityID: st.BrokerURL + "/saml/demo/metadata", Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		var status [2]int
		var ready, wg sync.WaitGroup
		start := make(chan struct{})
		for k := range 2 {
			ready.Add(1)
			wg.Go(func() {
				c := newBrowser(t).client
				ready.Done()
				<-start
				a := send(c, acs[k], url.Values{"SAMLResponse": {resp}})
				if a.Err != nil {
					t.Errorf("pair %d, instance %d: %v", i, k, a.Err)
				}
				status[k] = a.Status
			})
		}
		ready.Wait()
		close(start)
		wg.Wait()
		ok := 0
		for k, s := range status {
			switch {
			case s == http.StatusSeeOther:
				ok++
				accepted[k]++
			case s == http.StatusUnauthorized:
				refused[k]++
			default:
				t.Errorf("pair %d, instance %d: status %d", i, k, s)
			}
		}
		if ok != 1 {
			t.Fatalf("pair %d: %d instances accepted the same Response (statuses %v)", i, ok, status)
		}
	}
	t.Logf("%d pairs: accepted by A %d, by B %d; refused by A %d, by B %d", pairs, accepted[0], accepted[1], refused[0], refused[1])
}
