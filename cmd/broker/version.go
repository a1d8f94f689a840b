package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at link time to override what the build info says, e.g. in the
// Dockerfile, whose build context has no .git:
//
//	go build -ldflags "-X main.version=v1.4.0 -X main.revision=$(git rev-parse HEAD) -X main.buildTime=2026-01-02T03:04:05Z" ./cmd/broker
var (
	version   = ""
	revision  = ""
	buildTime = ""
)

// buildVersion says which broker this is. Each field comes from the
// -ldflags override when set, else from the binary's build info: the main
// module's version (set by `go install …/cmd/broker@v1.4.0`, or derived
// from the VCS tag by `go build` since Go 1.24), vcs.revision, vcs.time
// and vcs.modified (stamped by `go build` in a git checkout unless
// -buildvcs=false). A build with neither says "dev".
type buildVersion struct {
	Version  string // v1.4.0, or "dev"
	Revision string // the commit, "" when unknown
	Time     string // the commit's time (RFC 3339), "" when unknown
	Modified bool   // built from a work tree with uncommitted changes
	Go       string // the toolchain, go1.26.8
}

func readBuildVersion(info *debug.BuildInfo, ok bool, ldVersion, ldRevision, ldTime string) buildVersion {
	v := buildVersion{Version: "dev", Go: runtime.Version()}
	if ok && info != nil {
		if info.GoVersion != "" {
			v.Go = info.GoVersion
		}
		if mv := info.Main.Version; mv != "" && mv != "(devel)" {
			v.Version = mv
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if ldVersion != "" {
		v.Version = ldVersion
	}
	if ldRevision != "" {
		v.Revision, v.Modified = strings.TrimSuffix(ldRevision, "-dirty"), strings.HasSuffix(ldRevision, "-dirty")
	}
	if ldTime != "" {
		v.Time = ldTime
	}
	return v
}

// currentVersion is this binary's buildVersion.
func currentVersion() buildVersion {
	info, ok := debug.ReadBuildInfo()
	return readBuildVersion(info, ok, version, revision, buildTime)
}

// String is the line `broker version` prints:
// "broker v1.4.0 (commit 0123abcd…, 2026-01-02T03:04:05Z, modified) go1.26.8".
func (v buildVersion) String() string {
	var extra []string
	if v.Revision != "" {
		extra = append(extra, "commit "+v.Revision)
	}
	if v.Time != "" {
		extra = append(extra, v.Time)
	}
	if v.Modified {
		extra = append(extra, "modified")
	}
	s := "broker " + v.Version
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s + " " + v.Go
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("version", stderr), args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, currentVersion().String())
	return nil
}
