package mapping

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// anchoredPrefix returns the literal every match of an anchored (^...)
// regex starts with, or "" when there is none or the regex is not anchored.
func anchoredPrefix(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	var sb strings.Builder
	for _, s := range re.Sub[1:] {
		if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
			break
		}
		sb.WriteString(string(s.Rune))
	}
	return sb.String()
}

// globToRegex compiles a glob (*, ?, [...], [!...]) matching the whole
// value; the returned prefix is the literal text before the first wildcard.
func globToRegex(g string) (*regexp.Regexp, string, error) {
	var sb strings.Builder
	sb.WriteString(`\A(?s:`)
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			sb.WriteString(`.*`)
		case '?':
			sb.WriteString(`.`)
		case '[':
			j := strings.IndexByte(g[i+1:], ']')
			if j < 0 {
				return nil, "", errUnclosedClass
			}
			class := g[i+1 : i+1+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			sb.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j + 1
		default:
			// Copy the whole run of literal bytes (keeps UTF-8 intact).
			j := i
			for j < len(g) && !strings.ContainsRune("*?[", rune(g[j])) {
				j++
			}
			sb.WriteString(regexp.QuoteMeta(g[i:j]))
			i = j - 1
		}
	}
	sb.WriteString(`)\z`)
	re, err := regexp.Compile(sb.String())
	if err != nil {
		return nil, "", err
	}
	if first := strings.IndexAny(g, "*?["); first >= 0 {
		return re, g[:first], nil
	}
	return re, g, nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errUnclosedClass = constError("unclosed [ in glob")
