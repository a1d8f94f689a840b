package webtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// OpenAPI is the API's OpenAPI document (web/api's openapi.json), read to
// check the API against it: Lint checks the document itself, Operations
// lists what it documents, Check checks one answer against the schema
// documented for its route and status.
type OpenAPI struct {
	Doc map[string]any

	mu sync.Mutex
	// checked records "METHOD /path" of every answer Check was given.
	checked map[string]bool
}

// ParseOpenAPI parses the document.
func ParseOpenAPI(tb testing.TB, b []byte) *OpenAPI {
	tb.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	return &OpenAPI{Doc: doc, checked: map[string]bool{}}
}

// APIPrefix is where the document's paths are served (its servers' url).
const APIPrefix = "/api/v1"

var echoParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// DocPath turns an echo route under /api/v1 (/api/v1/rules/:name) into
// the document's path (/rules/{name}).
func DocPath(route string) string {
	return echoParam.ReplaceAllString(strings.TrimPrefix(route, APIPrefix), "{$1}")
}

// Operations lists "METHOD /path" (the document's path) of every
// operation the document describes.
func (o *OpenAPI) Operations() []string {
	var out []string
	paths, _ := o.Doc["paths"].(map[string]any)
	for p, item := range paths {
		m, _ := item.(map[string]any)
		for method := range m {
			if slices.Contains(httpMethods, method) {
				out = append(out, strings.ToUpper(method)+" "+p)
			}
		}
	}
	sort.Strings(out)
	return out
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Operation is the operation for method on the document's path, or nil.
func (o *OpenAPI) Operation(method, path string) map[string]any {
	paths, _ := o.Doc["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	return op
}

// Checked reports whether Check was given an answer of "METHOD /path".
func (o *OpenAPI) Checked(op string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.checked[op]
}

// Check checks the answer rec to method on route (the echo route, e.g.
// /api/v1/rules/:name) against the document: its status is documented
// for the operation (or its default), and its JSON body holds exactly
// what the response's schema lists: every required property, no
// property the schema does not name, each value of its type and enum,
// through nested objects and arrays. A response documented without
// content must have an empty body.
func (o *OpenAPI) Check(tb testing.TB, method, route string, rec *httptest.ResponseRecorder) {
	tb.Helper()
	path := DocPath(route)
	name := method + " " + path
	o.mu.Lock()
	o.checked[name] = true
	o.mu.Unlock()
	op := o.Operation(method, path)
	if op == nil {
		tb.Errorf("%s is not in the OpenAPI document", name)
		return
	}
	responses, _ := op["responses"].(map[string]any)
	resp, ok := responses[strconv.Itoa(rec.Code)]
	if !ok {
		if resp, ok = responses["default"]; !ok {
			tb.Errorf("%s answered %d, which the document does not list (nor a default): %s", name, rec.Code, rec.Body)
			return
		}
	}
	r := o.Resolve(resp)
	content, _ := r["content"].(map[string]any)
	if content == nil {
		if rec.Body.Len() != 0 {
			tb.Errorf("%s %d: documented without a body, answered %q", name, rec.Code, rec.Body)
		}
		return
	}
	media, _ := content["application/json"].(map[string]any)
	if media == nil {
		tb.Errorf("%s %d: documented without application/json", name, rec.Code)
		return
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("%s %d: Content-Type %q, documented application/json", name, rec.Code, ct)
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Errorf("%s %d: not JSON: %v", name, rec.Code, err)
		return
	}
	for _, p := range o.Match(v, media["schema"], "$") {
		tb.Errorf("%s %d: %s", name, rec.Code, p)
	}
}

// Resolve follows $ref (a local JSON pointer) until a node without one;
// nil when a reference does not resolve.
func (o *OpenAPI) Resolve(node any) map[string]any {
	m, _ := node.(map[string]any)
	for range 32 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		m, _ = o.Pointer(ref).(map[string]any)
	}
	return nil
}

// Pointer is the node a local reference (#/components/schemas/X) names,
// or nil.
func (o *OpenAPI) Pointer(ref string) any {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	var node any = o.Doc
	if rest == "" {
		return node
	}
	for _, tok := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case map[string]any:
			node, ok = n[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			ok = err == nil && i >= 0 && i < len(n)
			if ok {
				node = n[i]
			}
		default:
			ok = false
		}
		if !ok {
			return nil
		}
	}
	return node
}

// flat is a schema with its allOf merged in.
type flat struct {
	types      []string
	enum       []any
	properties map[string]any
	required   []string
	additional any // a schema, false, or nil (not said)
	items      any
}

