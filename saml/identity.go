package saml

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// identity reads the person from the verified assertion (never from the
// raw XML): NameID, attributes by Name and FriendlyName with surrounding
// whitespace trimmed, and the AWS attributes parsed strictly.
func (sp *ServiceProvider) identity(a *saml.Assertion, idpEntityID string) (*broker.Identity, error) {
	id, err := identityFromAssertion(a)
	if err != nil {
		return nil, sp.fail(broker.EUNAUTHORIZED, reasonOf(err), err)
	}
	id.Provider = sp.cfg.ID
	id.Issuer = idpEntityID
	if a.Issuer.Value != "" {
		id.Issuer = a.Issuer.Value
	}
	id.Attributes[broker.AttrIssuer] = []string{id.Issuer}
	id.Attributes[broker.AttrProvider] = []string{sp.cfg.ID}
	return id, nil
}

// attrError is a malformed AWS attribute; reason is its audit reason.
type attrError struct {
	reason string
	err    error
}

func (e *attrError) Error() string { return e.err.Error() }

func reasonOf(err error) string {
	if ae, ok := err.(*attrError); ok {
		return ae.reason
	}
	return "attributes_invalid"
}

// identityFromAssertion maps a verified assertion to an Identity (provider
// and issuer are filled in by the caller).
func identityFromAssertion(a *saml.Assertion) (*broker.Identity, error) {
	id := &broker.Identity{Protocol: broker.ProtocolSAML, Attributes: map[string][]string{}}
	if a.Subject != nil && a.Subject.NameID != nil {
		id.Subject = strings.TrimSpace(a.Subject.NameID.Value)
		id.SubjectFormat = a.Subject.NameID.Format
	}
	if a.Subject != nil && len(a.Subject.SubjectConfirmations) > 0 && a.Subject.SubjectConfirmations[0].SubjectConfirmationData != nil {
		id.Expires = a.Subject.SubjectConfirmations[0].SubjectConfirmationData.NotOnOrAfter
	}
	if len(a.AuthnStatements) > 0 {
		st := a.AuthnStatements[0]
		id.AuthnInstant, id.SessionIndex = st.AuthnInstant, st.SessionIndex
		if st.SessionNotOnOrAfter != nil {
			id.SessionNotOnOrAfter = *st.SessionNotOnOrAfter
		}
	}
	for _, stmt := range a.AttributeStatements {
		for _, attr := range stmt.Attributes {
			var vals []string
			for _, v := range attr.Values {
				val := v.Value
				if v.NameID != nil {
					val = v.NameID.Value
				}
				vals = append(vals, strings.TrimSpace(val))
			}
			name := strings.TrimSpace(attr.Name)
			id.Attributes[name] = append(id.Attributes[name], vals...)
			if fn := strings.TrimSpace(attr.FriendlyName); fn != "" && fn != name {
				id.Attributes[fn] = append(id.Attributes[fn], vals...)
			}
		}
	}
	id.Attributes[broker.AttrSubject] = []string{id.Subject}

	for _, v := range id.Attributes[broker.SAMLAttrRole] {
		pair, err := broker.ParseRolePair(v)
		if err != nil {
			return nil, &attrError{"role_attribute_invalid", fmt.Errorf("Role attribute value %q: %w", clip(v), err)}
		}
		id.Roles = append(id.Roles, pair)
	}
	if v := id.Attributes[broker.SAMLAttrRoleSessionName]; len(v) > 0 {
		if len(v) != 1 || !broker.RoleSessionNameRe.MatchString(v[0]) {
			return nil, &attrError{"role_session_name_invalid", fmt.Errorf("RoleSessionName %q must be one value of 2..64 [A-Za-z0-9_+=,.@-]", clip(strings.Join(v, ",")))}
		}
		id.RoleSessionName = v[0]
	}
	if v := id.Attributes[broker.SAMLAttrSessionDuration]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if len(v) != 1 || err != nil || n < 900 || n > 43200 {
			return nil, &attrError{"session_duration_invalid", fmt.Errorf("SessionDuration %q must be one integer of 900..43200 seconds", clip(strings.Join(v, ",")))}
		}
		id.SessionDuration = time.Duration(n) * time.Second
	}
	return id, nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// unmarshalAssertion decodes one Assertion element (tests and tools).
func unmarshalAssertion(b []byte, a *saml.Assertion) error { return xml.Unmarshal(b, a) }
