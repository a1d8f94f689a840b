package simplesamlphp

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
)

// samlMessage is what the tests read of a SAML protocol message (by local
// name: a Response, LogoutRequest or LogoutResponse). It is for assertions
// about what the peers sent each other, never for trusting anything.
type samlMessage struct {
	XMLName     xml.Name
	ID          string `xml:"ID,attr"`
	Destination string `xml:"Destination,attr"`
	InResponse  string `xml:"InResponseTo,attr"`
	Issuer      string `xml:"Issuer"`
	Signed      bool   `xml:"-"` // an XML signature inside, or a Redirect-binding signature
	SigAlg      string `xml:"-"` // the Redirect binding's SigAlg
	NameID      struct {
		Format string `xml:"Format,attr"`
		Value  string `xml:",chardata"`
	} `xml:"NameID"`
	SessionIndex string `xml:"SessionIndex"`
	Status       struct {
		Code struct {
			Value string `xml:"Value,attr"`
		} `xml:"StatusCode"`
	} `xml:"Status"`
	Assertion struct {
		Subject struct {
			NameID struct {
				Format string `xml:"Format,attr"`
				Value  string `xml:",chardata"`
			} `xml:"NameID"`
		} `xml:"Subject"`
		AuthnStatement struct {
			SessionIndex string `xml:"SessionIndex,attr"`
		} `xml:"AuthnStatement"`
	} `xml:"Assertion"`
}

const statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"

// decode reads the SAML message named param (SAMLRequest or SAMLResponse)
// that hop h carried: from the query (HTTP-Redirect: base64 of DEFLATE) or
// the posted form (HTTP-POST: base64). ok is false if h carries none.
func decode(t *testing.T, h hop, param string) (m samlMessage, ok bool) {
	t.Helper()
	var raw []byte
	switch {
	case h.Method == http.MethodGet && h.URL.Query().Get(param) != "":
		q := h.URL.Query()
		b, err := base64.StdEncoding.DecodeString(q.Get(param))
		if err != nil {
			t.Fatalf("%s in %s: %v", param, h.URL.Path, err)
		}
		if raw, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 1<<20)); err != nil {
			t.Fatalf("%s in %s: inflate: %v", param, h.URL.Path, err)
		}
		m.Signed, m.SigAlg = q.Get("Signature") != "", q.Get("SigAlg")
	case h.Method == http.MethodPost && h.Form.Get(param) != "":
		var err error
		if raw, err = base64.StdEncoding.DecodeString(h.Form.Get(param)); err != nil {
			t.Fatalf("%s posted to %s: %v", param, h.URL.Path, err)
		}
	default:
		return m, false
	}
	if err := xml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s to %s: %v", param, h.URL.Path, err)
	}
	if strings.Contains(string(raw), "SignatureValue>") {
		m.Signed = true
	}
	return m, true
}

// sent returns the first hop of the last navigation to a URL starting with
// prefix that carried param, and the message.
func (b *browser) sent(prefix, param string) (hop, samlMessage, bool) {
	b.t.Helper()
	for _, h := range b.hops {
		if !strings.HasPrefix(h.URL.String(), prefix) {
			continue
		}
		if m, ok := decode(b.t, h, param); ok {
			return h, m, true
		}
	}
	return hop{}, samlMessage{}, false
}
