package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestReadBuildVersion(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name               string
		info               *debug.BuildInfo
		ldV, ldRev, ldTime string
		want               string
	}{
		{name: "no build info", want: "broker dev go1.0"},
		{name: "go build without vcs", info: &debug.BuildInfo{GoVersion: "go1.0", Main: debug.Module{Version: "(devel)"}}, want: "broker dev go1.0"},
		{name: "go install @version", info: &debug.BuildInfo{GoVersion: "go1.0", Main: debug.Module{Version: "v1.4.0"}}, want: "broker v1.4.0 go1.0"},
		{name: "go build in a checkout", info: &debug.BuildInfo{GoVersion: "go1.0", Main: debug.Module{Version: "v0.0.0-20260102030405-0123456789ab+dirty"},
			Settings: vcs("vcs", "git", "vcs.revision", "0123456789abcdef", "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "true")},
			want: "broker v0.0.0-20260102030405-0123456789ab+dirty (commit 0123456789abcdef, 2026-01-02T03:04:05Z, modified) go1.0"},
		{name: "ldflags override the build info", info: &debug.BuildInfo{GoVersion: "go1.0", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "aaaa", "vcs.time", "2020-01-01T00:00:00Z", "vcs.modified", "true")},
			ldV: "v2.0.0", ldRev: "bbbb", ldTime: "2026-05-06T07:08:09Z", want: "broker v2.0.0 (commit bbbb, 2026-05-06T07:08:09Z) go1.0"},
		{name: "ldflags dirty revision", ldV: "v2.0.1", ldRev: "cccc-dirty", want: "broker v2.0.1 (commit cccc, modified) go1.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := readBuildVersion(tc.info, tc.info != nil, tc.ldV, tc.ldRev, tc.ldTime)
			if tc.info == nil {
				v.Go = "go1.0"
			}
			if got := v.String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A binary built in this git checkout (-buildvcs=true; this machine's go
// env may default to false) names the commit it was built from, and one
// linked with -X main.version says that version.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	build := func(name string, flags ...string) string {
		bin := filepath.Join(dir, name)
		args := append([]string{"build", "-o", bin}, flags...)
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		out, err = exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatalf("%s version: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	t.Run("ldflags", func(t *testing.T) {
		got := build("ld", "-buildvcs=false", "-ldflags=-X main.version=v9.8.7 -X main.revision=feedface -X main.buildTime=2026-01-02T03:04:05Z")
		if !strings.HasPrefix(got, "broker v9.8.7 (commit feedface, 2026-01-02T03:04:05Z) go1.") {
			t.Errorf("-ldflags: %q", got)
		}
	})
	t.Run("vcs", func(t *testing.T) { versionFromVCS(t, build) })
}

func versionFromVCS(t *testing.T, build func(string, ...string) string) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (git rev-parse HEAD: %v): the build info has no revision to check", err)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		// go build stamps VCS information only where .git is a directory,
		// not in a `git worktree` (whose .git is a file).
		t.Skip("a git worktree: go build does not stamp VCS information here")
	}
	got := build("vcs", "-buildvcs=true")
	if !strings.Contains(got, "(commit "+strings.TrimSpace(string(head))) {
		t.Errorf("-buildvcs=true: %q does not name HEAD %s", got, head)
	}
	if strings.HasPrefix(got, "broker dev") {
		t.Errorf("-buildvcs=true: %q: the module version derived from git is missing", got)
	}
}

// The test binary itself has build info but no version: "broker dev".
func TestVersionCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "broker ") || !strings.Contains(out.String(), " go1.") {
		t.Errorf("version: %q", out.String())
	}
}
