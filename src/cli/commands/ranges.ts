import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadKubeConfig } from '../../k8s/client.ts';
import { createClusterRangesApi } from '../../ranges/cluster-api.ts';
import { discoverRanges } from '../../ranges/discovery.ts';
import { rangesForPlatform, type InputFile } from '../../ranges/platform-ranges.ts';
import { platformNames } from '../../ranges/presets.ts';
import { describeReport, formatReport, type RangesFormat, type RangesReport } from '../../ranges/report.ts';
import { ExitCode, UsageError } from '../exit-codes.ts';

const formats: readonly RangesFormat[] = ['csv', 'helm', 'json'];

function readInput(path: string): InputFile {
  if (path === '-') return { name: '<stdin>', text: readFileSync(0, 'utf8') };
  try {
    return { name: path, text: readFileSync(path, 'utf8') };
  } catch (error) {
    throw new UsageError(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

function print(report: RangesReport, format: RangesFormat, extra: Record<string, unknown> = {}): void {
  // stdout carries only the value (or the JSON), so `$(meshgate ranges ...)` works; the evidence goes to stderr.
  if (format === 'json') process.stdout.write(formatReport({ ...report, ...extra } as RangesReport, 'json'));
  else {
    process.stdout.write(formatReport(report, format));
    process.stderr.write(describeReport(report));
  }
}

interface RangesOptions {
  platform: string;
  from?: string;
  format: string;
  kubeconfig?: string;
}

export function registerRanges(program: Command): void {
  program
    .command('ranges')
    .description("print the cluster's internal ranges (services, pods) for global.proxy.includeIPRanges, and where each came from")
    .option('--platform <name>', `${platformNames.join('|')}`, 'auto')
    .option('--from <file>', 'read the ranges from this file (- for stdin): describe output, config.yaml, an apiserver manifest')
    .option('--format <format>', formats.join('|'), 'csv')
    .option('--kubeconfig <file>', 'for --platform auto: the cluster to ask (default: in-cluster or $KUBECONFIG)')
    .action(async (opts: RangesOptions) => {
      if (!formats.includes(opts.format as RangesFormat)) {
        throw new UsageError(`unknown format ${JSON.stringify(opts.format)} (one of ${formats.join(', ')})`);
      }
      const format = opts.format as RangesFormat;
      if (!platformNames.includes(opts.platform)) {
        throw new UsageError(`unknown platform ${JSON.stringify(opts.platform)} (one of ${platformNames.join(', ')})`);
      }
      if (opts.platform !== 'auto' || opts.from !== undefined) {
        const result = rangesForPlatform(opts.platform, opts.from === undefined ? undefined : readInput(opts.from));
        if (!result.ok) {
          for (const problem of result.problems) process.stderr.write(`meshgate ranges: ${problem}\n`);
          process.exitCode = ExitCode.usage;
          return;
        }
        print(result.report, format);
        return;
      }
      const api = await createClusterRangesApi(await loadKubeConfig(opts.kubeconfig));
      const result = await discoverRanges(api);
      if (!result.ok) {
        // Never a silent `*`: the CLI prints nothing on stdout and says what the injector would do.
        process.stderr.write(`meshgate ranges: ${result.reason}\n`);
        process.stderr.write("meshgate ranges: the injector would fall back to '*' (capture everything)\n");
        process.exitCode = ExitCode.findings;
        return;
      }
      print(result.report, format, { attempts: result.attempts });
    });
}
