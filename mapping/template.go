package mapping

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/broker-dev/broker"
)

// template is a parsed grant string: literals, capture references and
// attribute references.
type template struct {
	raw   string
	parts []tmplPart
}

type tmplPart struct {
	lit     string
	capture string // capture name or number
	attr    string // attribute name
}

// isLiteral reports whether the template has no references.
func (t template) isLiteral() bool {
	for _, p := range t.parts {
		if p.capture != "" || p.attr != "" {
			return false
		}
	}
	return true
}

func (t template) hasCaptures() bool {
	for _, p := range t.parts {
		if p.capture != "" {
			return true
		}
	}
	return false
}

// parseTemplate parses s. References: ${N}, ${name}, ${attr:NAME}; $$ is a
// literal $. A lone $ or an unclosed ${ is an error.
func parseTemplate(s string) (template, error) {
	t := template{raw: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			lit.WriteByte('$')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			return t, fmt.Errorf("lone $ at offset %d (write $$ for a literal $)", i)
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return t, fmt.Errorf("unclosed ${ at offset %d", i)
		}
		ref := s[i+2 : i+2+end]
		flush()
		switch {
		case strings.HasPrefix(ref, "attr:"):
			name := ref[len("attr:"):]
			if name == "" {
				return t, fmt.Errorf("empty attribute name in ${attr:}")
			}
			t.parts = append(t.parts, tmplPart{attr: name})
		case ref == "":
			return t, fmt.Errorf("empty reference ${}")
		default:
			if !validCaptureRef(ref) {
				return t, fmt.Errorf("bad reference ${%s}: use ${N}, ${name} or ${attr:NAME}", ref)
			}
			t.parts = append(t.parts, tmplPart{capture: ref})
		}
		i += 2 + end
	}
	flush()
	return t, nil
}

func validCaptureRef(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// binding holds the capture values of one match of a rule's conditions.
type binding map[string]string

// expand renders the template. ok is false when a referenced attribute or
// capture has no value; missing names that reference.
func (t template) expand(id *broker.Identity, b binding) (out string, missing string, ok bool) {
	if len(t.parts) == 1 && t.parts[0].lit != "" {
		return t.parts[0].lit, "", true
	}
	var sb strings.Builder
	for _, p := range t.parts {
		switch {
		case p.capture != "":
			v, found := b[p.capture]
			if !found {
				return "", "${" + p.capture + "}", false
			}
			sb.WriteString(v)
		case p.attr != "":
			v := id.First(p.attr)
			if v == "" {
				return "", "attribute " + strconv.Quote(p.attr), false
			}
			sb.WriteString(v)
		default:
			sb.WriteString(p.lit)
		}
	}
	return sb.String(), "", true
}
