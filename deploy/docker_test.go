package deploy_test

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

type stage struct {
	name, from string
	steps      []instruction
}

func parseDockerfile(path string) ([]stage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	flush := func() error {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			from, name, _ := strings.Cut(in.args, " AS ")
			stages = append(stages, stage{name: strings.TrimSpace(name), from: strings.TrimSpace(from)})
			return nil
		}
		if len(stages) == 0 {
			return fmt.Errorf("%s before FROM", in.cmd)
		}
		stages[len(stages)-1].steps = append(stages[len(stages)-1].steps, in)
		return nil
	}
	for sc.Scan() {
		line := sc.Text()
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return stages, sc.Err()
}

// dockerignore reads the repository's .dockerignore.
func dockerignore(root string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return patternmatcher.New(patterns)
}

// buildContext copies root to dst less what .dockerignore leaves out: the
// files `docker build .` would send.
func buildContext(root, dst string) error {
	pm, err := dockerignore(root)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		skip, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if skip {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// dockerBuild runs the Dockerfile's "build" stage as a script: the build
// context (the repository less .dockerignore) as its WORKDIR, its ARGs
// (args override their defaults) in the environment, each RUN line in sh
// with /out made a directory under dir. It returns the binary and the data
// directory the stage leaves in /out.
func dockerBuild(root, dir string, args map[string]string) (bin, data, log string, err error) {
	stages, err := parseDockerfile(filepath.Join(root, "deploy", "Dockerfile"))
	if err != nil {
		return "", "", "", err
	}
	var st *stage
	for i := range stages {
		if stages[i].name == "build" {
			st = &stages[i]
		}
	}
	if st == nil {
		return "", "", "", fmt.Errorf("no stage named build")
	}
	ctx, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	if err := buildContext(root, ctx); err != nil {
		return "", "", "", err
	}
	env := os.Environ()
	var logb strings.Builder
	for _, s := range st.steps {
		switch s.cmd {
		case "ARG":
			name, def, _ := strings.Cut(s.args, "=")
			v, ok := args[name]
			if !ok {
				v = def
			}
			env = append(env, name+"="+v)
		case "WORKDIR":
			if s.args != "/src" {
				return "", "", "", fmt.Errorf("WORKDIR %s: the script maps /src only", s.args)
			}
		case "COPY":
			f := strings.Fields(s.args)
			for _, src := range f[:len(f)-1] {
				if _, err := os.Stat(filepath.Join(ctx, src)); err != nil {
					return "", "", "", fmt.Errorf("COPY %s: not in the build context: %v", src, err)
				}
			}
		case "RUN":
			script := strings.ReplaceAll(s.args, " /out/", " "+out+"/")
			if err := os.MkdirAll(out, 0o755); err != nil {
				return "", "", "", err
			}
			fmt.Fprintf(&logb, "+ %s\n", script)
			cmd := exec.Command("sh", "-ec", script)
			cmd.Dir, cmd.Env = ctx, env
			b, err := cmd.CombinedOutput()
			logb.Write(b)
			if err != nil {
				return "", "", logb.String(), fmt.Errorf("RUN %s: %v", s.args, err)
			}
		default:
			return "", "", logb.String(), fmt.Errorf("%s in the build stage: the script does not know it", s.cmd)
		}
	}
	return filepath.Join(out, "broker"), filepath.Join(out, "data"), logb.String(), nil
}

// The build stage, run as a script on what .dockerignore leaves, makes a
// static binary stamped with the build arguments and the data directory.
func TestDockerfileBuildSteps(t *testing.T) {
	bin := brokerBinary(t)
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("broker %s (commit %s, %s) go1.", testVersion, testRevision, testBuildTime)
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("broker version: %q, want %q...", out, want)
	}
	if out, err := exec.Command(bin, "healthcheck", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "Usage: broker healthcheck") {
		t.Errorf("broker healthcheck --help: %v\n%s", err, out)
	}
	// distroless/static has no libc: the binary must not need one.
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%v): CGO_ENABLED=0 missing?", p.Type)
		}
	}
	if fi, err := os.Stat(built.out); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("the data directory /out/data: %v %v", fi, err)
	}
}

