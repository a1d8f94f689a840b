package saml

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
)

func withKey(kp issuer.KeyPair, more ...func(*Config)) func(*Config) {
	return func(c *Config) {
		c.Key, c.Certificate = kp.Key, kp.Certificate
		for _, f := range more {
			f(c)
		}
	}
}

func allowCBC(c *Config) {
	c.EncryptionAlgorithms = append(append([]string{}, DefaultEncryptionAlgorithms...), AES128CBC, AES192CBC, AES256CBC)
}

// flipCipherValue changes one byte of the last CipherValue under el (the
// EncryptedData's own), keeping it base64.
func flipCipherValue(tb testing.TB, el *etree.Element) {
	tb.Helper()
	cvs := el.FindElements(".//EncryptedData/CipherData/CipherValue")
	if len(cvs) == 0 {
		tb.Fatal("no CipherValue")
	}
	cv := cvs[len(cvs)-1]
	b, err := base64.StdEncoding.DecodeString(cv.Text())
	if err != nil {
		tb.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	cv.SetText(base64.StdEncoding.EncodeToString(b))
}

// encryptedAttribute is a saml:EncryptedAttribute holding groups=eng.
func encryptedAttribute(tb testing.TB, o encOpts) *etree.Element {
	tb.Helper()
	plain := `<saml:Attribute xmlns:saml="` + samlNS + `" Name="groups"><saml:AttributeValue>eng</saml:AttributeValue></saml:Attribute>`
	el := encryptBytes(tb, []byte(plain), o)
	el.Tag = "EncryptedAttribute"
	el.RemoveAttr("xmlns:saml")
	return el
}

// TestEncryptionAlgorithms: the allow-list is read on the parsed tree
// before anything is decrypted. RSA-OAEP and AES-GCM by default; AES-CBC
// only when listed and inside a Response whose signature crewjam verifies
// first; RSA-1.5 never.
func TestEncryptionAlgorithms(t *testing.T) {
	p := newTestIdP(t, t0)
	spKP := newTestIdP(t, t0).kp
	key := withKey(spKP)
	cbc := withKey(spKP, allowCBC)
	narrowed := withKey(spKP, func(c *Config) { c.EncryptionAlgorithms = []string{RSAOAEP, AES256GCM} })
	unsigned := resp{unsignedResp: true}
	withAttr := func(r resp, o encOpts) resp {
		r.editAssertion = func(a *etree.Element) {
			a.CreateElement("saml:AttributeStatement").AddChild(encryptedAttribute(t, o))
		}
		return r
	}
	cases := []struct {
		name   string
		cfg    func(*Config)
		r      resp
		o      encOpts
		reason string // "" for accepted
	}{
		{"RSA-OAEP-MGF1P, AES-128-GCM, Response unsigned", key, unsigned, encOpts{}, ""},
		{"RSA-OAEP-MGF1P, AES-192-GCM, Response unsigned", key, unsigned, encOpts{content: AES192GCM}, ""},
		{"RSA-OAEP-MGF1P, AES-256-GCM, Response unsigned", key, unsigned, encOpts{content: AES256GCM}, ""},
		{"RSA-OAEP (1.1, SHA-256), AES-256-GCM", key, unsigned, encOpts{keyTransport: RSAOAEP, content: AES256GCM}, ""},
		{"RSA-OAEP (1.1) in a narrowed list", narrowed, unsigned, encOpts{keyTransport: RSAOAEP, content: AES256GCM}, ""},
		{"AES-128-CBC listed, Response signed", cbc, resp{}, encOpts{content: AES128CBC}, ""},
		{"AES-192-CBC listed, only the Response signed", cbc, resp{unsignedAssert: true}, encOpts{content: AES192CBC}, ""},
		{"AES-256-CBC listed, Response signed", cbc, resp{}, encOpts{content: AES256CBC}, ""},

		{"RSA-1.5", key, unsigned, encOpts{keyTransport: RSA15}, ReasonEncryptionNotAllowed},
		{"RSA-1.5 in a signed Response with CBC listed", cbc, resp{}, encOpts{keyTransport: RSA15, content: AES128CBC}, ReasonEncryptionNotAllowed},
		{"AES-CBC not listed (the default)", key, resp{}, encOpts{content: AES256CBC}, ReasonEncryptionNotAllowed},
		{"AES-CBC listed, Response unsigned", cbc, unsigned, encOpts{content: AES128CBC}, ReasonCBCNeedsSignedResponse},
		{"AES-CBC listed, ciphertext changed after the Response was signed", cbc,
			resp{afterSign: func(r *etree.Element) { flipCipherValue(t, r) }}, encOpts{content: AES128CBC}, "signature_invalid"},
		{"AES-128-GCM outside a narrowed list", narrowed, unsigned, encOpts{keyTransport: RSAOAEP}, ReasonEncryptionNotAllowed},
		{"RSA-OAEP-MGF1P outside a narrowed list", narrowed, unsigned, encOpts{content: AES256GCM}, ReasonEncryptionNotAllowed},
		{"3DES", cbc, resp{}, encOpts{content: "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"}, ReasonEncryptionNotAllowed},
		{"key transport named as the content cipher", key, unsigned, encOpts{content: RSAOAEPMGF1P}, ReasonEncryptionNotAllowed},
		{"a content cipher named for key transport", key, unsigned, encOpts{keyTransport: AES128GCM}, ReasonEncryptionNotAllowed},

		// crewjam's xmlenc finds EncryptionMethod, KeyInfo and EncryptedKey
		// by local name: a look-alike in another namespace is refused, not
		// skipped.
		{"an EncryptionMethod look-alike before the real one", key, unsigned, encOpts{edit: func(ea *etree.Element) {
			m := etree.NewElement("x:EncryptionMethod")
			m.CreateAttr("xmlns:x", "urn:example:x")
			m.CreateAttr("Algorithm", AES128CBC)
			firstChild(t, ea, "EncryptedData").InsertChildAt(0, m)
		}}, ReasonDecryptFailed},
		{"an EncryptedKey under a KeyInfo look-alike", key, unsigned, encOpts{edit: func(ea *etree.Element) {
			data := firstChild(t, ea, "EncryptedData")
			ki := firstChild(t, data, "KeyInfo")
			fake := etree.NewElement("x:KeyInfo")
			fake.CreateAttr("xmlns:x", "urn:example:x")
			fake.AddChild(firstChild(t, ki, "EncryptedKey").Copy())
			data.InsertChildAt(ki.Index(), fake)
		}}, ReasonDecryptFailed},
		{"an EncryptionMethod Algorithm with a prefix", key, unsigned, encOpts{edit: func(ea *etree.Element) {
			m := firstChild(t, firstChild(t, ea, "EncryptedData"), "EncryptionMethod")
			m.RemoveAttr("Algorithm")
			m.CreateAttr("xenc:Algorithm", AES128GCM)
		}}, ReasonDecryptFailed},

		// Encrypted parts of an assertion meet the same policy: in a
		// plaintext assertion on the tree, in a decrypted one in the
		// verifier; CBC is covered there by the assertion's signature.
		{"CBC EncryptedAttribute in a plaintext assertion", key, resp{}, encOpts{}, ReasonEncryptionNotAllowed},
		{"CBC EncryptedAttribute in a signed plaintext assertion, CBC listed", cbc, unsigned, encOpts{}, ""},
		{"CBC EncryptedAttribute inside an encrypted assertion", key, unsigned, encOpts{}, ReasonEncryptionNotAllowed},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _ := newSP(t, p, tc.cfg)
			r, o := tc.r, tc.o
			r.assertionID = fmt.Sprintf("_enc%d", i)
			o.cert = spKP.Certificate
			attr := encOpts{content: AES128CBC, cert: spKP.Certificate}
			switch {
			case strings.HasPrefix(tc.name, "CBC EncryptedAttribute inside"):
				r = encryptAssertion(t, withAttr(r, attr), o, nil)
			case strings.HasPrefix(tc.name, "CBC EncryptedAttribute"):
				r = withAttr(r, attr)
			default:
				r = encryptAssertion(t, r, o, nil)
			}
			res, err := parse(t, sp, p.build(t, r), "req-1")
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if res.Identity.Subject != "alice@example.com" {
					t.Errorf("subject %q", res.Identity.Subject)
				}
				if strings.Contains(tc.name, "EncryptedAttribute") && strings.Join(res.Identity.Attributes["groups"], ",") != "eng" {
					t.Errorf("the encrypted attribute was not read: %v", res.Identity.Attributes)
				}
				return
			}
			if res != nil || broker.ErrorReason(err) != tc.reason || broker.ErrorCode(err) != broker.EUNAUTHORIZED {
				t.Fatalf("accepted=%t, %v; want refused as %s", res != nil, err, tc.reason)
			}
		})
	}
}

