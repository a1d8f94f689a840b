package app

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
)

// auditMetadataChange writes a change of an IdP's metadata to the audit
// log: which provider, and the signing key fingerprints before and after.
// A failure is logged; the new metadata is in use either way.
func (a *App) auditMetadataChange(ctx context.Context, c saml.MetadataChange) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg := "The identity provider's metadata changed; its signing keys did not."
	if c.KeysChanged() {
		msg = "The identity provider's signing keys changed."
	}
	e := &store.AuditEvent{
		Event: saml.EventMetadataChanged, Result: store.ResultSuccess, Provider: c.Provider, Message: msg,
		Details: map[string]string{
			"provider": c.Provider, "entity_id": c.EntityID, "source": c.Source,
			"keys_before": strings.Join(c.KeysBefore, ","), "keys_after": strings.Join(c.KeysAfter, ","),
			"keys_changed": strconv.FormatBool(c.KeysChanged()),
		},
	}
	if err := a.st.AppendAudit(ctx, e); err != nil {
		a.log.WarnContext(ctx, "audit the IdP metadata change", "provider", c.Provider, "err", err)
	}
}
