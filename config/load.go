package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds the configuration file.
const MaxFileBytes = 8 << 20

// Position is a place in the configuration file.
type Position struct {
	Line, Column int
}

// Problem is one thing wrong with the configuration.
type Problem struct {
	File    string
	Pos     Position
	Path    string // e.g. "providers[0].metadata_url"
	Message string
	Warning bool // true: suspicious but usable
}

func (p Problem) String() string {
	loc := p.File
	if p.Pos.Line > 0 {
		loc += ":" + strconv.Itoa(p.Pos.Line)
		if p.Pos.Column > 0 {
			loc += ":" + strconv.Itoa(p.Pos.Column)
		}
	}
	kind := "error"
	if p.Warning {
		kind = "warning"
	}
	if p.Path != "" {
		return fmt.Sprintf("%s: %s: %s: %s", loc, kind, p.Path, p.Message)
	}
	return fmt.Sprintf("%s: %s: %s", loc, kind, p.Message)
}

// Problems is a list of problems; as an error it lists them all.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Load reads, decodes and validates the file at path. It returns the config
// and every problem found. The config is usable only when
// problems.Errors() is empty.
func Load(path string) (*Config, Problems) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Problems{{File: path, Message: err.Error()}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, Problems{{File: path, Message: err.Error()}}
	}
	if len(data) > MaxFileBytes {
		return nil, Problems{{File: path, Message: fmt.Sprintf("file is larger than %d bytes", MaxFileBytes)}}
	}
	return Parse(path, data)
}

// Parse decodes and validates data read from path. Problems come sorted by
// their place in the file; a value that could not be decoded is reported
// once, not again by the checks that would have used it.
func Parse(path string, data []byte) (*Config, Problems) {
	cfg := &Config{path: path, positions: map[string]Position{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Problems{syntaxProblem(path, data, err)}
	}
	if len(root.Content) == 0 {
		return nil, Problems{{File: path, Message: "the file is empty"}}
	}
	collectPositions(root.Content[0], "", cfg.positions)
	probs, failed := decodeNode(path, &root, cfg)
	cfg.failed = failed
	cfg.applyDefaults()
	for _, p := range cfg.validate() {
		if !cfg.DecodeFailed(p.Path) {
			probs = append(probs, p)
		}
	}
	probs.Sort()
	return cfg, probs
}

// Sort orders the problems by their place in the file (stable: problems at
// one place keep their order).
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Pos, ps[j].Pos
		return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
	})
}

// Dir is the directory of the config file (relative paths resolve here).
func (c *Config) Dir() string {
	if c.path == "" {
		return ""
	}
	return filepath.Dir(c.path)
}

// Path is the file the config was read from.
func (c *Config) Path() string { return c.path }

func collectPositions(n *yaml.Node, path string, out map[string]Position) {
	out[path] = Position{n.Line, n.Column}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			out[p] = Position{k.Line, k.Column}
			collectPositions(v, p, out)
			out[p] = Position{k.Line, k.Column}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			collectPositions(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			collectPositions(c, path, out)
		}
	}
}

// Locate returns a problem at path (e.g. "rules[0].when.all[0].regex"),
// placed in the file at path or its closest ancestor: for problems found
// outside this package, such as the rules' (ruleset.Check).
func (c *Config) Locate(path, message string) Problem {
	return Problem{File: c.path, Pos: c.position(path), Path: path, Message: message}
}

// position returns the place of path, or of its closest ancestor.
func (c *Config) position(path string) Position {
	for p := path; ; {
		if pos, ok := c.positions[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return c.positions[""]
		}
		p = p[:i]
	}
}

func yamlProblem(path string, err error) Problem {
	msg := err.Error()
	var line int
	if _, err := fmt.Sscanf(msg, "yaml: line %d:", &line); err == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return Problem{File: path, Pos: Position{Line: line}, Message: msg}
}

func decodeProblems(path string, err error) Problems {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Problems{yamlProblem(path, err)}
	}
	var out Problems
	for _, e := range te.Errors {
		p := Problem{File: path, Message: e}
		var line int
		if _, err := fmt.Sscanf(e, "line %d:", &line); err == nil {
			p.Pos.Line = line
			p.Message = strings.TrimSpace(e[strings.Index(e, ":")+1:])
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pos.Line < out[j].Pos.Line })
	return out
}
