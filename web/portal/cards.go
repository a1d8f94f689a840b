package portal

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"strings"
	"sync"
)

// The portal's lists at 1,000 roles. The page is one form (POST /console,
// its CSRF token and destination once) whose role buttons carry their
// grant as name="grant" value=KEY; a pin button posts the role's pin
// reference to /favourites. Each card's HTML (portal.html "role-card",
// escaped by html/template) depends only on what the card shows, so it is
// rendered once and kept: the same roles, on anybody's page, cost a map
// lookup. A person's own state on a card (pinned, what AWS allowed last
// time) is part of what it shows, hence of its key.

// maxFragments bounds the cards and account headings kept; when full the
// cache starts again (a changed rule set leaves old cards behind).
const maxFragments = 20000

// fragments keeps rendered HTML by the view it was rendered from (a
// roleView or an accountHead: comparable values, every field shown).
type fragments struct {
	mu   sync.Mutex
	html map[any]template.HTML
}

func (f *fragments) get(key any) (template.HTML, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.html[key]
	return h, ok
}

func (f *fragments) put(key any, h template.HTML) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.html == nil || len(f.html) >= maxFragments {
		f.html = make(map[any]template.HTML)
	}
	f.html[key] = h
}

// accountHead is what an account's heading shows.
type accountHead struct {
	ID, Label, Search string
	Roles             int
	Open              bool
}

// fragment is the HTML of template name for view, from the cache or
// rendered now.
func (h *Handler) fragment(name string, view any) (template.HTML, error) {
	if html, ok := h.cards.get(view); ok {
		return html, nil
	}
	html, err := h.Fragment(name, view)
	if err != nil {
		return "", err
	}
	h.cards.put(view, html)
	return html, nil
}

// renderRoles fills the page's HTML of its lists.
func (h *Handler) renderRoles(p *rolesPage) error {
	var err error
	if p.PinnedHTML, err = h.cardList(p.Pinned); err != nil {
		return err
	}
	if p.RecentHTML, err = h.cardList(p.Recent); err != nil {
		return err
	}
	const end = "</ul></details>\n"
	parts := make([]template.HTML, 0, len(p.Accounts)*3)
	for _, a := range p.Accounts {
		head, err := h.fragment("role-account", accountHead{ID: a.ID, Label: a.Label, Search: a.Search, Roles: len(a.Roles), Open: p.OpenAccounts})
		if err != nil {
			return err
		}
		parts = append(parts, head)
		if parts, err = h.appendCards(parts, a.Roles); err != nil {
			return err
		}
		parts = append(parts, end)
	}
	p.AccountsHTML = join(parts)
	return nil
}

func (h *Handler) cardList(roles []roleView) (template.HTML, error) {
	parts, err := h.appendCards(nil, roles)
	return join(parts), err
}

func (h *Handler) appendCards(parts []template.HTML, roles []roleView) ([]template.HTML, error) {
	for _, r := range roles {
		card, err := h.fragment("role-card", r)
		if err != nil {
			return nil, err
		}
		parts = append(parts, card)
	}
	return parts, nil
}

// join concatenates HTML fragments (each escaped by html/template).
func join(parts []template.HTML) template.HTML {
	n := 0
	for _, s := range parts {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range parts {
		b.WriteString(string(s))
	}
	return template.HTML(b.String())
}

// PinRef is the short reference of the card's grant its pin button
// posts (pinRef).
func (r roleView) PinRef() string { return pinRef(r.Key) }

// pinRefLen is the length of a pinRef.
const pinRefLen = 8

// pinRef names a grant among a person's in 8 characters (48 bits of its
// SHA-256): /favourites finds the grant it names among the person's.
func pinRef(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:6])
}
