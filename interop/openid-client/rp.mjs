// An independent relying party against the broker's OpenID Provider for
// apps: panva's openid-client (OpenID Certified), driven step by step.
// interop/openidclient_test.go starts the OP and runs this script with:
//
//   ISSUER                       the broker's issuer (http loopback)
//   CONFIDENTIAL_ID, CONFIDENTIAL_SECRET, CONFIDENTIAL_REDIRECT
//                                a client_secret_basic client
//   PUBLIC_ID, PUBLIC_REDIRECT   a public client (PKCE only)
//   EXPECT_SUB                   the person's sub (PROVIDER:SUBJECT)
//
// Each step prints one JSON line {"step", "ok", ...}; the first failure
// prints {"step", "ok": false, "error"} and exits 1. No token is printed.
import * as client from 'openid-client';

const env = (name) => {
  const v = process.env[name];
  if (!v) fail('env', `${name} is not set`);
  return v;
};

function fail(step, message) {
  console.log(JSON.stringify({ step, ok: false, error: message }));
  process.exit(1);
}

function ok(step, details = {}) {
  console.log(JSON.stringify({ step, ok: true, ...details }));
}

// why is an error's message with its cause's (openid-client wraps
// oauth4webapi's precise message as the cause) and the OAuth error code
// when the OP sent one.
function why(err) {
  let m = `${err?.message ?? err}`;
  if (err?.cause?.message && err.cause.message !== m) m += `: ${err.cause.message}`;
  if (err?.error) m += ` (${err.error}${err.error_description ? ': ' + err.error_description : ''})`;
  return m;
}

// step runs fn; any exception fails the step with why.
async function step(name, fn) {
  try {
    const details = await fn();
    ok(name, details);
  } catch (err) {
    fail(name, why(err));
  }
}

// refused runs fn, which must throw; returns what was thrown.
async function refused(fn, what) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error(`${what} was accepted`);
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const issuer = new URL(env('ISSUER'));
const expectSub = env('EXPECT_SUB');
const timeout = 5; // seconds, per HTTP request the library makes

// authorize plays the browser: GET the authorization URL and follow the
// redirects within the OP (its login bridge and callback) until one
// points at the client's redirect URI, which is never fetched.
async function authorize(authURL, redirectURI) {
  let next = authURL;
  for (let i = 0; i < 10; i++) {
    const res = await fetch(next, { redirect: 'manual', signal: AbortSignal.timeout(timeout * 1000) });
    await res.arrayBuffer();
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !loc) {
      throw new Error(`the OP answered ${res.status} at ${new URL(next).pathname}, not a redirect`);
    }
    const u = new URL(loc, next);
    if (u.href.startsWith(redirectURI)) {
      check(u.origin + u.pathname === redirectURI, `redirected to ${u.origin + u.pathname}, not exactly ${redirectURI}`);
      return u;
    }
    check(u.origin === issuer.origin, `redirected off the OP to ${u.origin}`);
    next = u;
  }
  throw new Error('too many redirects before the client redirect URI');
}

async function discover(clientId, auth, secret) {
  return client.discovery(issuer, clientId, secret, auth, { execute: [client.allowInsecureRequests], timeout });
}

function decodePart(jwt, i) {
  return JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString());
}

// ---- the confidential client (client_secret_basic) ----

const confRedirect = env('CONFIDENTIAL_REDIRECT');
let conf;
await step('discovery', async () => {
  conf = await discover(env('CONFIDENTIAL_ID'), client.ClientSecretBasic(), env('CONFIDENTIAL_SECRET'));
  const m = conf.serverMetadata();
  check(m.issuer === issuer.href.replace(/\/$/, ''), `issuer ${m.issuer}`);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'revocation_endpoint', 'introspection_endpoint', 'end_session_endpoint']) {
    check(typeof m[k] === 'string' && m[k].startsWith(issuer.origin + '/'), `${k} ${m[k]}`);
  }
  check(m.code_challenge_methods_supported?.includes('S256'), `code_challenge_methods_supported ${m.code_challenge_methods_supported}`);
  check(!m.response_types_supported?.some((t) => t !== 'code'), `response_types_supported ${m.response_types_supported}`);
  return { issuer: m.issuer };
});

const verifier = client.randomPKCECodeVerifier();
const nonce = client.randomNonce();
// A state with characters that need encoding: it must come back untouched.
const state = client.randomState() + ' é&x=1/?';
let callback;
await step('authorize', async () => {
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: confRedirect,
    scope: 'openid email profile groups offline_access aws:roles',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  callback = await authorize(url, confRedirect);
  check(callback.searchParams.get('code'), `no code in the redirect (error ${callback.searchParams.get('error')})`);
  return {};
});

await step('state_tampered_rejected', async () => {
  const err = await refused(() => client.authorizationCodeGrant(conf, callback,
    { expectedState: state + 'x', expectedNonce: nonce, pkceCodeVerifier: verifier }), 'a tampered state');
  check(/"state" response parameter value/.test(why(err)), `refused for another reason: ${why(err)}`);
  return { error: why(err) };
});