func (o *OpenAPI) flatten(node any) flat {
	s := o.Resolve(node)
	f := flat{properties: map[string]any{}}
	switch t := s["type"].(type) {
	case string:
		f.types = []string{t}
	case []any:
		for _, x := range t {
			f.types = append(f.types, fmt.Sprint(x))
		}
	}
	f.enum, _ = s["enum"].([]any)
	if p, ok := s["properties"].(map[string]any); ok {
		for k, v := range p {
			f.properties[k] = v
		}
	}
	req, _ := s["required"].([]any)
	for _, r := range req {
		f.required = append(f.required, fmt.Sprint(r))
	}
	f.additional, f.items = s["additionalProperties"], s["items"]
	all, _ := s["allOf"].([]any)
	for _, sub := range all {
		g := o.flatten(sub)
		if f.types == nil {
			f.types = g.types
		}
		for k, v := range g.properties {
			f.properties[k] = v
		}
		f.required = append(f.required, g.required...)
		if f.additional == nil {
			f.additional = g.additional
		}
		if f.items == nil {
			f.items = g.items
		}
	}
	return f
}

// Match lists where v differs from schema (at is v's place, $ for the
// root): a property the schema does not list (when it lists properties
// and allows no others), a required one missing, a value of the wrong
// type or not in its enum.
func (o *OpenAPI) Match(v any, schema any, at string) []string {
	if schema == nil {
		return []string{at + ": no schema"}
	}
	f := o.flatten(schema)
	var out []string
	if got := jsonType(v); len(f.types) > 0 && !typeAllowed(got, f.types) {
		return []string{fmt.Sprintf("%s: %s, documented %v", at, got, f.types)}
	}
	if f.enum != nil && !inEnum(v, f.enum) {
		out = append(out, fmt.Sprintf("%s: %v is not one of %v", at, v, f.enum))
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range f.required {
			if _, ok := x[r]; !ok {
				out = append(out, fmt.Sprintf("%s: required property %q is missing", at, r))
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub, listed := f.properties[k]
			_, additional := f.additional.(map[string]any)
			switch {
			case listed:
				out = append(out, o.Match(x[k], sub, at+"."+k)...)
			case additional:
				out = append(out, o.Match(x[k], f.additional, at+"."+k)...)
			case len(f.properties) > 0 || f.additional == false:
				out = append(out, fmt.Sprintf("%s: property %q is not in the document", at, k))
			}
		}
	case []any:
		if f.items != nil {
			for i, e := range x {
				out = append(out, o.Match(e, f.items, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return out
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeAllowed(got string, types []string) bool {
	return slices.Contains(types, got) || (got == "integer" && slices.Contains(types, "number"))
}

func inEnum(v any, enum []any) bool {
	for _, e := range enum {
		if fmt.Sprint(e) == fmt.Sprint(v) {
			return true
		}
	}
	return false
}

// Lint lists what is wrong with the document as OpenAPI 3.1, as far as
// the API's tests rely on it: the version, info, every $ref resolving,
// every operation with responses and a unique operationId, and every
// {param} of a path declared as a path parameter.
func (o *OpenAPI) Lint() []string {
	var out []string
	if v, _ := o.Doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		out = append(out, fmt.Sprintf("openapi is %q, want 3.1.x", o.Doc["openapi"]))
	}
	info, _ := o.Doc["info"].(map[string]any)
	if t, _ := info["title"].(string); t == "" {
		out = append(out, "info.title is missing")
	}
	if v, _ := info["version"].(string); v == "" {
		out = append(out, "info.version is missing")
	}
	out = append(out, o.badRefs(o.Doc, "#")...)
	ids := map[string]string{}
	paths, ok := o.Doc["paths"].(map[string]any)
	if !ok {
		return append(out, "paths is missing")
	}
	for _, name := range o.Operations() {
		method, path, _ := strings.Cut(name, " ")
		op := o.Operation(method, path)
		if r, _ := op["responses"].(map[string]any); len(r) == 0 {
			out = append(out, name+": no responses")
		}
		id, _ := op["operationId"].(string)
		if prev, dup := ids[id]; id == "" || dup {
			out = append(out, fmt.Sprintf("%s: operationId %q missing or also %s's", name, id, prev))
		}
		ids[id] = name
		declared := map[string]bool{}
		item, _ := paths[path].(map[string]any)
		for _, list := range []any{item["parameters"], op["parameters"]} {
			ps, _ := list.([]any)
			for _, p := range ps {
				if pm := o.Resolve(p); pm["in"] == "path" {
					declared[fmt.Sprint(pm["name"])] = pm["required"] == true
				}
			}
		}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				out = append(out, fmt.Sprintf("%s: path parameter %s is not declared as a required path parameter", name, m[1]))
			}
		}
	}
	return out
}

// badRefs lists the $refs under node that do not resolve.
func (o *OpenAPI) badRefs(node any, at string) []string {
	var out []string
	switch n := node.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok && o.Pointer(ref) == nil {
			out = append(out, fmt.Sprintf("%s: $ref %s does not resolve", at, ref))
		}
		for k, v := range n {
			out = append(out, o.badRefs(v, at+"/"+k)...)
		}
	case []any:
		for i, v := range n {
			out = append(out, o.badRefs(v, fmt.Sprintf("%s/%d", at, i))...)
		}
	}
	return out
}