// TestDecryptionFailuresAreIndistinguishable: whatever makes decryption
// fail (key transport, tag, padding, length, base64, plaintext that is not
// XML, the EncryptedAssertion's structure, no key), the answer is
// byte-for-byte the same; only the log tells the causes apart.
func TestDecryptionFailuresAreIndistinguishable(t *testing.T) {
	p := newTestIdP(t, t0)
	spKP := newTestIdP(t, t0).kp
	stranger := newTestIdP(t, t0).kp
	key, cbc := withKey(spKP), withKey(spKP, allowCBC)
	unsigned := resp{unsignedResp: true}
	notXML := func([]byte) []byte { return []byte("\x00\x01 definitely not <XML") }
	cases := []struct {
		name  string
		cfg   func(*Config)
		r     resp
		o     encOpts
		plain func([]byte) []byte
		cause string // in the log
	}{
		{"key transport: encrypted to another certificate", key, unsigned, encOpts{cert: stranger.Certificate}, nil, "crypto/rsa: decryption error"},
		{"key transport: wrapped key modified", key, unsigned, encOpts{wrappedKey: func(b []byte) []byte { b[7] ^= 0x80; return b }}, nil, "crypto/rsa: decryption error"},
		{"key transport: wrapped key truncated", key, unsigned, encOpts{wrappedKey: func(b []byte) []byte { return b[:len(b)/2] }}, nil, "crypto/rsa: decryption error"},
		{"AES-GCM: tag wrong", key, unsigned, encOpts{ciphertext: func(b []byte) []byte { b[len(b)-1] ^= 1; return b }}, nil, "message authentication failed"},
		{"AES-GCM: ciphertext modified", key, unsigned, encOpts{content: AES256GCM, ciphertext: func(b []byte) []byte { b[20] ^= 1; return b }}, nil, "message authentication failed"},
		{"AES-GCM: ciphertext truncated", key, unsigned, encOpts{ciphertext: func(b []byte) []byte { return b[:20] }}, nil, "ciphertext too short"},
		{"AES-GCM: plaintext not XML", key, unsigned, encOpts{}, notXML, "xmlenc: decryption failed"},
		{"AES-CBC: padding wrong (Response signed)", cbc, resp{}, encOpts{content: AES128CBC, badPadding: true}, nil, "xmlenc: decryption failed"},
		{"AES-CBC: ciphertext not whole blocks (Response signed)", cbc, resp{}, encOpts{content: AES256CBC, ciphertext: func(b []byte) []byte { return b[:len(b)-3] }}, nil, "not a whole number of blocks"},
		{"AES-CBC: ciphertext truncated to the IV (Response signed)", cbc, resp{}, encOpts{content: AES256CBC, ciphertext: func(b []byte) []byte { return b[:16] }}, nil, "ciphertext too short"},
		{"AES-CBC: plaintext not XML (Response signed)", cbc, resp{}, encOpts{content: AES192CBC}, notXML, "xmlenc: decryption failed"},
		{"CipherValue not base64", key, unsigned, encOpts{edit: func(ea *etree.Element) {
			firstChild(t, firstChild(t, firstChild(t, ea, "EncryptedData"), "CipherData"), "CipherValue").SetText("!!not base64!!")
		}}, nil, "illegal base64"},
		{"no EncryptedKey", key, unsigned, encOpts{edit: func(ea *etree.Element) {
			data := firstChild(t, ea, "EncryptedData")
			data.RemoveChild(firstChild(t, data, "KeyInfo"))
		}}, nil, "no EncryptedKey"},
		{"two EncryptedData", key, unsigned, encOpts{edit: func(ea *etree.Element) {
			ea.AddChild(firstChild(t, ea, "EncryptedData").Copy())
		}}, nil, "2 EncryptedData"},
		{"no SP key configured", nil, unsigned, encOpts{}, nil, "no SP key"},
	}
	var first []byte
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _ := newSP(t, p, tc.cfg)
			o := tc.o
			if o.cert == nil {
				o.cert = spKP.Certificate
			}
			r := tc.r
			r.assertionID = fmt.Sprintf("_dec%d", i)
			res, err := parse(t, sp, p.build(t, encryptAssertion(t, r, o, tc.plain)), "req-1")
			if res != nil {
				t.Fatal("accepted")
			}
			answer := []byte(broker.ErrorCode(err) + "\n" + broker.ErrorReason(err) + "\n" + broker.ErrorMessage(err))
			if first == nil {
				first = answer
			}
			if !bytes.Equal(answer, first) {
				t.Errorf("answer\n%s\ndiffers from\n%s", answer, first)
			}
			if broker.ErrorCode(err) != broker.EUNAUTHORIZED || broker.ErrorReason(err) != ReasonDecryptFailed {
				t.Errorf("err = %v, want %s/%s", err, broker.EUNAUTHORIZED, ReasonDecryptFailed)
			}
			if !strings.Contains(err.Error(), tc.cause) {
				t.Errorf("the log line %q lacks the precise cause %q", err, tc.cause)
			}
			if strings.Contains(broker.ErrorMessage(err), tc.cause) {
				t.Errorf("the message shows the cause: %q", broker.ErrorMessage(err))
			}
		})
	}
}

