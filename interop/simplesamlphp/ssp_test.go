package simplesamlphp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/broker-dev/broker/issuer"
)

// installDir is where Debian's simplesamlphp package puts the code; its
// www/ directory is what the web server serves.
const installDir = "/usr/share/simplesamlphp"

// requireEnv names the variable that turns a missing SimpleSAMLphp into a
// failure instead of a skip (set in .ci/run).
const requireEnv = "BROKER_REQUIRE_SIMPLESAMLPHP"

// person is one user of SimpleSAMLphp's exampleauth:UserPass source.
type person struct {
	Username, Password string
	Attributes         map[string][]string
}

// sp is the broker as SimpleSAMLphp's remote SP.
type sp struct {
	EntityID, ACS, SLO string
	CertificatePEM     []byte
}

// ssp is a running SimpleSAMLphp IdP.
type ssp struct {
	BaseURL     string // http://127.0.0.1:PORT/simplesaml/
	EntityID    string // also its metadata URL
	MetadataURL string
	People      []person
	logDir      string
}

// SSOURL is the IdP's SingleSignOnService endpoint.
func (s *ssp) SSOURL() string { return s.BaseURL + "saml2/idp/SSOService.php" }

// LogoutURL is the IdP-initiated logout that ends the SimpleSAMLphp session
// with a LogoutRequest to each SP, then sends the browser to returnTo.
func (s *ssp) LogoutURL(returnTo string) string {
	return s.BaseURL + "saml2/idp/SingleLogoutService.php?ReturnTo=" + url.QueryEscape(returnTo)
}

// Log is SimpleSAMLphp's log so far (for failure messages).
func (s *ssp) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.logDir, "simplesamlphp.log"))
	return string(b)
}

// needSSP skips the test when php or SimpleSAMLphp is not installed, or
// fails it under BROKER_REQUIRE_SIMPLESAMLPHP=1; it returns the php binary.
func needSSP(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s (install with: sudo bash .ci/system)", what)
		}
		t.Skipf("%s; install with: sudo bash .ci/system (or apt-get install --no-install-recommends simplesamlphp php-cli php-xml php-mbstring)", what)
	}
	php, err := exec.LookPath("php")
	if err != nil {
		missing("php is not installed")
	}
	if _, err := os.Stat(filepath.Join(installDir, "www", "saml2", "idp", "SSOService.php")); err != nil {
		missing("SimpleSAMLphp is not installed in " + installDir)
	}
	out, err := exec.Command(php, "-r", `foreach (["dom","openssl","mbstring","xml","session"] as $e) if (!extension_loaded($e)) echo $e, " ";`).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		missing(fmt.Sprintf("php lacks extensions SimpleSAMLphp needs: %s %v", bytes.TrimSpace(out), err))
	}
	return php
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// phpString is a PHP single-quoted string literal of s.
func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{"php": phpString}).ParseGlob("testdata/*.php.tmpl"))

