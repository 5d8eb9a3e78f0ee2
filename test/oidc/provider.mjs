// A real OpenID Provider for the API server's OIDC tests: the npm package
// oidc-provider (pinned in test/package.json) on a loopback port, with one
// static confidential client and the package's development login and
// consent pages (any login name is accepted; its groups come from
// GROUPS, comma separated).
//
//   node test/oidc/provider.mjs PORT REDIRECT_URI [CLIENT_SECRET]
//
// Prints "oidc ready <issuer>" when it serves. Its signing key is made
// fresh at every start. With FORGE_JWKS=1 its JWKS document publishes a
// different key under the same kid, so every ID token it issues is signed
// by a key the relying party was not given (the test of a forged token);
// with FORGE_JWKS=kid it publishes only a different key under another kid
// (the ID tokens' kid is unknown to the relying party even after a refetch);
// with FORGE_JWKS=empty its JWKS answer is 200 with an empty body.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const [port, redirectUri, secret = 'berth-client-secret'] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const groups = (process.env.GROUPS || 'berth-admins').split(',');

const rsaJwk = (kp) => kp.privateKey.export({ format: 'jwk' });
const kid = `k-${crypto.randomBytes(6).toString('hex')}`; // new per start: a restart is a key rotation
const signing = { ...rsaJwk(crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })), kid, alg: 'RS256', use: 'sig' };
const decoy = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  jwks: { keys: [signing] },
  clients: [{
    client_id: 'berth',
    client_secret: secret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  scopes: ['openid', 'email', 'groups'],
  claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
  conformIdTokenClaims: false, // put the scopes' claims in the ID token itself
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() { return { sub: id, email: `${id}@example.test`, groups }; },
  }),
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
});

const handler = provider.callback();
http.createServer((req, res) => {
  const forge = process.env.FORGE_JWKS;
  if (forge === 'empty' && req.url === '/jwks') {
    res.end();
    return;
  }
  if (forge && req.url === '/jwks') {
    res.setHeader('Content-Type', 'application/jwk-set+json');
    res.end(JSON.stringify({ keys: [{ ...decoy, kid: forge === 'kid' ? `${kid}-other` : kid, alg: 'RS256', use: 'sig' }] }));
    return;
  }
  handler(req, res);
}).listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc ready ${issuer}`);
});
