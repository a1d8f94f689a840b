package simplesamlphp

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
// hand and submits the auto-posting SAML forms a browser's script would,
// recording every hop so a test can say which messages went where.
type browser struct {
	t      *testing.T
	client *http.Client
	hops   []hop
}

// hop is one request the browser sent and the status it got.
type hop struct {
	Method   string
	URL      *url.URL
	Form     url.Values // the posted fields (nil for GET)
	Status   int
	Location string
}

// page is the last answer of a navigation.
type page struct {
	URL    *url.URL
	Status int
	Body   string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) get(u string) *page { return b.navigate(http.MethodGet, u, nil) }

func (b *browser) post(u string, form url.Values) *page {
	return b.navigate(http.MethodPost, u, form)
}

// navigate sends a request, follows redirects (301/302/303/307 as a
// browser does) and submits auto-posting forms that carry a SAML message
// (SAMLRequest or SAMLResponse), until a page that is neither. The hops of
// this navigation replace the previous ones.
func (b *browser) navigate(method, u string, form url.Values) *page {
	b.t.Helper()
	b.hops = nil
	for i := 0; i < 25; i++ {
		p, loc := b.send(method, u, form)
		if loc != nil {
			u = loc.String()
			if p.Status != http.StatusTemporaryRedirect && p.Status != http.StatusPermanentRedirect {
				method, form = http.MethodGet, nil
			}
			continue
		}
		// Like a browser, follow <meta http-equiv="refresh" content="0;url=...">.
		if next := metaRefresh(p); next != nil {
			u, method, form = next.String(), http.MethodGet, nil
			continue
		}
		action, fields, ok := samlForm(p)
		if !ok {
			return p
		}
		u, method, form = action, http.MethodPost, fields
	}
	b.t.Fatalf("more than 25 hops from %s: %s", u, b.trace())
	return nil
}

// send makes one request; loc is the resolved Location of a redirect.
func (b *browser) send(method, u string, form url.Values) (*page, *url.URL) {
	b.t.Helper()
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
	h := hop{Method: method, URL: req.URL, Form: form, Status: resp.StatusCode, Location: resp.Header.Get("Location")}
	b.hops = append(b.hops, h)
	p := &page{URL: req.URL, Status: resp.StatusCode, Body: string(raw)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && h.Location != "" {
		loc, err := req.URL.Parse(h.Location)
		if err != nil {
			b.t.Fatalf("%s %s: bad Location %q", method, u, h.Location)
		}
		return p, loc
	}
	return p, nil
}

// trace lists the hops of the last navigation, SAML messages named but
// not shown.
func (b *browser) trace() string {
	var s strings.Builder
	for _, h := range b.hops {
		u := *h.URL
		q := u.Query()
		for _, k := range []string{"SAMLRequest", "SAMLResponse", "Signature"} {
			if q.Has(k) {
				q.Set(k, "…")
			}
		}
		u.RawQuery = q.Encode()
		s.WriteString("\n  " + h.Method + " " + u.String())
		for _, k := range []string{"SAMLRequest", "SAMLResponse"} {
			if h.Form.Has(k) {
				s.WriteString(" [" + k + "]")
			}
		}
		s.WriteString(" → " + http.StatusText(h.Status))
		if h.Location != "" {
			s.WriteString(" " + strings.SplitN(h.Location, "?", 2)[0])
		}
	}
	return s.String()
}

// metaRefresh returns the URL of an immediate meta refresh on p, or nil.
func metaRefresh(p *page) *url.URL {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return nil
	}
	var next *url.URL
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "meta" && strings.EqualFold(attr(n, "http-equiv"), "refresh") {
			delay, target, ok := strings.Cut(attr(n, "content"), ";")
			target = strings.TrimSpace(target)
			if ok && strings.TrimSpace(delay) == "0" && len(target) > 4 && strings.EqualFold(target[:4], "url=") {
				next, _ = p.URL.Parse(strings.TrimSpace(target[4:]))
			}
		}
		for c := n.FirstChild; c != nil && next == nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return next
}

// samlForm finds a form carrying a SAML message on p.
func samlForm(p *page) (string, url.Values, bool) {
	for _, f := range forms(p) {
		if f.fields.Has("SAMLRequest") || f.fields.Has("SAMLResponse") {
			return f.action, f.fields, true
		}
	}
	return "", nil, false
}

type htmlForm struct {
	action string
	fields url.Values
}

// forms parses p's forms: the action resolved against p's URL and the
// named inputs with their values.
func forms(p *page) []htmlForm {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return nil
	}
	var out []htmlForm
	var walk func(n *html.Node, f *htmlForm)
	walk = func(n *html.Node, f *htmlForm) {
		if n.Type == html.ElementNode && n.Data == "form" {
			action := p.URL.String()
			if a := attr(n, "action"); a != "" {
				if u, err := p.URL.Parse(a); err == nil {
					action = u.String()
				}
			}
			out = append(out, htmlForm{action: action, fields: url.Values{}})
			f = &out[len(out)-1]
		}
		if f != nil && n.Type == html.ElementNode && (n.Data == "input" || n.Data == "button") {
			if name := attr(n, "name"); name != "" && attr(n, "type") != "submit" {
				f.fields.Set(name, attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	return out
}

// formWith returns the first form of p that has a field named field.
func formWith(t *testing.T, p *page, field string) (string, url.Values) {
	t.Helper()
	for _, f := range forms(p) {
		if f.fields.Has(field) {
			return f.action, f.fields
		}
	}
	t.Fatalf("no form with a %q field on %s (%d):\n%s", field, p.URL, p.Status, clip(p.Body, 3000))
	return "", nil
}

// byID returns the text of the element with id on p ("" if none).
func byID(p *page, id string) string {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return ""
	}
	var found *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && attr(n, "id") == id {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		return ""
	}
	var b bytes.Buffer
	var text func(*html.Node)
	text = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			text(c)
		}
	}
	text(found)
	return strings.TrimSpace(b.String())
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
