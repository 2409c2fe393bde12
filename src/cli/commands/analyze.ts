import type { Command } from 'commander';
import { analyzeInput, type SourceObject } from '../../analyze/analyze.ts';
import { formatFinding } from '../../analyze/codes.ts';
import { ExitCode, required } from '../exit-codes.ts';
import { outputOption, writeStructured, type OutputFormat } from '../output-format.ts';
import { formatProblem, loadDocuments } from '../yaml-io.ts';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('cross-object findings over a directory of manifests (like istioctl analyze), each with a code and a hint')
    .option('-f, --filename <path>', 'directory, file or - for stdin; an `istio` ConfigMap in it supplies the mesh config (required)')
    .option('-n, --namespace <namespace>', 'namespace for objects that name none', 'default')
    .addOption(outputOption())
    .action((opts: { filename?: string; namespace: string; output: OutputFormat }) => {
      const { documents, problems } = loadDocuments(required(opts.filename, '-f, --filename <path>'));
      for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
      const inputs: SourceObject[] = documents.map((document) => ({ object: document.value, origin: `${document.file}:${document.index}` }));
      const { findings, skippedKinds } = analyzeInput(inputs, opts.namespace);
      if (opts.output !== 'text') writeStructured(findings, opts.output);
      else if (findings.length > 0) process.stdout.write(`${findings.map(formatFinding).join('\n')}\n`);
      // "No issues" is said only about input that was read completely: a document that did not parse was not analyzed.
      else if (problems.length > 0) process.stdout.write(`Analysis incomplete: ${plural(problems.length, 'document')} could not be parsed (see above); no issues in the rest.\n`);
      else process.stdout.write('No validation issues found when analyzing the input.\n');
      if (skippedKinds.length > 0) {
        process.stderr.write(`${plural(skippedKinds.length, 'object')} skipped (kinds analyze does not check: ${[...new Set(skippedKinds)].sort().join(', ')})\n`);
      }
      if (problems.length > 0 && opts.output !== 'text') process.stderr.write(`${plural(problems.length, 'document')} could not be parsed\n`);
      const errors = findings.filter((f) => f.severity === 'Error').length;
      process.exitCode = problems.length > 0 ? ExitCode.usage : errors > 0 ? ExitCode.findings : ExitCode.ok;
    });
}
