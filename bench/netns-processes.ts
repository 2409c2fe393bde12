// The processes a netns benchmark runs (upstreams, proxies, load generators): each started in a network namespace,
// optionally as a given user, and all stopped with a bounded wait at the end. Shared by the proxy benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { curl, waitFor } from '../test/netns/harness/processes.ts';

const started: ChildProcess[] = [];

/** Runs argv in `ns` (as `uid` when given); stdout and stderr go to `logFile` when given, else stderr is inherited. */
export function startIn(ns: string, argv: string[], uid?: number, logFile?: string): ChildProcess {
  const out = logFile ? openSync(logFile, 'w') : 'ignore';
  const user = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const child = spawn('ip', ['netns', 'exec', ns, ...user, ...argv], { stdio: ['ignore', out, logFile ? out : 'inherit'] });
  started.push(child);
  return child;
}

/** SIGTERM, then SIGKILL after 3 s. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Every process `startIn` started. */
export async function stopAll(): Promise<void> {
  await Promise.all(started.map(stop));
}

/** Waits (at most 15 s) until `url` answers 200 from `ns`. */
export async function ready(ns: string, url: string, extra: string[] = []): Promise<void> {
  if (!(await waitFor(() => curl(ns, 0, url, extra, 2).status === 200, 15_000))) throw new Error(`${url} not ready in ${ns}`);
}
