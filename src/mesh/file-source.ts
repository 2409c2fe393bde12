import { watch, type FSWatcher } from 'node:fs';
import { parseDocuments, readSources } from '../cli/yaml-io.ts';
import type { ConfigStore, SourceBatch } from './config-store.ts';

export interface ConfigFeed {
  /** Resolves once the first config is loaded (readiness waits for it). */
  start(onChange: () => void): Promise<void>;
  stop(): void;
}

/**
 * `--config-dir`: every .yaml/.yml/.json file in the folder, several documents per file allowed. Reloaded on change
 * (fs.watch, debounced) and by polling once a second, since watch events are lost on some filesystems and
 * Kubernetes volume updates swap symlinks. A file that fails to parse keeps the objects it held before.
 */
export function fileFeed(dir: string, store: ConfigStore, report: (message: string) => void, pollMs = 1000): ConfigFeed {
  let watcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let lastText = '';
  const load = (onChange: () => void): void => {
    let batches: SourceBatch[];
    try {
      const sources = readSources(dir);
      const text = sources.map((s) => `${s.name}\u0000${s.text}`).join('\u0001');
      if (text === lastText) return;
      lastText = text;
      batches = sources.map((source) => {
        const { documents, problems } = parseDocuments(source);
        for (const p of problems) report(`${p.file}:${p.index}: line ${p.line}: ${p.message}; keeping what this file held before`);
        return { source: source.name, values: documents.map((d) => d.value), broken: problems.length > 0 };
      });
    } catch (error) {
      report(`cannot read ${dir}: ${(error as Error).message}; keeping the last good config`);
      return;
    }
    if (store.replaceAll(batches)) onChange();
  };
  return {
    async start(onChange) {
      load(onChange);
      try {
        watcher = watch(dir, () => {
          clearTimeout(debounce);
          debounce = setTimeout(() => load(onChange), 50);
        });
        watcher.on('error', () => undefined);
      } catch {
        // polling alone still applies changes within the 2 s budget
      }
      poll = setInterval(() => load(onChange), pollMs);
      poll.unref();
    },
    stop() {
      watcher?.close();
      clearInterval(poll);
      clearTimeout(debounce);
    },
  };
}
