// bench:control's control plane, in its own process so its RSS and CPU are its own: the real server, state,
// compiler and long-poll delivery; the informer feed and the TokenReview are stand-ins driven over IPC (the
// token `bench:<namespace>` is the service account `bench` of that namespace).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { silentLogger } from '../src/observability/logger.ts';
import { defaultCompiler } from '../src/control/compile.ts';
import { startControl } from '../src/control/control.ts';
import type { InformerEvents } from '../src/control/informers.ts';
import { benchObjects, changeObject, localChangeObject } from './control-fixtures.ts';

const certDir = process.argv[2] as string;
let events: InformerEvents | undefined;
const control = await startControl({
  port: 0, host: '127.0.0.1', certDir, dnsNames: ['localhost'], clusterDomain: 'cluster.local', compile: defaultCompiler,
  review: async (token) => ({ authenticated: token.startsWith('bench:'), username: `system:serviceaccount:${token.slice(6)}:bench`, audiences: ['meshgate'] }),
  auth: { audience: 'meshgate', maxEntries: 20_000, maxTrustMs: 600_000, refusalTtlMs: 10_000, maxInFlight: 64 },
  maxWaiters: 20_000, debounceMs: 50, logger: silentLogger(),
  startFeed: async (e) => { events = e; return { synced: () => true, stop: () => undefined }; },
});
for (const { kind, object } of benchObjects()) events?.upsert(kind, object);
await control.settled();

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
// The longest the event loop was blocked since the last change: a fan-out or compile that holds the loop in one
// burst delays every other sidecar's answer by that much.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
process.on('message', (message: { type: string; n?: number; namespace?: string }) => {
  if (message.type === 'change') {
    const cpuBefore = cpuMs();
    loopDelay.reset();
    const at = process.hrtime.bigint();
    events?.upsert('ServiceEntry', message.namespace ? localChangeObject(message.n ?? 0, message.namespace) : changeObject(message.n ?? 0));
    process.send?.({ type: 'changed', at: String(at), cpuBefore });
  } else if (message.type === 'stats') {
    const m = process.memoryUsage();
    const mb = (n: number): number => Math.round(n / 2 ** 20);
    process.send?.({ type: 'stats', rssMb: m.rss / 2 ** 20, cpuMs: cpuMs(), waiters: control.server.waiters.size, loopBlockMs: loopDelay.max / 1e6,
      memory: `heap used ${mb(m.heapUsed)} / total ${mb(m.heapTotal)} MB, external ${mb(m.external)} MB (array buffers ${mb(m.arrayBuffers)} MB)` });
  }
});
process.send?.({ type: 'ready', port: control.port });
