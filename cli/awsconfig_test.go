package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testURL = "https://broker.example.com"

// userConfig is a config a person wrote: comments, odd spacing, their own
// profiles, a profile managed for another broker, and two managed for
// testURL (one stale).
const userConfig = `# my AWS config; keep this comment
[default]
region = us-east-1
output   =   json

; a semicolon comment
[profile work]
sso_start_url = https://example.awsapps.com/start
  # an indented comment inside a profile

# managed by broker
[profile other-admin]
credential_process = /usr/bin/broker credentials --url https://other.example.com --role 1/Admin

# managed by broker
[profile sandbox-developer]
credential_process = /old/broker credentials --url https://broker.example.com --role 111122223333/Developer
region = us-west-2

# managed by broker
[profile gone-role]
credential_process = /old/broker credentials --url 'https://broker.example.com' --role 999/Gone

# a comment about personal, just above it
[profile personal]
region = eu-central-1
`

func testProfiles() []Profile {
	return ProfilesFor([]Role{
		{Account: "111122223333", AccountAlias: "Sandbox", Role: "Developer", Region: "eu-west-1", Credentials: true, Via: "saml"},
		{Account: "444455556666", Role: "ReadOnly", Credentials: true, Via: "saml"},
		{Account: "444455556666", Role: "Billing", Credentials: false, Via: "saml"},
		{Account: "555", AccountAlias: "work", Role: "", Credentials: false},
	}, testURL, "/opt/my tools/broker", "", "")
}

func TestProfilesFor(t *testing.T) {
	got := testProfiles()
	if len(got) != 2 {
		t.Fatalf("profiles %+v: want one per role with credentials", got)
	}
	if got[0].Name != "sandbox-developer" || got[0].Region != "eu-west-1" ||
		got[0].CredentialProcess != `'/opt/my tools/broker' credentials --url https://broker.example.com --role 111122223333/Developer` {
		t.Errorf("profile 0: %+v", got[0])
	}
	if got[1].Name != "444455556666-readonly" || got[1].Region != "" {
		t.Errorf("profile 1: %+v", got[1])
	}
	if w := shellSplit(got[0].CredentialProcess); len(w) != 6 || w[0] != "/opt/my tools/broker" || w[5] != "111122223333/Developer" {
		t.Errorf("the command line does not split back: %q", w)
	}
	// --region fills in roles without one; --prefix goes first.
	p := ProfilesFor([]Role{{Account: "1", Role: "R", Credentials: true}}, testURL, "/b", "acme-", "ap-south-1")
	if p[0].Name != "acme-1-r" || p[0].Region != "ap-south-1" {
		t.Errorf("prefix and default region: %+v", p[0])
	}
	// A role granted both ways: the second gets its via.
	both := ProfilesFor([]Role{{Account: "1", Role: "R", Credentials: true, Via: "saml"}, {Account: "1", Role: "R", Credentials: true, Via: "web-identity"}}, testURL, "/b", "", "")
	if len(both) != 2 || both[1].Name != "1-r-web-identity" || !strings.HasSuffix(both[1].CredentialProcess, "--via web-identity") {
		t.Errorf("role granted both ways: %+v", both)
	}
}

func TestEditAWSConfig(t *testing.T) {
	ed := EditAWSConfig([]byte(userConfig), testURL, testProfiles())
	got := string(ed.Content)
	want := `# my AWS config; keep this comment
[default]
region = us-east-1
output   =   json

; a semicolon comment
[profile work]
sso_start_url = https://example.awsapps.com/start
  # an indented comment inside a profile

# managed by broker
[profile other-admin]
credential_process = /usr/bin/broker credentials --url https://other.example.com --role 1/Admin

# managed by broker
[profile sandbox-developer]
credential_process = '/opt/my tools/broker' credentials --url https://broker.example.com --role 111122223333/Developer
region = eu-west-1

# a comment about personal, just above it
[profile personal]
region = eu-central-1

# managed by broker
[profile 444455556666-readonly]
credential_process = '/opt/my tools/broker' credentials --url https://broker.example.com --role 444455556666/ReadOnly
`
	if got != want {
		t.Errorf("edited config:\n%s\nwant:\n%s\ndiff:\n%s", got, want, UnifiedDiff("want", "got", []byte(want), []byte(got)))
	}
	if strings.Join(ed.Added, ",") != "444455556666-readonly" || strings.Join(ed.Updated, ",") != "sandbox-developer" ||
		strings.Join(ed.Removed, ",") != "gone-role" || len(ed.Skipped) != 0 {
		t.Errorf("added %v updated %v removed %v skipped %v", ed.Added, ed.Updated, ed.Removed, ed.Skipped)
	}
	// Every line the person wrote is still there, in order, byte for byte.
	rest := got
	for _, l := range strings.SplitAfter(userConfig, "\n") {
		if strings.Contains(l, "broker.example.com") || strings.Contains(l, "gone-role") || l == "region = us-west-2\n" || l == ManagedMarker+"\n" {
			continue
		}
		i := strings.Index(rest, l)
		if i < 0 {
			t.Fatalf("line %q lost or out of order", l)
		}
		rest = rest[i+len(l):]
	}

	// Idempotent: a second run changes nothing.
	again := EditAWSConfig(ed.Content, testURL, testProfiles())
	if string(again.Content) != got || len(again.Added)+len(again.Updated)+len(again.Removed) != 0 {
		t.Errorf("second run changed the file: %+v\n%s", again, UnifiedDiff("1", "2", ed.Content, again.Content))
	}

	// No role granted any more: every profile managed for this URL goes,
	// nothing else does.
	none := EditAWSConfig(ed.Content, testURL, nil)
	if strings.Contains(string(none.Content), "broker.example.com") || !strings.Contains(string(none.Content), "other.example.com") ||
		!strings.Contains(string(none.Content), "[profile personal]\nregion = eu-central-1\n") {
		t.Errorf("after removing all:\n%s", none.Content)
	}
}

