package deploy_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the broker repository (deploy/ is one level down).
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "cmd", "broker", "main.go")); err != nil {
		t.Fatalf("no broker repository at %s: %v", abs, err)
	}
	return abs
}

var built struct {
	once sync.Once
	bin  string
	out  string // the data directory the build stage made
	err  error
	log  string
	dir  string
}

// The version the Docker build steps stamp (--build-arg VERSION etc.).
const (
	testVersion   = "v0.0.0-deploytest"
	testRevision  = "0123456789abcdef0123456789abcdef01234567"
	testBuildTime = "2026-01-02T03:04:05Z"
)

// brokerBinary is the broker built by the Dockerfile's build stage, run
// as a script (dockerBuild); built once for all the tests that need it.
func brokerBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "broker-deploy-test-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.bin, built.out, built.log, built.err = dockerBuild(repoRoot(t), dir,
			map[string]string{"VERSION": testVersion, "REVISION": testRevision, "BUILD_TIME": testBuildTime})
	})
	if built.err != nil {
		t.Fatalf("the Dockerfile's build steps: %v\n%s", built.err, built.log)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// brokerCheck runs `broker check --config cfg` with env added to the
// environment and fails the test on a non-zero exit, with its output.
func brokerCheck(t *testing.T, cfg string, env map[string]string) string {
	t.Helper()
	out, err := runBrokerCheck(t, cfg, env)
	if err != nil {
		t.Fatalf("broker check --config %s: %v\n%s", cfg, err, out)
	}
	return out
}

func runBrokerCheck(t *testing.T, cfg string, env map[string]string) (string, error) {
	t.Helper()
	cmd := exec.Command(brokerBinary(t), "check", "--config", cfg)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// keyPair makes the issuer's signing key and a self-signed certificate
// (what `openssl req -x509 -newkey rsa:2048` makes), PEM.
func keyPair(t *testing.T) (keyPEM, certPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// idpMetadata is an upstream IdP's SAML metadata signing with certPEM's key.
func idpMetadata(certPEM []byte) []byte {
	b, _ := pem.Decode(certPEM)
	return []byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
		encodeB64(b.Bytes) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>`)
}

// Two random 32-byte keys, base64 (openssl rand -base64 32).
func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return encodeB64(b)
}

// namedFiles walks a broker config (YAML decoded) and returns every file
// it names: "file:NAME" secrets and the path-valued keys.
func namedFiles(v any) []string {
	var out []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, e)
			}
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		case string:
			switch {
			case strings.HasPrefix(x, "file:"):
				out = append(out, strings.TrimPrefix(x, "file:"))
			case key == "metadata_file" || key == "tls_cert_file" || key == "tls_key_file":
				out = append(out, x)
			}
		}
	}
	walk("", v)
	return out
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
