package saml

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/broker-dev/broker"
)

// modes are the two ways a provider is set up: the broker's own SP app at
// the IdP (broker-issued roles), and the IdP's AWS app, whose Response the
// broker forwards to AWS as it came (pass-through).
var modes = []struct {
	name string
	cfg  func(*Config)
	resp resp
}{
	{"broker-issued", nil, resp{}},
	{"pass-through", func(c *Config) {
		c.PassThrough = true
		c.Audiences = []string{"urn:amazon:webservices"}
		c.Recipients = []string{"https://signin.aws.amazon.com/saml"}
	}, resp{audiences: []string{"urn:amazon:webservices"}, recipient: "https://signin.aws.amazon.com/saml"}},
}

// forged is an assertion for someone else, spelled with tag (prefix:local or
// local) and declaring its namespace as decl (an xmlns attribute) says.
func forged(tag, declKey, declValue string) *etree.Element {
	a := etree.NewElement(tag)
	a.CreateAttr(declKey, declValue)
	a.CreateAttr("ID", "_forged")
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", t0.Format("2006-01-02T15:04:05Z"))
	q := func(local string) string {
		if a.Space == "" {
			return local
		}
		return a.Space + ":" + local
	}
	a.CreateElement(q("Issuer")).SetText(idpEntity)
	a.CreateElement(q("Subject")).CreateElement(q("NameID")).SetText("admin@example.com")
	return a
}

const samlNS = "urn:oasis:names:tc:SAML:2.0:assertion"

// firstChild returns el's first child element named local (any prefix).
func firstChild(tb testing.TB, el *etree.Element, local string) *etree.Element {
	tb.Helper()
	for _, c := range el.ChildElements() {
		if c.Tag == local {
			return c
		}
	}
	tb.Fatalf("<%s> has no <%s>", el.Tag, local)
	return nil
}

// extensions inserts a samlp:Extensions after the Response's Issuer.
func extensions(r *etree.Element) *etree.Element {
	ext := etree.NewElement("samlp:Extensions")
	r.InsertChildAt(1, ext)
	return ext
}

