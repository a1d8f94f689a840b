package localaws

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker"
)

// webTokenAlgs are the signature algorithms STS accepts on an ID token
// (IAM: RS256/384/512 and ES256/384/512; docs/DOMAIN.md §4). "none" and
// HMAC never verify; RSASSA-PSS is read only to be refused by name.
var (
	webTokenAlgs  = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}
	webParsedAlgs = append([]jose.SignatureAlgorithm{jose.PS256, jose.PS384, jose.PS512}, webTokenAlgs...)
)

// The length STS documents for SubjectFromWebIdentityToken, the token's sub.
const (
	minWebSubject = 6
	maxWebSubject = 255
)

// invalidTokenMessage is STS's documented message for InvalidIdentityToken
// (API reference, AssumeRoleWithWebIdentity errors); the stand-in adds
// which check failed.
const invalidTokenMessage = "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."

// webToken is a verified ID token.
type webToken struct {
	issuer, subject, audience string
	amr                       []string
	tags                      []sessionTag
	transitive                []string
	sourceIdentity            string
	claims                    map[string]any
}

// tokenClaims are the claims STS reads.
type tokenClaims struct {
	Iss  string          `json:"iss"`
	Sub  string          `json:"sub"`
	Aud  json.RawMessage `json:"aud"`
	Exp  *float64        `json:"exp"`
	Iat  *float64        `json:"iat"`
	Nbf  *float64        `json:"nbf"`
	Amr  json.RawMessage `json:"amr"`
	Tags json.RawMessage `json:"https://aws.amazon.com/tags"`
	SrcI *string         `json:"https://aws.amazon.com/source_identity"`
}

// verifyWebToken checks a web identity token as STS does, for a role in
// account. Errors carry the code STS answers with.
func (s *Server) verifyWebToken(ctx context.Context, raw, account string, now time.Time) (*webToken, *oidcProvider, *stsError) {
	jws, err := jose.ParseSigned(raw, webParsedAlgs)
	if err != nil {
		return nil, nil, errInvalidToken("token_malformed", err, "The web identity token is not a signed JWT with a supported algorithm (RS256, RS384, RS512, ES256, ES384, ES512).")
	}
	if len(jws.Signatures) != 1 {
		return nil, nil, errInvalidToken("token_malformed", nil, "The web identity token must carry exactly one signature.")
	}
	if alg := jws.Signatures[0].Header.Algorithm; !slices.Contains(webTokenAlgs, jose.SignatureAlgorithm(alg)) {
		return nil, nil, errInvalidToken("algorithm_unsupported", nil, "%s (Signing algorithm %s is not supported: use RS256, RS384, RS512, ES256, ES384 or ES512.)", invalidTokenMessage, clip(alg))
	}
	var c tokenClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, nil, errInvalidToken("token_malformed", err, "The web identity token's claims are not a JSON object.")
	}
	prov := s.iam.oidcFor(c.Iss, account)
	if prov == nil {
		return nil, nil, errInvalidToken("provider_not_found", nil, "No OpenIDConnect provider found in your account for %s", clip(c.Iss))
	}
	aud, ok := matchAudience(c.Aud, prov.clientIDs)
	if !ok {
		return nil, nil, errInvalidToken("audience_mismatch", nil, "Incorrect token audience")
	}
	if e := s.verifySignature(ctx, jws, prov, now); e != nil {
		return nil, nil, e
	}
	skew := s.skew
	switch {
	case c.Exp == nil:
		return nil, nil, errInvalidToken("exp_missing", nil, "The web identity token has no exp claim.")
	case !now.Before(unix(*c.Exp).Add(skew)):
		return nil, nil, errExpired("token_expired", "Token expired: current date/time %s must be before the expiration date/time %s",
			now.UTC().Format(time.RFC3339), unix(*c.Exp).UTC().Format(time.RFC3339))
	case c.Iat == nil:
		return nil, nil, errInvalidToken("iat_missing", nil, "The web identity token has no iat claim.")
	case unix(*c.Iat).After(now.Add(skew)):
		return nil, nil, errInvalidToken("issued_in_future", nil, "The web identity token was issued in the future.")
	case c.Nbf != nil && unix(*c.Nbf).After(now.Add(skew)):
		return nil, nil, errInvalidToken("not_yet_valid", nil, "The web identity token is not valid yet (nbf).")
	case c.Sub == "":
		return nil, nil, errInvalidToken("sub_missing", nil, "The web identity token has no sub claim.")
	case utf8.RuneCountInString(c.Sub) < minWebSubject || utf8.RuneCountInString(c.Sub) > maxWebSubject:
		return nil, nil, errInvalidToken("sub_length", nil, "%s (The sub claim is %d characters; it must be %d to %d.)",
			invalidTokenMessage, utf8.RuneCountInString(c.Sub), minWebSubject, maxWebSubject)
	}
	tok := &webToken{issuer: c.Iss, subject: c.Sub, audience: aud, amr: claimStrings(c.Amr)}
	if e := readTokenTags(&c, tok); e != nil {
		return nil, nil, e
	}
	_ = json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &tok.claims)
	return tok, prov, nil
}

