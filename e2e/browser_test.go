package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// browser is an http.Client with a cookie jar that follows redirects by
// hand, so tests can assert every hop (e.g. that the console URL arrives
// only as a 302 Location).
type browser struct {
	t      testing.TB
	client *http.Client
	hops   []hop
	// trail is every hop since the test last cleared it (hops holds
	// those of the last request only).
	trail []hop
}

type hop struct {
	Method, URL string
	Status      int
	Location    string
}

type page struct {
	URL    *url.URL
	Status int
	Body   string
	Header http.Header
	doc    *html.Node
}

func newBrowser(tb testing.TB) *browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browser{t: tb, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) get(u string) *page { return b.do(http.MethodGet, u, nil) }

func (b *browser) post(u string, form url.Values) *page { return b.do(http.MethodPost, u, form) }

// do sends a request and follows redirects (301/302/303 → GET) until a
// non-redirect answer.
func (b *browser) do(method, u string, form url.Values) *page {
	b.t.Helper()
	b.hops = b.hops[:0]
	for i := 0; i < 15; i++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, u, body)
		if err != nil {
			b.t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := b.client.Do(req)
		if err != nil {
			b.t.Fatalf("%s %s: %v", method, u, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.t.Fatal(err)
		}
		b.hops = append(b.hops, hop{Method: method, URL: u, Status: resp.StatusCode, Location: resp.Header.Get("Location")})
		b.trail = append(b.trail, b.hops[len(b.hops)-1])
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect:
			next, err := req.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				b.t.Fatal(err)
			}
			u = next.String()
			if resp.StatusCode != http.StatusTemporaryRedirect {
				method, form = http.MethodGet, nil
			}
			continue
		}
		p := &page{URL: req.URL, Status: resp.StatusCode, Body: string(raw), Header: resp.Header}
		if strings.Contains(resp.Header.Get("Content-Type"), "html") {
			doc, err := html.Parse(bytes.NewReader(raw))
			if err != nil {
				b.t.Fatalf("parse HTML of %s: %v", u, err)
			}
			p.doc = doc
		}
		// Like a browser, follow <meta http-equiv="refresh" content="0;url=...">.
		if next := p.metaRefresh(); next != "" {
			nu, err := req.URL.Parse(next)
			if err != nil {
				b.t.Fatal(err)
			}
			b.hops = append(b.hops, hop{Method: method, URL: u, Status: resp.StatusCode, Location: "meta-refresh:" + nu.String()})
			b.trail = append(b.trail, b.hops[len(b.hops)-1])
			u, method, form = nu.String(), http.MethodGet, nil
			continue
		}
		return p
	}
	b.t.Fatalf("too many redirects from %s", u)
	return nil
}

// metaRefresh returns the URL of an immediate meta refresh, or "".
func (p *page) metaRefresh() string {
	var out string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "meta" && strings.EqualFold(attr(n, "http-equiv"), "refresh") {
			if c := attr(n, "content"); strings.HasPrefix(c, "0;url=") {
				out = strings.TrimPrefix(c, "0;url=")
			}
			return false
		}
		return true
	})
	return out
}

// form returns the action URL and the fields of the first form matching
// pred, with the page URL as base.
func (p *page) form(tb testing.TB, pred func(n *html.Node) bool) (string, url.Values) {
	tb.Helper()
	var found *html.Node
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "form" && pred(n) {
			found = n
			return false
		}
		return true
	})
	if found == nil {
		tb.Fatalf("no matching form on %s (status %d):\n%s", p.URL, p.Status, clip(p.Body))
	}
	vals := url.Values{}
	walk(found, func(n *html.Node) bool {
		if n.Type == html.ElementNode && (n.Data == "input" || n.Data == "button") && attr(n, "name") != "" {
			vals.Add(attr(n, "name"), attr(n, "value"))
		}
		return true
	})
	action, err := p.URL.Parse(attr(found, "action"))
	if err != nil {
		tb.Fatal(err)
	}
	return action.String(), vals
}

func formWithID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "id") == id }
}

// formWithField matches a form holding an input name=value.
func formWithField(name, value string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		ok := false
		walk(n, func(c *html.Node) bool {
			if c.Type == html.ElementNode && c.Data == "input" && attr(c, "name") == name && attr(c, "value") == value {
				ok = true
				return false
			}
			return true
		})
		return ok
	}
}

// text returns the text content of the element with the given id ("" if none).
func (p *page) text(id string) string {
	var out string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && attr(n, "id") == id {
			out = strings.TrimSpace(textOf(n))
			return false
		}
		return true
	})
	return out
}

// attrOf returns attribute a of the element with the given id.
func (p *page) attrOf(id, a string) string {
	var out string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && attr(n, "id") == id {
			out = attr(n, a)
			return false
		}
		return true
	})
	return out
}

// all returns the values of attribute a on every element that has it.
func (p *page) all(a string) []string {
	var out []string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode {
			if v := attr(n, a); v != "" {
				out = append(out, v)
			}
		}
		return true
	})
	return out
}

func walk(n *html.Node, f func(*html.Node) bool) bool {
	if n == nil {
		return true
	}
	if !f(n) {
		return false
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if !walk(c, f) {
			return false
		}
	}
	return true
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) bool {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		return true
	})
	return b.String()
}

func clip(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "…"
	}
	return s
}
