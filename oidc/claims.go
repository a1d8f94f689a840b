package oidc

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// Flatten turns token or userinfo claims into the attribute map the rules
// read: top-level claims keep their names (URLs included, e.g.
// https://example.com/claims/team); nested objects are addressed with dots
// (realm_access.roles); arrays become several values; numbers and booleans
// become their JSON text. Values nested deeper than 8 levels are dropped.
func Flatten(claims map[string]any) map[string][]string {
	out := map[string][]string{}
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		flatten(out, k, claims[k], 0)
	}
	return out
}

func flatten(out map[string][]string, key string, v any, depth int) {
	if depth > 8 {
		return
	}
	switch x := v.(type) {
	case nil:
	case string:
		out[key] = append(out[key], x)
	case bool:
		out[key] = append(out[key], strconv.FormatBool(x))
	case float64:
		out[key] = append(out[key], strconv.FormatFloat(x, 'f', -1, 64))
	case json.Number:
		out[key] = append(out[key], x.String())
	case []any:
		for _, e := range x {
			flatten(out, key, e, depth+1)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			flatten(out, key+"."+k, x[k], depth+1)
		}
	default:
		out[key] = append(out[key], fmt.Sprint(x))
	}
}
