import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explain } from '../../../src/proxy/explain.ts';
import type { ProxySnapshot } from '../../../src/snapshot/types.ts';

// /explain answers from the snapshot through the vectors' decision: for every vector it can express (an HTTP request
// with no headers from the default source, or a TLS connection by SNI), it must give the vector's answer.

interface Case {
  name: string;
  source?: unknown;
  connection: { destination: string; protocol: string; sni?: string; random?: number };
  request?: { scheme: string; method: string; authority: string; path: string; headers: Record<string, unknown> };
  expect: { verdict: string; reason: string; cluster: string | null; status: number | null };
}

const vectors = readdirSync('test/vectors').filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join('test/vectors', f), 'utf8')) as { snapshot: ProxySnapshot; cases: Case[] });

test('explain gives the vectors\' answers for HTTP requests and TLS connections it can express', () => {
  let compared = 0;
  for (const { snapshot, cases } of vectors) {
    for (const c of cases) {
      if (c.source !== undefined || (c.connection.random ?? 0) !== 0) continue;
      const port = Number(/:(\d+)$/.exec(c.connection.destination)![1]);
      let got;
      if (c.request && Object.keys(c.request.headers).length === 0 && c.request.scheme === 'http' && !c.request.authority.includes(':')) {
        // explain asks by name (the destination IP is unknown): skip the cases decided by the dialled address
        if (c.expect.reason === 'address_match') continue;
        got = explain(snapshot, c.request.authority, port, { method: c.request.method, path: c.request.path }).http;
      } else if (c.connection.protocol === 'tls' && c.connection.sni !== undefined && c.expect.reason !== 'address_match') {
        got = explain(snapshot, c.connection.sni, port).tls;
      } else continue;
      compared += 1;
      assert.deepEqual({ verdict: got.verdict, reason: got.code, cluster: got.cluster, status: got.status ?? null }, { verdict: c.expect.verdict, reason: c.expect.reason, cluster: c.expect.cluster, status: c.expect.status }, c.name);
    }
  }
  assert.ok(compared >= 40, `only ${compared} vector cases compared`);
});

test('explain names the snapshot version, the rule and the route', () => {
  const { snapshot } = vectors.find((v) => v.snapshot.virtualServices.some((s) => s.source.name === 'shop'))!;
  const answer = explain(snapshot, 'SHOP.example.com', 80, { path: '/old' });
  assert.equal(answer.snapshotVersion, snapshot.version);
  assert.equal(answer.http.rule, 'ServiceEntry default/shop spec.ports[0]');
  assert.equal(answer.http.virtualService, 'VirtualService default/shop spec.http[1]');
  assert.equal(answer.http.status, 301);
  assert.deepEqual(answer.tcp, { note: 'TCP is matched by destination address: ask with an IP address' });
});
