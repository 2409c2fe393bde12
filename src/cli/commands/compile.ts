import type { Command } from 'commander';
import { ExitCode, UsageError } from '../exit-codes.ts';

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile ServiceEntries, VirtualServices and the istio ConfigMap to the ProxySnapshot the data plane runs (docs/snapshot.md)')
    .requiredOption('--config-dir <dir>', 'directory of manifests (every .yaml, .yml, .json), as `meshgate proxy --config-dir` reads it')
    .option('-n, --namespace <namespace>', 'the proxy\'s namespace: only what is exported to it (default: every object)')
    .option('-o, --output <format>', 'output format: json', 'json')
    .action(async (opts: { configDir: string; namespace?: string; output: string }) => {
      if (opts.output !== 'json') throw new UsageError(`unknown output format ${JSON.stringify(opts.output)}; supported: json`);
      const { compileDirectory } = await import('../../snapshot/from-directory.ts');
      const { snapshot, problems } = compileDirectory(opts.configDir, opts.namespace);
      process.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
      for (const problem of problems) process.stderr.write(`warning: ${problem}\n`);
      // The snapshot is still printed (it is what a proxy would run), but a CI job sees that something was left out.
      process.exitCode = problems.length > 0 ? ExitCode.findings : ExitCode.ok;
    });
}