// The runtime stage: non-root, the data directory owned by that user, a
// health check through `broker healthcheck` on the config CMD serves.
func TestDockerfileRuntimeStage(t *testing.T) {
	stages, err := parseDockerfile(filepath.Join(repoRoot(t), "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 {
		t.Fatalf("%d stages, want build and runtime", len(stages))
	}
	rt := stages[1]
	if !strings.HasPrefix(rt.from, "gcr.io/distroless/static") {
		t.Errorf("runtime FROM %s", rt.from)
	}
	got := map[string][]string{}
	for _, s := range rt.steps {
		got[s.cmd] = append(got[s.cmd], s.args)
	}
	if u := got["USER"]; len(u) != 1 || u[0] != "65532:65532" {
		t.Errorf("USER %v, want 65532:65532 (distroless nonroot)", u)
	}
	var dataOwned, binCopied bool
	for _, c := range got["COPY"] {
		f := strings.Fields(c)
		if f[0] != "--from=build" {
			t.Errorf("COPY %s: only the build stage's output goes into the image", c)
		}
		switch f[len(f)-1] {
		case "/var/lib/broker":
			dataOwned = slicesContains(f, "--chown=65532:65532") && f[len(f)-2] == "/out/data"
		case "/broker":
			binCopied = f[len(f)-2] == "/out/broker"
		}
	}
	if !dataOwned || !binCopied {
		t.Errorf("COPY lines %v: want /out/broker at /broker and /out/data at /var/lib/broker owned by 65532", got["COPY"])
	}
	if v := got["VOLUME"]; len(v) != 1 || !strings.Contains(v[0], "/var/lib/broker") {
		t.Errorf("VOLUME %v", v)
	}
	cmdConfig := ""
	if c := got["CMD"]; len(c) == 1 {
		if _, after, ok := strings.Cut(c[0], `"--config", "`); ok {
			cmdConfig, _, _ = strings.Cut(after, `"`)
		}
	}
	if hc := got["HEALTHCHECK"]; len(hc) != 1 || !strings.Contains(hc[0], `CMD ["/broker", "healthcheck", "--config", "`+cmdConfig+`"]`) || cmdConfig == "" {
		t.Errorf("HEALTHCHECK %v should run /broker healthcheck on CMD's config %q", hc, cmdConfig)
	}
	if e := got["ENTRYPOINT"]; len(e) != 1 || e[0] != `["/broker"]` {
		t.Errorf("ENTRYPOINT %v", e)
	}
}

func slicesContains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// .dockerignore keeps history, node packages, local data and keys out of
// the build context, and the sources in.
func TestDockerignore(t *testing.T) {
	pm, err := dockerignore(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for path, excluded := range map[string]bool{
		".git/config": true,
		"interop/oidc-provider/node_modules/x/a.js": true,
		"e2e/browser/node_modules/playwright/a.js":  true,
		"node_modules/a.js":                         true,
		"broker-dev-data/idp.key":                   true,
		"broker-dev-data/broker.db":                 true,
		"broker.db":                                 true,
		"some/dir/broker.db-wal":                    true,
		"deploy/compose/idp.key":                    true,
		"etc/tls.pem":                               true,
		"bin/broker":                                true,
		"go.mod":                                    false,
		"go.sum":                                    false,
		"cmd/broker/main.go":                        false,
		"web/templates/portal.html":                 false,
		"web/static/app.css":                        false,
		"store/sqlstore/migrations/0001_init.sql":   false,
	} {
		got, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != excluded {
			t.Errorf("%s: excluded %v, want %v", path, got, excluded)
		}
	}
}