// TestHiddenAssertionsRefused: a second assertion behind any legal spelling,
// wherever it sits, is refused in both modes, with every signature valid,
// so the count on the parsed tree is what refuses it; the simulator's
// parser counts the same way.
func TestHiddenAssertionsRefused(t *testing.T) {
	p := newTestIdP(t, t0)
	cases := []struct {
		name   string
		edit   func(*resp)
		reason string
	}{
		{"second assertion, other prefix", func(r *resp) {
			r.editResponse = func(root *etree.Element) { root.AddChild(forged("a:Assertion", "xmlns:a", samlNS)) }
		}, "multiple_assertions"},
		{"second assertion, default namespace", func(r *resp) {
			r.editResponse = func(root *etree.Element) { root.AddChild(forged("Assertion", "xmlns", samlNS)) }
		}, "multiple_assertions"},
		{"second assertion first", func(r *resp) {
			r.editResponse = func(root *etree.Element) { root.InsertChildAt(1, forged("s2:Assertion", "xmlns:s2", samlNS)) }
		}, "multiple_assertions"},
		{"inside Extensions", func(r *resp) {
			r.editResponse = func(root *etree.Element) { extensions(root).AddChild(forged("saml:Assertion", "xmlns:saml", samlNS)) }
		}, "multiple_assertions"},
		{"inside the assertion's Advice", func(r *resp) {
			r.editAssertion = func(a *etree.Element) {
				adv := etree.NewElement(a.Space + ":Advice")
				adv.AddChild(forged("x:Assertion", "xmlns:x", samlNS))
				a.InsertChildAt(3, adv)
			}
		}, "multiple_assertions"},
		{"inside an attribute value", func(r *resp) {
			r.attrs = map[string][]string{"groups": {"eng"}}
			r.editAssertion = func(a *etree.Element) {
				v := a.FindElement(".//AttributeValue")
				v.SetText("")
				v.AddChild(forged("Assertion", "xmlns", samlNS))
			}
		}, "multiple_assertions"},
		{"EncryptedAssertion beside it", func(r *resp) {
			r.editResponse = func(root *etree.Element) {
				enc := root.CreateElement("e:EncryptedAssertion")
				enc.CreateAttr("xmlns:e", samlNS)
				enc.CreateElement("xenc:EncryptedData").CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
			}
		}, "multiple_assertions"},
		{"in the Signature's Object (not covered by the signature)", func(r *resp) {
			r.afterSign = func(root *etree.Element) {
				obj := firstChild(t, root, "Signature").CreateElement("ds:Object")
				obj.AddChild(forged("saml:Assertion", "xmlns:saml", samlNS))
			}
		}, "multiple_assertions"},
		{"in an unknown wrapper", func(r *resp) {
			r.editResponse = func(root *etree.Element) {
				w := root.CreateElement("w:Wrapper")
				w.CreateAttr("xmlns:w", "urn:example:wrapper")
				w.AddChild(forged("Assertion", "xmlns", samlNS))
			}
		}, "multiple_assertions"},
		{"look-alike in the SAML 1.0 namespace", func(r *resp) {
			r.editResponse = func(root *etree.Element) {
				extensions(root).AddChild(forged("Assertion", "xmlns", "urn:oasis:names:tc:SAML:1.0:assertion"))
			}
		}, "multiple_assertions"},
		{"the only assertion moved into Extensions", func(r *resp) {
			r.editResponse = func(root *etree.Element) {
				a := firstChild(t, root, "Assertion")
				root.RemoveChild(a)
				extensions(root).AddChild(a)
			}
		}, "no_assertion"},
	}
	for _, m := range modes {
		for _, tc := range cases {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				sp, _ := newSP(t, p, m.cfg)
				r := m.resp
				tc.edit(&r)
				b64 := p.build(t, r)
				res, err := parse(t, sp, b64, "req-1")
				if res != nil || broker.ErrorCode(err) != broker.EUNAUTHORIZED || broker.ErrorReason(err) != tc.reason {
					t.Fatalf("accepted=%t, %v; want refused as %s", res != nil, err, tc.reason)
				}
				raw, _ := base64.StdEncoding.DecodeString(b64)
				_, err = ParseUnverified("p", string(raw))
				if got := broker.ErrorReason(err); got != "saml_assertion_count" && got != "saml_encrypted" {
					t.Errorf("simulator: %v, want saml_assertion_count or saml_encrypted", err)
				}
			})
		}
	}
}

