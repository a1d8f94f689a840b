package web

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// TestCookieRetract: Retract takes back this cookie's Set-Cookie and
// keeps every other cookie the answer sets.
func TestCookieRetract(t *testing.T) {
	f := &Frame{keys: [][]byte{bytes.Repeat([]byte{7}, 32)}}
	a, err := f.NewCookieStore(CookieOptions{Name: "a", Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.NewCookieStore(CookieOptions{Name: "ab", Path: "/"})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	if err := b.Put(w, r, map[string]string{"x": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(w, r, map[string]string{"p": "2"}); err != nil {
		t.Fatal(err)
	}
	a.Retract(w)
	got := w.Header().Values("Set-Cookie")
	if len(got) != 1 || !strings.HasPrefix(got[0], "ab=") {
		t.Fatalf("after Retract of a: %q, want only ab's", got)
	}
	a.Retract(w) // nothing of a left: no change
	if got := w.Header().Values("Set-Cookie"); len(got) != 1 {
		t.Fatalf("second Retract changed %q", got)
	}
}

// TestCookieValuesRoundTrip: what Put writes, Get reads back (values with
// quotes, non-ASCII and JSON's own characters included), under every key
// of the rotation; a cookie written with gorilla's gob encoding, as before
// 30 Nov 2026, still reads; a cookie under a foreign key, or tampered,
// reads as empty.
func TestCookieValuesRoundTrip(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)
	f := &Frame{keys: [][]byte{k1, k2}}
	c, err := f.NewCookieStore(CookieOptions{Name: "c", Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"sid": "abc", "csrf": `q"u\ote{}`, "flash": "Grüße, 世界 </script>", "next": "\x00\n"}
	read := func(setCookie string) map[string]string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", strings.SplitN(setCookie, ";", 2)[0])
		return c.Get(r)
	}
	w := httptest.NewRecorder()
	if err := c.Put(w, httptest.NewRequest(http.MethodGet, "/", nil), want); err != nil {
		t.Fatal(err)
	}
	set := w.Header().Get("Set-Cookie")
	if got := read(set); !maps.Equal(got, want) {
		t.Fatalf("Get after Put = %q, want %q", got, want)
	}

	// The same values as gob, encoded under the second key (a rotated-in one).
	legacy := sessions.NewCookieStore(cookieKeys(t, k2)...)
	gw := httptest.NewRecorder()
	s := sessions.NewSession(legacy, "c")
	s.Options = &sessions.Options{Path: "/"}
	for k, v := range want {
		s.Values[k] = v
	}
	if err := s.Save(httptest.NewRequest(http.MethodGet, "/", nil), gw); err != nil {
		t.Fatal(err)
	}
	if got := read(gw.Header().Get("Set-Cookie")); !maps.Equal(got, want) {
		t.Fatalf("Get of a gob cookie = %q, want %q", got, want)
	}

	foreign := &Frame{keys: [][]byte{bytes.Repeat([]byte{1}, 32)}}
	fc, _ := foreign.NewCookieStore(CookieOptions{Name: "c", Path: "/"})
	fw := httptest.NewRecorder()
	if err := fc.Put(fw, httptest.NewRequest(http.MethodGet, "/", nil), want); err != nil {
		t.Fatal(err)
	}
	if got := read(fw.Header().Get("Set-Cookie")); len(got) != 0 {
		t.Fatalf("a cookie under a foreign key read as %q", got)
	}
	name, value, _ := strings.Cut(strings.SplitN(set, ";", 2)[0], "=")
	tampered := []byte(value)
	tampered[len(tampered)/2] ^= 1
	if got := read(name + "=" + string(tampered)); len(got) != 0 {
		t.Fatalf("a tampered cookie read as %q", got)
	}
}

// cookieKeys derives gorilla's key pairs from k as NewCookieStore does.
func cookieKeys(t *testing.T, k []byte) [][]byte {
	t.Helper()
	hashKey, err := hkdf.Key(sha256.New, k, nil, "broker cookie mac", 32)
	if err != nil {
		t.Fatal(err)
	}
	blockKey, err := hkdf.Key(sha256.New, k, nil, "broker cookie aes", 32)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{hashKey, blockKey}
}

// TestCookieSerializer: values are written as one JSON object of strings,
// never as gob; anything but strings is refused, and bytes that are
// neither JSON nor gob do not decode.
func TestCookieSerializer(t *testing.T) {
	var sz cookieSerializer
	b, err := sz.Serialize(map[any]any{"sid": "x", "csrf": "y"})
	if err != nil || string(b) != `{"csrf":"y","sid":"x"}` {
		t.Fatalf("Serialize = %q, %v", b, err)
	}
	if g, _ := (securecookie.GobEncoder{}).Serialize(map[any]any{"sid": "x"}); len(g) == 0 || g[0] == '{' {
		t.Fatalf("a gob stream of these values opens with %q: JSON and gob cookies would not be told apart", g)
	}
	for _, bad := range []any{map[any]any{"n": 1}, map[any]any{1: "x"}, map[string]string{"a": "b"}} {
		if _, err := sz.Serialize(bad); err == nil {
			t.Errorf("Serialize(%#v) accepted", bad)
		}
	}
	for _, bad := range []string{`{"a":1}`, `{"a":`, "\x0d\x7fgarbage", `["a"]`} {
		var m map[any]any
		if err := sz.Deserialize([]byte(bad), &m); err == nil {
			t.Errorf("Deserialize(%q) = %v, want an error", bad, m)
		}
	}
}

// TestCookieGetLogsWhy: a cookie Get reads as empty says why in the log,
// never with its value: authentic but undecodable (only a bug or a newer
// version writes one) at warning level, reason cookie_undecodable; one no
// current key authenticates at debug level, reason cookie_not_authentic.
// No cookie, or a good one, logs nothing.
func TestCookieGetLogsWhy(t *testing.T) {
	k := bytes.Repeat([]byte{7}, 32)
	var logged bytes.Buffer
	f := &Frame{keys: [][]byte{k}, log: slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	c, err := f.NewCookieStore(CookieOptions{Name: "c", Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(value string) (map[string]string, map[string]any) {
		t.Helper()
		logged.Reset()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if value != "" {
			r.AddCookie(&http.Cookie{Name: "c", Value: value})
		}
		got := c.Get(r)
		if logged.Len() == 0 {
			return got, nil
		}
		var line map[string]any
		if err := json.Unmarshal(logged.Bytes(), &line); err != nil {
			t.Fatalf("log %q: %v", logged.String(), err)
		}
		if strings.Contains(logged.String(), value) || strings.Contains(logged.String(), "s3cret-sid") {
			t.Errorf("the log holds the cookie's value or content: %s", logged.String())
		}
		return got, line
	}

	w := httptest.NewRecorder()
	if err := c.Put(w, httptest.NewRequest(http.MethodGet, "/", nil), map[string]string{"sid": "s3cret-sid"}); err != nil {
		t.Fatal(err)
	}
	_, good, _ := strings.Cut(strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0], "=")
	if got, line := read(good); got["sid"] != "s3cret-sid" || line != nil {
		t.Fatalf("a good cookie: %q, logged %v", got, line)
	}
	if got, line := read(""); len(got) != 0 || line != nil {
		t.Fatalf("no cookie: %q, logged %v", got, line)
	}

	// Authentic (our keys) but not a JSON object of strings.
	pair := cookieKeys(t, k)
	raw := securecookie.New(pair[0], pair[1])
	raw.SetSerializer(securecookie.NopEncoder{})
	bad, err := raw.Encode("c", []byte(`{"sid":"s3cret-sid","n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	got, line := read(bad)
	if len(got) != 0 || line["level"] != "WARN" || line["reason"] != "cookie_undecodable" || line["cookie"] != "c" {
		t.Fatalf("an authentic undecodable cookie: %q, logged %v", got, line)
	}

	// Under a foreign key.
	foreign := &Frame{keys: [][]byte{bytes.Repeat([]byte{1}, 32)}}
	fc, _ := foreign.NewCookieStore(CookieOptions{Name: "c", Path: "/"})
	fw := httptest.NewRecorder()
	if err := fc.Put(fw, httptest.NewRequest(http.MethodGet, "/", nil), map[string]string{"sid": "s3cret-sid"}); err != nil {
		t.Fatal(err)
	}
	_, other, _ := strings.Cut(strings.SplitN(fw.Header().Get("Set-Cookie"), ";", 2)[0], "=")
	got, line = read(other)
	if len(got) != 0 || line["level"] != "DEBUG" || line["reason"] != "cookie_not_authentic" {
		t.Fatalf("a cookie under a foreign key: %q, logged %v", got, line)
	}
}
