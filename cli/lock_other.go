//go:build !unix

package cli

import "context"

// lockFile is a no-op where flock does not exist: concurrent callers may
// each fetch (the cache stays correct, only the one-fetch promise is lost).
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
