import type { Command } from 'commander';
import { classifyInput, objectIdentity, objectsOf } from '../../analyze/input-kinds.ts';
import { formatIssue } from '../../validate/field-errors.ts';
import { validateMeshObject } from '../../validate/validate.ts';
import { ExitCode, required } from '../exit-codes.ts';
import { outputOption, writeStructured, type OutputFormat } from '../output-format.ts';
import { formatProblem, loadDocuments } from '../yaml-io.ts';

/** One object's outcome; `-o json|yaml` prints these, text prints one line per error. */
interface ObjectResult {
  file: string;
  document: number;
  kind: string;
  namespace: string;
  name: string;
  errors: string[];
  warnings: string[];
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('validate ServiceEntry and VirtualService manifests offline, with the validation webhook\'s rules')
    .option('-f, --filename <path>', 'manifest file, directory (every .yaml, .yml, .json) or - for stdin (required)')
    .option('-n, --namespace <namespace>', 'namespace for objects that name none', 'default')
    .addOption(outputOption())
    .action((opts: { filename?: string; namespace: string; output: OutputFormat }) => {
      const { documents, problems } = loadDocuments(required(opts.filename, '-f, --filename <path>'));
      const results: ObjectResult[] = [];
      const skippedKinds: string[] = [];
      let validated = 0;
      for (const document of documents) {
        for (const object of objectsOf(document.value)) {
          const input = classifyInput(object);
          const at = { file: document.file, document: document.index, ...objectIdentity(object, opts.namespace) };
          if (input.status === 'skipped') skippedKinds.push(input.kind);
          else if (input.status === 'unrecognized') results.push({ ...at, errors: [input.message], warnings: [] });
          else {
            const result = validateMeshObject(object, opts.namespace, input.kind);
            if (!result.applies) continue;
            validated += 1;
            results.push({ ...at, namespace: result.namespace, errors: result.errors.map(formatIssue), warnings: result.warnings.map(formatIssue) });
          }
        }
      }
      const invalid = problems.length + results.filter((r) => r.errors.length > 0).length;
      const kinds = [...new Set(skippedKinds)].sort();
      if (opts.output === 'text') {
        for (const problem of problems) process.stdout.write(`${formatProblem(problem)}\n`);
        for (const r of results) {
          const where = `${r.file}:${r.document}: ${r.kind} ${r.namespace}/${r.name}`;
          for (const error of r.errors) process.stdout.write(`${where}: ${error}\n`);
          for (const warning of r.warnings) process.stderr.write(`${where}: warning: ${warning}\n`);
        }
      } else {
        for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
        writeStructured({ validated, invalid, skipped: skippedKinds.length, skippedKinds: kinds, unparsed: problems, results }, opts.output);
      }
      const skipped = skippedKinds.length === 0 ? '' : `, ${skippedKinds.length} skipped (not validated by meshgate: ${kinds.join(', ')})`;
      const unparsed = problems.length === 0 ? '' : `; ${problems.length} document${problems.length === 1 ? '' : 's'} could not be parsed`;
      process.stderr.write(`${validated} object${validated === 1 ? '' : 's'} validated, ${invalid} invalid${skipped}${unparsed}\n`);
      // Input that could not be read is an input error (2) and beats findings (1): the verdict is incomplete.
      process.exitCode = problems.length > 0 ? ExitCode.usage : invalid > 0 ? ExitCode.findings : ExitCode.ok;
    });
}
