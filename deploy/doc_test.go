// Package deploy_test checks what deploy/ ships, as far as a machine with
// no container engine and no cluster allows:
//
//   - docker_test.go: the Dockerfile's build stage run as a script (its RUN
//     lines, on a copy of the repository less what .dockerignore leaves
//     out), the binary's stamped version, the runtime stage's user,
//     health check and data directory; .dockerignore's exclusions.
//   - compose_test.go: compose.yaml loaded by compose-spec's loader (the
//     Compose schema), every file its config names mounted, health checks,
//     restart policies, one build; `broker check` on its config.
//   - helm_test.go: the chart through Helm's own lint and template engine
//     (helm.sh/helm/v3), every rendered manifest decoded strictly into the
//     Kubernetes API types (unknown or mistyped fields fail), and the
//     rendered broker.yaml through `broker check`.
//   - systemd_test.go: `systemd-analyze security --offline=yes` on
//     broker.service, exposure 2.0 or less.
//
// It is its own module (deploy/go.mod) so that Helm, the Kubernetes API
// types and compose-go stay out of the broker's module graph; .ci/run runs
// it with `go test ./...` from deploy/.
package deploy_test
