package mapping

// The trace in an admin's words. A trace's Reason is the engine's form
// (the condition's path and operator, for logs and the API); Plain says
// the same as a sentence about the sign-in: "groups has no value equal
// to engineering". Words are made only when a trace is expanded (Trace),
// so Evaluate pays nothing for them.

// plainReason is reason, a failure of rule r, in words: a condition's
// failure becomes a sentence about the sign-in's attribute; other reasons
// are already sentences.
func (r *compiledRule) plainReason(reason string) string {
	if c := r.root.failing(reason); c != nil {
		if reason == c.failAbsent {
			return c.plainAbsent()
		}
		return c.plainNoMatch()
	}
	return reason
}

// failing finds the condition in c's tree whose failure reason is
// reason (nil when none is).
func (c *cond) failing(reason string) *cond {
	if c == nil {
		return nil
	}
	if c.failAbsent == reason || c.failNoMatch == reason {
		return c
	}
	for _, ch := range c.children {
		if f := ch.failing(reason); f != nil {
			return f
		}
	}
	return nil
}

// plainAbsent: the attribute the condition tests is not in the sign-in.
func (c *cond) plainAbsent() string {
	return "the sign-in has no " + c.attr + " attribute"
}

// plainNoMatch: the condition does not hold for the attribute's values.
func (c *cond) plainNoMatch() string {
	var s string
	switch c.op {
	case opAll:
		return "not all of the conditions hold"
	case opAny:
		return "none of the alternatives holds"
	case opExists:
		return c.plainAbsent()
	case opAbsent:
		return "the sign-in has a " + c.attr + " attribute"
	case opEquals:
		s = c.attr + " has no value equal to " + c.value
	case opNotEquals:
		s = c.attr + " has a value equal to " + c.value
	case opPrefix:
		s = c.attr + " has no value starting with " + c.value
	case opSuffix:
		s = c.attr + " has no value ending with " + c.value
	case opGlob:
		s = c.attr + " has no value matching " + c.value
	default:
		s = c.attr + " has no value matching the pattern " + c.value
	}
	if c.ignoreCase {
		s += " (in any case)"
	}
	return s
}