// TestHiddenInsideEncryptedAssertion: the tree inspect reads cannot see
// inside an EncryptedAssertion; what crewjam decrypts is held to the same
// rules before its signature is verified.
func TestHiddenInsideEncryptedAssertion(t *testing.T) {
	p := newTestIdP(t, t0)
	spKP := newTestIdP(t, t0).kp
	withKey := func(c *Config) { c.Key, c.Certificate = spKP.Key, spKP.Certificate }
	cases := []struct {
		name   string
		r      resp
		reason string
	}{
		{"genuine, Response unsigned", resp{unsignedResp: true}, ""},
		{"genuine, both signed", resp{}, ""},
		{"second assertion in its Advice", resp{unsignedResp: true, editAssertion: func(a *etree.Element) {
			adv := etree.NewElement("saml:Advice")
			adv.AddChild(forged("Assertion", "xmlns", samlNS))
			a.InsertChildAt(3, adv)
		}}, "multiple_assertions"},
		{"second assertion in an attribute value, Response signed", resp{attrs: map[string][]string{"groups": {"eng"}}, editAssertion: func(a *etree.Element) {
			v := a.FindElement(".//AttributeValue")
			v.SetText("")
			v.AddChild(forged("x:Assertion", "xmlns:x", samlNS))
		}}, "multiple_assertions"},
		{"its ID repeated inside it", resp{unsignedResp: true, editAssertion: func(a *etree.Element) {
			firstChild(t, a, "Subject").CreateAttr("ID", a.SelectAttrValue("ID", ""))
		}}, "signature_structure"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, _ := newSP(t, p, withKey)
			r := tc.r
			r.encryptTo = spKP.Certificate
			res, err := parse(t, sp, p.build(t, r), "req-1")
			if tc.reason == "" {
				if err != nil || res.Identity.Subject != "alice@example.com" {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if res != nil || broker.ErrorReason(err) != tc.reason {
				t.Fatalf("accepted=%t, %v; want refused as %s", res != nil, err, tc.reason)
			}
		})
	}
}

// TestUnusualSpellingsAccepted: the checks read names by namespace, so a
// genuine assertion spelled without the usual prefix is still accepted.
func TestUnusualSpellingsAccepted(t *testing.T) {
	p := newTestIdP(t, t0)
	for _, m := range modes {
		for _, prefix := range []string{"-", "s2", "assertion"} {
			t.Run(m.name+"/"+prefix, func(t *testing.T) {
				sp, _ := newSP(t, p, m.cfg)
				r := m.resp
				r.prefix = prefix
				res, err := parse(t, sp, p.build(t, r), "req-1")
				if err != nil || res.Identity.Subject != "alice@example.com" {
					t.Fatalf("refused: %v", err)
				}
				if _, err := ParseUnverified("p", base64.StdEncoding.EncodeToString(res.ResponseXML)); err != nil {
					t.Errorf("simulator: %v", err)
				}
			})
		}
	}
}

// TestSignatureStructure: one Signature on each element the broker uses,
// one Reference to that element's ID, that ID unique in the document;
// anything else is refused before any signature is verified.
func TestSignatureStructure(t *testing.T) {
	p := newTestIdP(t, t0)
	reference := func(root *etree.Element) *etree.Element {
		return firstChild(t, firstChild(t, firstChild(t, root, "Signature"), "SignedInfo"), "Reference")
	}
	cases := []struct {
		name string
		edit func(*resp)
	}{
		{"Reference to the Assertion from the Response's Signature", func(r *resp) {
			r.afterSign = func(root *etree.Element) {
				reference(root).CreateAttr("URI", "#"+firstChild(t, root, "Assertion").SelectAttrValue("ID", ""))
			}
		}},
		{"empty Reference URI (the whole document)", func(r *resp) {
			r.afterSign = func(root *etree.Element) { reference(root).CreateAttr("URI", "") }
		}},
		{"two References", func(r *resp) {
			r.afterSign = func(root *etree.Element) {
				ref := reference(root)
				ref.Parent().AddChild(ref.Copy())
			}
		}},
		{"two SignedInfo", func(r *resp) {
			r.afterSign = func(root *etree.Element) {
				sig := firstChild(t, root, "Signature")
				sig.AddChild(firstChild(t, sig, "SignedInfo").Copy())
			}
		}},
		{"prefixed URI beside the real one", func(r *resp) {
			r.afterSign = func(root *etree.Element) {
				ref := reference(root)
				ref.CreateAttr("xmlns:x", "urn:example:x")
				ref.CreateAttr("x:URI", "#elsewhere")
			}
		}},
		{"two Signatures on the Response", func(r *resp) {
			r.afterSign = func(root *etree.Element) { root.InsertChildAt(1, firstChild(t, root, "Signature").Copy()) }
		}},
		{"a Signature inside Extensions", func(r *resp) {
			r.afterSign = func(root *etree.Element) {
				extensions(root).AddChild(firstChild(t, firstChild(t, root, "Assertion"), "Signature").Copy())
			}
		}},
		{"a Signature in another namespace", func(r *resp) {
			r.afterSign = func(root *etree.Element) {
				root.CreateElement("x:Signature").CreateAttr("xmlns:x", "urn:example:x")
			}
		}},
		{"the signed Response's ID repeated on another element", func(r *resp) {
			r.afterSign = func(root *etree.Element) {
				firstChild(t, root, "Status").CreateAttr("ID", root.SelectAttrValue("ID", ""))
			}
		}},
		{"the Assertion's ID as a prefixed attribute, signature intact", func(r *resp) {
			r.unsignedResp = true
			r.editResponse = func(root *etree.Element) {
				st := firstChild(t, root, "Status")
				st.CreateAttr("xmlns:y", "urn:example:y")
				st.CreateAttr("y:ID", firstChild(t, root, "Assertion").SelectAttrValue("ID", ""))
			}
		}},
		{"the Assertion's ID as a namespace declaration, signature intact", func(r *resp) {
			r.unsignedResp = true
			r.editResponse = func(root *etree.Element) {
				firstChild(t, root, "Status").CreateAttr("xmlns:ID", firstChild(t, root, "Assertion").SelectAttrValue("ID", ""))
			}
		}},
		{"signed Response without its ID", func(r *resp) {
			r.afterSign = func(root *etree.Element) { root.RemoveAttr("ID") }
		}},
	}
	for _, m := range modes {
		for _, tc := range cases {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				sp, _ := newSP(t, p, m.cfg)
				r := m.resp
				tc.edit(&r)
				res, err := parse(t, sp, p.build(t, r), "req-1")
				if res != nil || broker.ErrorCode(err) != broker.EUNAUTHORIZED || broker.ErrorReason(err) != "signature_structure" {
					t.Fatalf("accepted=%t, %v; want refused as signature_structure", res != nil, err)
				}
				if msg := broker.ErrorMessage(err); strings.Contains(msg, "<") || strings.Contains(msg, "Reference") {
					t.Errorf("message %q is not for the person", msg)
				}
			})
		}
	}
}

