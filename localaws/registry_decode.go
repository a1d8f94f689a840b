package localaws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxPolicyNesting bounds the depth of a trust policy written as YAML.
const maxPolicyNesting = 16

var errAliasInPolicy = errors.New("YAML aliases are not allowed in trust_policy")

// UnmarshalYAML decodes a role, accepting trust_policy as a JSON string or
// as a YAML mapping (converted to JSON). Unknown keys are errors.
func (r *Role) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a role must be a mapping", n.Line)
	}
	var out Role
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "arn":
			if err := v.Decode(&out.ARN); err != nil {
				return err
			}
		case "max_session_duration":
			if err := v.Decode(&out.MaxSessionDuration); err != nil {
				return err
			}
		case "trust_policy":
			doc, err := policyFromYAML(v)
			if err != nil {
				return fmt.Errorf("line %d: trust_policy: %w", v.Line, err)
			}
			out.TrustPolicy = doc
		default:
			return fmt.Errorf("line %d: field %s not found in type localaws.Role", k.Line, k.Value)
		}
	}
	*r = out
	return nil
}

// policyFromYAML returns the policy document held by n: the string itself
// for a scalar, the JSON encoding of a mapping otherwise.
func policyFromYAML(n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.MappingNode:
		var b bytes.Buffer
		if err := writeYAMLAsJSON(&b, n, 0); err != nil {
			return "", err
		}
		return b.String(), nil
	case yaml.AliasNode:
		return "", errAliasInPolicy
	default:
		return "", errors.New("must be a JSON string or a mapping")
	}
}

// writeYAMLAsJSON writes n as JSON. Every scalar becomes a JSON string (IAM
// reads every policy value as a string) except null; key order is kept.
func writeYAMLAsJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxPolicyNesting {
		return errors.New("nested too deeply")
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: keys must be strings", k.Line)
			}
			writeJSONString(b, k.Value)
			b.WriteByte(':')
			if err := writeYAMLAsJSON(b, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeYAMLAsJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			b.WriteString("null")
			return nil
		}
		writeJSONString(b, n.Value)
	case yaml.AliasNode:
		return errAliasInPolicy
	default:
		return fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}

// UnmarshalJSON decodes a role, accepting trust_policy as a JSON string or
// a JSON object. Unknown keys are errors.
func (r *Role) UnmarshalJSON(data []byte) error {
	var raw struct {
		ARN                string          `json:"arn"`
		MaxSessionDuration int             `json:"max_session_duration"`
		TrustPolicy        json.RawMessage `json:"trust_policy"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("role: %w", err)
	}
	out := Role{ARN: raw.ARN, MaxSessionDuration: raw.MaxSessionDuration}
	tp := bytes.TrimSpace(raw.TrustPolicy)
	switch {
	case len(tp) == 0 || string(tp) == "null":
	case tp[0] == '"':
		if err := json.Unmarshal(tp, &out.TrustPolicy); err != nil {
			return fmt.Errorf("role trust_policy: %w", err)
		}
	case tp[0] == '{':
		out.TrustPolicy = string(tp)
	default:
		return errors.New("role trust_policy must be a JSON string or an object")
	}
	*r = out
	return nil
}

// problems collects validation problems, each naming its entry.
type problems []string

func (p *problems) addf(entry, format string, args ...any) {
	*p = append(*p, entry+": "+fmt.Sprintf(format, args...))
}

func (p problems) String() string { return strings.Join(p, "; ") }
