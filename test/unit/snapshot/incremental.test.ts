import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSnapshotWithText, type SnapshotInput } from '../../../src/snapshot/compile.ts';
import { IncrementalCompiler, objectJson } from '../../../src/snapshot/incremental.ts';
import type { ServiceEntry, VirtualService } from '../../../src/mesh/resources.ts';
import { everything, se, vs } from './fixtures.ts';

// The control plane's compiler reuses each object's compiled part across snapshots; its document must be exactly
// compileSnapshot's (bytes and version) for every input. Seeded random inputs over small pools of hosts and ports,
// so objects collide on hosts, cluster names and listener entries, in random orders, with invalid parts mixed in;
// one compiler instance across all runs, so cached parts are reused in other lists and positions.

/** mulberry32: a small seeded generator, so a failure replays with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTS = ['api.example.com', 'API.example.com.', '*.example.com', '*.cdn.example.com', '*', 'db.internal', '123', '007', '4294967295', '__proto__', 'reviews', '*foo.com', 'bad host', 'a.b.c.d.example.org'];
const PORTS = [80, 443, 8080, 5432, 0, 70000];
const PROTOCOLS = ['HTTP', 'TLS', 'TCP', 'GRPC', 'HTTPS', 'UDP', undefined, 'bogus'];
const RESOLUTIONS = ['NONE', 'DNS', 'STATIC', 'DYNAMIC_DNS', 'DNS_ROUND_ROBIN', undefined, 'WRONG'];
const NAMESPACES = ['default', 'shop', 'ns-1'];

function generators(rand: () => number): { serviceEntry(i: number): ServiceEntry; virtualService(i: number): VirtualService } {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const some = <T>(list: readonly T[], max: number): T[] => Array.from({ length: 1 + Math.floor(rand() * max) }, () => pick(list));
  return {
    serviceEntry(i) {
      const resolution = pick(RESOLUTIONS);
      return se(`se-${i}`, {
        hosts: some(HOSTS, 3),
        ports: some(PORTS, 3).map((number, j) => ({ number, name: `${pick(['http', 'tcp', 'tls', 'web'])}-${j}`, ...(rand() < 0.7 ? { protocol: pick(PROTOCOLS) } : {}), ...(rand() < 0.2 ? { targetPort: 9000 + j } : {}) })),
        ...(resolution === undefined ? {} : { resolution }),
        ...(rand() < 0.5 ? { addresses: some(['10.0.0.1', '10.0.0.0/8', '2001:db8::1', 'not-an-ip', '192.168.1.0/24'], 2) } : {}),
        ...(resolution === 'STATIC' || rand() < 0.2 ? { endpoints: some([{ address: '10.1.2.3', ports: { 'http-0': 8081 } }, { address: '10.1.2.4', weight: 2, labels: { v: '1' } }, { address: 'backend.example.com' }], 2) } : {}),
        location: pick(['MESH_INTERNAL', 'MESH_EXTERNAL']),
      }, pick(NAMESPACES));
    },
    virtualService(i) {
      const destination = (): Record<string, unknown> => ({ host: pick(HOSTS), ...(rand() < 0.5 ? { port: { number: pick(PORTS) } } : {}) });
      return vs(`vs-${i}`, {
        hosts: some(HOSTS, 2),
        ...(rand() < 0.15 ? { gateways: pick([['mesh'], ['istio-system/gw'], ['gw', 'mesh']]) } : {}),
        http: some([
          { match: [{ uri: { prefix: '/v1' } }], route: [{ destination: destination() }], timeout: pick(['3s', '1m', 'soon']) },
          { match: [{ uri: { regex: pick(['/api/v[0-9]+', '(a)\\1', '.*']) } }], route: [{ destination: destination(), weight: 100 }] },
          { route: [{ destination: destination(), weight: 60 }, { destination: destination(), weight: 40 }], retries: { attempts: 2, perTryTimeout: '1s' } },
          { redirect: { uri: '/moved' } },
          { mirror: { host: pick(HOSTS) }, route: [{ destination: destination() }] },
        ], 2),
        ...(rand() < 0.3 ? { tls: [{ match: [{ sniHosts: some(HOSTS, 2) }], route: [{ destination: destination() }] }] } : {}),
        ...(rand() < 0.3 ? { tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/8'], port: 5432 }], route: [{ destination: destination() }] }] } : {}),
      }, pick(NAMESPACES));
    },
  };
}

function shuffledSubset<T>(rand: () => number, pool: readonly T[], max: number): T[] {
  const copy = [...pool];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rand() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, Math.floor(rand() * (max + 1)));
}

test('the incremental compiler writes compileSnapshot\'s exact document and version, over random inputs', () => {
  const seed = Number(process.env['INCREMENTAL_SEED'] ?? 20261129);
  const rand = random(seed);
  const make = generators(rand);
  const fixed = everything();
  const entries = [...fixed.serviceEntries, ...Array.from({ length: 60 }, (_, i) => make.serviceEntry(i))];
  const routes = [...fixed.virtualServices, ...Array.from({ length: 60 }, (_, i) => make.virtualService(i))];
  const compiler = new IncrementalCompiler();
  const started = Date.now();
  let problems = 0;
  for (let run = 0; run < 300; run += 1) {
    const input: SnapshotInput = {
      mesh: rand() < 0.5 ? fixed.mesh : { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } },
      serviceEntries: shuffledSubset(rand, entries, 25),
      virtualServices: shuffledSubset(rand, routes, 25),
      ...(rand() < 0.3 ? { clusterDomain: 'corp.internal' } : {}),
    };
    const expected = compileSnapshotWithText(input);
    const got = compiler.compile(input);
    assert.equal(got.version, expected.snapshot.version, `seed ${seed}, run ${run}: version`);
    assert.equal(got.bytes.toString('utf8'), expected.text, `seed ${seed}, run ${run}: document`);
    problems += expected.snapshot.problems.length;
    assert.ok(Date.now() - started < 60_000, 'bounded in time');
  }
  // The inputs reach the compiler's refusals too, not only the happy path.
  assert.ok(problems > 100, `only ${problems} problems over all runs`);
});

test('objectJson orders array-index keys first, as JSON.stringify of the object does', () => {
  const entries = new Map<string, unknown>([['b', 1], ['10', [2]], ['__proto__', 'x'], ['2', 3], ['4294967295', 4], ['01', 5], ['4294967294', 6]]);
  assert.equal(objectJson(entries), JSON.stringify(Object.fromEntries(entries)));
  assert.equal(objectJson(new Map()), '{}');
});
