// Processes inside the namespaces: long-running servers (stand-ins, the proxy) and curl runs, each as a chosen
// UID, every wait bounded in time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { stageCwd, stagedEnv, stageScript } from '../../helpers/stage.ts';

const NODE = process.execPath;

export interface Running {
  child: ChildProcess;
  /** Every stdout line so far (the proxy's access log). */
  lines: string[];
  stderr: string[];
  stop(): Promise<void>;
}

function asUser(ns: string, uid: number | undefined, argv: string[]): string[] {
  const user = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  return ['netns', 'exec', ns, ...user, ...argv];
}

/**
 * Starts `node --import tsx SCRIPT ARGS` (a staged bundle of SCRIPT for a non-root `uid`) in a namespace (or on the host when `ns` is undefined) and resolves once a stdout line matches `ready` (at once
 * when `ready` is undefined: the caller polls a health endpoint instead).
 */
export async function startNode(ns: string | undefined, uid: number | undefined, script: string[], ready: RegExp | undefined, timeoutMs = 20_000, env: Record<string, string> = {}): Promise<Running> {
  // Another user may not be able to read the checkout at all: it runs a bundle staged in a readable directory.
  const [entry = '', ...rest] = script;
  const otherUser = uid !== undefined && uid !== 0;
  const node = otherUser ? [NODE, await stageScript(entry), ...rest] : [NODE, '--import', 'tsx', ...script];
  // No namespace: on the host (the host side of a bridge into a namespace).
  const [command, ...args] = ns === undefined ? node : ['ip', ...asUser(ns, uid, node)];
  const child = spawn(command as string, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(otherUser ? { cwd: stageCwd() } : {}),
    env: { ...process.env, MESHGATE_LOG_LEVEL: process.env.MESHGATE_LOG_LEVEL ?? 'info', ...(otherUser ? stagedEnv() : {}), ...env },
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  let buffered = '';
  const running: Running = {
    child, lines, stderr,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('exit', () => { clearTimeout(force); resolve(); });
      child.kill('SIGTERM');
    }),
  };
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  await new Promise<void>((resolve, reject) => {
    if (!ready) resolve();
    const timer = ready && setTimeout(() => reject(new Error(`${script.join(' ')} not ready in ${timeoutMs} ms: ${stderr.join('').slice(-2000)}`)), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (ready?.test(line)) { clearTimeout(timer); resolve(); }
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script.join(' ')} exited ${code}: ${stderr.join('').slice(-2000)}`)); });
  }).catch(async (error: unknown) => {
    await running.stop();
    throw error;
  });
  return running;
}

export interface CurlResult {
  exit: number;
  status: number;
  body: string;
  headers: string;
  /** curl's own error message, e.g. "curl: (35) …". */
  error: string;
  seconds: number;
}

/**
 * curl as `uid` inside `ns`. Exit code and HTTP status both come back, since the seed's steps assert on either
 * (exit 35 for a closed TLS handshake, 502 for a refused HTTP host). Bounded by --max-time.
 */
export function curl(ns: string, uid: number, url: string, extra: string[] = [], maxSeconds = 15): CurlResult {
  const marker = '\n--mg-status--';
  const started = process.hrtime.bigint();
  const result = spawnSync('ip', asUser(ns, uid, [
    'curl', '-sS', '-D', '-', '--max-time', String(maxSeconds), '-o', '-', '-w', `${marker}%{http_code}`, ...extra, url,
  ]), { encoding: 'utf8', timeout: (maxSeconds + 5) * 1000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.error || result.status === null) throw new Error(`curl: ${String(result.error)} ${result.signal} ${result.stderr}`);
  // Headers and body both on stdout (-D -): curl 7.88 crashes writing headers to /dev/stderr after a failed connect.
  const out = result.stdout ?? '';
  const at = out.lastIndexOf(marker);
  const response = at >= 0 ? out.slice(0, at) : out;
  const split = response.indexOf('\r\n\r\n');
  return {
    exit: result.status,
    status: at >= 0 ? Number(out.slice(at + marker.length)) : 0,
    headers: split >= 0 ? response.slice(0, split) : '',
    body: split >= 0 ? response.slice(split + 4) : response,
    error: result.stderr ?? '',
    seconds,
  };
}

/** Runs a command in a namespace as root and returns its stdout; throws with stderr on failure. */
export function inNamespace(ns: string, argv: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}
