import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** A real etcd + kube-apiserver + kube-controller-manager on loopback (test/cluster/up.sh), no kubelet. */
export interface ControlPlane {
  dir: string;
  kubeconfig: string;
  bin: string;
  kubectl(args: string[], input?: string): { status: number | null; stdout: string; stderr: string };
  /** kubectl that throws with its stderr on failure and returns stdout. */
  kubectlOk(args: string[], input?: string): string;
  stop(): void;
}

export function startControlPlane(serviceCidr: string): ControlPlane {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-cp-'));
  execFileSync('bash', [resolve('test/cluster/up.sh'), dir, '--service-cidr', serviceCidr, '--random-ports'], {
    stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000,
  });
  const kubeconfig = join(dir, 'kubeconfig');
  const bin = join(dir, 'bin');
  const kubectl = (args: string[], input?: string) => {
    const result = spawnSync(join(bin, 'kubectl'), args, {
      input, encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: kubeconfig },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  return {
    dir,
    kubeconfig,
    bin,
    kubectl,
    kubectlOk(args, input) {
      const result = kubectl(args, input);
      if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
      return result.stdout;
    },
    stop() {
      spawnSync('bash', [resolve('test/cluster/down.sh'), dir], { stdio: 'ignore', timeout: 60_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 250 ms until it returns a value or the time runs out (then throws with `what`). */
export async function eventually<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** The webhook as a local process of the real CLI, as the API server reaches it through clientConfig.url. */
export interface WebhookProcess {
  port: number;
  certDir: string;
  caBundle: string;
  process: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

export async function startWebhookProcess(args: string[], port: number, certDir: string): Promise<WebhookProcess> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'webhook', '--host', '127.0.0.1',
    '--port', String(port), '--cert-dir', certDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  await eventually('the webhook to listen', () => (output.includes('webhook listening') ? true : undefined), 30_000)
    .catch((error: Error) => { child.kill('SIGKILL'); throw new Error(`${error.message}\n${output}`); });
  return {
    port,
    certDir,
    caBundle: readFileSync(join(certDir, 'ca.crt')).toString('base64'),
    process: child,
    logs: () => output,
    stop: () => new Promise((resolveStop) => {
      if (child.exitCode !== null) { resolveStop(); return; }
      child.once('exit', () => resolveStop());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }),
  };
}

export function freePort(): number {
  const out = spawnSync(process.execPath, ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: 'utf8' });
  return Number(out.stdout.trim());
}

/** `helm` built by test/cluster/build.sh, next to kubectl. */
export function helm(cp: ControlPlane, args: string[]): string {
  return execFileSync(join(cp.bin, 'helm'), args, { encoding: 'utf8', timeout: 60_000 });
}
