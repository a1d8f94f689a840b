package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/web"
)

// fuzzBodyLimit stands in for the frame's MaxBodyBytes in FuzzReadJSON.
const fuzzBodyLimit = 4 << 10

// fuzzLimited is the frame's body limit as the handlers see it: reading
// past the limit fails with web.ErrBodyTooLarge.
type fuzzLimited struct {
	r    io.Reader
	left int
}

func (l *fuzzLimited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, web.ErrBodyTooLarge
		}
		return 0, io.EOF
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= n
	return n, err
}

func (l *fuzzLimited) Close() error { return nil }

// fuzzSimulateIn has the shape of apiSimulate's body.
type fuzzSimulateIn struct {
	Provider     string              `json:"provider"`
	Subject      string              `json:"subject"`
	SAMLResponse string              `json:"saml_response"`
	Claims       json.RawMessage     `json:"claims"`
	Attributes   map[string][]string `json:"attributes"`
	Rules        []mapping.Rule      `json:"rules"`
}

// FuzzReadJSON decodes fuzzed admin API bodies into each body type the API
// reads. Invariants: no panic; a refusal is web.ErrBodyTooLarge (only for a
// body over the limit) or an EINVALID json_invalid *broker.Error with a
// message; an accepted body is one JSON value and nothing else; what was
// read, written back as JSON and read again, is the same.
func FuzzReadJSON(f *testing.F) {
	for _, s := range []string{
		`{"revision":3,"rules":[{"name":"devs","when":{"all":[{"attribute":"groups","equals":"dev"}]},"grant":{"account":"sandbox","role":"Developer","duration":"1h"}}]}`,
		`{"name":"devs","when":{"any":[{"attribute":"g","regex":"^(x)$"}]},"grant":{"account":"111122223333","role":"R${1}","console_duration":5400,"session_tags":{"t":"v"}}}`,
		`{"rule":{"name":"devs","always":true,"grant":{"mode":"pass-through","role":"*"}},"version":2}`,
		`{"provider":"okta","subject":"alice","attributes":{"groups":["dev"]},"claims":{"sub":"x"},"saml_response":"PD94","rules":[]}`,
		`{"name":"x","grant":{"duration":9223372037}}`,
		`{"name":"x","wehn":{}}`, `{"a":1} {"b":2}`, `{} x`, `{"name":"x"}}garbage`, `{"name":"x"}]`, `[]`, `null`, ``, `{`, `"s"`,
	} {
		for kind := uint8(0); kind < 4; kind++ {
			f.Add(kind, []byte(s))
		}
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		newV := func() any {
			switch kind % 4 {
			case 0:
				return &struct {
					Revision *int64         `json:"revision"`
					Rules    []mapping.Rule `json:"rules"`
				}{}
			case 1:
				return &mapping.Rule{}
			case 2:
				return &apiRuleIn{}
			}
			return &fuzzSimulateIn{}
		}
		read := func(b []byte, v any) error {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/rules", nil)
			req.Body = &fuzzLimited{r: bytes.NewReader(b), left: fuzzBodyLimit}
			return readJSON(e.NewContext(req, httptest.NewRecorder()), v)
		}
		v := newV()
		if err := read(body, v); err != nil {
			be, ok := err.(*broker.Error)
			switch {
			case err == web.ErrBodyTooLarge:
				if len(body) <= fuzzBodyLimit {
					t.Fatalf("a body of %d bytes is too large", len(body))
				}
			case !ok || be.Code != broker.EINVALID || be.Reason != "json_invalid" || be.Message == "":
				t.Fatalf("refusal %T %#v", err, err)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		var first json.RawMessage
		if err := dec.Decode(&first); err != nil {
			t.Fatalf("accepted a body that is not JSON: %v", err)
		}
		rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")
		if len(rest) > 0 {
			t.Fatalf("accepted data after the JSON value: %q", rest)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("what was read does not marshal: %v", err)
		}
		v2 := newV()
		if err := read(out, v2); err != nil && len(out) <= fuzzBodyLimit {
			t.Fatalf("what was read, written back, is refused: %v\n%s", err, out)
		} else if err == nil {
			if out2, _ := json.Marshal(v2); !bytes.Equal(out, out2) {
				t.Fatalf("round trip changed the body:\n%s\n%s", out, out2)
			}
		}
	})
}
