// Package mapping is the rules engine: admin-editable rules map an
// identity's attributes (SAML attributes, OIDC claims) to AWS roles.
//
//	[]Rule ──Compile──> *Engine            (every problem reported: rule, field, reason)
//	Engine.Evaluate(Identity) ──> Decision{Grants, Trace}
//
// Evaluation is pure and deterministic: the same rules and identity always
// give the same grants in the same order (rule order, then value order), and
// a trace with one entry per rule saying whether it matched, on which
// condition it did not, or which deny rule removed its grants.
//
// Compile does the expensive work once: regexes, templates, an index of
// equals-conditions by (attribute, value) so that rules whose first
// condition cannot hold are skipped without comparing values, and static
// failure reasons so tracing costs no formatting.
package mapping
