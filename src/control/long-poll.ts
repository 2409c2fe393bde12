// The blocking-query half of delivery: parse how long a sidecar may wait, and hold the waiting requests per
// namespace until a new version or their deadline, within a fixed bound.

export const MAX_WAIT_MS = 5 * 60_000;

/**
 * `?wait=`: `30s`, `2m`, `500ms` or bare seconds, capped at `maxMs` (as Consul caps its blocking queries). Absent
 * means 0: answer at once. Returns an error message for anything else.
 */
export function parseWait(value: string | null, maxMs = MAX_WAIT_MS): { ms: number } | { error: string } {
  if (value === null || value === '') return { ms: 0 };
  const match = /^(\d{1,7})(ms|s|m)?$/.exec(value);
  if (!match) return { error: `wait must be a duration like 30s, 2m or 500ms, got ${JSON.stringify(value.slice(0, 40))}` };
  const n = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
  return { ms: Math.min(ms, maxMs) };
}

/** Up to 1/16 more wait, as Consul adds, so sidecars that connected together do not all return together. */
export function withJitter(ms: number, random = Math.random): number {
  return ms + Math.floor(random() * (ms / 16));
}

/** The version a client holds: `If-None-Match` with or without quotes or a weak prefix; `*` matches any. */
export function heldVersion(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const first = header.split(',')[0]?.trim() ?? '';
  const bare = first.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return bare === '' ? undefined : bare;
}

export interface Waiter {
  /** Called once: with true when the namespace has a new version, false at the deadline or on drain. */
  wake(changed: boolean): void;
}

/**
 * Waiters answered per turn of the event loop. Answering one starts a TLS write of the snapshot (its first 16 KB
 * record, encrypted at once); a namespace with thousands of sidecars answered in one go would hold the loop for
 * that long (~0.1 ms each), and health checks, informer events and other namespaces' requests with it.
 */
export const WAKE_BATCH = 256;

/** Waiting requests by namespace, at most `max` in all. */
export class WaiterSet {
  private readonly byNamespace = new Map<string, Set<Waiter>>();
  private count = 0;

  constructor(private readonly max: number, private readonly onCount: (n: number) => void = () => undefined) {}

  get size(): number {
    return this.count;
  }

  /** Adds a waiter; false when the limit is reached (the caller answers 503, never queues). */
  add(namespace: string, waiter: Waiter): boolean {
    if (this.count >= this.max) return false;
    let set = this.byNamespace.get(namespace);
    if (!set) this.byNamespace.set(namespace, (set = new Set()));
    set.add(waiter);
    this.count += 1;
    this.onCount(this.count);
    return true;
  }

  remove(namespace: string, waiter: Waiter): void {
    const set = this.byNamespace.get(namespace);
    if (!set?.delete(waiter)) return;
    this.count -= 1;
    if (set.size === 0) this.byNamespace.delete(namespace);
    this.onCount(this.count);
  }

  /**
   * Wakes every waiter of the namespace (changed) and forgets them at once; the first WAKE_BATCH are woken now, the
   * rest WAKE_BATCH per later turn of the event loop (setImmediate), in the order they came. Returns how many.
   */
  wakeNamespace(namespace: string, changed: boolean): number {
    const set = this.byNamespace.get(namespace);
    if (!set) return 0;
    this.byNamespace.delete(namespace);
    this.count -= set.size;
    this.onCount(this.count);
    const waiters = [...set];
    const wakeFrom = (start: number): void => {
      const end = Math.min(waiters.length, start + WAKE_BATCH);
      for (let i = start; i < end; i += 1) (waiters[i] as Waiter).wake(changed);
      if (end < waiters.length) setImmediate(wakeFrom, end);
    };
    wakeFrom(0);
    return waiters.length;
  }

  wakeAll(changed: boolean): void {
    for (const namespace of [...this.byNamespace.keys()]) this.wakeNamespace(namespace, changed);
  }
}
