import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../observability/logger.ts';
import { ConfigStore } from '../mesh/config-store.ts';
import type { ConfigFeed } from '../mesh/file-source.ts';
import { compileSnapshotWithText } from './compile.ts';
import { visibleTo } from './visible.ts';

// `meshgate proxy`: this process keeps reading the config (a directory or the API server), compiles it to a
// ProxySnapshot file on every change, and runs the Rust data plane on that file: Node compiles and watches,
// meshgate-proxy serves. meshgate-proxy watches the file itself and keeps its last good snapshot when a new one is
// refused.

/** `MESHGATE_PROXY_BIN`, else a release build in the checkout (source or bundle layout), else `meshgate-proxy` on PATH. */
export function dataplaneBinary(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['MESHGATE_PROXY_BIN'];
  if (fromEnv) return fromEnv;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '..']) {
    const candidate = join(here, up, 'dataplane/target/release/meshgate-proxy');
    if (existsSync(candidate)) return candidate;
  }
  return 'meshgate-proxy';
}

/** Whole or not at all: a reader never sees half a snapshot (write a temporary file beside it, then rename). */
export function writeSnapshotFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${text}\n`);
  renameSync(temporary, path);
}

export interface DataplaneRun {
  binary: string;
  /** Where the snapshot is written; default: a file in a fresh temporary directory, removed at exit. */
  snapshotFile?: string;
  /** Flags passed on to meshgate-proxy (ports, bind). */
  args: string[];
  /** The proxy's namespace (POD_NAMESPACE), for exportTo. */
  namespace: string | undefined;
  /** Where the mesh ConfigMap `istio` is read from (`--istio-namespace`). */
  istioNamespace: string;
  /**
   * The pod's own terminationDrainDuration (`--drain-seconds`, which the injector writes from proxy.istio.io/config),
   * in ms: it overrides the mesh config's defaultConfig, as a pod's ProxyConfig does in Istio. Undefined: the mesh's.
   */
  drainMs?: number;
  feed: (store: ConfigStore, report: (message: string) => void) => ConfigFeed;
  logger: Logger;
}

/** Runs until meshgate-proxy exits; resolves to the exit code to leave with. SIGTERM and SIGINT are passed on. */
export async function runDataplane(run: DataplaneRun): Promise<number> {
  const { logger } = run;
  const ownDir = run.snapshotFile === undefined ? mkdtempSync(join(tmpdir(), 'meshgate-snapshot-')) : undefined;
  const file = run.snapshotFile ?? join(ownDir!, 'snapshot.json');
  const store = new ConfigStore((p) => logger.warn({ object: p.key, source: p.source }, `invalid config object: ${p.message}`), undefined, run.istioNamespace);
  let written: string | undefined;
  const publish = (): void => {
    const input = visibleTo(store.snapshot(), run.namespace);
    if (run.drainMs !== undefined) input.mesh = { ...input.mesh, terminationDrainDurationMs: run.drainMs };
    const { snapshot, text } = compileSnapshotWithText(input);
    if (snapshot.version === written) return;
    for (const p of snapshot.problems) logger.warn({ object: `${p.source.kind}/${p.source.namespace}/${p.source.name}`, path: p.source.path }, `left out of the snapshot: ${p.message}`);
    writeSnapshotFile(file, text);
    written = snapshot.version;
    logger.info({ version: snapshot.version, file }, 'snapshot written');
  };
  const feed = run.feed(store, (message) => logger.warn(message));
  await feed.start(publish);
  if (written === undefined) publish(); // an empty first read still puts the defaults in force
  const child = spawn(run.binary, ['--snapshot', file, ...run.args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => (): void => {
    child.kill(signal);
  };
  const onTerm = forward('SIGTERM');
  const onInt = forward('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const code = await new Promise<number>((resolve) => {
    child.once('error', (error) => {
      logger.error({ binary: run.binary, err: error.message }, 'cannot start meshgate-proxy: build it with `cargo build --release` in dataplane/, or set MESHGATE_PROXY_BIN');
      resolve(1);
    });
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
  process.off('SIGTERM', onTerm);
  process.off('SIGINT', onInt);
  feed.stop();
  if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  return code;
}
