package store

import "context"

// MaxFavourites bounds how many roles one person may pin, and
// MaxFavouriteKey the length of a pinned grant key (a role ARN, a
// provider ARN and a downstream kind).
const (
	MaxFavourites   = 200
	MaxFavouriteKey = 1000
)

// FavouriteStore keeps each person's favourite roles: the portal's pinned
// roles, per person (provider and subject), by grant key. A favourite
// grants nothing: the rules decide at each request whether the person
// still has the role, and the portal shows only the pins that match a
// grant.
type FavouriteStore interface {
	// Favourites returns the grant keys provider/subject pinned, oldest
	// pin first; none is an empty list, not an error.
	Favourites(ctx context.Context, provider, subject string) ([]string, error)
	// SetFavourite pins (pinned true) or unpins grantKey for
	// provider/subject. Pinning a pinned key or unpinning one that is not
	// pinned changes nothing and is not an error. EINVALID (reason
	// favourite_invalid) for an empty provider, subject or key or a key
	// longer than MaxFavouriteKey; EINVALID (reason too_many_favourites)
	// for a pin beyond MaxFavourites.
	SetFavourite(ctx context.Context, provider, subject, grantKey string, pinned bool) error
}
