import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { stampedCommit, VERSION } from '../build-info.ts';
import { outputOption, writeStructured, type OutputFormat } from '../output-format.ts';

function commitFromCheckout(): string {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8', timeout: 5_000 });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the version, the git commit it was built from, and the Node.js runtime')
    .addOption(outputOption())
    .action((opts: { output: OutputFormat }) => {
      const info = { version: VERSION, commit: stampedCommit() ?? commitFromCheckout(), node: process.version, platform: `${process.platform}/${process.arch}` };
      if (opts.output !== 'text') writeStructured(info, opts.output);
      else process.stdout.write(`meshgate ${info.version}\ncommit: ${info.commit}\nnode: ${info.node}\nplatform: ${info.platform}\n`);
    });
}
