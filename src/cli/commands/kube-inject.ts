import type { Command } from 'commander';
import type { KubeInjectNote } from '../../inject/kube-inject.ts';
import { ExitCode } from '../exit-codes.ts';

export function registerKubeInject(program: Command): void {
  program
    .command('kube-inject')
    .description('inject the sidecar into workload manifests (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, List)')
    .requiredOption('-f, --filename <file>', 'manifest file, or - for stdin')
    .option('--values <file>', 'injector values (YAML or JSON; Istio names)')
    .option('-n, --namespace <namespace>', 'namespace for objects that name none', 'default')
    .action(async (opts: { filename: string; values?: string; namespace: string }) => {
      const [{ injectObject }, { defaultValues, loadValuesFile }, { formatProblem, loadDocuments, stringifyDocuments }] = await Promise.all([
        import('../../inject/kube-inject.ts'),
        import('../../inject/values.ts'),
        import('../yaml-io.ts'),
      ]);
      const values = opts.values ? loadValuesFile(opts.values) : defaultValues();
      const output: unknown[] = [];
      const notes: KubeInjectNote[] = [];
      let broken = false;
      const { documents, problems } = loadDocuments(opts.filename);
      for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
      if (problems.length > 0) broken = true;
      for (const document of documents) {
        const before = notes.length;
        output.push(injectObject(document.value, { values, namespace: opts.namespace }, notes));
        for (const note of notes.slice(before)) {
          process.stderr.write(`${document.file}:${document.index}: ${note.object}: ${note.message}\n`);
          if (note.fatal) broken = true;
        }
      }
      if (broken) {
        process.exitCode = ExitCode.findings;
        return;
      }
      process.stdout.write(stringifyDocuments(output));
    });
}
