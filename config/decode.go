package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The decoder checks the YAML tree against Config's types before decoding
// it, so that one pass finds every problem a person can fix:
//
//	yaml.Node ──> checkNode(node, type, path)   (walks struct fields by yaml tag)
//	   unknown key        ──> "unknown key; did you mean …?", the pair is removed
//	   duplicate key      ──> "duplicate key (first set at line N)", removed
//	   value of wrong kind ──> "must be a duration …", the value becomes null
//	──> Node.Decode(cfg): what is left decodes without error
//
// Each path whose value was removed is remembered (Config.DecodeFailed) so
// that validation does not report it again as missing or out of range.

// decoder collects the decode problems of one file.
type decoder struct {
	file    string
	probs   Problems
	failed  map[string]bool
	visited map[*yaml.Node]bool // alias targets already checked
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
)

func (d *decoder) add(n *yaml.Node, path, format string, args ...any) {
	d.probs = append(d.probs, Problem{File: d.file, Pos: Position{n.Line, n.Column}, Path: path, Message: fmt.Sprintf(format, args...)})
}

// fail reports a value that cannot be decoded and replaces it with null,
// so that the rest of the file still decodes.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.add(n, path, format, args...)
	d.failed[path] = true
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

// checkNode checks n against type t at path, fixing n so it decodes.
func (d *decoder) checkNode(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.visited[n.Alias] {
			return
		}
		d.visited[n.Alias] = true
		d.checkNode(n.Alias, t, path)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // null is the zero value of every type
	}
	if t == nodeType || t.Kind() == reflect.Interface {
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			d.fail(n, path, "%s", unmarshalMessage(err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		d.checkNode(n, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "must be a mapping (key: value lines), got %s", describe(n))
			return
		}
		d.checkStruct(n, t, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "must be a mapping (key: value lines), got %s", describe(n))
			return
		}
		d.checkMap(n, t, path)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "must be a list (lines starting with \"- \", or [a, b]), got %s", describe(n))
			return
		}
		for i, c := range n.Content {
			d.checkNode(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		d.checkScalar(n, t, path)
	}
}

func (d *decoder) checkScalar(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "must be a single value, got %s", describe(n))
		return
	}
	if n.Decode(reflect.New(t).Interface()) == nil {
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		d.fail(n, path, "must be true or false, got %s", describe(n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.fail(n, path, "must be a whole number, got %s", describe(n))
	case reflect.Float32, reflect.Float64:
		d.fail(n, path, "must be a number, got %s", describe(n))
	default:
		d.fail(n, path, "is not a valid value: %s", describe(n))
	}
}

// checkStruct checks a mapping's keys against the struct's yaml tags,
// removing unknown and repeated keys.
func (d *decoder) checkStruct(n *yaml.Node, t reflect.Type, path string) {
	fields := yamlFields(t)
	seen := map[string]*yaml.Node{}
	var meant []string // the keys misspelled ones probably stand for
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.checkMerge(v, t, path)
			kept = append(kept, k, v)
			continue
		}
		p := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.add(k, path, "a key must be a single word, got %s", describe(k))
			continue
		}
		ft, ok := fields.types[k.Value]
		if !ok {
			msg, best := suggest(k.Value, fields.names)
			d.add(k, p, "unknown key; %s", msg)
			if best != "" {
				meant = append(meant, best)
			}
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k, p, "duplicate key (first set at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		d.checkNode(v, ft, p)
		kept = append(kept, k, v)
	}
	n.Content = kept
	// A key written with a typo is missing under its right name: what
	// validation says about that absence follows from the typo.
	for _, k := range meant {
		if seen[k] == nil {
			d.failed[join(path, k)] = true
		}
	}
}

// checkMerge checks the mappings a "<<" merge key brings in.
func (d *decoder) checkMerge(v *yaml.Node, t reflect.Type, path string) {
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			d.checkNode(c, t, path)
		}
		return
	}
	d.checkNode(v, t, path)
}

