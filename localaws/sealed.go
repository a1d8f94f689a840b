package localaws

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Like AWS's, the session tokens and sign-in tokens this server hands out
// carry what they stand for, sealed (AES-256-GCM under a key made at New
// and never shown): the server keeps no entry per credential or per
// unused sign-in token, so its memory does not grow with what it issued,
// and expiry is decided by the time sealed inside. Forged, altered or
// foreign tokens do not open; expired ones open and are refused as
// expired, however long ago that was.

// sealer seals and opens tokens with one AEAD.
type sealer struct{ aead cipher.AEAD }

func newSealer() (*sealer, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("localaws: random: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts v as JSON, padded so the token (standard base64) is at
// least minLen characters; purpose is bound as additional data, so a
// token of one kind never opens as another.
func (s *sealer) seal(purpose string, v any, minLen int) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	overhead := s.aead.NonceSize() + s.aead.Overhead()
	if need := (minLen*3+3)/4 - overhead - len(payload); need > 0 {
		// The padding is inside the ciphertext: JSON whitespace after the value.
		payload = append(payload, strings.Repeat(" ", need)...)
	}
	nonce := make([]byte, s.aead.NonceSize(), overhead+len(payload))
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("localaws: random: %w", err)
	}
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, payload, []byte(purpose))), nil
}

// open decrypts a token sealed for purpose into v; false for anything
// else (not base64, too short, altered, another key or purpose).
func (s *sealer) open(purpose, token string, v any) bool {
	if len(token) > maxSealedToken {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return false
	}
	n := s.aead.NonceSize()
	payload, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return false
	}
	return json.Unmarshal(payload, v) == nil
}

// maxSealedToken bounds what open decodes (a padded session token is at
// most maxMinTokenSize plus its content).
const maxSealedToken = 16 << 10

const (
	purposeSessionToken = "localaws session token v1"
	purposeSigninToken  = "localaws sign-in token v1"
)

// sealedSession is an issuedSession as its session token carries it (the
// token itself aside).
type sealedSession struct {
	AccessKeyID     string    `json:"k"`
	SecretAccessKey string    `json:"s"`
	Expires         time.Time `json:"e"`
	Partition       string    `json:"p"`
	AccountID       string    `json:"a"`
	RoleARN         string    `json:"r"`
	RoleName        string    `json:"rn"`
	AssumedRoleARN  string    `json:"ar"`
	AssumedRoleID   string    `json:"ai"`
	SessionName     string    `json:"sn"`
	SourceIdentity  string    `json:"si,omitempty"`
}

func sealedFrom(cs *issuedSession) sealedSession {
	return sealedSession{cs.accessKeyID, cs.secretAccessKey, cs.expires, cs.partition, cs.accountID, cs.roleARN,
		cs.roleName, cs.assumedRoleARN, cs.assumedRoleID, cs.sessionName, cs.sourceIdentity}
}

func (p sealedSession) issued(token string) *issuedSession {
	return &issuedSession{accessKeyID: p.AccessKeyID, secretAccessKey: p.SecretAccessKey, sessionToken: token,
		expires: p.Expires, partition: p.Partition, accountID: p.AccountID, roleARN: p.RoleARN, roleName: p.RoleName,
		assumedRoleARN: p.AssumedRoleARN, assumedRoleID: p.AssumedRoleID, sessionName: p.SessionName, sourceIdentity: p.SourceIdentity}
}

// sealedSignin is what a sign-in token carries: the credentials it was
// made from, when it expires, the console session's end, and an id under
// which login records it as used (until it expires: single use).
type sealedSignin struct {
	ID             string        `json:"id"`
	Expires        time.Time     `json:"e"`
	ConsoleExpires time.Time     `json:"ce"`
	Session        sealedSession `json:"s"`
	SessionToken   string        `json:"t"`
}
