package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AWSConfigPath is $AWS_CONFIG_FILE (a leading ~ expanded), else ~/.aws/config.
func AWSConfigPath() (string, error) {
	p := os.Getenv("AWS_CONFIG_FILE")
	home, err := os.UserHomeDir()
	if p == "" || strings.HasPrefix(p, "~") {
		if err != nil {
			return "", fmt.Errorf("cli: no home directory for the AWS config file (set AWS_CONFIG_FILE): %w", err)
		}
	}
	switch {
	case p == "":
		return filepath.Join(home, ".aws", "config"), nil
	case p == "~" || strings.HasPrefix(p, "~/"):
		return filepath.Join(home, p[1:]), nil
	}
	return p, nil
}

// ConfigureOptions says how `broker configure` writes profiles.
type ConfigureOptions struct {
	// Path of the AWS config file (AWSConfigPath).
	Path string
	// Executable is the absolute path of the broker binary, as
	// credential_process runs it.
	Executable string
	// Prefix goes before every profile name.
	Prefix string
	// Region for roles without a region of their own.
	Region string
	// DryRun computes the change and writes nothing.
	DryRun bool
}

// ConfigureResult is what Configure changed (or would change).
type ConfigureResult struct {
	ConfigEdit
	Path string
	// Diff is the unified diff from the file before to after.
	Diff string
}

// Configure writes one profile per role the person is granted with
// credentials into the AWS config file (EditAWSConfig), atomically and
// keeping the file's mode; with DryRun it writes nothing. Errors: those
// of Roles; a file that cannot be read or written.
func (c *Client) Configure(ctx context.Context, o ConfigureOptions) (*ConfigureResult, error) {
	if !filepath.IsAbs(o.Executable) {
		return nil, fmt.Errorf("cli: the broker executable path %q is not absolute", o.Executable)
	}
	roles, err := c.Roles(ctx)
	if err != nil {
		return nil, err
	}
	path := o.Path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved // write the file a symlink points to, keep the link
	}
	old, err := os.ReadFile(path)
	mode := os.FileMode(0o600)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("cli: read %s: %w", path, err)
	default:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	}
	ed := EditAWSConfig(old, c.url, ProfilesFor(roles, c.url, o.Executable, o.Prefix, o.Region))
	res := &ConfigureResult{ConfigEdit: ed, Path: o.Path, Diff: UnifiedDiff(o.Path, o.Path+" (new)", old, ed.Content)}
	if o.DryRun || res.Diff == "" {
		return res, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cli: make %s: %w", filepath.Dir(path), err)
	}
	if err := writeFileAtomic(path, ed.Content, mode); err != nil {
		return nil, err
	}
	return res, nil
}
