// Who a sidecar is: the projected ServiceAccount token it presents, checked by the API server (TokenReview with
// meshgate's audience) and remembered until it expires, so a reconnecting sidecar costs the API server nothing.
import { createHash } from 'node:crypto';

export const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** The answer of a TokenReview, reduced to what is checked. */
export interface ReviewAnswer {
  authenticated: boolean;
  username?: string | undefined;
  audiences?: string[] | undefined;
  error?: string | undefined;
}

export type Review = (token: string, audience: string) => Promise<ReviewAnswer>;

export interface Identity {
  namespace: string;
  serviceAccount: string;
}

/** Why a token was refused; the label of the failure counter. */
export type Refusal = 'missing' | 'unauthenticated' | 'audience' | 'not-service-account';

export type AuthResult =
  | { ok: true; identity: Identity }
  | { ok: false; refusal: Refusal; message: string }
  /** The API server could not be asked: neither the sidecar's fault nor a reason to cache. */
  | { ok: 'unavailable'; message: string };

export interface AuthOptions {
  audience: string;
  /** Entries kept at most (oldest dropped first): a flood of distinct tokens cannot grow memory. */
  maxEntries: number;
  /** Longest a positive answer is trusted even if the token lives longer (pod-bound tokens die with the pod). */
  maxTrustMs: number;
  /** How long a refusal is remembered, so a client retrying a bad token does not cost a review each time. */
  refusalTtlMs: number;
  /** TokenReviews in flight at most; past that a request is answered unavailable (503) rather than queued. */
  maxInFlight: number;
  now?: () => number;
}

interface Entry {
  result: Exclude<AuthResult, { ok: 'unavailable' }>;
  until: number;
}

/** The `exp` claim of a JWT, read without verifying: only used to bound how long an answer is cached. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** `system:serviceaccount:NS:NAME` → its namespace and name. */
export function serviceAccountOf(username: string | undefined): Identity | undefined {
  if (!username?.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const [namespace, name, extra] = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  return namespace && name && extra === undefined ? { namespace, serviceAccount: name } : undefined;
}

export class TokenAuthenticator {
  private readonly cache = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<AuthResult>>();
  private readonly now: () => number;
  reviews = 0;

  constructor(private readonly review: Review, private readonly options: AuthOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.cache.size;
  }

  async authenticate(token: string | undefined): Promise<AuthResult> {
    if (token === undefined || token === '') return { ok: false, refusal: 'missing', message: 'no bearer token' };
    // Keyed by a hash: the cache never holds a usable credential.
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.result;
    if (hit) this.cache.delete(key);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    if (this.pending.size >= this.options.maxInFlight) return { ok: 'unavailable', message: 'too many token reviews in flight' };
    const asked = this.ask(token, key).finally(() => this.pending.delete(key));
    this.pending.set(key, asked);
    return asked;
  }

  private async ask(token: string, key: string): Promise<AuthResult> {
    let answer: ReviewAnswer;
    try {
      this.reviews += 1;
      answer = await this.review(token, this.options.audience);
    } catch (error) {
      return { ok: 'unavailable', message: `TokenReview failed: ${(error as Error).message}` };
    }
    const now = this.now();
    const result = judge(answer, this.options.audience);
    const expiry = tokenExpiry(token);
    const until = result.ok
      ? Math.min(expiry ?? Number.POSITIVE_INFINITY, now + this.options.maxTrustMs)
      : now + this.options.refusalTtlMs;
    if (until > now) this.remember(key, { result, until });
    return result;
  }

  private remember(key: string, entry: Entry): void {
    if (this.cache.size >= this.options.maxEntries) {
      // Expired entries go first; if none, the oldest inserted (Map keeps insertion order).
      const now = this.now();
      for (const [k, e] of this.cache) if (e.until <= now) this.cache.delete(k);
      while (this.cache.size >= this.options.maxEntries) {
        const oldest = this.cache.keys().next().value;
        if (oldest === undefined) break;
        this.cache.delete(oldest);
      }
    }
    this.cache.set(key, entry);
  }
}

/** A TokenReview answer as an identity or a refusal. */
export function judge(answer: ReviewAnswer, audience: string): Exclude<AuthResult, { ok: 'unavailable' }> {
  if (!answer.authenticated) return { ok: false, refusal: 'unauthenticated', message: answer.error || 'token not authenticated' };
  // The API server echoes the audiences the token is valid for; one made for another audience is refused even
  // if the server's own audience check were off.
  if (answer.audiences !== undefined && !answer.audiences.includes(audience)) return { ok: false, refusal: 'audience', message: `token not issued for audience ${audience}` };
  const identity = serviceAccountOf(answer.username);
  if (!identity) return { ok: false, refusal: 'not-service-account', message: `${answer.username ?? 'user'} is not a service account` };
  return { ok: true, identity };
}
