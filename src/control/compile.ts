import type { NamespaceInput } from './visibility.ts';

/**
 * Turns what one namespace sees into the snapshot its sidecars enforce. The real compiler is the snapshot module's
 * `compileSnapshot` (docs/snapshot.md); until it is merged, `passThrough` stands in: the namespace's view itself,
 * which has the same inputs and content-hash behaviour (equal inputs, equal bytes) for the delivery to carry.
 */
export type SnapshotCompiler = (input: NamespaceInput) => unknown;

export const passThrough: SnapshotCompiler = (input) => ({ mesh: input.mesh, serviceEntries: input.serviceEntries, virtualServices: input.virtualServices });

/** What `meshgate control` compiles with. */
export const defaultCompiler: SnapshotCompiler = passThrough;
