package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
