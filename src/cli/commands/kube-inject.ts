import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KubeInjectNote } from '../../inject/kube-inject.ts';
import { ExitCode, required, UsageError } from '../exit-codes.ts';
import type { InjectorFileFlags } from '../injector-files.ts';

interface KubeInjectOpts extends InjectorFileFlags {
  filename?: string;
  namespace: string;
  output?: string;
}

export function registerKubeInject(program: Command): void {
  program
    .command('kube-inject')
    .description('inject the sidecar into workload manifests (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, List)')
    .option('-f, --filename <file>', 'manifest file, or - for stdin (required)')
    .option('-o, --output <file>', 'write the injected manifests to this file instead of stdout (istioctl\'s --output)')
    .option('--values <file>', 'injector values (YAML or JSON; Istio names)')
    .option('--valuesFile <file>', 'the same as --values (istioctl\'s name)')
    .option('--injectConfigFile <file>', 'the istio-sidecar-injector ConfigMap, or its `config` key (policy, selectors)')
    .option('-n, --namespace <namespace>', 'namespace for objects that name none', 'default')
    .action(async (opts: KubeInjectOpts) => {
      const [{ injectObject }, { loadInjectorFiles }, { formatProblem, loadDocuments, stringifyDocuments }] = await Promise.all([
        import('../../inject/kube-inject.ts'),
        import('../injector-files.ts'),
        import('../yaml-io.ts'),
      ]);
      const filename = required(opts.filename, '-f, --filename <file>');
      const values = loadInjectorFiles(opts);
      const output: unknown[] = [];
      const notes: KubeInjectNote[] = [];
      let denied = false;
      const { documents, problems } = loadDocuments(filename);
      for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
      for (const document of documents) {
        const before = notes.length;
        output.push(injectObject(document.value, { values, namespace: opts.namespace }, notes));
        for (const note of notes.slice(before)) {
          process.stderr.write(`${document.file}:${document.index}: ${note.object}: ${note.message}\n`);
          if (note.fatal) denied = true;
        }
      }
      // Nothing is written unless every document was read and injected: a partial manifest applied is worse than none.
      if (problems.length > 0 || denied) {
        process.exitCode = problems.length > 0 ? ExitCode.usage : ExitCode.findings;
        return;
      }
      const text = stringifyDocuments(output);
      if (opts.output === undefined || opts.output === '-') {
        process.stdout.write(text);
        return;
      }
      try {
        writeFileSync(opts.output, text);
      } catch (error) {
        throw new UsageError(`${opts.output}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    });
}
