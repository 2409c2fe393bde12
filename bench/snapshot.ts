// npm run bench:snapshot — the snapshot compiler on a generated mesh (N ServiceEntries with two ports, N
// VirtualServices with a regex+header match, a 90/10 split and a catch-all, across 100 namespaces), with and
// without serialising the document. Medians of 9 runs after 3 warm-ups, one process.
import { compileSnapshot, type SnapshotInput } from '../src/snapshot/compile.ts';
import type { ServiceEntry, VirtualService } from '../src/mesh/resources.ts';

function mesh(n: number): SnapshotInput {
  const serviceEntries: ServiceEntry[] = [];
  const virtualServices: VirtualService[] = [];
  for (let i = 0; i < n; i += 1) {
    const metadata = { name: `o${i}`, namespace: `ns${i % 100}` };
    serviceEntries.push({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata, spec: { hosts: [`h${i}.example.com`], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS' } });
    virtualServices.push({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata, spec: { hosts: [`h${i}.example.com`], http: [
      { match: [{ uri: { regex: `/api/v[0-9]+/item${i}` }, headers: { 'x-user': { exact: 'a' } } }], route: [{ destination: { host: `h${i}.example.com` }, weight: 90 }, { destination: { host: `h${(i + 1) % n}.example.com` }, weight: 10 }], timeout: '3s' },
      { route: [{ destination: { host: `h${i}.example.com` } }] },
    ] } });
  }
  return { mesh: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }, serviceEntries, virtualServices };
}

function median(run: () => void): number {
  for (let i = 0; i < 3; i += 1) run();
  const times: number[] = [];
  for (let i = 0; i < 9; i += 1) {
    const t = performance.now();
    run();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[4]!;
}

console.log('| objects (SE + VS) | compileSnapshot | + JSON.stringify | snapshot size |');
console.log('|---|---|---|---|');
for (const n of [100, 1000, 5000]) {
  const input = mesh(n);
  const snapshot = median(() => compileSnapshot(input));
  const serialised = median(() => JSON.stringify(compileSnapshot(input)));
  const size = Buffer.byteLength(JSON.stringify(compileSnapshot(input)));
  console.log(`| ${n} + ${n} | ${snapshot.toFixed(1)} ms | ${serialised.toFixed(1)} ms | ${(size / 1024 / 1024).toFixed(2)} MiB |`);
}