// TestXMLTheBrokerDoesNotRead: legal XML the broker does not read is refused
// (pass-through would forward it to a parser that may read it otherwise).
func TestXMLTheBrokerDoesNotRead(t *testing.T) {
	p := newTestIdP(t, t0)
	cases := []struct {
		name   string
		tamper func(string) string
		reason string
	}{
		{"comment inside the signed NameID", func(s string) string {
			return strings.Replace(s, "alice@example.com", "alice@<!---->example.com", 1)
		}, "xml_unsupported"},
		{"processing instruction inside", func(s string) string {
			return strings.Replace(s, "<samlp:Status>", "<?evil x?><samlp:Status>", 1)
		}, "xml_unsupported"},
		{"UTF-16 declared", func(s string) string { return `<?xml version="1.0" encoding="UTF-16"?>` + s }, "xml_unsupported"},
		{"undeclared prefix", func(s string) string {
			return strings.Replace(s, "<samlp:Status>", "<u:Extensions/><samlp:Status>", 1)
		}, "malformed_response"},
		{"repeated attribute", func(s string) string {
			return strings.Replace(s, `Version="2.0"`, `Version="2.0" Version="2.0"`, 1)
		}, "malformed_response"},
		{"not a Response", func(s string) string {
			return strings.NewReplacer("<samlp:Response ", "<samlp:ArtifactResponse ", "</samlp:Response>", "</samlp:ArtifactResponse>").Replace(s)
		}, "malformed_response"},
	}
	for _, m := range modes {
		for _, tc := range cases {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				sp, _ := newSP(t, p, m.cfg)
				r := m.resp
				r.tamper = tc.tamper
				res, err := parse(t, sp, p.build(t, r), "req-1")
				if res != nil || broker.ErrorReason(err) != tc.reason {
					t.Fatalf("accepted=%t, %v; want refused as %s", res != nil, err, tc.reason)
				}
			})
		}
	}
	// A UTF-8 byte order mark is legal and changes nothing.
	sp, _ := newSP(t, p, nil)
	if _, err := parse(t, sp, p.build(t, resp{tamper: func(s string) string { return "\ufeff" + s }}), "req-1"); err != nil {
		t.Fatalf("BOM: %v", err)
	}
}
