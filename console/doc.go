// Package console turns temporary credentials into an AWS Management
// Console sign-in URL through the federation endpoint.
//
//	credentials ──POST getSigninToken(Session JSON, SessionDuration)──> SigninToken
//	            ──> https://<partition sign-in host>/federation?Action=login
//	                  &Issuer=<portal>&Destination=<console URL>&SigninToken=<token>
//
// The login URL is a bearer secret valid for 15 minutes: it only ever goes
// to the browser as a 302 Location, never into logs or pages. Destinations
// are limited to the console hosts of the role's partition. The hosts, the
// regional sign-in rule and the console-URL rule are package partition's;
// this package turns them into *broker.Error for the person at the browser.
package console