// TestRequireEncryption: a plaintext assertion is refused when encryption
// is required, an encrypted one accepted.
func TestRequireEncryption(t *testing.T) {
	p := newTestIdP(t, t0)
	spKP := newTestIdP(t, t0).kp
	sp, _ := newSP(t, p, withKey(spKP, func(c *Config) { c.RequireEncryption = true }))
	for _, r := range []resp{{assertionID: "_p1"}, {assertionID: "_p2", unsignedResp: true}, {assertionID: "_p3", unsignedAssert: true}} {
		if _, err := parse(t, sp, p.build(t, r), "req-1"); broker.ErrorReason(err) != ReasonEncryptionRequired || broker.ErrorCode(err) != broker.EUNAUTHORIZED {
			t.Errorf("plaintext assertion: %v, want %s", err, ReasonEncryptionRequired)
		}
	}
	if _, err := parse(t, sp, p.build(t, resp{assertionID: "_e1", encryptTo: spKP.Certificate}), "req-1"); err != nil {
		t.Errorf("encrypted assertion refused: %v", err)
	}
	// Without require_encryption both are fine.
	sp, _ = newSP(t, p, withKey(spKP))
	if _, err := parse(t, sp, p.build(t, resp{assertionID: "_p4"}), "req-1"); err != nil {
		t.Errorf("plaintext assertion refused without require_encryption: %v", err)
	}
}

