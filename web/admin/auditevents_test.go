package admin

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestAuditEventsKnown: every event name the code writes to the audit
// log is a choice of the audit page's event filter.
func TestAuditEventsKnown(t *testing.T) {
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`Event(?::|[A-Za-z]* *=) *"([a-z_]+)"`),    // Event: "signin", EventRuleSaved = "rule_saved"
		regexp.MustCompile(`\b(?:done|audit)\(ctx, \w+, "([a-z_]+)"`), // r.done(ctx, who, "app_client_created", …)
		regexp.MustCompile(`\bevent(?: :)?= "([a-z_]+)"`),             // event := "app_client_updated"
	}
	found := map[string]string{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, re := range patterns {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				found[m[1]] = p
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 20 {
		t.Fatalf("found only %d events: the patterns no longer see the code", len(found))
	}
	for ev, file := range found {
		if !slices.Contains(auditEvents, ev) {
			t.Errorf("%s audits %q, which the audit page's event filter does not offer", file, ev)
		}
	}
}
