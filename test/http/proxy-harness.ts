// Loopback harness for the proxy: a proxy on 127.0.0.1 port 0 whose "original destination" is whatever the test
// sets (the iptables redirect is faked), upstream stand-ins on loopback, and config fed from memory.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { stringify } from 'yaml';
import type { ConfigStore } from '../../src/mesh/config-store.ts';
import type { ConfigFeed } from '../../src/mesh/file-source.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startProxy, type ProxyOptions, type RunningProxy } from '../../src/proxy/proxy.ts';
import { memorySink } from '../../src/proxy/telemetry/sink.ts';
import type { OriginalDestination } from '../../src/proxy/upstream.ts';

export interface Harness {
  proxy: RunningProxy;
  /** Where the next connections "were headed" before the redirect. */
  target: OriginalDestination;
  setConfig(objects: unknown[]): void;
  accessLog: string[];
  events: string[];
  close(): Promise<void>;
}

export function meshConfigMap(mode: 'ALLOW_ANY' | 'REGISTRY_ONLY'): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: stringify({ outboundTrafficPolicy: { mode } }) } };
}

export function serviceEntry(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: 'default' }, spec };
}

export function virtualService(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: 'default' }, spec };
}

export async function startHarness(objects: unknown[], options: Partial<ProxyOptions> = {}): Promise<Harness> {
  let store: ConfigStore | undefined;
  let changed: (() => void) | undefined;
  const apply = (values: unknown[]): void => {
    if (store?.replaceAll([{ source: 'memory', values, broken: false }])) changed?.();
  };
  const feed = (s: ConfigStore): ConfigFeed => {
    store = s;
    return { async start(onChange) { changed = onChange; apply(objects); }, stop() {} };
  };
  const accessLog = memorySink();
  const events = memorySink();
  const harness = {
    target: { address: '127.0.0.1', port: 9, family: 4 as const },
  } as Harness;
  const proxy = await startProxy({
    feed, originalDestination: () => harness.target, logger: silentLogger(), accessLog, events,
    bind: '127.0.0.1', port: 0, metricsPort: 0, statusPort: 0, adminPort: 0, processMetrics: false,
    lookup: async (host) => {
      if (host.endsWith('.test') || host === 'localhost') return '127.0.0.1';
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    },
    ...options,
  });
  Object.assign(harness, {
    proxy,
    setConfig: apply,
    accessLog: accessLog.lines,
    events: events.lines,
    close: () => proxy.close(),
  });
  return harness;
}

/** An upstream stand-in: /headers echoes the request headers as httpbin does, /delay/S, /status/N, /reset. */
export async function startUpstream(host = '127.0.0.1', port = 0): Promise<{ server: Server; port: number; hits: string[]; aborted: string[] }> {
  const hits: string[] = [];
  const aborted: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.once('close', () => { if (!res.writableFinished) aborted.push(req.url ?? ''); });
    const url = req.url ?? '/';
    const delay = /^\/delay\/([\d.]+)/.exec(url);
    const status = /^\/status\/(\d+)/.exec(url);
    if (delay) {
      const timer = setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"delayed":true}'); }, Number(delay[1]) * 1000);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if (status) {
      res.writeHead(Number(status[1]));
      res.end(`status ${status[1]}`);
      return;
    }
    if (url.startsWith('/reset')) {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000, 97));
      setTimeout(() => res.socket?.resetAndDestroy(), 20);
      return;
    }
    const body = JSON.stringify({ headers: req.headers, url, method: req.method, server: `${host}:${port}` });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': `${host}` });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, hits, aborted };
}

export interface SimpleResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A request to the proxy port, as a redirected client would make it (Host names the real destination). */
export function proxyRequest(proxyPort: number, options: { host?: string; path?: string; method?: string; headers?: Record<string, string> }): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, method: options.method ?? 'GET', path: options.path ?? '/headers', headers: { host: options.host ?? 'httpbin.test', ...options.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and collects everything until the proxy closes (or `ms` passes). */
export function rawExchange(port: number, data: string | Buffer, ms = 2000): Promise<{ text: string; closed: boolean; reset: boolean }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let reset = false;
    const done = (closed: boolean): void => { clearTimeout(timer); socket.destroy(); resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, reset }); };
    const timer = setTimeout(() => done(false), ms);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => { reset = true; });
    socket.on('close', () => done(true));
    socket.write(data);
  });
}

export async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
