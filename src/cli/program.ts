import { Command, CommanderError } from 'commander';
import { VERSION } from './build-info.ts';
import { ExitCode } from './exit-codes.ts';

type Register = (program: Command) => void;

/**
 * Every subcommand, loaded on demand: a run registers (and so imports) only the subcommand it was asked for, so the
 * webhook's cold start does not pay for the proxy, the validator CLI or the Kubernetes client. Help without a known
 * subcommand registers them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  webhook: async () => (await import('./commands/webhook.ts')).registerWebhook,
  'kube-inject': async () => (await import('./commands/kube-inject.ts')).registerKubeInject,
  validate: async () => (await import('./commands/validate.ts')).registerValidate,
  analyze: async () => (await import('./commands/analyze.ts')).registerAnalyze,
  ranges: async () => (await import('./commands/ranges.ts')).registerRanges,
  init: async () => (await import('./commands/init.ts')).registerInit,
  proxy: async () => (await import('./commands/proxy.ts')).registerProxy,
  version: async () => (await import('./commands/version.ts')).registerVersion,
  control: async () => (await import('./commands/control.ts')).registerControl,
  compile: async () => (await import('./commands/compile.ts')).registerCompile,
};

export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('meshgate')
    .description('Istio-compatible egress traffic control for Kubernetes')
    .version(VERSION)
    // The error line, then a pointer to help: the full usage after it buried the line that says what was wrong.
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const asked = argv[2];
  const names = asked !== undefined && Object.hasOwn(COMMANDS, asked) ? [asked] : Object.keys(COMMANDS);
  // One registration per subcommand file; each command calls the same pure core as the webhooks.
  for (const register of await Promise.all(names.map((name) => (COMMANDS[name] as () => Promise<Register>)()))) register(program);
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so long-running commands keep the process alive. */
export async function runCli(argv: string[]): Promise<number | undefined> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    process.stderr.write(`meshgate: ${(error as Error).message}\n`);
    if (process.env['MESHGATE_DEBUG']) process.stderr.write(`${(error as Error).stack}\n`);
    return ExitCode.usage;
  }
}
