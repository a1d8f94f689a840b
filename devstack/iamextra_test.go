package devstack

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/localaws"
)

const extraJSON = `{
  "oidc_providers": [{"arn": "arn:aws:iam::444455556666:oidc-provider/idp.example.org", "url": "https://idp.example.org", "client_ids": ["my-app"]}],
  "roles": [{"arn": "arn:aws:iam::444455556666:role/Mine", "max_session_duration": 7200,
    "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
      "Principal": {"Federated": "arn:aws:iam::444455556666:oidc-provider/idp.example.org"},
      "Action": "sts:AssumeRoleWithWebIdentity"}]}}]
}`

func TestIAMExtraMergedKeepsBoth(t *testing.T) {
	dir := t.TempDir()
	generated := &localaws.Registry{Roles: []localaws.Role{{ARN: "arn:aws:iam::111122223333:role/Generated", TrustPolicy: `{"Version":"2012-10-17","Statement":[]}`}}}

	same, err := withIAMExtra(generated, dir)
	if err != nil || same != generated {
		t.Fatalf("without %s: %v, %p != %p", IAMExtraFile, err, same, generated)
	}

	if err := os.WriteFile(filepath.Join(dir, IAMExtraFile), []byte(extraJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	merged, err := withIAMExtra(generated, dir)
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, r := range merged.Roles {
		arns = append(arns, r.ARN)
	}
	if strings.Join(arns, " ") != "arn:aws:iam::111122223333:role/Generated arn:aws:iam::444455556666:role/Mine" {
		t.Errorf("roles %v: want the generated one and the admin's", arns)
	}
	if len(merged.OIDCProviders) != 1 || merged.Roles[1].MaxSessionDuration != 7200 {
		t.Errorf("merged %+v", merged)
	}
	if len(generated.Roles) != 1 {
		t.Error("the generated registry was modified")
	}
	extraOnly := &localaws.Registry{OIDCProviders: merged.OIDCProviders, Roles: merged.Roles[1:]}
	if err := extraOnly.Validate(); err != nil {
		t.Errorf("the admin's entries do not validate: %v", err)
	}
	// The file is read, never written.
	if b, _ := os.ReadFile(filepath.Join(dir, IAMExtraFile)); string(b) != extraJSON {
		t.Error("the extra file changed")
	}
}

func TestIAMExtraRefusesUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, IAMExtraFile), []byte(`{"rolez": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := withIAMExtra(&localaws.Registry{}, dir); err == nil || !strings.Contains(err.Error(), IAMExtraFile) {
		t.Errorf("err %v, want one naming %s", err, IAMExtraFile)
	}
}

func TestDevStackKeepsTheAdminsIAMEntries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, IAMExtraFile), []byte(extraJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	for start := range 2 { // the second start rewrites the generated registry
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		st, err := Start(ctx, Options{DataDir: dir})
		cancel()
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		resp, err := http.Get(st.AWSURL + "/")
		if err != nil {
			st.Close()
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		st.Close()
		for _, want := range []string{"arn:aws:iam::444455556666:role/Mine", "arn:aws:iam::" + SandboxAccount + ":role/Admin"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("start %d: the local AWS's registry lacks %s", start, want)
			}
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, IAMExtraFile)); string(b) != extraJSON {
		t.Error("the extra file changed")
	}
}
