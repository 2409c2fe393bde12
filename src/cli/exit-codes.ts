/** Exit codes shared by every subcommand. */
/** 1 is also a command that could not do its job at run time (a port in use): the README's exit-code table. */
export const ExitCode = { ok: 0, findings: 1, failed: 1, usage: 2 } as const;

/** A usage or input problem: the CLI prints the message and exits 2. */
export class UsageError extends Error {}

/**
 * A mandatory flag, checked in the action rather than with commander's requiredOption: commander checks required
 * options before unknown ones, so `validate --filname x` would say "-f not specified" instead of naming the typo.
 */
export function required(value: string | undefined, flags: string): string {
  if (value === undefined) throw new UsageError(`required option '${flags}' not specified`);
  return value;
}
