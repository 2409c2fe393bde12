// Starts meshgate's function module (or an empty one) on each real runtime, on loopback: faas-js-runtime (Knative
// Functions), @google-cloud/functions-framework (Cloud Run functions), and aws-lambda-ric under the AWS Lambda
// Runtime Interface Emulator (built by build-emulator.sh) behind a Function-URL front. Shared by the e2e suite and
// bench/serverless.mjs, so both measure the same processes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { basename, dirname, resolve } from 'node:path';

export type RuntimeName = 'knative' | 'cloud-run' | 'lambda';
export const RUNTIMES: readonly RuntimeName[] = ['knative', 'cloud-run', 'lambda'];

export interface RunningRuntime {
  name: RuntimeName | 'webhook';
  /** Plain-HTTP base URL (no TLS: the platform's front, nginx here, terminates it). */
  url: string;
  /**
   * Where a review is POSTed for the pod webhook: `/` for Knative Functions (they serve only their root), the
   * emulator's invoke API for Lambda (a payload-2.0 event, not a review: put the Function-URL front before it).
   */
  injectPath: string;
  /** The runtime's own process (the emulator for Lambda; it starts the Node runtime client on the first invoke). */
  process: ChildProcess;
  /** Process ids whose RSS is the runtime's footprint (the emulator's child included for Lambda). */
  pids(): number[];
  logs(): string;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** The function module: dist/functions.mjs, or an empty function for the runtime's own cost. */
  module: string;
  port: number;
  /** The emulator's Runtime API port (Lambda only). */
  runtimeApiPort?: number;
  env?: NodeJS.ProcessEnv;
}

// The Node running the caller (Node 24 from the `node` devDependency under npm scripts and the test runner).
const NODE = process.execPath;

function spawnLogged(command: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; logs: () => string } {
  let output = '';
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-64_000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, logs: () => output };
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolveStop(); return; }
    child.once('exit', () => resolveStop());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** The emulator binary, built (or found in the cache) by build-emulator.sh. */
let emulator: string | undefined;
/** Asked once per process: the script's cache check runs `go env`, which must not count in a cold start. */
export function emulatorBinary(): string {
  emulator ??= execFileSync('bash', [resolve('test/serverless/build-emulator.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 }).trim();
  return emulator;
}

let lambdaClient: string | undefined;
/**
 * aws-lambda-ric's entry, installed (or found) by install-lambda-client.sh apart from the project's dependencies:
 * its install compiles native code that needs cmake and the autotools. Throws with the script's reason otherwise.
 */
export function lambdaClientEntry(): string {
  lambdaClient ??= execFileSync('bash', [resolve('test/serverless/install-lambda-client.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 }).trim();
  return lambdaClient;
}

/** Children of a pid (the Node runtime client the emulator starts). */
function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function startRuntime(name: RuntimeName, options: RuntimeOptions): RunningRuntime {
  const module = resolve(options.module);
  const base = { ...process.env, MESHGATE_LOG_LEVEL: process.env['MESHGATE_LOG_LEVEL'] ?? 'warn', ...options.env };
  const url = `http://127.0.0.1:${options.port}`;
  if (name === 'knative') {
    // FUNC_BODY_LIMIT: the webhook's 8 MiB over the runtime's 1 MiB default, as the chart's Knative mode sets it.
    const { child, logs } = spawnLogged(NODE, [resolve('node_modules/faas-js-runtime/bin/cli.js'), module, '--port', String(options.port)],
      { ...base, FUNC_BODY_LIMIT: '8388608', FUNC_LOG_LEVEL: 'warn' });
    return { name, url, injectPath: '/', process: child, pids: () => [child.pid ?? 0], logs, stop: () => stopProcess(child) };
  }
  if (name === 'cloud-run') {
    const { child, logs } = spawnLogged(NODE, [resolve('node_modules/@google-cloud/functions-framework/build/src/main.js'),
      '--source', module, '--target', 'admission', '--port', String(options.port)], base);
    return { name, url, injectPath: '/inject', process: child, pids: () => [child.pid ?? 0], logs, stop: () => stopProcess(child) };
  }
  // Lambda: the emulator serves the invoke API on `port` and the Runtime API on runtimeApiPort; aws-lambda-ric
  // (started by the emulator on the first invoke, as Lambda starts a sandbox) loads LAMBDA_TASK_ROOT/_HANDLER.
  const runtimeApiPort = options.runtimeApiPort ?? options.port + 1;
  const handlerName = `${basename(module).replace(/\.m?js$/, '')}.handler`;
  const { child, logs } = spawnLogged(emulatorBinary(), [
    '--runtime-interface-emulator-address', `127.0.0.1:${options.port}`, '--runtime-api-address', `127.0.0.1:${runtimeApiPort}`,
    '--log-level', 'error', NODE, lambdaClientEntry(), handlerName,
  ], { ...base, LAMBDA_TASK_ROOT: dirname(module), _HANDLER: handlerName, AWS_LAMBDA_FUNCTION_TIMEOUT: '10' });
  return {
    name, url, injectPath: '/2015-03-31/functions/function/invocations', process: child, logs,
    pids: () => child.pid ? [child.pid, ...childPids(child.pid)] : [],
    stop: () => stopProcess(child),
  };
}

export interface FrontProcess {
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * The Function-URL front (function-url-front.ts) in its own process, in front of the emulator's invoke API on
 * `invokePort`. Started before the emulator and kept across its restarts, as a platform's front is always up.
 */
export async function startFunctionUrlFrontProcess(port: number, invokePort: number): Promise<FrontProcess> {
  const { child, logs } = spawnLogged(NODE, ['--import', 'tsx', resolve('test/serverless/function-url-front-main.ts'),
    '--port', String(port), '--invoke', `http://127.0.0.1:${invokePort}/2015-03-31/functions/function/invocations`], process.env);
  // Its own "listening" line, not the port: a leftover process on the port must fail the start, not stand in.
  const deadline = Date.now() + 20_000;
  while (!logs().includes('listening')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the Function-URL front did not start on ${port}:\n${logs()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { url: `http://127.0.0.1:${port}`, logs, stop: () => stopProcess(child) };
}

/** Resolves once something accepts TCP connections on the port (bounded by timeoutMs). */
export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1', () => { socket.destroy(); done(true); });
      socket.on('error', () => done(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
