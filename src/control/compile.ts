import { compileSnapshotWithText } from '../snapshot/compile.ts';
import type { NamespaceInput } from './visibility.ts';

/** A namespace's snapshot as sent: the JSON text, and its content-hash version when the document carries one. */
export interface CompiledSnapshot {
  text: string;
  version?: string | undefined;
}

/**
 * Turns what one namespace sees into the snapshot its sidecars enforce. `compileSnapshot` (docs/snapshot.md) in
 * production; a seam so tests and the bench can count or replace compiles.
 */
export type SnapshotCompiler = (input: NamespaceInput) => CompiledSnapshot;

/** The namespace's view itself, unchanged: for tests that assert on the view rather than the compiled form. */
export const passThrough: SnapshotCompiler = (input) => ({ text: JSON.stringify({ mesh: input.mesh, serviceEntries: input.serviceEntries, virtualServices: input.virtualServices }) });

/**
 * What `meshgate control` compiles with: the ProxySnapshot compiler. Its text is the JSON it hashed for `version`
 * (the ETag), so a multi-megabyte snapshot is serialised once, not twice.
 */
export const defaultCompiler: SnapshotCompiler = (input) => {
  const { snapshot, text } = compileSnapshotWithText(input);
  return { text, version: snapshot.version };
};
