import { IncrementalCompiler } from '../snapshot/incremental.ts';
import type { NamespaceInput } from './visibility.ts';

/** A namespace's snapshot as sent: the JSON (text or its UTF-8 bytes), and its content-hash version when the document carries one. */
export interface CompiledSnapshot {
  body: string | Buffer;
  version?: string | undefined;
}

/**
 * Turns what one namespace sees into the snapshot its sidecars enforce. `compileSnapshot` (docs/snapshot.md) in
 * production; a seam so tests and the bench can count or replace compiles.
 */
export type SnapshotCompiler = (input: NamespaceInput) => CompiledSnapshot;

/** The namespace's view itself, unchanged: for tests that assert on the view rather than the compiled form. */
export const passThrough: SnapshotCompiler = (input) => ({ body: JSON.stringify({ mesh: input.mesh, serviceEntries: input.serviceEntries, virtualServices: input.virtualServices }) });

/**
 * The ProxySnapshot compiler as a control plane runs it: the document `compileSnapshot` makes, byte for byte, but
 * each object compiled and serialised once and reused by every namespace that sees it (src/snapshot/incremental.ts),
 * so a change every namespace sees does not compile every object once per namespace. Its own cache: one per
 * control plane (the cache holds objects weakly; a replaced or deleted object's parts go with it).
 */
export function createSnapshotCompiler(): SnapshotCompiler {
  const compiler = new IncrementalCompiler();
  return (input) => {
    const { bytes, version } = compiler.compile(input);
    return { body: bytes, version };
  };
}

/** What `meshgate control` compiles with. */
export const defaultCompiler: SnapshotCompiler = createSnapshotCompiler();
