package mapping

import (
	"sort"
	"strings"
)

// cross combines two binding sets (nil entries = no captures).
func cross(a, b []binding) []binding {
	if len(b) == 0 {
		return a
	}
	out := make([]binding, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			m := make(binding, len(x)+len(y))
			for k, v := range x {
				m[k] = v
			}
			for k, v := range y {
				m[k] = v
			}
			out = append(out, m)
			if len(out) >= maxBindings {
				return out
			}
		}
	}
	return out
}

// compact returns nil for a set holding only empty bindings.
func compact(bs []binding) []binding {
	for _, b := range bs {
		if len(b) > 0 {
			return dedupe(bs)
		}
	}
	return nil
}

func dedupe(bs []binding) []binding {
	if len(bs) < 2 {
		return bs
	}
	seen := make(map[string]bool, len(bs))
	out := bs[:0]
	for _, b := range bs {
		k := bindingKey(b)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, b)
	}
	return out
}

func bindingKey(b binding) string {
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(k)
		sb.WriteByte(0)
		sb.WriteString(b[k])
		sb.WriteByte(0)
	}
	return sb.String()
}
