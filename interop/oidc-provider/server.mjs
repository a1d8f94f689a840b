// An independent OpenID Provider for the broker's interop test:
// panva's oidc-provider (OpenID Certified), with its development
// interactions (login and consent forms). Configured from the environment
// by interop/oidcprovider_test.go; listens on loopback only.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://localhost:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'broker',
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.com`, email_verified: true, name: id, groups: ['engineering', 'interop'] };
      },
    };
  },
  async issueRefreshToken(ctx, client, code) {
    return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
  },
  cookies: { keys: [process.env.COOKIE_KEY || 'interop-only-cookie-key'] },
  ttl: { IdToken: 3600, AccessToken: 3600, RefreshToken: 86400 },
});

// Errors go to stderr, which the test prints when it fails.
for (const ev of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error']) {
  provider.on(ev, (ctx, err) => console.error(`${ev}: ${err.stack || err}`));
}

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