let tokens, claims;
await step('code_grant', async () => {
  tokens = await client.authorizationCodeGrant(conf, callback,
    { expectedState: state, expectedNonce: nonce, pkceCodeVerifier: verifier, idTokenExpected: true });
  claims = tokens.claims();
  check(claims.sub === expectSub, `sub ${claims.sub}, want ${expectSub}`);
  check(claims.nonce === nonce, 'nonce not echoed');
  check(claims.email && claims.name, `email/name missing: ${JSON.stringify(Object.keys(claims))}`);
  check(Array.isArray(claims.groups) && claims.groups.length > 0, 'groups missing');
  check(Array.isArray(claims.aws_roles) && claims.aws_roles.length > 0, 'aws_roles missing');
  check(tokens.refresh_token, 'no refresh token for offline_access');
  check(tokens.token_type?.toLowerCase() === 'bearer', `token_type ${tokens.token_type}`);
  const hdr = decodePart(tokens.id_token, 0);
  check(hdr.alg === 'RS256' && hdr.kid, `ID token header ${JSON.stringify(hdr)}`);
  return { sub: claims.sub, aud: claims.aud, alg: hdr.alg, groups: claims.groups.length, aws_roles: claims.aws_roles.length };
});

await step('userinfo', async () => {
  const ui = await client.fetchUserInfo(conf, tokens.access_token, claims.sub);
  check(ui.email === claims.email, `userinfo email ${ui.email}`);
  await refused(() => client.fetchUserInfo(conf, tokens.access_token, 'someone:else'), 'userinfo for another subject');
  return { sub: ui.sub };
});

await step('introspection_active', async () => {
  const r = await client.tokenIntrospection(conf, tokens.access_token);
  check(r.active === true, 'a live access token is inactive');
  check(r.sub === expectSub, `introspection sub ${r.sub}`);
  return { active: r.active, client_id: r.client_id };
});

let refreshed;
await step('refresh_rotation', async () => {
  refreshed = await client.refreshTokenGrant(conf, tokens.refresh_token);
  check(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token was not rotated');
  check(refreshed.access_token && refreshed.access_token !== tokens.access_token, 'no new access token');
  if (refreshed.id_token) check(refreshed.claims().sub === expectSub, 'refreshed ID token for another subject');
  return { rotated: true, id_token: Boolean(refreshed.id_token) };
});

await step('revocation', async () => {
  check((await client.tokenIntrospection(conf, refreshed.access_token)).active === true, 'the refreshed access token is inactive');
  await client.tokenRevocation(conf, refreshed.access_token, { token_type_hint: 'access_token' });
  const r = await client.tokenIntrospection(conf, refreshed.access_token);
  check(r.active === false, 'a revoked access token is still active');
  return { active: r.active };
});

await step('refresh_reuse_refused', async () => {
  const err = await refused(() => client.refreshTokenGrant(conf, tokens.refresh_token), 'a rotated refresh token');
  check(err.error === 'invalid_grant', `refused with ${why(err)}, want invalid_grant`);
  // Reuse detection: the whole family is revoked, the newest token too.
  await refused(() => client.refreshTokenGrant(conf, refreshed.refresh_token), 'the newest refresh token after a reuse');
  return { error: err.error };
});

// ---- the public client (PKCE, no secret) ----

const pubRedirect = env('PUBLIC_REDIRECT');
let pub;
await step('public_discovery', async () => {
  pub = await discover(env('PUBLIC_ID'), client.None());
  return {};
});

await step('public_code_grant', async () => {
  const v = client.randomPKCECodeVerifier();
  const n = client.randomNonce();
  const s = client.randomState();
  const url = client.buildAuthorizationUrl(pub, {
    redirect_uri: pubRedirect, scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(v), code_challenge_method: 'S256', state: s, nonce: n,
  });
  const cb = await authorize(url, pubRedirect);
  const t = await client.authorizationCodeGrant(pub, cb, { expectedState: s, expectedNonce: n, pkceCodeVerifier: v, idTokenExpected: true });
  const c = t.claims();
  check(c.sub === expectSub, `sub ${c.sub}, want ${expectSub}`);
  check([].concat(c.aud).includes(env('PUBLIC_ID')), `aud ${c.aud}`);
  const ui = await client.fetchUserInfo(pub, t.access_token, c.sub);
  check(ui.email, 'userinfo email missing');
  return { sub: c.sub, aud: c.aud };
});

await step('public_pkce_mismatch_refused', async () => {
  const v = client.randomPKCECodeVerifier();
  const s = client.randomState();
  const url = client.buildAuthorizationUrl(pub, {
    redirect_uri: pubRedirect, scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(v), code_challenge_method: 'S256', state: s,
  });
  const cb = await authorize(url, pubRedirect);
  const err = await refused(() => client.authorizationCodeGrant(pub, cb,
    { expectedState: s, pkceCodeVerifier: client.randomPKCECodeVerifier() }), 'a wrong PKCE verifier');
  check(err.error === 'invalid_grant', `refused with ${why(err)}, want invalid_grant`);
  return { error: err.error };
});

ok('done');
