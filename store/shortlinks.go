package store

import (
	"context"
	"time"
)

// ShortLinkStore keeps the admin-defined short links /go/NAME: a name for
// a /go deep link's parameters (account, role, destination, region, via).
// They are routing data like the account aliases: they grant nothing (the
// rules decide, when the link is followed, whether the person may open
// that role), so they are not versioned with the rules and do not move
// the rules' revision.
type ShortLinkStore interface {
	// ShortLinks returns every short link, by name.
	ShortLinks(ctx context.Context) ([]ShortLink, error)
	// ShortLink returns the short link name; ENOTFOUND if there is none.
	ShortLink(ctx context.Context, name string) (*ShortLink, error)
	// PutShortLink creates or replaces the short link l.Name, setting
	// l.UpdatedAt (now) and l.UpdatedBy (actor). EINVALID without a name
	// or a role. The caller validates the rest.
	PutShortLink(ctx context.Context, l *ShortLink, actor string) error
	// DeleteShortLink removes the short link name; ENOTFOUND if there is none.
	DeleteShortLink(ctx context.Context, name string) error
}

// ShortLink is a short link as stored: the parameters of the /go link it
// stands for (empty when the link leaves them out) and who changed it last.
type ShortLink struct {
	Name        string
	Account     string // account id, alias or label
	Role        string // role name, path/name, label or ARN
	Destination string // a console URL, or ""
	Region      string
	Via         string // "", "saml" or "web-identity"
	Description string
	UpdatedBy   string
	UpdatedAt   time.Time
}
