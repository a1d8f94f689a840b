package localaws

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawCall posts (or GETs) an STS Query request and returns the response
// with its body read.
func rawCall(tb testing.TB, f *fixture, method string, form url.Values) (*http.Response, string) {
	tb.Helper()
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequestWithContext(tb.Context(), method, f.ts.URL+"/?"+form.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(tb.Context(), method, f.ts.URL+"/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, string(body)
}

func samlForm(f *fixture, tb testing.TB) url.Values {
	return url.Values{
		"Action": {"AssumeRoleWithSAML"}, "Version": {"2011-06-15"},
		"RoleArn": {roleAdmin}, "PrincipalArn": {testProvider}, "SAMLAssertion": {f.build(tb, f.spec())},
	}
}

// The success document, element by element, as STS sends it.
func TestRawSuccessShape(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			resp, body := rawCall(t, f, method, samlForm(f, t))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var doc struct {
				XMLName xml.Name
				Result  struct {
					Credentials struct {
						AccessKeyID                               string `xml:"AccessKeyId"`
						SecretAccessKey, SessionToken, Expiration string
					}
					AssumedRoleUser struct {
						Arn           string
						AssumedRoleID string `xml:"AssumedRoleId"`
					}
					Subject, SubjectType, Issuer, Audience, NameQualifier string
				} `xml:"AssumeRoleWithSAMLResult"`
				RequestID string `xml:"ResponseMetadata>RequestId"`
			}
			if err := xml.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("parse %s: %v", body, err)
			}
			if doc.XMLName.Space != stsXMLNS || doc.XMLName.Local != "AssumeRoleWithSAMLResponse" {
				t.Errorf("root = %+v", doc.XMLName)
			}
			if doc.Result.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com" ||
				!strings.HasSuffix(doc.Result.AssumedRoleUser.AssumedRoleID, ":alice@example.com") ||
				doc.Result.Subject != "alice@example.com" || doc.Result.SubjectType != "persistent" ||
				doc.Result.Issuer != testEntityID || doc.Result.Audience != awsSAMLURL || doc.Result.NameQualifier == "" ||
				!accessKeyRe.MatchString(doc.Result.Credentials.AccessKeyID) {
				t.Errorf("result = %+v", doc.Result)
			}
			for _, tag := range []string{"<AccessKeyId>", "<SecretAccessKey>", "<SessionToken>", "<Expiration>", "<AssumedRoleId>", "<Arn>"} {
				if !strings.Contains(body, tag) {
					t.Errorf("body lacks %s", tag)
				}
			}
			if exp, err := time.Parse(time.RFC3339, doc.Result.Credentials.Expiration); err != nil || !exp.Equal(f.clock.Now().Add(time.Hour)) {
				t.Errorf("Expiration %q: %v", doc.Result.Credentials.Expiration, err)
			}
			if doc.RequestID == "" || resp.Header.Get("x-amzn-RequestId") != doc.RequestID {
				t.Errorf("request id header %q, body %q", resp.Header.Get("x-amzn-RequestId"), doc.RequestID)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
		})
	}
}

func TestRawErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(v url.Values)
		status int
		code   string
		msg    string
	}{
		{"missing Action", func(v url.Values) { v.Del("Action") }, 400, codeMissingAction, "must contain the parameter Action"},
		{"unsupported Version", func(v url.Values) { v.Set("Version", "2011-06-16") }, 400, codeInvalidAction,
			"Could not find operation AssumeRoleWithSAML for version 2011-06-16"},
		{"missing Version", func(v url.Values) { v.Del("Version") }, 400, codeInvalidAction,
			"Could not find operation AssumeRoleWithSAML for version NO_VERSION_SPECIFIED"},
		{"unknown Action", func(v url.Values) { v.Set("Action", "GetFederationToken") }, 400, codeInvalidAction,
			"Could not find operation GetFederationToken"},
		{"missing parameters", func(v url.Values) { v.Del("RoleArn"); v.Del("PrincipalArn"); v.Del("SAMLAssertion") }, 400, codeValidation,
			"3 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"},
		{"parameter given twice", func(v url.Values) { v.Add("RoleArn", roleLong) }, 400, codeValidation, "given more than once"},
		{"DurationSeconds not a number", func(v url.Values) { v.Set("DurationSeconds", "1h") }, 400, codeValidation, "Member must be an integer"},
		{"PolicyArns with a gap", func(v url.Values) { v.Set("PolicyArns.member.2.arn", "arn:aws:iam::aws:policy/ReadOnlyAccess") }, 400, codeValidation,
			"without gaps"},
		{"body over 512 KiB", func(v url.Values) { v.Set("Padding", strings.Repeat("x", 600<<10)) }, 413, codeTooLarge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			form := samlForm(f, t)
			tt.edit(form)
			resp, body := rawCall(t, f, http.MethodPost, form)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			var doc struct {
				XMLName xml.Name
				Error   struct{ Type, Code, Message string }
				ReqID   string `xml:"RequestId"`
			}
			if err := xml.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("parse %s: %v", body, err)
			}
			if doc.XMLName.Space != stsXMLNS || doc.XMLName.Local != "ErrorResponse" || doc.Error.Type != "Sender" {
				t.Errorf("envelope = %+v type %q", doc.XMLName, doc.Error.Type)
			}
			if doc.Error.Code != tt.code || !strings.Contains(doc.Error.Message, tt.msg) {
				t.Errorf("error = %s: %q, want %s containing %q", doc.Error.Code, doc.Error.Message, tt.code, tt.msg)
			}
			if doc.ReqID == "" || resp.Header.Get("x-amzn-RequestId") != doc.ReqID {
				t.Errorf("request id header %q, body %q", resp.Header.Get("x-amzn-RequestId"), doc.ReqID)
			}
		})
	}
}

func TestIndexAndHealth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for path, want := range map[string]string{"/healthz": "ok", "/": roleAdmin} {
		resp, err := f.ts.Client().Get(f.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
}
