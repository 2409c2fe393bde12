/** Exit codes shared by every subcommand. */
export const ExitCode = { ok: 0, findings: 1, usage: 2 } as const;

/** A usage or input problem: the CLI prints the message and exits 2. */
export class UsageError extends Error {}
