package broker_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// minimumVersions are the oldest versions of the modules that verify
// signatures and tokens which the broker accepts. Raise one when an
// advisory or a fix the broker relies on needs it; never lower one.
var minimumVersions = map[string]string{
	// GO-2026-4753 (signature bypass) is fixed in v1.6.0; crewjam/saml
	// v0.6.3 needs v1.6.1.
	"github.com/russellhaering/goxmldsig": "v1.6.1",
	"github.com/beevik/etree":             "v1.8.1",
	// SignedElementVerifier, ServiceProvider.Clock, the error kinds the
	// broker classifies by, the Reference profile check.
	"github.com/crewjam/saml":       "v0.6.3",
	"github.com/go-jose/go-jose/v4": "v4.1.8",
	"github.com/coreos/go-oidc/v3":  "v3.21.0",
	"golang.org/x/crypto":           "v0.55.0",
}

// TestMinimumModuleVersions fails when go.mod asks for a module that
// verifies signatures or tokens below its minimum, or replaces it with a
// lower version or a local directory. go.mod is the build's module list:
// it names every module the build uses at its selected version (go 1.17
// and later), and the go command refuses to build when it does not. (A test
// binary's runtime/debug.ReadBuildInfo lists no dependencies to read.)
func TestMinimumModuleVersions(t *testing.T) {
	required, replaced := goMod(t, "go.mod")
	for _, problem := range belowMinimum(required, replaced) {
		t.Error(problem)
	}
}

// belowMinimum lists the modules of minimumVersions that go.mod's
// directives leave missing or below their minimum.
func belowMinimum(required, replaced map[string]string) []string {
	var problems []string
	for path, min := range minimumVersions {
		v, ok := required[path]
		if r, isReplaced := replaced[path]; isReplaced {
			v, ok = r, true
		}
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s is not required in go.mod: its minimum version %s cannot be checked", path, min))
		case compareSemver(v, min) < 0:
			problems = append(problems, fmt.Sprintf("%s %q in go.mod is below the minimum %s", path, v, min))
		}
	}
	sort.Strings(problems)
	return problems
}

// goMod reads the require and replace directives of go.mod: module path
// to version, and replaced module path to the replacement's version ("" for
// a local directory, which then fails the check).
func goMod(t *testing.T, name string) (required, replaced map[string]string) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	required, replaced = map[string]string{}, map[string]string{}
	block := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(strings.SplitN(sc.Text(), "//", 2)[0])
		verb := block
		switch {
		case line == "require (" || line == "replace (":
			block = strings.TrimSuffix(line, " (")
			continue
		case block != "" && line == ")":
			block = ""
			continue
		case strings.HasPrefix(line, "require ") || strings.HasPrefix(line, "replace "):
			verb, line, _ = strings.Cut(line, " ")
		}
		fields := strings.Fields(line)
		switch {
		case verb == "require" && len(fields) == 2:
			required[fields[0]] = fields[1]
		case verb == "replace":
			// old [version] => new [version]
			if i := indexOf(fields, "=>"); i > 0 {
				v := ""
				if len(fields) == i+3 {
					v = fields[i+2]
				}
				replaced[fields[0]] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return required, replaced
}

func indexOf(xs []string, x string) int {
	for i, s := range xs {
		if s == x {
			return i
		}
	}
	return -1
}

// compareSemver compares two module versions (vMAJOR.MINOR.PATCH with an
// optional -prerelease and +build): -1, 0 or 1. A version that does not
// parse compares below everything, so it fails the check.
func compareSemver(a, b string) int {
	pa, oka := parseSemver(a)
	pb, okb := parseSemver(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := 0; i < 3; i++ {
		if pa.num[i] != pb.num[i] {
			if pa.num[i] < pb.num[i] {
				return -1
			}
			return 1
		}
	}
	// A prerelease (pseudo-versions included) is below its release.
	switch {
	case pa.pre == pb.pre:
		return 0
	case pa.pre == "":
		return 1
	case pb.pre == "":
		return -1
	case pa.pre < pb.pre:
		return -1
	}
	return 1
}

type semver struct {
	num [3]int
	pre string
}

func parseSemver(v string) (semver, bool) {
	var s semver
	if !strings.HasPrefix(v, "v") {
		return s, false
	}
	v, _, _ = strings.Cut(v[1:], "+")
	v, s.pre, _ = strings.Cut(v, "-")
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return s, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return s, false
		}
		s.num[i] = n
	}
	return s, true
}

func TestCompareSemver(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"v1.6.1", "v1.6.1", 0},
		{"v1.6.0", "v1.6.1", -1},
		{"v1.10.0", "v1.9.9", 1},
		{"v0.6.3", "v0.5.1", 1},
		{"v1.6.1-rc.1", "v1.6.1", -1},
		{"v0.0.0-20240606120523-5a60cdf6a761", "v0.0.1", -1},
		{"v1.6.1+incompatible", "v1.6.1", 0},
		{"", "v1.0.0", -1},
		{"v1.2", "v1.0.0", -1},
	} {
		if got := compareSemver(tc.a, tc.b); got != tc.want {
			t.Errorf("compareSemver(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestBelowMinimumNamesTheModule: a downgrade, a replacement by a lower
// version or a local directory, and a missing module each fail, naming it.
func TestBelowMinimumNamesTheModule(t *testing.T) {
	name := filepath.Join(t.TempDir(), "go.mod")
	mod := `module example.com/m

go 1.26

require (
	github.com/russellhaering/goxmldsig v1.4.0 // indirect
	github.com/beevik/etree v1.8.1
	github.com/crewjam/saml v0.6.3
	github.com/go-jose/go-jose/v4 v4.1.8
	golang.org/x/crypto v0.55.0
)

require github.com/coreos/go-oidc/v3 v3.21.0

replace github.com/crewjam/saml => github.com/crewjam/saml v0.5.1

replace (
	github.com/beevik/etree v1.8.1 => ../etree
)
`
	if err := os.WriteFile(name, []byte(mod), 0o600); err != nil {
		t.Fatal(err)
	}
	got := belowMinimum(goMod(t, name))
	want := []string{
		`github.com/beevik/etree "" in go.mod is below the minimum v1.8.1`,
		`github.com/crewjam/saml "v0.5.1" in go.mod is below the minimum v0.6.3`,
		`github.com/russellhaering/goxmldsig "v1.4.0" in go.mod is below the minimum v1.6.1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	required, replaced := goMod(t, name)
	delete(required, "golang.org/x/crypto")
	if p := belowMinimum(required, replaced); len(p) != 4 || !strings.Contains(strings.Join(p, " "), "golang.org/x/crypto is not required") {
		t.Errorf("a missing module is not named: %q", p)
	}
}
