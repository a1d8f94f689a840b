package broker_test

import (
	"bufio"
	"go/build"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/broker-dev/broker"

// layerRules reads the "imports" block of docs/ARCHITECTURE.md: one line per
// package (or "dir/..." for a package and everything under it), followed by
// the project packages it may import ("-" for none). A package may import
// nothing of this project that its line does not name.
func layerRules(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := map[string][]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "```imports":
			in = true
			continue
		case in && line == "```":
			in = false
			continue
		case !in || line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		fields := strings.Fields(line)
		pkg, allowed := fields[0], fields[1:]
		if _, dup := rules[pkg]; dup {
			t.Fatalf("ARCHITECTURE.md names %s twice", pkg)
		}
		if len(allowed) == 1 && allowed[0] == "-" {
			allowed = nil
		}
		rules[pkg] = allowed
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatal("docs/ARCHITECTURE.md has no ```imports block")
	}
	return rules
}

// ruleFor finds the line that governs pkg: its own, or the nearest "dir/...".
func ruleFor(rules map[string][]string, pkg string) (string, []string, bool) {
	if a, ok := rules[pkg]; ok {
		return pkg, a, true
	}
	for p := pkg; p != "." && p != ""; p = path.Dir(p) {
		if a, ok := rules[p+"/..."]; ok {
			return p + "/...", a, true
		}
	}
	return "", nil, false
}

// allows reports whether an allowed list names imp ("x/..." covers x and
// everything under it).
func allows(allowed []string, imp string) bool {
	for _, a := range allowed {
		if a == imp || (strings.HasSuffix(a, "/...") && (imp == strings.TrimSuffix(a, "/...") || strings.HasPrefix(imp, strings.TrimSuffix(a, "...")))) {
			return true
		}
	}
	return false
}

// TestImportDirections enforces the import directions docs/ARCHITECTURE.md
// states, for the non-test files of every package of the module.
func TestImportDirections(t *testing.T) {
	rules := layerRules(t)
	var dirs []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, dir := range dirs {
		bp, err := build.ImportDir(dir, 0)
		if err != nil {
			continue // no buildable non-test Go files here
		}
		rel := filepath.ToSlash(dir)
		if rel == "." {
			rel = "broker"
		}
		name, allowed, ok := ruleFor(rules, rel)
		if !ok {
			t.Errorf("package %s is not placed in docs/ARCHITECTURE.md's imports block", rel)
			continue
		}
		checked++
		var bad []string
		for _, imp := range bp.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			short := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if short == "" {
				short = "broker"
			}
			if !allows(allowed, short) {
				bad = append(bad, short)
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			t.Errorf("%s imports %s; docs/ARCHITECTURE.md (line %q) does not allow it", rel, strings.Join(bad, ", "), name)
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d packages: is the walk broken?", checked)
	}
}

// TestImportRulesCatchViolations shows the check refuses what it should.
func TestImportRulesCatchViolations(t *testing.T) {
	rules := map[string][]string{"web/...": {"broker", "web", "access"}, "mapping": {"broker"}}
	for _, tc := range []struct {
		pkg, imp string
		want     bool
	}{
		{"web/portal", "access", true},
		{"web/portal", "web", true},
		{"web/portal", "store", false},
		{"web/portal", "store/sqlstore", false},
		{"mapping", "broker", true},
		{"mapping", "web", false},
	} {
		_, allowed, ok := ruleFor(rules, tc.pkg)
		if !ok {
			t.Fatalf("no rule for %s", tc.pkg)
		}
		if got := allows(allowed, tc.imp); got != tc.want {
			t.Errorf("%s importing %s: allowed=%v, want %v", tc.pkg, tc.imp, got, tc.want)
		}
	}
	if _, _, ok := ruleFor(rules, "ruleset"); ok {
		t.Error("an unlisted package has a rule")
	}
	if allows([]string{"store/..."}, "storetest") {
		t.Error("store/... covers storetest")
	}
}
