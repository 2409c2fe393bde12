import type { Command } from 'commander';
import { isRecord } from '../../k8s/types.ts';
import { formatIssue } from '../../validate/field-errors.ts';
import { validateMeshObject } from '../../validate/validate.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatProblem, loadDocuments } from '../yaml-io.ts';

/** The objects of a document: itself, or the items of a List. */
function objectsOf(value: unknown): unknown[] {
  if (isRecord(value) && value['kind'] === 'List' && Array.isArray(value['items'])) return value['items'];
  return [value];
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('validate ServiceEntry and VirtualService manifests offline, with the validation webhook\'s rules')
    .requiredOption('-f, --filename <path>', 'manifest file, directory (every .yaml, .yml, .json) or - for stdin')
    .option('-n, --namespace <namespace>', 'namespace for objects that name none', 'default')
    .action((opts: { filename: string; namespace: string }) => {
      let invalid = 0;
      let checked = 0;
      const { documents, problems } = loadDocuments(opts.filename);
      for (const problem of problems) {
        process.stdout.write(`${formatProblem(problem)}\n`);
        invalid += 1;
      }
      for (const document of documents) {
        for (const object of objectsOf(document.value)) {
          const result = validateMeshObject(object, opts.namespace);
          if (!result.applies) continue;
          checked += 1;
          const where = `${document.file}:${document.index}`;
          for (const error of result.errors) process.stdout.write(`${where}: ${formatIssue(error)}\n`);
          for (const warning of result.warnings) process.stderr.write(`${where}: warning: ${formatIssue(warning)}\n`);
          if (result.errors.length > 0) invalid += 1;
        }
      }
      process.stderr.write(`${checked} object${checked === 1 ? '' : 's'} validated, ${invalid} invalid\n`);
      process.exitCode = invalid > 0 ? ExitCode.findings : ExitCode.ok;
    });
}
