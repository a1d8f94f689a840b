package saml

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/beevik/etree"
)

// encOpts describes an EncryptedAssertion the test builds by hand, so that
// each part (key transport, content cipher, padding, ciphertext) can be
// chosen or broken on purpose. The zero value is RSA-OAEP-MGF1P with
// AES-128-GCM.
type encOpts struct {
	keyTransport string // RSAOAEPMGF1P (default), RSAOAEP (SHA-256, MGF1-SHA-256) or RSA15
	content      string // AES128GCM (default) or any AES-GCM / AES-CBC URI
	cert         *x509.Certificate
	badPadding   bool                // CBC: a last byte that is no padding length
	ciphertext   func([]byte) []byte // edits IV or nonce || ciphertext || tag
	wrappedKey   func([]byte) []byte // edits the key transport ciphertext
	edit         func(ea *etree.Element)
}

var contentKeySize = map[string]int{AES128GCM: 16, AES192GCM: 24, AES256GCM: 32, AES128CBC: 16, AES192CBC: 24, AES256CBC: 32}

// encryptBytes returns a saml:EncryptedAssertion holding plain.
func encryptBytes(tb testing.TB, plain []byte, o encOpts) *etree.Element {
	tb.Helper()
	if o.keyTransport == "" {
		o.keyTransport = RSAOAEPMGF1P
	}
	if o.content == "" {
		o.content = AES128GCM
	}
	size, ok := contentKeySize[o.content]
	if !ok {
		size = 16 // another algorithm's name on AES-GCM: refused before decrypting
	}
	key := random(tb, size)
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	var ct []byte
	switch o.content {
	case AES128CBC, AES192CBC, AES256CBC:
		ct = cbcEncrypt(tb, block, plain, o.badPadding)
	default:
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			tb.Fatal(err)
		}
		nonce := random(tb, gcm.NonceSize())
		ct = gcm.Seal(nonce, nonce, plain, nil)
	}
	if o.ciphertext != nil {
		ct = o.ciphertext(ct)
	}
	wrapped := wrapKey(tb, key, o)
	if o.wrappedKey != nil {
		wrapped = o.wrappedKey(wrapped)
	}

	ea := etree.NewElement("saml:EncryptedAssertion")
	ea.CreateAttr("xmlns:saml", samlNS)
	data := ea.CreateElement("xenc:EncryptedData")
	data.CreateAttr("xmlns:xenc", nsXMLEnc)
	data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	data.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", o.content)
	ki := data.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", nsDSig)
	ek := ki.CreateElement("xenc:EncryptedKey")
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", o.keyTransport)
	if o.keyTransport == RSAOAEP {
		em.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256")
		mgf := em.CreateElement("xenc11:MGF")
		mgf.CreateAttr("xmlns:xenc11", "http://www.w3.org/2009/xmlenc11#")
		mgf.CreateAttr("Algorithm", "http://www.w3.org/2009/xmlenc11#mgf1sha256")
	}
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	data.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ct))
	if o.edit != nil {
		o.edit(ea)
	}
	return ea
}

// cbcEncrypt is XML Encryption's AES-CBC: IV || CBC(plain || padding),
// the padding's last byte its length (badPadding: 0, which no padding is).
func cbcEncrypt(tb testing.TB, block cipher.Block, plain []byte, badPadding bool) []byte {
	tb.Helper()
	bs := block.BlockSize()
	n := bs - len(plain)%bs
	padded := append(append([]byte{}, plain...), random(tb, n)...)
	padded[len(padded)-1] = byte(n)
	if badPadding {
		padded[len(padded)-1] = 0
	}
	iv := random(tb, bs)
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, padded)
	return append(iv, out...)
}

func wrapKey(tb testing.TB, key []byte, o encOpts) []byte {
	tb.Helper()
	pub := o.cert.PublicKey.(*rsa.PublicKey)
	var w []byte
	var err error
	switch o.keyTransport {
	case RSA15:
		w, err = rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	case RSAOAEP:
		w, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, nil)
	default: // rsa-oaep-mgf1p without a DigestMethod: SHA-1
		w, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func random(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

// encryptAssertion has r's (signed) assertion replaced, before the
// Response is signed, by an EncryptedAssertion that o builds from the
// assertion's bytes, which plain may change first.
func encryptAssertion(tb testing.TB, r resp, o encOpts, plain func([]byte) []byte) resp {
	tb.Helper()
	edit := r.editResponse
	r.editResponse = func(root *etree.Element) {
		a := firstChild(tb, root, "Assertion")
		idx := a.Index()
		root.RemoveChild(a)
		doc := etree.NewDocument()
		doc.SetRoot(a)
		b, err := doc.WriteToBytes()
		if err != nil {
			tb.Fatal(err)
		}
		if plain != nil {
			b = plain(b)
		}
		root.InsertChildAt(idx, encryptBytes(tb, b, o))
		if edit != nil {
			edit(root)
		}
	}
	return r
}