// TestPreviousSPKeys: during a rotation an assertion encrypted to the
// previous certificate still decrypts; the metadata offers only the
// current one.
func TestPreviousSPKeys(t *testing.T) {
	p := newTestIdP(t, t0)
	old, current, stranger := newTestIdP(t, t0).kp, newTestIdP(t, t0).kp, newTestIdP(t, t0).kp
	rotated, _ := newSP(t, p, withKey(current, func(c *Config) { c.PreviousKeys = []*rsa.PrivateKey{old.Key} }))
	notRotated, _ := newSP(t, p, withKey(current))
	cases := []struct {
		name    string
		sp      *ServiceProvider
		to      *x509.Certificate
		content string
		ok      bool
	}{
		{"to the current certificate", rotated, current.Certificate, AES256GCM, true},
		{"to the previous certificate", rotated, old.Certificate, AES128GCM, true},
		{"to a certificate the broker never had", rotated, stranger.Certificate, AES128GCM, false},
		{"to the previous certificate, without previous_sp_keys", notRotated, old.Certificate, AES128GCM, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := encryptAssertion(t, resp{unsignedResp: true, assertionID: fmt.Sprintf("_rot%d", i)}, encOpts{cert: tc.to, content: tc.content}, nil)
			res, err := parse(t, tc.sp, p.build(t, r), "req-1")
			if tc.ok && (err != nil || res.Identity.Subject != "alice@example.com") {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && broker.ErrorReason(err) != ReasonDecryptFailed {
				t.Fatalf("err = %v, want %s", err, ReasonDecryptFailed)
			}
		})
	}
	// crewjam's own encryption, with the certificate in the EncryptedKey's
	// KeyInfo, decrypts with the previous key too.
	if _, err := parse(t, rotated, p.build(t, resp{unsignedResp: true, assertionID: "_crewjam", encryptTo: old.Certificate}), "req-1"); err != nil {
		t.Errorf("crewjam-encrypted to the previous certificate: %v", err)
	}
	md, err := rotated.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte(base64.StdEncoding.EncodeToString(current.Certificate.Raw))) {
		t.Error("the current certificate is not in the metadata")
	}
	if bytes.Contains(md, []byte(base64.StdEncoding.EncodeToString(old.Certificate.Raw))) {
		t.Error("the previous certificate is in the metadata: IdPs would keep encrypting to it")
	}
}

