declare module 'jsonpatch' {
  /** Applies an RFC 6902 patch and returns a new document; throws when an operation does not apply. */
  export function apply_patch<T>(document: T, patch: unknown[]): T;
  const jsonpatch: { apply_patch: typeof apply_patch };
  export default jsonpatch;
}
