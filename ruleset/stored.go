package ruleset

import (
	"bytes"
	"encoding/json"

	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// The conversions between the engine's shapes (mapping.Rule,
// mapping.Account) and the store's (store.StoredRule, store.NamedRule,
// store.Account) live here and nowhere else.

// Encode is the stored form of a rule: its JSON.
func Encode(r mapping.Rule) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // mapping.Rule always marshals
	}
	return b
}

// Decode parses a stored rule, refusing unknown fields (a typo must not
// silently drop a condition).
func Decode(b []byte) (mapping.Rule, error) {
	var r mapping.Rule
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, err
	}
	return r, nil
}

// fromStored decodes a stored rule; its name is the store's.
func fromStored(sr store.StoredRule) (Rule, error) {
	r, err := Decode(sr.Rule)
	r.Name = sr.Name
	return Rule{Rule: r, Version: sr.Version, UpdatedAt: sr.UpdatedAt, UpdatedBy: sr.UpdatedBy}, err
}

// toNamed is the store's form of a rule list.
func toNamed(rules []mapping.Rule) []store.NamedRule {
	named := make([]store.NamedRule, len(rules))
	for i, r := range rules {
		named[i] = store.NamedRule{Name: r.Name, Rule: Encode(r)}
	}
	return named
}

func fromStoredAccounts(in []store.Account) []mapping.Account {
	var out []mapping.Account
	for _, a := range in {
		out = append(out, mapping.Account{ID: a.ID, Alias: a.Alias, Label: a.Label})
	}
	return out
}

func toStoredAccount(a mapping.Account) store.Account {
	return store.Account{ID: a.ID, Alias: a.Alias, Label: a.Label}
}

// sameRule reports whether two rules store the same document.
func sameRule(a, b mapping.Rule) bool { return bytes.Equal(Encode(a), Encode(b)) }