// TestEncryptionConfig: settings New refuses.
func TestEncryptionConfig(t *testing.T) {
	p := newTestIdP(t, t0)
	kp := newTestIdP(t, t0).kp
	cases := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"RSA-1.5 listed", withKey(kp, func(c *Config) { c.EncryptionAlgorithms = []string{RSA15, AES128GCM} }), "never accepted"},
		{"an unknown algorithm", withKey(kp, func(c *Config) { c.EncryptionAlgorithms = []string{RSAOAEP, AES128GCM, "aes256-gcm"} }), "unknown"},
		{"3DES", withKey(kp, func(c *Config) {
			c.EncryptionAlgorithms = []string{RSAOAEP, "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"}
		}), "unknown"},
		{"no content encryption", withKey(kp, func(c *Config) { c.EncryptionAlgorithms = []string{RSAOAEP} }), "at least one"},
		{"no key transport", withKey(kp, func(c *Config) { c.EncryptionAlgorithms = []string{AES128GCM} }), "at least one"},
		{"require encryption without a key", func(c *Config) { c.RequireEncryption = true }, "need Key"},
		{"previous keys without a key", func(c *Config) { c.PreviousKeys = []*rsa.PrivateKey{kp.Key} }, "need Key"},
		{"the current key as a previous one", withKey(kp, func(c *Config) { c.PreviousKeys = []*rsa.PrivateKey{kp.Key} }), "current Key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := fixedNow(t0)
			cfg := Config{ID: "okta", MetadataURL: spMD, ACSURL: spACS, IDPMetadataXML: p.metadata(), Replay: newMemReplay(now), Now: now}
			tc.cfg(&cfg)
			if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
