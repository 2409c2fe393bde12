import type { Command } from 'commander';
import { buildInfo } from '../build-info.ts';
import { outputOption, writeStructured, type OutputFormat } from '../output-format.ts';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the version, the git commit it was built from, and the Node.js runtime')
    .addOption(outputOption())
    .action((opts: { output: OutputFormat }) => {
      const info = buildInfo();
      if (opts.output !== 'text') writeStructured(info, opts.output);
      else process.stdout.write(`meshgate ${info.version}\ncommit: ${info.commit}\nnode: ${info.node}\nplatform: ${info.platform}\n`);
    });
}
