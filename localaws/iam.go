package localaws

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/broker-dev/broker"
)

// IAM limits the registry enforces.
const (
	defaultMaxSession  = 3600
	minMaxSession      = 3600
	maxMaxSession      = 43200
	minMetadataChars   = 1000     // IAM CreateSAMLProvider SAMLMetadataDocument
	maxMetadataChars   = 10000000 // idem
	maxOIDCClientIDs   = 100
	maxOIDCThumbprints = 5
)

var thumbprintRe = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

// iam is the compiled registry the server answers from.
type iam struct {
	samlProviders map[string]*samlProvider   // by ARN
	oidcProviders map[string]*oidcProvider   // by ARN
	oidcByURL     map[string][]*oidcProvider // by host+path of the issuer URL (one per account)
	roles         map[string]*role           // by ARN
}

type samlProvider struct {
	arn        broker.ARN
	entityID   string
	certs      []*x509.Certificate
	validUntil time.Time // the metadata's validUntil: IAM's expiry of the provider (zero: none)
}

type oidcProvider struct {
	arn         broker.ARN
	issuer      string // the URL as registered, e.g. https://accounts.example.com
	hostPath    string // the issuer without scheme: IAM's name for it in condition keys
	clientIDs   []string
	thumbprints []string
}

type role struct {
	arn        broker.ARN
	id         string // AROA…, stable for the ARN
	maxSession time.Duration
	trust      *policy
}

