package devstack

import (
	"context"
	"runtime/pprof"
)

// ComponentLabel is the pprof goroutine label that says which part of the
// stack a goroutine works for, so that one CPU profile of the whole
// process (`broker loadtest`) splits by component. Every server Start
// starts runs under it, and goroutines inherit their parent's labels: the
// server's accept loop, each connection's goroutine (reading the request,
// the handler, writing the response) and whatever the handler starts (the
// broker's outbound HTTP client, say) carry the label. Nothing is done per
// request, so the labels cost nothing when no profile runs. Only the dev
// stack labels; `broker serve` does not.
const ComponentLabel = "component"

// The values of ComponentLabel.
const (
	ComponentBroker = "broker"   // the broker: its server, background loops and outbound calls
	ComponentIdP    = "idp"      // the demo SAML IdP's server
	ComponentOP     = "op"       // the demo OpenID Provider's server
	ComponentAWS    = "aws"      // the local stand-in for AWS STS and the console sign-in
	ComponentApp    = "demo-app" // the demo app's server
)

// Labelled runs f with the goroutine labelled component (ComponentLabel);
// goroutines f starts inherit the label.
func Labelled(ctx context.Context, component string, f func(context.Context)) {
	pprof.Do(ctx, pprof.Labels(ComponentLabel, component), f)
}
