package sts

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// WebIdentityAlgorithms are the JWS algorithms IAM accepts on a web
// identity token (docs/DOMAIN.md §4): RSA PKCS#1 v1.5 and ECDSA, never
// RSASSA-PSS, HMAC or none.
var WebIdentityAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}

// ReasonTokenAlgorithm: the ID token is signed with an algorithm IAM does
// not accept; refused before any call to AWS. Code broker.EINVALID.
const ReasonTokenAlgorithm = "token_algorithm_unsupported"

// checkTokenAlgorithm refuses a compact JWS whose header names an
// algorithm outside WebIdentityAlgorithms. A token whose header cannot be
// read is left to AWS to judge.
func checkTokenAlgorithm(token string) error {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil || slices.Contains(WebIdentityAlgorithms, h.Alg) {
		return nil
	}
	alg := h.Alg
	if len(alg) > 16 {
		alg = alg[:16] + "…"
	}
	return invalid(ReasonTokenAlgorithm,
		"Your identity provider signs its tokens with %q, which AWS does not accept for web identity (it takes RS256, RS384, RS512, ES256, ES384 and ES512). An administrator must switch the identity provider to RS256 or ES256, or use a broker-issued role.", alg)
}
