package localaws

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"time"
)

// Shapes of the credentials this server issues (as STS's).
const (
	accessKeyAlphabet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretKeyAlphabet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	sessionTokenBytes  = 300
	maxMinTokenSize    = 4096
	credentialMemory   = time.Hour // expired credentials are still told apart from unknown ones this long
	defaultCredSeconds = 3600
)

// issuedSession is a set of temporary credentials this server issued, with
// what the federation endpoint and the console page need to know.
type issuedSession struct {
	accessKeyID     string
	secretAccessKey string
	sessionToken    string
	expires         time.Time

	partition      string
	accountID      string
	roleARN        string
	roleName       string
	assumedRoleARN string
	assumedRoleID  string
	sessionName    string
	sourceIdentity string
}

// credState is the outcome of checking presented credentials.
type credState int

const (
	credUnknown credState = iota // not issued here, or key/secret/token mismatch
	credExpired
	credValid
)

// newCredentialSet returns a fresh access key id (ASIA + 16), secret (40)
// and session token (at least minTokenSize bytes).
func newCredentialSet(minTokenSize int) (keyID, secret, token string, err error) {
	if keyID, err = randString(accessKeyAlphabet, 16); err != nil {
		return "", "", "", err
	}
	if secret, err = randString(secretKeyAlphabet, 40); err != nil {
		return "", "", "", err
	}
	n := sessionTokenBytes
	if need := (minTokenSize*3 + 3) / 4; need > n {
		n = need
	}
	raw := make([]byte, n)
	if _, err = rand.Read(raw); err != nil {
		return "", "", "", fmt.Errorf("localaws: random: %w", err)
	}
	return "ASIA" + keyID, secret, base64.StdEncoding.EncodeToString(raw), nil
}

// randString returns n characters drawn uniformly from alphabet.
func randString(alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the draw
	out := make([]byte, 0, n)
	buf := make([]byte, n+16)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("localaws: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// randToken returns a URL-safe random token of 32 bytes.
func randToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("localaws: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// remember stores issued credentials for the federation endpoint.
func (s *Server) remember(cs *issuedSession, now time.Time) {
	s.creds.putIfAbsent(cs.accessKeyID, cs, cs.expires.Add(credentialMemory), now)
}

// checkCredentials looks up presented credentials: the key id must be one
// this server issued and the secret and token must match it exactly.
func (s *Server) checkCredentials(keyID, secret, token string, now time.Time) (*issuedSession, credState) {
	cs, ok := s.creds.get(keyID, now)
	if !ok {
		return nil, credUnknown
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(cs.secretAccessKey)) != 1 ||
		subtle.ConstantTimeCompare([]byte(token), []byte(cs.sessionToken)) != 1 {
		return nil, credUnknown
	}
	if !now.Before(cs.expires) {
		return cs, credExpired
	}
	return cs, credValid
}
