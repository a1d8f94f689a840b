package deploy_test

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

func loadCompose(t *testing.T, env []string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(repoRoot(t), "deploy", "compose.yaml")},
		cli.WithName("broker"), cli.WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// compose.yaml is valid Compose (compose-spec's loader: schema,
// interpolation, anchors), refuses to start without the keys, builds the
// image once, has a health check and a restart policy on every service
// that keeps running, and mounts its config and every file the config
// names; the config passes `broker check`.
func TestCompose(t *testing.T) {
	if _, err := loadCompose(t, nil); err == nil || !strings.Contains(err.Error(), "set BROKER_SESSION_KEY") {
		t.Errorf("without BROKER_SESSION_KEY: %v, want the :? message", err)
	}
	sessionKey, storeKey := randomKey(t), randomKey(t)
	p, err := loadCompose(t, []string{"BROKER_SESSION_KEY=" + sessionKey, "BROKER_STORE_KEY=" + storeKey})
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if docker := lookPath("docker"); docker == "" {
		t.Log("no docker here: the image is not built and the services are not started (deploy/compose_test.go)")
	}

	var builders []string
	image := ""
	for name, s := range p.Services {
		if s.Build != nil {
			builders = append(builders, name)
			image = s.Image
			if s.Build.Dockerfile != "deploy/Dockerfile" || filepath.Clean(s.Build.Context) != repoRoot(t) {
				t.Errorf("%s builds %s in %s, want deploy/Dockerfile in the repository", name, s.Build.Dockerfile, s.Build.Context)
			}
		}
	}
	if len(builders) != 1 || image == "" {
		t.Fatalf("services with a build: %v (image %q); want exactly one, with an image name the others run", builders, image)
	}

	brokers := 0
	for name, s := range p.Services {
		if name == "postgres" {
			if s.HealthCheck == nil || s.Restart == "" {
				t.Errorf("postgres: health check %v, restart %q", s.HealthCheck, s.Restart)
			}
			continue
		}
		// Every other service runs the broker image.
		if s.Image != image {
			t.Errorf("%s runs %q, not the image built once (%q)", name, s.Image, image)
		}
		if s.Build == nil && s.PullPolicy != types.PullPolicyNever {
			t.Errorf("%s: pull_policy %q, want never (the image is built by %s, not pulled)", name, s.PullPolicy, builders[0])
		}
		oneShot := len(s.Command) > 0 && s.Command[0] == "migrate"
		if oneShot {
			if dep, ok := s.DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: depends_on postgres %v, want service_healthy", name, s.DependsOn)
			}
		} else {
			brokers++
			if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
				t.Errorf("%s: restart %q", name, s.Restart)
			}
			if s.HealthCheck == nil || len(s.HealthCheck.Test) < 3 || s.HealthCheck.Test[1] != "/broker" || s.HealthCheck.Test[2] != "healthcheck" {
				t.Errorf("%s: health check %v, want /broker healthcheck", name, s.HealthCheck)
			}
			if s.StopGracePeriod == nil {
				t.Errorf("%s: no stop_grace_period", name)
			}
			if dep, ok := s.DependsOn["migrate"]; !ok || dep.Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("%s: depends_on %v, want migrate service_completed_successfully", name, s.DependsOn)
			}
		}
		checkComposeMounts(t, name, s, sessionKey, storeKey)
	}
	if brokers < 2 {
		t.Errorf("%d broker instances, want two on one PostgreSQL", brokers)
	}
}

func lookPath(name string) string {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
			return filepath.Join(dir, name)
		}
	}
	return ""
}

// checkComposeMounts: the config the service runs with is mounted, and so
// is every file it names; every env: it names is in the environment; the
// health check reads the same config; and the config passes broker check
// with those files and that environment.
func checkComposeMounts(t *testing.T, name string, s types.ServiceConfig, sessionKey, storeKey string) {
	t.Helper()
	cfgPath := ""
	args := append(slices.Clone([]string(s.Command)), []string(s.Entrypoint)...)
	if len(args) == 0 {
		cfgPath = "/etc/broker/broker.yaml" // the image's CMD
	}
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			cfgPath = args[i+1]
		}
	}
	if s.HealthCheck != nil {
		if i := slices.Index(s.HealthCheck.Test, "--config"); i < 0 || i+1 >= len(s.HealthCheck.Test) || s.HealthCheck.Test[i+1] != cfgPath {
			t.Errorf("%s: the health check %v does not read the config %s", name, s.HealthCheck.Test, cfgPath)
		}
	}
	mounts := map[string]string{} // target -> host source
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if !v.ReadOnly {
			t.Errorf("%s: %s is mounted read-write", name, v.Target)
		}
		if v.Bind == nil || bool(v.Bind.CreateHostPath) {
			t.Errorf("%s: %s: bind.create_host_path not false (a missing file would become an empty directory)", name, v.Target)
		}
		mounts[v.Target] = v.Source
	}
	src, ok := mounts[cfgPath]
	if !ok {
		t.Fatalf("%s: its config %s is not mounted (mounts %v)", name, cfgPath, mounts)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("%s: the config's source: %v", name, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	files := namedFiles(doc)
	if len(files) == 0 {
		t.Fatalf("%s: the config names no files; the walk is broken", name)
	}
	// The config with the files it names, made as README says, next to it.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broker.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	keyPEM, certPEM := keyPair(t)
	for _, f := range files {
		target := f
		if !path.IsAbs(f) {
			target = path.Join(path.Dir(cfgPath), f)
		}
		if _, ok := mounts[target]; !ok {
			t.Errorf("%s: the config names %s (%s in the container), which is not mounted", name, f, target)
		}
		var body []byte
		switch {
		case strings.HasSuffix(f, ".key"):
			body = keyPEM
		case strings.HasSuffix(f, ".crt"):
			body = certPEM
		case strings.HasSuffix(f, ".xml"):
			body = idpMetadata(certPEM)
		default:
			t.Fatalf("%s: the test does not know how to make %s", name, f)
		}
		if err := os.WriteFile(filepath.Join(dir, path.Base(f)), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	for _, ref := range envRefs(doc) {
		if _, ok := env[ref]; !ok {
			t.Errorf("%s: the config reads env:%s, which the service does not set", name, ref)
		}
	}
	if env["BROKER_SESSION_KEY"] != sessionKey || env["BROKER_STORE_KEY"] != storeKey {
		t.Errorf("%s: the keys are not passed from the environment", name)
	}
	out := brokerCheck(t, filepath.Join(dir, "broker.yaml"), env)
	if !strings.Contains(out, "ok") {
		t.Errorf("%s: broker check: %s", name, out)
	}
}

// envRefs is every env:NAME a config names.
func envRefs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			out = append(out, envRefs(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, envRefs(e)...)
		}
	case string:
		if n, ok := strings.CutPrefix(x, "env:"); ok {
			out = append(out, n)
		}
	}
	return out
}
