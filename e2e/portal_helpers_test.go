package e2e

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Helpers for the portal page, one form for all its roles: each role is a
// submit button name="grant" value=KEY (issue 14).

// press returns the URL and the fields a browser posts when the submit
// button name=value of the page is pressed: its form's inputs (the form it
// is in, or the one its form attribute names) and the button's own field,
// to its formaction or the form's action.
func (p *page) press(tb testing.TB, name, value string) (string, url.Values) {
	tb.Helper()
	var button, form *html.Node
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "button" && attr(n, "name") == name && attr(n, "value") == value {
			button = n
			return false
		}
		return true
	})
	if button == nil {
		tb.Fatalf("no button %s=%q on %s (status %d):\n%s", name, value, p.URL, p.Status, clip(p.Body))
	}
	if id := attr(button, "form"); id != "" {
		walk(p.doc, func(n *html.Node) bool {
			if n.Type == html.ElementNode && n.Data == "form" && attr(n, "id") == id {
				form = n
				return false
			}
			return true
		})
	} else {
		for form = button.Parent; form != nil && !(form.Type == html.ElementNode && form.Data == "form"); form = form.Parent {
		}
	}
	if form == nil {
		tb.Fatalf("button %s=%q is in no form", name, value)
	}
	vals := url.Values{}
	walk(form, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			vals.Add(attr(n, "name"), attr(n, "value"))
		}
		return true
	})
	vals.Add(name, value)
	target := attr(button, "formaction")
	if target == "" {
		target = attr(form, "action")
	}
	action, err := p.URL.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	return action.String(), vals
}

// roleARNs lists the roles the portal offers: the role ARN of each grant
// button (a grant key is role ARN|principal ARN|mode).
func (p *page) roleARNs() []string {
	var out []string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "button" && attr(n, "name") == "grant" {
			arn, _, _ := strings.Cut(attr(n, "value"), "|")
			out = append(out, arn)
		}
		return true
	})
	return out
}
