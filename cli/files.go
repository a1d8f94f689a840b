package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DirEnv names the config directory when set.
const DirEnv = "BROKER_CONFIG_DIR"

// URLEnv is the broker URL when --url is not given.
const URLEnv = "BROKER_URL"

// DefaultDir is $BROKER_CONFIG_DIR, else os.UserConfigDir()/broker.
func DefaultDir() (string, error) {
	if d := os.Getenv(DirEnv); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cli: no config directory (set %s): %w", DirEnv, err)
	}
	return filepath.Join(base, "broker"), nil
}

// settings is dir/config.json: what `broker login` remembers.
type settings struct {
	URL string `json:"url"`
}

// ResolveURL is the broker URL for a command: flagURL, else $BROKER_URL,
// else the URL the last `broker login` saved in dir. "" when none.
func ResolveURL(flagURL, dir string) string {
	if flagURL != "" {
		return normalizeURL(flagURL)
	}
	if u := os.Getenv(URLEnv); u != "" {
		return normalizeURL(u)
	}
	var s settings
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil && json.Unmarshal(b, &s) == nil {
		return normalizeURL(s.URL)
	}
	return ""
}

func normalizeURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

func saveDefaultURL(dir, u string) error {
	b, _ := json.Marshal(settings{URL: u})
	return writeFileAtomic(filepath.Join(dir, "config.json"), b, 0o600)
}

// hashOf names a file after values without putting them in the name.
func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// privateDir makes dir (and its parents) and sets dir itself to 0700.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cli: make %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("cli: chmod %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file in path's directory
// with mode perm, syncs it and renames it over path, so a reader sees the
// old file or the new one, never a part.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cli: write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // a no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("cli: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cli: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cli: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cli: write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("cli: write %s: %w", path, err)
	}
	return nil
}
