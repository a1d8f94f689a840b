package cli

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// ManagedMarker is the comment line just above every profile that
// `broker configure` wrote; it changes or removes only those.
const ManagedMarker = "# managed by broker"

// Profile is one AWS config profile for a role.
type Profile struct {
	// Name without the "profile " prefix: ALIAS-ROLE, lowercase.
	Name string
	// CredentialProcess is the credential_process command line.
	CredentialProcess string
	// Region is the profile's region ("" for none).
	Region string
}

// ProfilesFor is one profile per role with credentials (pass-through
// roles have none), named prefix + alias (or account id) + "-" + role,
// lowercase; a role granted both ways gets its via in the name for the
// second. defaultRegion is used for roles without a region of their own.
func ProfilesFor(roles []Role, brokerURL, executable, prefix, defaultRegion string) []Profile {
	var out []Profile
	seen := map[string]bool{}
	for _, r := range roles {
		if !r.Credentials {
			continue
		}
		name := strings.ToLower(prefix + r.AccountName() + "-" + r.Role)
		args := []string{executable, "credentials", "--url", brokerURL, "--role", r.Account + "/" + r.Role}
		if seen[name] {
			name += "-" + strings.ToLower(r.Via)
			args = append(args, "--via", r.Via)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		region := r.Region
		if region == "" {
			region = defaultRegion
		}
		out = append(out, Profile{Name: name, CredentialProcess: shellJoin(args), Region: region})
	}
	return out
}

func (p Profile) render() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n[profile %s]\ncredential_process = %s\n", ManagedMarker, p.Name, p.CredentialProcess)
	if p.Region != "" {
		fmt.Fprintf(&b, "region = %s\n", p.Region)
	}
	return b.Bytes()
}

// ConfigEdit is what EditAWSConfig did.
type ConfigEdit struct {
	Content                 []byte
	Added, Updated, Removed []string
	// Skipped are profiles left alone because a profile of that name
	// exists and is not managed by broker for this URL.
	Skipped []string
}

// block is a section of the config file: lines [start, end).
type block struct {
	start, end int
	name       string
	managed    bool   // the marker is its first line
	url        string // the --url of its credential_process, when managed
}

// EditAWSConfig returns old with the profiles managed by broker for
// brokerURL made exactly want: changed in place, added at the end,
// removed when no longer wanted. Every other line, comment and profile
// (including those managed for another broker URL) is kept byte for byte.
func EditAWSConfig(old []byte, brokerURL string, want []Profile) ConfigEdit {
	lines := splitLines(old)
	blocks := parseBlocks(lines)
	wanted := map[string]Profile{}
	for _, p := range want {
		wanted[p.Name] = p
	}
	var ed ConfigEdit
	done := map[string]bool{}
	taken := map[string]bool{}
	var out bytes.Buffer
	next := 0
	for _, b := range blocks {
		ours := b.managed && b.url == brokerURL
		if !ours {
			taken[b.name] = true
			continue
		}
		for ; next < b.start; next++ {
			out.Write(lines[next])
		}
		next = b.end
		p, keep := wanted[b.name]
		switch {
		case keep && !done[b.name]:
			done[b.name] = true
			r := p.render()
			if !bytes.Equal(r, bytes.Join(lines[b.start:b.end], nil)) {
				ed.Updated = append(ed.Updated, b.name)
			}
			out.Write(r)
		default:
			ed.Removed = append(ed.Removed, b.name)
			if next < len(lines) && isBlank(lines[next]) { // the blank line that separated it
				next++
			}
		}
	}
	for ; next < len(lines); next++ {
		out.Write(lines[next])
	}
	for _, p := range want {
		if done[p.Name] {
			continue
		}
		if taken[p.Name] {
			ed.Skipped = append(ed.Skipped, p.Name)
			continue
		}
		done[p.Name] = true
		content := out.Bytes()
		if len(content) > 0 && content[len(content)-1] != '\n' {
			out.WriteByte('\n')
		}
		if l := lastLine(out.Bytes()); len(out.Bytes()) > 0 && !isBlank(l) {
			out.WriteByte('\n')
		}
		out.Write(p.render())
		ed.Added = append(ed.Added, p.Name)
	}
	sort.Strings(ed.Removed)
	ed.Content = out.Bytes()
	return ed
}

// parseBlocks finds the sections. A managed one runs from its marker
// through its header and the key lines after it, up to the first blank
// line, comment or header, so comments written above the next profile
// stay with it.
func parseBlocks(lines [][]byte) []block {
	var out []block
	for i, l := range lines {
		name, ok := sectionName(l)
		if !ok {
			continue
		}
		b := block{start: i, end: i + 1, name: name}
		if i > 0 && strings.TrimSpace(string(lines[i-1])) == ManagedMarker {
			b.start, b.managed = i-1, true
			for b.end < len(lines) {
				t := strings.TrimSpace(string(lines[b.end]))
				if t == "" || t[0] == '#' || t[0] == ';' || t[0] == '[' {
					break
				}
				if k, v, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == "credential_process" {
					b.url = urlArg(strings.TrimSpace(v))
				}
				b.end++
			}
		}
		out = append(out, b)
	}
	return out
}

// sectionName reads "[profile NAME]" (or "[NAME]", e.g. default).
func sectionName(l []byte) (string, bool) {
	t := strings.TrimSpace(string(l))
	if !strings.HasPrefix(t, "[") {
		return "", false
	}
	end := strings.Index(t, "]")
	if end < 0 {
		return "", false
	}
	inner := strings.TrimSpace(t[1:end])
	if rest, ok := strings.CutPrefix(inner, "profile "); ok {
		inner = strings.TrimSpace(rest)
	}
	return inner, true
}

// urlArg is the value after --url in a command line, "" if none.
func urlArg(cmd string) string {
	w := shellSplit(cmd)
	for i := 0; i+1 < len(w); i++ {
		if w[i] == "--url" {
			return w[i+1]
		}
	}
	return ""
}

func splitLines(b []byte) [][]byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.SplitAfter(b, []byte("\n"))
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func isBlank(l []byte) bool { return len(bytes.TrimSpace(l)) == 0 }

// shellJoin quotes each word for sh (the AWS SDKs run credential_process
// through a shell; the AWS CLI splits it like one).
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.IndexFunc(w, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-_.:=@+,%", r))
		}) < 0 {
			q[i] = w
			continue
		}
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// shellSplit splits a command line as sh would (quotes and backslashes;
// no expansions).
func shellSplit(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'':
			in = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case ch == '"':
			in = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				cur.WriteByte(s[i])
			}
		case ch == '\\' && i+1 < len(s):
			in = true
			i++
			cur.WriteByte(s[i])
		case ch == ' ' || ch == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			in = true
			cur.WriteByte(ch)
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}
