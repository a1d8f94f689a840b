// Package mapping is the rules engine: admin-editable rules map an
// identity's attributes (SAML attributes, OIDC claims) to AWS roles.
//
//	[]Rule ──Compile──> *Engine            (every problem reported: rule, field, reason)
//	Engine.Evaluate(Identity) ──> Decision{Grants, Trace}
//
// Evaluate, rule by rule, in order:
//
//	disabled? out of the rule's provider scope? its indexed equals condition
//	cannot hold? ──> skipped or not matched, at the cost of a byte in the trace
//	conditions (all/any groups, regex captures as bindings) ──> not matched + reason
//	deny rule ──> kept aside;  allow rule ──> one grant per capture binding
//	  (templates expanded, role and account resolved, provider or audience set;
//	   a grant that cannot be built is dropped with a note)
//	then: deny rules remove the allow grants they cover; duplicates keep the first
//
// Evaluation is pure and deterministic: the same rules and identity always
// give the same grants in the same order (rule order, then value order), and
// a trace with one entry per rule saying whether it matched, on which
// condition it did not, or which deny rule removed its grants.
//
// Compile does the expensive work once: regexes, templates, an index of
// equals-conditions by (attribute, value) so that rules whose first
// condition cannot hold are skipped without comparing values, and static
// failure reasons so tracing costs no formatting. The limits it checks
// (durations, session tags, policies, role names) are AWS's; see
// docs/DOMAIN.md.
//
// CompileMatcher compiles a condition group on its own, with the same
// operators, for decisions that are not grants (who is an admin).
package mapping
