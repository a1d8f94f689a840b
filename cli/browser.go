package cli

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// OpenBrowser opens u with $BROWSER (a list separated by colons; "%s" in
// an entry is replaced by the URL), else xdg-open (Linux, BSD) or open
// (macOS). It does not wait for the browser.
func OpenBrowser(u string) error {
	var cmds [][]string
	if b := os.Getenv("BROWSER"); b != "" {
		for _, entry := range strings.Split(b, ":") {
			f := strings.Fields(entry)
			if len(f) == 0 {
				continue
			}
			withURL := false
			for i := range f {
				if strings.Contains(f[i], "%s") {
					f[i], withURL = strings.ReplaceAll(f[i], "%s", u), true
				}
			}
			if !withURL {
				f = append(f, u)
			}
			cmds = append(cmds, f)
		}
	}
	switch runtime.GOOS {
	case "darwin":
		cmds = append(cmds, []string{"open", u})
	case "windows":
		cmds = append(cmds, []string{"rundll32", "url.dll,FileProtocolHandler", u})
	default:
		cmds = append(cmds, []string{"xdg-open", u})
	}
	err := errors.New("no browser found")
	for _, c := range cmds {
		cmd := exec.Command(c[0], c[1:]...)
		if err = cmd.Start(); err == nil {
			go func() { _ = cmd.Wait() }()
			return nil
		}
	}
	return err
}

// NeedsDevice reports a session with no display to open a browser on:
// on Linux, an SSH session (SSH_CONNECTION or SSH_TTY) without DISPLAY
// or WAYLAND_DISPLAY. getenv is os.Getenv outside tests.
func NeedsDevice(goos string, getenv func(string) string) bool {
	if goos != "linux" {
		return false
	}
	ssh := getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != ""
	display := getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
	return ssh && !display
}
