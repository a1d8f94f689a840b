package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/broker-dev/broker/app"
)

// runIDPMetadata is `broker idp-metadata --config FILE [-o OUT]`: the
// broker's SAML IdP metadata, as /idp/saml/metadata serves it, to upload
// to each account's IAM SAML provider (again before its validUntil,
// which IAM records as the provider's expiry). The date goes to stderr.
func runIDPMetadata(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("idp-metadata", stderr)
	path := fs.String("config", "", "config file (YAML) with issuer.saml.key")
	out := fs.String("o", "", "write the metadata to this file instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(stderr, "broker idp-metadata: --config is required")
		return usageError{"missing --config"}
	}
	cfg, _, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	md, validUntil, err := app.IDPMetadata(cfg, nil)
	if err != nil {
		return err
	}
	if *out == "" {
		if _, err := stdout.Write(md); err != nil {
			return err
		}
	} else if err := os.WriteFile(*out, md, 0o644); err != nil { // public: certificates only
		return err
	}
	target := *out
	if target == "" {
		target = "broker-idp.xml"
	}
	fmt.Fprintf(stderr, "validUntil %s: IAM records it as the SAML provider's expiry; upload again before then.\n"+
		"  aws iam update-saml-provider --saml-provider-arn arn:aws:iam::ACCOUNT:saml-provider/%s --saml-metadata-document file://%s\n",
		validUntil.Format(time.RFC3339), cfg.Issuer.SAML.ProviderName, target)
	return nil
}
