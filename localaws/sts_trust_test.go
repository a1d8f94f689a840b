package localaws

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestAssumeRoleWithSAMLTrustPolicy(t *testing.T) {
	t.Parallel()
	runRejections(t, []rejection{
		{name: "explicit deny", role: roleDeny,
			code: codeAccessDenied, status: 403, msg: "Not authorized to perform sts:AssumeRoleWithSAML"},
		{name: "condition mismatch (saml:aud)", role: roleCond,
			code: codeAccessDenied, status: 403, msg: "Not authorized to perform sts:AssumeRoleWithSAML"},
		{name: "provider missing from the principal", role: roleOther,
			code: codeAccessDenied, status: 403, msg: "Not authorized to perform sts:AssumeRoleWithSAML"},
		{name: "session tags without sts:TagSession", role: roleNoTags,
			spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrTag+"team", "eng") },
			code: codeAccessDenied, status: 403, msg: "Not authorized to perform sts:TagSession"},
		{name: "source identity without sts:SetSourceIdentity", role: roleNoTags,
			spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrSourceID, "alice") },
			code: codeAccessDenied, status: 403, msg: "Not authorized to perform sts:SetSourceIdentity"},
		{name: "StringLike on saml:sub mismatch", role: roleLike,
			spec: func(_ *fixture, s *samlSpec) { s.NameID = "alice@evil.com" },
			code: codeAccessDenied, status: 403, msg: "Not authorized to perform sts:AssumeRoleWithSAML"},
		{name: "ForAnyValue on an eduPerson attribute mismatch", role: roleLike,
			spec: func(_ *fixture, s *samlSpec) { s.Attrs = withAttr(s.Attrs, attrAffiliation, "member", "student") },
			code: codeAccessDenied, status: 403, msg: "Not authorized to perform sts:AssumeRoleWithSAML"},
	})
}

func TestUnknownActionThroughTheSDK(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.sts.GetSessionToken(t.Context(), &sts.GetSessionTokenInput{})
	wantAPIError(t, err, codeInvalidAction, http.StatusBadRequest, "Could not find operation GetSessionToken for version 2011-06-15")
}
