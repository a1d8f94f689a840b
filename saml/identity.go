package saml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/broker-dev/broker"
)

// identity reads the person from the verified assertion (never from the
// raw XML): NameID, attributes by Name and FriendlyName with surrounding
// whitespace trimmed, and the AWS attributes, strictly for a pass-through
// provider (AWS reads them from the same assertion), leniently otherwise:
// the broker mints its own, so a malformed value is left out and logged.
func (sp *ServiceProvider) identity(a *saml.Assertion, idpEntityID string) (*broker.Identity, error) {
	id := attributesOf(a)
	if err := awsAttributes(id, sp.cfg.PassThrough); err != nil {
		if sp.cfg.PassThrough {
			return nil, sp.fail(broker.EUNAUTHORIZED, reasonOf(err), err)
		}
		sp.log.Info("saml: malformed AWS attributes left out; broker-issued sign-ins do not use them",
			"provider", sp.cfg.ID, "subject", id.Subject, "err", err)
	}
	id.Provider = sp.cfg.ID
	id.Issuer = idpEntityID
	if a.Issuer.Value != "" {
		id.Issuer = a.Issuer.Value
	}
	id.Attributes[broker.AttrIssuer] = []string{id.Issuer}
	id.Attributes[broker.AttrProvider] = []string{sp.cfg.ID}
	broker.SetMFA(id, sp.cfg.MFAValues)
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

// identityFromAssertion maps a verified assertion to an Identity, its AWS
// attributes parsed strictly (provider and issuer are filled in by the
// caller).
func identityFromAssertion(a *saml.Assertion) (*broker.Identity, error) {
	id := attributesOf(a)
	if err := awsAttributes(id, true); err != nil {
		return nil, err
	}
	return id, nil
}

// attributesOf reads the subject, the session facts and the attributes.
func attributesOf(a *saml.Assertion) *broker.Identity {
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
	// Reserved keys are set last: an attribute of the same name cannot
	// stand in for them.
	delete(id.Attributes, broker.AttrAuthnContext)
	if len(a.AuthnStatements) > 0 {
		if ref := a.AuthnStatements[0].AuthnContext.AuthnContextClassRef; ref != nil && strings.TrimSpace(ref.Value) != "" {
			id.Attributes[broker.AttrAuthnContext] = []string{strings.TrimSpace(ref.Value)}
		}
	}
	return id
}

// awsAttributes sets id's Roles, RoleSessionName and SessionDuration from
// the AWS attributes. Strict, the first malformed value is the error (an
// *attrError); otherwise malformed values are left out and the error joins
// them all, for the log. The attributes themselves stay in id.Attributes.
func awsAttributes(id *broker.Identity, strict bool) error {
	var errs []error
	bad := func(reason string, err error) bool {
		errs = append(errs, &attrError{reason, err})
		return strict
	}
	for _, v := range id.Attributes[broker.SAMLAttrRole] {
		pair, err := broker.ParseRolePair(v)
		if err != nil {
			if bad("role_attribute_invalid", fmt.Errorf("Role attribute value %q: %w", clip(v), err)) {
				return errs[0]
			}
			continue
		}
		id.Roles = append(id.Roles, pair)
	}
	if v := id.Attributes[broker.SAMLAttrRoleSessionName]; len(v) > 0 {
		if len(v) == 1 && broker.RoleSessionNameRe.MatchString(v[0]) {
			id.RoleSessionName = v[0]
		} else if bad("role_session_name_invalid", fmt.Errorf("RoleSessionName %q must be one value of 2..64 [A-Za-z0-9_+=,.@-]", clip(strings.Join(v, ",")))) {
			return errs[0]
		}
	}
	if v := id.Attributes[broker.SAMLAttrSessionDuration]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if len(v) == 1 && err == nil && n >= 900 && n <= 43200 {
			id.SessionDuration = time.Duration(n) * time.Second
		} else if bad("session_duration_invalid", fmt.Errorf("SessionDuration %q must be one integer of 900..43200 seconds", clip(strings.Join(v, ",")))) {
			return errs[0]
		}
	}
	return errors.Join(errs...)
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// unmarshalAssertion decodes one Assertion element (tests and tools).
func unmarshalAssertion(b []byte, a *saml.Assertion) error { return xml.Unmarshal(b, a) }
