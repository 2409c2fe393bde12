import { Command, CommanderError } from 'commander';
import { registerAnalyze } from './commands/analyze.ts';
import { registerInit } from './commands/init.ts';
import { registerKubeInject } from './commands/kube-inject.ts';
import { registerProxy } from './commands/proxy.ts';
import { registerRanges } from './commands/ranges.ts';
import { registerValidate } from './commands/validate.ts';
import { registerWebhook } from './commands/webhook.ts';
import { ExitCode } from './exit-codes.ts';

export function buildProgram(): Command {
  const program = new Command('meshgate')
    .description('Istio-compatible egress traffic control for Kubernetes')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  // One registration per subcommand file; each command calls the same pure core as the webhooks.
  registerWebhook(program);
  registerKubeInject(program);
  registerValidate(program);
  registerAnalyze(program);
  registerRanges(program);
  registerInit(program);
  registerProxy(program);
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so long-running commands keep the process alive. */
export async function runCli(argv: string[]): Promise<number | undefined> {
  const program = buildProgram();
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
