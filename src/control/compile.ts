import { compileSnapshot } from '../snapshot/compile.ts';
import type { NamespaceInput } from './visibility.ts';

/**
 * Turns what one namespace sees into the snapshot its sidecars enforce. `compileSnapshot` (docs/snapshot.md) in
 * production; a seam so tests and the bench can count or replace compiles.
 */
export type SnapshotCompiler = (input: NamespaceInput) => unknown;

/** The namespace's view itself, unchanged: for tests that assert on the view rather than the compiled form. */
export const passThrough: SnapshotCompiler = (input) => ({ mesh: input.mesh, serviceEntries: input.serviceEntries, virtualServices: input.virtualServices });

/** What `meshgate control` compiles with: the ProxySnapshot compiler, whose `version` is the ETag. */
export const defaultCompiler: SnapshotCompiler = (input) => compileSnapshot(input);