func TestEditAWSConfigLeavesUnmanagedProfiles(t *testing.T) {
	in := "[profile sandbox-developer]\nregion = us-east-1\n" // the person's own, same name
	ed := EditAWSConfig([]byte(in), testURL, testProfiles())
	if !strings.HasPrefix(string(ed.Content), in) || strings.Count(string(ed.Content), "[profile sandbox-developer]") != 1 {
		t.Errorf("an unmanaged profile was changed or duplicated:\n%s", ed.Content)
	}
	if strings.Join(ed.Skipped, ",") != "sandbox-developer" || strings.Join(ed.Added, ",") != "444455556666-readonly" {
		t.Errorf("skipped %v added %v", ed.Skipped, ed.Added)
	}
	// A file without a final newline and an empty file.
	ed = EditAWSConfig([]byte("[default]\nregion = x"), testURL, testProfiles()[:1])
	if !strings.HasPrefix(string(ed.Content), "[default]\nregion = x\n\n# managed by broker\n[profile sandbox-developer]\n") {
		t.Errorf("no final newline:\n%q", ed.Content)
	}
	ed = EditAWSConfig(nil, testURL, testProfiles()[:1])
	if !strings.HasPrefix(string(ed.Content), "# managed by broker\n[profile sandbox-developer]\n") {
		t.Errorf("empty file:\n%q", ed.Content)
	}
}

func TestUnifiedDiff(t *testing.T) {
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	new := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n"
	got := UnifiedDiff("config", "config (new)", []byte(old), []byte(new))
	want := `--- config
+++ config (new)
@@ -1,7 +1,7 @@
 a
 b
 c
-d
+D
 e
 f
 g
@@ -11,3 +11,4 @@
 k
 l
 m
+n
`
	if got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	if d := UnifiedDiff("a", "b", []byte(old), []byte(old)); d != "" {
		t.Errorf("equal files differ: %q", d)
	}
	if d := UnifiedDiff("a", "b", nil, []byte("x\n")); d != "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n" {
		t.Errorf("new file diff %q", d)
	}
}

// TestConfigure: the dry run prints the diff and writes nothing; the real
// run writes through a symlink, keeps the file's mode, and a second run
// finds nothing to do.
func TestConfigure(t *testing.T) {
	f := newFakeBroker(t)
	c := f.signIn(t, t.TempDir(), time.Hour)
	dir := t.TempDir()
	real := filepath.Join(dir, "real-config")
	mine := strings.ReplaceAll(userConfig, testURL, f.srv.URL)
	if err := os.WriteFile(real, []byte(mine), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	opts := ConfigureOptions{Path: link, Executable: "/usr/local/bin/broker", DryRun: true}
	res, err := c.Configure(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(real); string(b) != mine {
		t.Fatal("the dry run wrote the file")
	}
	if !strings.Contains(res.Diff, "+region = eu-west-1\n") || !strings.Contains(res.Diff, "-region = us-west-2\n") || !strings.Contains(res.Diff, "-[profile gone-role]") ||
		!strings.Contains(res.Diff, "+credential_process = /usr/local/bin/broker credentials --url "+f.srv.URL+" --role 444455556666/ReadOnly") {
		t.Errorf("dry-run diff:\n%s", res.Diff)
	}
	opts.DryRun = false
	if _, err := c.Configure(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	st, _ := os.Stat(real)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's 0640", st.Mode().Perm())
	}
	b, _ := os.ReadFile(real)
	if !strings.Contains(string(b), "[profile sandbox-developer]\ncredential_process = /usr/local/bin/broker credentials --url "+f.srv.URL+" --role 111122223333/Developer\nregion = eu-west-1\n") ||
		!strings.HasPrefix(string(b), "# my AWS config; keep this comment\n[default]\n") {
		t.Errorf("written config:\n%s", b)
	}
	res, err = c.Configure(t.Context(), opts)
	if err != nil || res.Diff != "" {
		t.Errorf("second run: %v\n%s", err, res.Diff)
	}
	// A new file is created 0600.
	fresh := filepath.Join(dir, "sub", "config")
	if _, err := c.Configure(t.Context(), ConfigureOptions{Path: fresh, Executable: "/b"}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("new config file: %v %v", st, err)
	}
}
