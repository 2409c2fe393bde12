import { lookup } from 'node:dns/promises';
import type { UpstreamPlan } from './routing/types.ts';

export interface Endpoint {
  address: string;
  port: number;
}

export interface OriginalDestination {
  address: string;
  port: number;
  family: 4 | 6;
}

export interface HostLookup {
  (host: string): Promise<string>;
  /** The answer when it is at hand without waiting (a fresh cache entry), else undefined. */
  cached?(host: string): string | undefined;
}

export class ResolveError extends Error {}

/** dns.lookup (the system resolver, /etc/hosts included), first answer. */
export const systemLookup: HostLookup = async (host) => (await lookup(host)).address;

/**
 * Caches answers briefly: getaddrinfo runs on libuv's small thread pool, and a lookup per request would cap
 * throughput. The TTL bounds how stale an answer can be (Envoy's DNS refresh defaults to 5 s).
 */
export function cachedLookup(inner: HostLookup, ttlMs = 5000, now: () => number = Date.now): HostLookup {
  const cache = new Map<string, { address: string; until: number }>();
  const cached = (host: string): string | undefined => {
    const hit = cache.get(host);
    return hit && hit.until > now() ? hit.address : undefined;
  };
  const lookup = async (host: string): Promise<string> => {
    const hit = cached(host);
    if (hit !== undefined) return hit;
    const address = await inner(host);
    if (cache.size > 1000) cache.clear();
    cache.set(host, { address, until: now() + ttlMs });
    return address;
  };
  return Object.assign(lookup, { cached });
}

/**
 * The endpoint for a plan when no lookup has to be awaited (original, static, or a cached DNS answer), else undefined.
 * The HTTP hot path uses it to forward in the same tick instead of through a chain of promises.
 */
export function resolvePlanNow(plan: UpstreamPlan, original: OriginalDestination, hostLookup: HostLookup, random = Math.random): Endpoint | undefined {
  if (plan.kind === 'original') return { address: original.address, port: original.port };
  if (plan.kind === 'static') {
    const endpoint = plan.endpoints[Math.floor(random() * plan.endpoints.length)];
    if (!endpoint) throw new ResolveError('no endpoints');
    return { address: endpoint.address, port: endpoint.port ?? original.port };
  }
  const address = hostLookup.cached?.(plan.host);
  return address === undefined ? undefined : { address, port: plan.port ?? original.port };
}

/** The address to connect to for a plan. DNS never falls back to the dialled IP: a failure is a failure (503). */
export async function resolvePlan(plan: UpstreamPlan, original: OriginalDestination, hostLookup: HostLookup, random = Math.random): Promise<Endpoint> {
  const now = resolvePlanNow(plan, original, hostLookup, random);
  if (now !== undefined || plan.kind !== 'dns') return now!;
  try {
    return { address: await hostLookup(plan.host), port: plan.port ?? original.port };
  } catch (error) {
    throw new ResolveError(`DNS lookup of ${plan.host} failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
