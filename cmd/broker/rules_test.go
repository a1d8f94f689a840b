package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesExportApply(t *testing.T) {
	ctx := context.Background()
	cfg := writeConfig(t, goodConfig)
	dir := filepath.Dir(cfg)
	var out, errb bytes.Buffer

	// Export from a fresh store: the config's rules (they seed it).
	if err := run(ctx, []string{"rules", "export", "--config", cfg}, &out, &errb); err != nil {
		t.Fatalf("export: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "name: devs") || !strings.Contains(out.String(), "revision 1") {
		t.Fatalf("export:\n%s", out.String())
	}

	rules := filepath.Join(dir, "rules.yaml")
	write := func(s string) {
		if err := os.WriteFile(rules, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A rule that does not compile: nothing applied, the problem named.
	write("rules:\n  - name: bad\n    when: {all: [{attribute: g, regex: '('}]}\n    grant: {account: '111122223333', role: X}\n")
	out.Reset()
	errb.Reset()
	err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "rules[0].when.all[0].regex") {
		t.Fatalf("bad apply: %v\n%s", err, errb.String())
	}
	// A typo in a field name is refused too.
	write("rules:\n  - name: x\n    wehn: {}\n")
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb); err == nil || !strings.Contains(err.Error(), "wehn") {
		t.Fatalf("typo: %v", err)
	}

	good := "accounts:\n  - {id: '111122223333', alias: sandbox}\nrules:\n" +
		"  - name: ops\n    when: {all: [{attribute: groups, equals: ops}]}\n    grant: {account: sandbox, role: Operator}\n"
	write(good)
	out.Reset()
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules, "--dry-run"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "+ create ops") || !strings.Contains(out.String(), "- delete devs") || !strings.Contains(out.String(), "dry run") {
		t.Fatalf("dry run:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"rules", "export", "--config", cfg}, &out, &errb); err != nil || !strings.Contains(out.String(), "name: devs") {
		t.Fatalf("dry run changed the store:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s", err, errb.String())
	}
	out.Reset()
	if err := run(ctx, []string{"rules", "export", "--config", cfg}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "name: devs") || !strings.Contains(out.String(), "role: Operator") || !strings.Contains(out.String(), "alias: sandbox") {
		t.Fatalf("after apply:\n%s", out.String())
	}
	// Applying the same file again changes nothing.
	out.Reset()
	if err := run(ctx, []string{"rules", "apply", "--config", cfg, "-f", rules}, &out, &errb); err != nil || !strings.Contains(out.String(), "no change") {
		t.Fatalf("re-apply: %v\n%s", err, out.String())
	}
	if err := run(ctx, []string{"rules"}, &out, &errb); err == nil {
		t.Fatal("rules without a subcommand succeeded")
	}
}

func TestMigrate(t *testing.T) {
	cfg := writeConfig(t, goodConfig)
	var out, errb bytes.Buffer
	for i := 0; i < 2; i++ { // twice: idempotent
		out.Reset()
		if err := run(context.Background(), []string{"migrate", "--config", cfg}, &out, &errb); err != nil {
			t.Fatalf("migrate: %v\n%s", err, errb.String())
		}
		if !strings.Contains(out.String(), "sqlite store migrated: schema version 2") {
			t.Fatalf("migrate said %q", out.String())
		}
	}
	if err := run(context.Background(), []string{"migrate"}, &out, &errb); err == nil {
		t.Fatal("migrate without --config succeeded")
	}
}
