import type { Command } from 'commander';
import type { ProxySnapshot } from '../../snapshot/types.ts';
import { ExitCode } from '../exit-codes.ts';
import { outputOption, writeStructured, type OutputFormat } from '../output-format.ts';

/** `-o text`: what a person checks at a glance; the document itself is `-o json` (the default) or `-o yaml`. */
function summary(snapshot: ProxySnapshot, problems: number): string {
  const hosts = snapshot.hosts;
  const routes = (kind: 'http' | 'tls' | 'tcp'): number => snapshot.virtualServices.reduce((n, vs) => n + vs[kind].length, 0);
  return [
    `snapshot ${snapshot.version}`,
    `outbound policy: ${snapshot.mesh.outboundTrafficPolicy}`,
    `registry hosts: ${Object.keys(hosts.exact).length + hosts.wildcard.length} (${hosts.wildcard.length} wildcard) on ports ${snapshot.listeners.map((l) => l.port).join(', ') || 'none'}`,
    `clusters: ${Object.keys(snapshot.clusters).length}`,
    `virtual services: ${snapshot.virtualServices.length} (routes: ${routes('http')} http, ${routes('tls')} tls, ${routes('tcp')} tcp)`,
    `problems: ${problems}${problems > 0 ? ' (listed on stderr)' : ''}`,
  ].join('\n') + '\n';
}

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile ServiceEntries, VirtualServices and the istio ConfigMap to the ProxySnapshot the data plane runs (docs/snapshot.md)')
    .requiredOption('--config-dir <dir>', 'directory of manifests (every .yaml, .yml, .json), as `meshgate proxy --config-dir` reads it')
    .option('-n, --namespace <namespace>', 'the proxy\'s namespace: only what is exported to it (default: every object)')
    // JSON by default: the document is what this command is for (`meshgate compile ... > snapshot.json`).
    .addOption(outputOption().default('json'))
    .action(async (opts: { configDir: string; namespace?: string; output: OutputFormat }) => {
      const { compileDirectory } = await import('../../snapshot/from-directory.ts');
      const { snapshot, problems } = compileDirectory(opts.configDir, opts.namespace);
      if (opts.output === 'text') process.stdout.write(summary(snapshot, problems.length));
      else writeStructured(snapshot, opts.output);
      for (const problem of problems) process.stderr.write(`warning: ${problem}\n`);
      // The snapshot is still printed (it is what a proxy would run), but a CI job sees that something was left out.
      process.exitCode = problems.length > 0 ? ExitCode.findings : ExitCode.ok;
    });
}
