import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenAuthenticator, judge, serviceAccountOf, tokenExpiry, type ReviewAnswer } from '../../../src/control/token-auth.ts';

const jwt = (claims: Record<string, unknown>): string => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const ok = (ns: string): ReviewAnswer => ({ authenticated: true, username: `system:serviceaccount:${ns}:sleep`, audiences: ['meshgate'] });
const options = { audience: 'meshgate', maxEntries: 100, maxTrustMs: 600_000, refusalTtlMs: 10_000, maxInFlight: 8 };

test('a TokenReview answer: service account identity, audience checked, anything else refused', () => {
  assert.deepEqual(judge(ok('team-a'), 'meshgate'), { ok: true, identity: { namespace: 'team-a', serviceAccount: 'sleep' } });
  assert.equal((judge({ authenticated: false, error: 'token expired' }, 'meshgate') as { refusal: string }).refusal, 'unauthenticated');
  assert.equal((judge({ ...ok('a'), audiences: ['https://kubernetes.default.svc'] }, 'meshgate') as { refusal: string }).refusal, 'audience');
  assert.equal((judge({ authenticated: true, username: 'alice', audiences: ['meshgate'] }, 'meshgate') as { refusal: string }).refusal, 'not-service-account');
  assert.equal(serviceAccountOf('system:serviceaccount:a:b:c'), undefined);
});

test('the exp claim bounds the cache; a token that is not a JWT has none', () => {
  assert.equal(tokenExpiry(jwt({ exp: 1_700_000_000 })), 1_700_000_000_000);
  assert.equal(tokenExpiry('garbage'), undefined);
  assert.equal(tokenExpiry('a.!!!.c'), undefined);
});

test('a positive answer is cached until the token expires, then asked again', async () => {
  let now = 1_000_000;
  let asked = 0;
  const auth = new TokenAuthenticator(async () => { asked += 1; return ok('a'); }, { ...options, now: () => now });
  const token = jwt({ exp: (now + 60_000) / 1000 });
  assert.equal((await auth.authenticate(token)).ok, true);
  now += 59_000;
  assert.equal((await auth.authenticate(token)).ok, true);
  assert.equal(asked, 1);
  now += 2_000;
  await auth.authenticate(token);
  assert.equal(asked, 2);
});

test('a refusal is cached briefly; missing tokens are refused without a review', async () => {
  let now = 0;
  let asked = 0;
  const auth = new TokenAuthenticator(async () => { asked += 1; return { authenticated: false }; }, { ...options, now: () => now });
  assert.equal((await auth.authenticate('forged')).ok, false);
  assert.equal((await auth.authenticate('forged')).ok, false);
  assert.equal(asked, 1);
  now += 10_001;
  await auth.authenticate('forged');
  assert.equal(asked, 2);
  assert.deepEqual(await auth.authenticate(undefined), { ok: false, refusal: 'missing', message: 'no bearer token' });
  assert.equal(asked, 2);
});

test('the cache is bounded: a flood of distinct tokens keeps at most maxEntries', async () => {
  const auth = new TokenAuthenticator(async () => ({ authenticated: false }), { ...options, maxEntries: 10 });
  for (let i = 0; i < 50; i += 1) await auth.authenticate(`t${i}`);
  assert.equal(auth.size, 10);
});

test('concurrent requests with one token share one review; too many reviews in flight is unavailable, not queued', async () => {
  let release: () => void = () => undefined;
  let asked = 0;
  const auth = new TokenAuthenticator(() => { asked += 1; return new Promise((r) => { release = () => r(ok('a')); }); }, { ...options, maxInFlight: 1 });
  const a = auth.authenticate('same');
  const b = auth.authenticate('same');
  const other = await auth.authenticate('other');
  assert.equal(other.ok, 'unavailable');
  release();
  assert.equal((await a).ok, true);
  assert.equal((await b).ok, true);
  assert.equal(asked, 1);
});

test('an API server error is unavailable (503) and not cached', async () => {
  let fail = true;
  const auth = new TokenAuthenticator(async () => { if (fail) throw new Error('connect ECONNREFUSED'); return ok('a'); }, options);
  const first = await auth.authenticate('t');
  assert.equal(first.ok, 'unavailable');
  fail = false;
  assert.equal((await auth.authenticate('t')).ok, true);
});