// compileRegistry validates r and builds the lookup tables; it returns
// every problem found, each naming its entry.
func compileRegistry(r *Registry) (*iam, problems) {
	if r == nil {
		return nil, problems{"the registry is missing"}
	}
	out := &iam{samlProviders: map[string]*samlProvider{}, oidcProviders: map[string]*oidcProvider{}, oidcByURL: map[string][]*oidcProvider{}, roles: map[string]*role{}}
	var probs problems
	for i, p := range r.SAMLProviders {
		entry := fmt.Sprintf("saml_providers[%d] (%s)", i, p.ARN)
		sp, err := compileSAMLProvider(p)
		switch {
		case err != nil:
			probs.addf(entry, "%v", err)
		case out.samlProviders[sp.arn.String()] != nil:
			probs.addf(entry, "duplicate provider ARN")
		default:
			out.samlProviders[sp.arn.String()] = sp
		}
	}
	for i, p := range r.OIDCProviders {
		entry := fmt.Sprintf("oidc_providers[%d] (%s)", i, p.ARN)
		op, err := compileOIDCProvider(p)
		switch {
		case err != nil:
			probs.addf(entry, "%v", err)
		case out.oidcProviders[op.arn.String()] != nil:
			probs.addf(entry, "duplicate provider ARN")
		default:
			out.oidcProviders[op.arn.String()] = op
			out.oidcByURL[op.hostPath] = append(out.oidcByURL[op.hostPath], op)
		}
	}
	for i, rl := range r.Roles {
		entry := fmt.Sprintf("roles[%d] (%s)", i, rl.ARN)
		cr, err := out.compileRole(rl)
		switch {
		case err != nil:
			probs.addf(entry, "%v", err)
		case out.roles[cr.arn.String()] != nil:
			probs.addf(entry, "duplicate role ARN")
		default:
			out.roles[cr.arn.String()] = cr
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}

// registryError reports problems as a *broker.Error (EINVALID,
// "registry_invalid") whose message says where they are.
func registryError(where string, probs problems) error {
	return broker.Wrap(errors.New(probs.String()), broker.EINVALID, "registry_invalid", where+": "+probs.String())
}

func parseARNKind(s, kind string) (broker.ARN, error) {
	a, err := broker.ParseARN(s)
	if err != nil {
		return broker.ARN{}, err
	}
	if a.Kind() != kind {
		return broker.ARN{}, fmt.Errorf("ARN %q is not a %s ARN", s, kind)
	}
	return a, nil
}

func compileSAMLProvider(p SAMLProvider) (*samlProvider, error) {
	a, err := parseARNKind(p.ARN, broker.KindSAMLProvider)
	if err != nil {
		return nil, err
	}
	var doc []byte
	switch {
	case p.MetadataXML != "" && p.MetadataFile != "":
		return nil, errors.New("set metadata_xml or metadata_file, not both")
	case p.MetadataXML != "":
		doc = []byte(p.MetadataXML)
	case p.MetadataFile != "":
		if doc, err = readBounded(p.MetadataFile, maxMetadataChars); err != nil {
			return nil, fmt.Errorf("metadata_file: %w", err)
		}
	default:
		return nil, errors.New("metadata_xml or metadata_file is required")
	}
	if n := len(doc); n < minMetadataChars || n > maxMetadataChars {
		return nil, fmt.Errorf("the metadata document has %d characters; IAM takes %d..%d", n, minMetadataChars, maxMetadataChars)
	}
	entityID, certs, err := parseIdPMetadata(doc)
	if err != nil {
		return nil, fmt.Errorf("could not parse metadata: %w", err)
	}
	validUntil, err := metadataValidUntil(doc)
	if err != nil {
		return nil, fmt.Errorf("could not parse metadata: %w", err)
	}
	return &samlProvider{arn: a, entityID: entityID, certs: certs, validUntil: validUntil}, nil
}

func compileOIDCProvider(p OIDCProvider) (*oidcProvider, error) {
	a, err := parseARNKind(p.ARN, broker.KindOIDCProvider)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(p.URL)
	// IAM takes https issuers without a port. A local issuer (the broker or
	// a demo OP on this machine) may be http with a port on loopback.
	local := err == nil && u.Scheme == "http" && isLoopback(u.Hostname())
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (!local && (u.Scheme != "https" || u.Port() != "")) {
		return nil, fmt.Errorf("url %q must be an https URL without port, query or fragment (http with a port only on loopback)", p.URL)
	}
	hp := issuerHostPath(p.URL)
	if a.Name() != hp {
		return nil, fmt.Errorf("ARN must end in oidc-provider/%s to match url", hp)
	}
	if len(p.ClientIDs) == 0 || len(p.ClientIDs) > maxOIDCClientIDs {
		return nil, fmt.Errorf("client_ids must hold 1..%d client ids", maxOIDCClientIDs)
	}
	for _, c := range p.ClientIDs {
		if c == "" || len(c) > 255 {
			return nil, fmt.Errorf("client id %q must be 1..255 characters", c)
		}
	}
	if len(p.Thumbprints) > maxOIDCThumbprints {
		return nil, fmt.Errorf("at most %d thumbprints", maxOIDCThumbprints)
	}
	for _, t := range p.Thumbprints {
		if !thumbprintRe.MatchString(t) {
			return nil, fmt.Errorf("thumbprint %q must be 40 hex characters (a SHA-1 fingerprint)", t)
		}
	}
	return &oidcProvider{arn: a, issuer: strings.TrimSuffix(p.URL, "/"), hostPath: hp, clientIDs: p.ClientIDs, thumbprints: p.Thumbprints}, nil
}

// issuerHostPath is an issuer URL without its scheme or trailing slash:
// IAM's name for the provider (ARN suffix, condition key prefix).
func issuerHostPath(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	return strings.TrimSuffix(u, "/")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (m *iam) compileRole(r Role) (*role, error) {
	a, err := parseARNKind(r.ARN, broker.KindRole)
	if err != nil {
		return nil, err
	}
	maxS := r.MaxSessionDuration
	if maxS == 0 {
		maxS = defaultMaxSession
	}
	if maxS < minMaxSession || maxS > maxMaxSession {
		return nil, fmt.Errorf("max_session_duration %d is outside %d..%d seconds", r.MaxSessionDuration, minMaxSession, maxMaxSession)
	}
	if strings.TrimSpace(r.TrustPolicy) == "" {
		return nil, errors.New("trust_policy is required")
	}
	p, err := parsePolicy(r.TrustPolicy, trustPolicyKind)
	if err != nil {
		return nil, fmt.Errorf("trust_policy: %w", err)
	}
	for _, fed := range p.federatedPrincipals() {
		if !strings.HasPrefix(fed, "arn:") {
			continue // e.g. accounts.google.com, cognito-identity.amazonaws.com
		}
		if m.samlProviders[fed] == nil && m.oidcProviders[fed] == nil {
			return nil, fmt.Errorf("trust_policy: Invalid principal in policy: %q is not a registered SAML or OIDC provider", fed)
		}
	}
	return &role{arn: a, id: roleID(a), maxSession: time.Duration(maxS) * time.Second, trust: p}, nil
}

// roleID derives a stable, AWS-shaped unique id (AROA + 17 characters).
func roleID(a broker.ARN) string {
	sum := sha256.Sum256([]byte(a.String()))
	return "AROA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}
