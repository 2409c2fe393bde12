import type { Command } from 'commander';
import { analyzeObjects, type SourceObject } from '../../analyze/analyze.ts';
import { formatFinding } from '../../analyze/codes.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatProblem, loadDocuments } from '../yaml-io.ts';

export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('cross-object findings over a directory of manifests (like istioctl analyze), each with a code and a hint')
    .requiredOption('-f, --filename <path>', 'directory, file or - for stdin; an `istio` ConfigMap in it supplies the mesh config')
    .option('-n, --namespace <namespace>', 'namespace for objects that name none', 'default')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: { filename: string; namespace: string; output: string }) => {
      const { documents, problems } = loadDocuments(opts.filename);
      for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
      const broken = problems.length > 0;
      const inputs: SourceObject[] = documents.map((document) => ({ object: document.value, origin: `${document.file}:${document.index}` }));
      const findings = analyzeObjects(inputs, opts.namespace);
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
      else if (findings.length === 0) process.stdout.write('No validation issues found when analyzing the input.\n');
      else process.stdout.write(`${findings.map(formatFinding).join('\n')}\n`);
      const errors = findings.filter((f) => f.severity === 'Error').length;
      process.exitCode = errors > 0 || broken ? ExitCode.findings : ExitCode.ok;
    });
}
