import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ClusterState } from './cluster-state.ts';
import type { SnapshotCompiler } from './compile.ts';
import { namespaceView } from './visibility.ts';

/** Bodies smaller than this go uncompressed: under one packet, gzip saves nothing and costs CPU on both ends. */
export const GZIP_MIN_BYTES = 1400;

/**
 * One namespace's snapshot as served: its content-hash version and its bytes. A large body is kept only gzipped
 * (level 1: ~2 ms and ~20× smaller for a 1.6 MB snapshot), made once per version and shared by every sidecar; a
 * client that does not accept gzip (sidecars all do) gets it inflated on demand. 100 namespaces of 1.6 MB each
 * then hold ~8 MB, not 160 MB.
 */
export class ServedSnapshot {
  readonly version: string;
  /** Uncompressed length in bytes. */
  readonly size: number;
  private readonly raw: Buffer | undefined;
  private readonly gzipped: Buffer | undefined;

  /** `same`: an earlier snapshot with the same content, whose version and bytes are reused. */
  constructor(readonly namespace: string, body: Buffer, readonly generation: number, ownVersion?: string, same?: ServedSnapshot) {
    // The version is the content: equal snapshots (a change elsewhere that this namespace cannot see) keep
    // their version, so their sidecars are not woken. A ProxySnapshot carries its own content hash (`version`,
    // docs/snapshot.md): that is the ETag; anything else is hashed here.
    this.version = same?.version ?? ownVersion ?? createHash('sha256').update(body).digest('base64url').slice(0, 32);
    this.size = same?.size ?? body.length;
    if (same) {
      this.raw = same.raw;
      this.gzipped = same.gzipped;
    } else if (body.length >= GZIP_MIN_BYTES) this.gzipped = gzipSync(body, { level: 1 });
    else this.raw = body;
  }

  /** The JSON bytes. */
  body(): Buffer {
    return this.raw ?? gunzipSync(this.gzipped as Buffer);
  }

  /** The gzip of the body, or undefined when the body is too small to be worth compressing. */
  gzip(): Buffer | undefined {
    return this.gzipped;
  }
}

export interface SnapshotEvents {
  /** A namespace has a new version, however it was compiled (a refresh, or a request that found it stale). */
  published?(snapshot: ServedSnapshot): void;
  compiled?(namespace: string, seconds: number): void;
  failed?(namespace: string, error: Error): void;
}

/**
 * The snapshots of the namespaces whose sidecars have asked, compiled from the cluster state. A namespace is
 * compiled on its first request and recompiled when the state's generation moves; a compile that throws keeps the
 * namespace's previous snapshot in force.
 */
export class SnapshotCache {
  private readonly served = new Map<string, ServedSnapshot>();
  /** The current versions, each with how many namespaces serve it: equal documents are found without a scan. */
  private readonly byVersion = new Map<string, { snapshot: ServedSnapshot; namespaces: number }>();

  constructor(
    private readonly state: ClusterState,
    private readonly compile: SnapshotCompiler,
    private readonly events: SnapshotEvents = {},
  ) {}

  /** The namespace's current snapshot, compiled now if it is missing or stale. */
  get(namespace: string): ServedSnapshot {
    const current = this.served.get(namespace);
    if (current && this.isCurrent(current)) return current;
    return this.build(namespace, current);
  }

  /** The snapshot last built, without compiling (for a waiter's comparison). */
  peek(namespace: string): ServedSnapshot | undefined {
    return this.served.get(namespace);
  }

  namespaces(): string[] {
    return [...this.served.keys()];
  }

  /**
   * Recompiles every stale namespace, yielding to the event loop between namespaces so requests and informer
   * events are served meanwhile. New versions are announced through `published`, also those a request compiled
   * first (a refresh that then finds the namespace current must not leave its waiters asleep).
   */
  async refresh(): Promise<void> {
    for (const namespace of this.namespaces()) {
      const before = this.served.get(namespace);
      if (before && this.isCurrent(before)) continue;
      this.build(namespace, before);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Compiled after the last change this namespace can see (a change elsewhere does not make it stale). */
  private isCurrent(snapshot: ServedSnapshot): boolean {
    return snapshot.generation >= this.state.changedFor(snapshot.namespace);
  }

  /** Another namespace's current snapshot with this content hash (and length), whose bytes can be shared. */
  private sameDocument(version: string, size: number): ServedSnapshot | undefined {
    const known = this.byVersion.get(version)?.snapshot;
    return known?.size === size ? known : undefined;
  }

  private serve(namespace: string, snapshot: ServedSnapshot, previous: ServedSnapshot | undefined): void {
    this.served.set(namespace, snapshot);
    const entry = this.byVersion.get(snapshot.version);
    if (entry) entry.namespaces += 1;
    else this.byVersion.set(snapshot.version, { snapshot, namespaces: 1 });
    if (!previous) return;
    const old = this.byVersion.get(previous.version);
    if (old && (old.namespaces -= 1) === 0) this.byVersion.delete(previous.version);
  }

  private build(namespace: string, previous: ServedSnapshot | undefined): ServedSnapshot {
    const generation = this.state.generation;
    const started = process.hrtime.bigint();
    let snapshot: ServedSnapshot;
    try {
      const compiled = this.compile(namespaceView(this.state.config(), namespace));
      const body = typeof compiled.body === 'string' ? Buffer.from(compiled.body) : compiled.body;
      // Only characters an ETag may carry; anything else is hashed here instead.
      const ownVersion = compiled.version !== undefined && /^[\x21\x23-\x7e]{1,128}$/.test(compiled.version) ? compiled.version : undefined;
      const unchanged = previous !== undefined && (ownVersion !== undefined ? previous.version === ownVersion : previous.size === body.length && previous.body().equals(body));
      // Namespaces that see the same objects get the same document: one version, one gzip, shared bytes.
      const same = unchanged ? previous : ownVersion === undefined ? undefined : this.sameDocument(ownVersion, body.length);
      snapshot = new ServedSnapshot(namespace, body, generation, ownVersion, same);
    } catch (error) {
      this.events.failed?.(namespace, error as Error);
      if (!previous) throw error;
      // Keep serving the last good snapshot; marked current so the failure is not retried on every request.
      snapshot = new ServedSnapshot(namespace, Buffer.alloc(0), generation, undefined, previous);
    }
    this.events.compiled?.(namespace, Number(process.hrtime.bigint() - started) / 1e9);
    this.serve(namespace, snapshot, previous);
    if (previous && snapshot.version !== previous.version) this.events.published?.(snapshot);
    return snapshot;
  }
}
