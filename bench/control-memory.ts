// bench:control-memory — what one parked long-poll connection costs a Node server, apart from meshgate's own work:
// a bare node:https (and node:http, for comparison) server that parks every request, N keep-alive clients in another
// process, RSS and heap per connection idle, and again after each connection received one snapshot-sized body
// written as bench:control's server writes it (16 KB pieces, each after the previous reached the socket) or in one
// go. Why: the control plane's memory target (issue 12) is dominated by this number, not by the snapshots.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, Agent as HttpAgent, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates } from '../src/admission/tls.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 2000);
const BODY_BYTES = 78_000; // bench:control's gzipped snapshot (76 KB)
const [role, ...args] = process.argv.slice(2);

interface Memory { rss: number; heapUsed: number; parked: number }

if (role === 'server') {
  const [scheme, certDir, piece] = [args[0], args[1] as string, Number(args[2])];
  const parked: ServerResponse[] = [];
  const body = Buffer.alloc(BODY_BYTES, 'x');
  const park = (_req: IncomingMessage, res: ServerResponse): void => { parked.push(res); };
  const server = scheme === 'http' ? createHttpServer(park)
    : createHttpsServer({ cert: readFileSync(join(certDir, 'tls.crt')), key: readFileSync(join(certDir, 'tls.key')) }, park);
  server.keepAliveTimeout = 600_000;
  server.requestTimeout = 0;
  server.listen(0, '127.0.0.1', () => process.send?.({ type: 'port', port: (server.address() as { port: number }).port }));
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Length': body.length });
    if (piece === 0) { res.end(body); return; }
    let offset = 0;
    const next = (error?: Error | null): void => {
      if (error || res.destroyed) return;
      if (offset >= body.length) { res.end(); return; }
      const chunk = body.subarray(offset, offset + piece);
      offset += piece;
      res.write(chunk, next);
    };
    next();
  };
  process.on('message', (message: { type: string }) => {
    if (message.type === 'memory') {
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      process.send?.({ type: 'memory', rss: m.rss, heapUsed: m.heapUsed, parked: parked.length });
    } else if (message.type === 'answer') for (const res of parked.splice(0)) answer(res);
  });
} else if (role === 'clients') {
  const [scheme, port, count] = [args[0], Number(args[1]), Number(args[2])];
  const poll = (agent: HttpAgent): void => {
    const options = { host: '127.0.0.1', port, agent, path: '/v1/snapshots/x', rejectUnauthorized: false };
    const onResponse = (res: IncomingMessage): void => { res.resume(); res.on('end', () => setImmediate(() => poll(agent))); };
    const req = scheme === 'http' ? httpRequest(options, onResponse) : httpsRequest(options, onResponse);
    req.on('error', () => undefined);
    req.end();
  };
  for (let i = 0; i < count; i += 1) {
    poll(scheme === 'http' ? new HttpAgent({ keepAlive: true, maxSockets: 1 }) : new HttpsAgent({ keepAlive: true, maxSockets: 1 }));
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
  }
  process.send?.({ type: 'started' });
} else {
  const certDir = join(mkdtempSync(join(tmpdir(), 'meshgate-bench-memory-')), 'certs');
  await ensureCertificates(certDir, ['localhost']);
  const once = <T>(child: ReturnType<typeof fork>, type: string): Promise<T> => new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${type}: exited ${code}`));
    const onMessage = (m: { type: string }): void => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const self = new URL(import.meta.url).pathname;
  const measure = async (scheme: 'http' | 'https', piece: number): Promise<string> => {
    const server = fork(self, ['server', scheme, certDir, String(piece)], { execArgv: ['--import', 'tsx', '--expose-gc'] });
    const { port } = await once<{ port: number }>(server, 'port');
    const memory = async (): Promise<Memory> => { server.send({ type: 'memory' }); return once<Memory>(server, 'memory'); };
    const parkedAll = async (): Promise<Memory> => {
      let m = await memory();
      for (let i = 0; i < 300 && m.parked < CONNECTIONS; i += 1) { await sleep(200); m = await memory(); }
      await sleep(500);
      return memory();
    };
    const before = await memory();
    const clients = fork(self, ['clients', scheme, String(port), String(CONNECTIONS)], { execArgv: ['--import', 'tsx'] });
    await once(clients, 'started');
    const idle = await parkedAll();
    server.send({ type: 'answer' });
    await sleep(500);
    const after = await parkedAll();
    clients.kill('SIGKILL');
    server.kill('SIGKILL');
    const kb = (a: Memory, b: Memory, field: 'rss' | 'heapUsed'): string => ((b[field] - a[field]) / CONNECTIONS / 1024).toFixed(1);
    const how = piece === 0 ? 'in one write' : `in ${piece / 1024} KB pieces`;
    return `| ${scheme} | ${idle.parked === CONNECTIONS ? CONNECTIONS : `${idle.parked} of ${CONNECTIONS}`} | ${kb(before, idle, 'rss')} | ${kb(before, idle, 'heapUsed')} | ${kb(before, after, 'rss')} (${how}) | ${kb(before, after, 'heapUsed')} | ${(before.rss / 2 ** 20).toFixed(0)} |`;
  };
  console.log(`Node ${process.version}, ${CONNECTIONS} keep-alive connections each with one parked request; per connection:\n`);
  console.log('| server | connections | idle: RSS KB | idle: JS heap KB | after one 76 KB body: RSS KB | after: JS heap KB | server RSS before, MB |\n|---|---|---|---|---|---|---|');
  console.log(await measure('http', 16_384));
  console.log(await measure('https', 16_384));
  console.log(await measure('https', 0));
  process.exit(0);
}
