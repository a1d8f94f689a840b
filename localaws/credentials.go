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
	sessionTokenChars  = 400 // a session token is at least this long (AWS's are longer still)
	maxMinTokenSize    = 4096
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

// newKeyPair returns a fresh access key id (ASIA + 16) and secret (40).
func newKeyPair() (keyID, secret string, err error) {
	if keyID, err = randString(accessKeyAlphabet, 16); err != nil {
		return "", "", err
	}
	if secret, err = randString(secretKeyAlphabet, 40); err != nil {
		return "", "", err
	}
	return "ASIA" + keyID, secret, nil
}

// sealSession sets cs's session token: cs sealed (sealed.go), at least
// minTokenSize characters long.
func (s *Server) sealSession(cs *issuedSession, minTokenSize int) error {
	tok, err := s.sealer.seal(purposeSessionToken, sealedFrom(cs), max(minTokenSize, sessionTokenChars))
	if err != nil {
		return err
	}
	cs.sessionToken = tok
	return nil
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

// credentialsOf opens a session token this server sealed and checks it
// belongs to keyID; nil for any other token. Nothing is looked up: the
// token is the record.
func (s *Server) credentialsOf(keyID, token string) *issuedSession {
	var p sealedSession
	if !s.sealer.open(purposeSessionToken, token, &p) ||
		subtle.ConstantTimeCompare([]byte(keyID), []byte(p.AccessKeyID)) != 1 {
		return nil
	}
	return p.issued(token)
}

// checkCredentials checks presented credentials: the token must be one
// this server sealed, for this key id and this secret; then its expiry.
func (s *Server) checkCredentials(keyID, secret, token string, now time.Time) (*issuedSession, credState) {
	cs := s.credentialsOf(keyID, token)
	if cs == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(cs.secretAccessKey)) != 1 {
		return nil, credUnknown
	}
	if !now.Before(cs.expires) {
		return cs, credExpired
	}
	return cs, credValid
}