func unix(f float64) time.Time { return time.Unix(int64(f), 0) }

// oidcFor finds the provider registered for iss in account.
func (m *iam) oidcFor(iss, account string) *oidcProvider {
	for _, p := range m.oidcByURL[issuerHostPath(iss)] {
		if p.arn.AccountID == account && p.issuer == strings.TrimSuffix(iss, "/") {
			return p
		}
	}
	return nil
}

// claimStrings reads a claim that is a string or a list of strings.
func claimStrings(raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	v, err := stringOrList(raw)
	if err != nil {
		return nil
	}
	return v
}

func matchAudience(raw json.RawMessage, clientIDs []string) (string, bool) {
	for _, a := range claimStrings(raw) {
		for _, c := range clientIDs {
			if a == c {
				return a, true
			}
		}
	}
	return "", false
}

// verifySignature checks the token against the issuer's JWKS, refetching it
// once when the kid is unknown.
func (s *Server) verifySignature(ctx context.Context, jws *jose.JSONWebSignature, prov *oidcProvider, now time.Time) *stsError {
	kid := jws.Signatures[0].Header.KeyID
	for attempt := 0; attempt < 2; attempt++ {
		set, err := s.keys(ctx, prov.issuer, attempt == 1, now)
		if err != nil {
			return newSTSError(codeIDPCommunication, "idp_unreachable", err, "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements (%s).", prov.issuer)
		}
		candidates := set.Keys
		if kid != "" {
			candidates = set.Key(kid)
			if len(candidates) == 0 {
				continue // rotated? fetch again once
			}
		}
		for _, k := range candidates {
			switch k.Key.(type) {
			case *rsa.PublicKey, *ecdsa.PublicKey:
			default:
				continue // never an HMAC secret or a private key from a JWKS
			}
			if _, err := jws.Verify(k.Key); err == nil {
				return nil
			}
		}
		return errInvalidToken("signature_invalid", nil, "The web identity token's signature does not verify with %s's keys.", prov.issuer)
	}
	return errInvalidToken("key_not_found", nil, "The key %q that signed the web identity token is not in %s's JWKS.", clip(kid), prov.issuer)
}

// readTokenTags reads the https://aws.amazon.com/tags and source_identity
// claims with AWS's rules (one value per tag, limits).
func readTokenTags(c *tokenClaims, tok *webToken) *stsError {
	if len(c.Tags) > 0 && string(c.Tags) != "null" {
		var t struct {
			PrincipalTags     map[string][]string `json:"principal_tags"`
			TransitiveTagKeys []string            `json:"transitive_tag_keys"`
		}
		if err := json.Unmarshal(c.Tags, &t); err != nil {
			return errInvalidToken("tags_malformed", err, "The https://aws.amazon.com/tags claim must be {\"principal_tags\": {\"KEY\": [\"VALUE\"]}, \"transitive_tag_keys\": [...]}.")
		}
		flat := map[string]string{}
		for k, vals := range t.PrincipalTags {
			if len(vals) != 1 {
				return errInvalidToken("tags_malformed", nil, "Session tag %q must have exactly one value.", clip(k))
			}
			flat[k] = vals[0]
			tok.tags = append(tok.tags, sessionTag{key: k, value: vals[0]})
		}
		if err := broker.ValidateSessionTags(flat, t.TransitiveTagKeys); err != nil {
			return errInvalidToken("tags_invalid", err, "Invalid session tags in the web identity token: %s", err.Error())
		}
		tok.transitive = t.TransitiveTagKeys
	}
	if c.SrcI != nil {
		if !sourceIdentityRe.MatchString(*c.SrcI) {
			return errInvalidToken("source_identity_invalid", nil, "The source identity must be 2..64 of [A-Za-z0-9_+=,.@-].")
		}
		tok.sourceIdentity = *c.SrcI
	}
	return nil
}

// webRequestContext builds the condition keys a trust policy sees for an
// AssumeRoleWithWebIdentity call (lower-cased, as IAM compares them).
func webRequestContext(tok *webToken, prov *oidcProvider, c awsClaims) map[string][]string {
	p := strings.ToLower(prov.hostPath)
	ctx := map[string][]string{
		p + ":aud":              {tok.audience},
		p + ":sub":              {tok.subject},
		"aws:federatedprovider": {prov.arn.String()},
	}
	if len(tok.amr) > 0 {
		ctx[p+":amr"] = tok.amr
	}
	if azp, ok := tok.claims["azp"].(string); ok && azp != "" {
		ctx[p+":azp"] = []string{azp}
	}
	if email, ok := tok.claims["email"].(string); ok && email != "" {
		ctx[p+":email"] = []string{email}
	}
	c.addToContext(ctx)
	return ctx
}
