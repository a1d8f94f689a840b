package broker

// Actor is who does something the audit log records, and the request it
// came with: an administrator changing rules or tokens, a tool, the
// start-up seed.
type Actor struct {
	// ID is "provider/subject" (a sign-in), "token:NAME" (an admin API
	// token), "cli:USER" (a command run by an operating-system user) or
	// "seed" (the start-up seed).
	ID string
	// Name is how pages show the actor.
	Name string
	// The request the action came with; empty outside a request.
	RequestID, RemoteAddr, UserAgent string
}
