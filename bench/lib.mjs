// Shared helpers of the benchmark scripts: child processes, percentiles, RSS, wrk.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in clock ticks (100 Hz)
}

export function have(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** POSTs one body over HTTPS and resolves with the status and the elapsed milliseconds. */
export function post(url, body, agent, ca) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(url, { method: 'POST', agent, ca, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function keepAliveAgent(ca, maxSockets = 16) {
  return new Agent({ keepAlive: true, maxSockets, ca });
}

/** Starts a process and waits (bounded) until `ready()` resolves true. */
export async function startAndWait(command, args, ready, { timeoutMs = 10_000, env = process.env } = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}`);
    if (await ready().catch(() => false)) return child;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  throw new Error(`${command} not ready within ${timeoutMs} ms`);
}

/** Runs wrk (without blocking the event loop, so samplers keep running) and returns requests/s and latency (ms). */
export async function wrk(url, { connections = 32, seconds = 5, script } = {}) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'], timeout: (seconds + 30) * 1000 });
  let out = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  await new Promise((resolve) => child.once('close', resolve));
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const unit = (value, u) => Number(value) * (u === 'us' ? 0.001 : u === 's' ? 1000 : 1);
  const pct = (p) => { const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out); return m ? unit(m[1], m[2]) : NaN; };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50: pct(50), p99: pct(99), non2xx, raw: out };
}

export const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
