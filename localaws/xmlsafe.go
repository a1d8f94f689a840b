package localaws

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// Bounds on the XML this package parses.
const (
	maxXMLDepth  = 64
	maxXMLTokens = 200000
)

// errDTD is returned for documents carrying a DOCTYPE, an entity or any
// other markup declaration.
var errDTD = errors.New("XML with a DTD, DOCTYPE or entity declarations is not accepted")

// parseSafeXML parses data into an etree document after checking that it
// is UTF-8, well formed, has no DTD/DOCTYPE/entity declaration nor
// processing instruction other than the XML declaration, is not nested
// deeper than maxXMLDepth, and survives an encoding/xml round trip
// (mattermost/xml-roundtrip-validator, against namespace confusion).
func parseSafeXML(data []byte) (*etree.Document, error) {
	if err := scanXML(data); err != nil {
		return nil, err
	}
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("XML does not round-trip: %w", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("parse XML: %w", err)
	}
	if doc.Root() == nil {
		return nil, errors.New("XML has no root element")
	}
	return doc, nil
}

func scanXML(data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true // undefined entities are errors; CharsetReader nil: only UTF-8
	depth, tokens, roots := 0, 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("malformed XML: %w", err)
		}
		if tokens++; tokens > maxXMLTokens {
			return errors.New("XML has too many nodes")
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errDTD
		case xml.ProcInst:
			if t.Target != "xml" || tokens != 1 {
				return errors.New("XML processing instructions are not accepted")
			}
			if enc := procInstParam(string(t.Inst), "encoding"); enc != "" && !strings.EqualFold(enc, "utf-8") {
				return fmt.Errorf("XML encoding %q is not accepted; use UTF-8", enc)
			}
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			if depth++; depth > maxXMLDepth {
				return errors.New("XML is nested too deeply")
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("XML has text outside the root element")
			}
		}
	}
	if roots != 1 {
		return fmt.Errorf("XML must have exactly one root element, has %d", roots)
	}
	return nil
}

// procInstParam returns the value of param in an XML declaration's content.
func procInstParam(inst, param string) string {
	i := strings.Index(inst, param+"=")
	if i < 0 {
		return ""
	}
	v := inst[i+len(param)+1:]
	if len(v) < 2 || (v[0] != '"' && v[0] != '\'') {
		return ""
	}
	end := strings.IndexByte(v[1:], v[0])
	if end < 0 {
		return ""
	}
	return v[1 : end+1]
}

// XML namespaces.
const (
	nsSAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsSAML  = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig  = "http://www.w3.org/2000/09/xmldsig#"
)

// isElem reports whether el is the element {ns}local.
func isElem(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

// childElems returns el's direct children named {ns}local.
func childElems(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if isElem(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// oneChild returns the single direct child {ns}local: nil when there is
// none, an error when there are several.
func oneChild(el *etree.Element, ns, local string) (*etree.Element, error) {
	cs := childElems(el, ns, local)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	default:
		return nil, fmt.Errorf("%s has %d %s elements; at most one is allowed", el.Tag, len(cs), local)
	}
}

// textOf returns all character data directly inside el, comments skipped
// (so a comment cannot truncate a signed value), trimmed of surrounding
// white space. An element with child elements has no text value.
func textOf(el *etree.Element) (string, error) {
	var b strings.Builder
	for _, t := range el.Child {
		switch c := t.(type) {
		case *etree.CharData:
			b.WriteString(c.Data)
		case *etree.Element:
			return "", fmt.Errorf("%s must hold text, not elements", el.Tag)
		}
	}
	return strings.TrimSpace(b.String()), nil
}