func (d *decoder) checkMap(n *yaml.Node, t reflect.Type, path string) {
	seen := map[string]*yaml.Node{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if k.Kind != yaml.ScalarNode || k.Decode(reflect.New(t.Key()).Interface()) != nil {
			d.add(k, path, "a key must be a single word, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k, p, "duplicate key (first set at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		d.checkNode(v, t.Elem(), p)
		kept = append(kept, k, v)
	}
	n.Content = kept
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldSet is the keys a struct accepts, in declaration order.
type fieldSet struct {
	names []string
	types map[string]reflect.Type
}

// yamlFields lists the keys of struct t from its yaml tags, inlined
// structs included, as yaml.v3 decodes them.
func yamlFields(t reflect.Type) fieldSet {
	fs := fieldSet{types: map[string]reflect.Type{}}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for f := range t.Fields() {
			tag := f.Tag.Get("yaml")
			if tag == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if _, dup := fs.types[name]; !dup {
				fs.names = append(fs.names, name)
			}
			fs.types[name] = f.Type
		}
	}
	walk(t)
	return fs
}

// suggest names the known key closest to key (also returned), or lists
// them all.
func suggest(key string, known []string) (string, string) {
	best, bestDist := "", -1
	for _, k := range known {
		dist := editDistance(strings.ToLower(key), k)
		if bestDist < 0 || dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if bestDist >= 0 && bestDist <= max(2, len(key)/3) {
		return "did you mean " + best + "?", best
	}
	return "the keys here are " + strings.Join(known, ", "), ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names a node for a message: a short quoted scalar, or its kind.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	return fmt.Sprintf("%q", v)
}

var linePrefix = regexp.MustCompile(`^(yaml: )?line \d+: `)

// unmarshalMessage is a custom unmarshaler's error without its line
// prefix (the problem carries the position).
func unmarshalMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return linePrefix.ReplaceAllString(te.Errors[0], "")
	}
	return linePrefix.ReplaceAllString(err.Error(), "")
}

// decodeNode checks root against Config and decodes what is sound into cfg.
func decodeNode(path string, root *yaml.Node, cfg *Config) (Problems, map[string]bool) {
	d := &decoder{file: path, failed: map[string]bool{}, visited: map[*yaml.Node]bool{}}
	doc := root.Content[0]
	d.checkNode(doc, reflect.TypeFor[Config](), "")
	if doc.Kind == yaml.ScalarNode && doc.ShortTag() == "!!null" {
		return d.probs, d.failed
	}
	if err := root.Decode(cfg); err != nil {
		// checkNode missed something: report it where yaml.v3 says.
		d.probs = append(d.probs, decodeProblems(path, err)...)
	}
	return d.probs, d.failed
}

// DecodeFailed reports whether the value at path, or one around or inside
// it, could not be decoded: a problem found there by validation follows
// from one already reported, so callers (ruleset checks) leave it out.
func (c *Config) DecodeFailed(path string) bool {
	for f := range c.failed {
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return true // inside a value that did not decode
		}
		if strings.ContainsAny(path, ".[") && (strings.HasPrefix(f, path+".") || strings.HasPrefix(f, path+"[")) {
			return true // about an entry one of whose values did not decode
		}
	}
	return false
}

// syntaxProblem places a YAML syntax error. yaml.v3 names the line where
// the enclosing block began; the offending line is the first one after the
// longest prefix of the file that still parses.
func syntaxProblem(path string, data []byte, err error) Problem {
	p := yamlProblem(path, err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	bad, budget := -1, 64<<20 // bytes parsed at most, then yaml.v3's line stands
	for k := len(lines) - 1; k >= max(p.Pos.Line-1, 0) && budget > 0; k-- {
		prefix := bytes.Join(lines[:k], nil)
		budget -= len(prefix)
		var probe yaml.Node
		if yaml.Unmarshal(prefix, &probe) == nil {
			bad = k
			break
		}
	}
	if bad < 0 {
		return p
	}
	line := string(lines[bad])
	col := len(line) - len(strings.TrimLeft(line, " ")) + 1
	p.Pos = Position{Line: bad + 1, Column: col}
	if strings.HasPrefix(strings.TrimLeft(line, " "), "\t") {
		p.Message += " (a tab: YAML indents with spaces only)"
	}
	return p
}