func writeTemplate(t *testing.T, path, name string, data any) {
	t.Helper()
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startSSP writes a complete SimpleSAMLphp configuration for one IdP into a
// temporary directory (a fresh signing key, the people, the broker as its
// SP) and serves it with PHP's built-in web server on a free loopback port
// (php picks it: -S 127.0.0.1:0) until the test ends. It skips the test
// when SimpleSAMLphp is not installed (fails under
// BROKER_REQUIRE_SIMPLESAMLPHP=1).
func startSSP(t *testing.T, people []person, broker sp) *ssp {
	t.Helper()
	php := needSSP(t)
	root := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"config", "metadata", "cert", "log", "data", "tmp", "sessions", "docroot"} {
		dirs[d] = filepath.Join(root, d)
		if err := os.Mkdir(dirs[d], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// PHP's server maps URL paths to files: /simplesaml/ is SimpleSAMLphp's
	// www directory through a link, which is what baseurlpath says.
	if err := os.Symlink(filepath.Join(installDir, "www"), filepath.Join(dirs["docroot"], "simplesaml")); err != nil {
		t.Fatal(err)
	}
	kp, err := issuer.GenerateKeyPair("SimpleSAMLphp interop IdP", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"idp.key": kp.KeyPEM(), "idp.crt": kp.CertificatePEM(), "sp.crt": broker.CertificatePEM} {
		if err := os.WriteFile(filepath.Join(dirs["cert"], name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	brokerURL, err := url.Parse(broker.EntityID)
	if err != nil {
		t.Fatal(err)
	}
	// The port is not known yet: SimpleSAMLphp takes its host and port from
	// each request (a relative baseurlpath, the __DYNAMIC:1__ entity ID,
	// which is then its metadata URL). ReturnTo may name the broker.
	writeTemplate(t, filepath.Join(dirs["config"], "config.php"), "config.php.tmpl", map[string]any{
		"BaseURLPath": "simplesaml/",
		"CertDir":     dirs["cert"] + "/", "LogDir": dirs["log"] + "/", "DataDir": dirs["data"] + "/", "TempDir": dirs["tmp"],
		"MetadataDir": dirs["metadata"] + "/", "SessionDir": dirs["sessions"],
		"SecretSalt": randomHex(t, 32), "AdminPassword": randomHex(t, 16),
		"TrustedDomains": []string{brokerURL.Host},
	})
	writeTemplate(t, filepath.Join(dirs["config"], "authsources.php"), "authsources.php.tmpl", map[string]any{"Users": people})
	writeTemplate(t, filepath.Join(dirs["metadata"], "saml20-idp-hosted.php"), "saml20-idp-hosted.php.tmpl", map[string]any{"EntityID": "__DYNAMIC:1__"})
	writeTemplate(t, filepath.Join(dirs["metadata"], "saml20-sp-remote.php"), "saml20-sp-remote.php.tmpl", broker)

	s := &ssp{People: people, logDir: dirs["log"]}
	port := servePHP(t, php, dirs["docroot"], dirs["config"], s)
	s.BaseURL = "http://127.0.0.1:" + port + "/simplesaml/"
	s.EntityID = s.BaseURL + "saml2/idp/metadata.php"
	s.MetadataURL = s.EntityID
	waitMetadata(t, s)
	return s
}

// phpStarted is the line PHP's built-in server prints when it listens.
var phpStarted = regexp.MustCompile(`Development Server \(http://127\.0\.0\.1:([0-9]+)\) started`)

// servePHP runs `php -S 127.0.0.1:0 -t docroot` with SimpleSAMLphp's
// config dir until the test ends, and returns the port it listens on.
func servePHP(t *testing.T, php, docroot, configDir string, s *ssp) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, php, "-S", "127.0.0.1:0", "-t", docroot)
	cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+configDir)
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var out syncBuffer
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if m := phpStarted.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case port <- m[1]:
				default:
				}
			}
			out.Write(append(sc.Bytes(), '\n'))
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		pw.Close()
		if t.Failed() {
			t.Logf("php -S output:\n%s", clip(out.String(), 4000))
			t.Logf("SimpleSAMLphp log:\n%s", clip(s.Log(), 20000))
		}
	})
	select {
	case p := <-port:
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("php -S did not start:\n%s", out.String())
	}
	return ""
}

// waitMetadata waits until SimpleSAMLphp serves its IdP metadata.
func waitMetadata(t *testing.T, s *ssp) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.MetadataURL)
		if err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(b.String(), "IDPSSODescriptor") {
				if !strings.Contains(b.String(), `entityID="`+s.EntityID+`"`) {
					t.Fatalf("SimpleSAMLphp's metadata does not name entity %s:\n%s", s.EntityID, clip(b.String(), 2000))
				}
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, clip(b.String(), 2000))
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("SimpleSAMLphp did not serve its metadata at %s: %s", s.MetadataURL, last)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
