import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { decide, type DecisionInput, type RequestInfo } from '../../../src/snapshot/decide.ts';
import { compileManifests } from '../../../src/snapshot/from-directory.ts';
import type { ProxySnapshot } from '../../../src/snapshot/types.ts';

// test/vectors/*.json through the TypeScript decision (docs/snapshot.md, "Decision vectors"). The Rust data plane
// runs the same files with `cargo test`; both must give these answers.

interface VectorCase {
  name: string;
  source?: DecisionInput['source'];
  connection: { destination: string; protocol: 'http' | 'tls' | 'tcp'; sni?: string; random?: number };
  request?: RequestInfo;
  expect: Record<string, unknown>;
}

interface Vector {
  description: string;
  manifests?: unknown[];
  snapshot: ProxySnapshot;
  cases: VectorCase[];
}

const DIR = 'test/vectors';
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const vectors = files.map((file) => ({ file, vector: JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Vector }));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync('docs/snapshot.schema.json', 'utf8')));

export function parseDestination(text: string): { ip: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new Error(`destination ${JSON.stringify(text)} is not ip:port or [ip]:port`);
  return { ip: (m[1] ?? m[2])!, port: Number(m[3]) };
}

function inputOf(c: VectorCase): DecisionInput {
  return {
    destination: parseDestination(c.connection.destination),
    protocol: c.connection.protocol,
    sni: c.connection.sni,
    request: c.request,
    source: { namespace: c.source?.namespace ?? 'default', labels: c.source?.labels ?? {}, ip: c.source?.ip },
    random: c.connection.random ?? 0,
  };
}

test('there are vector files, each with cases', () => {
  assert.ok(files.length >= 6, `only ${files.length} vector files`);
  for (const { file, vector } of vectors) assert.ok(vector.cases.length > 0, `${file} has no cases`);
});

for (const { file, vector } of vectors) {
  test(`${file}: the snapshot is valid and is what its manifests compile to`, () => {
    assert.ok(validate(vector.snapshot), `${file}: ${JSON.stringify(validate.errors)}`);
    if (vector.manifests) {
      const { snapshot, problems } = compileManifests([{ source: file, values: vector.manifests }], undefined);
      assert.deepEqual(problems, []);
      assert.deepEqual(snapshot, vector.snapshot, `${file} is stale: run node --import tsx test/vectors/regenerate.ts and review the diff`);
    }
  });

  test(`${file}: ${vector.description}`, () => {
    const failures: string[] = [];
    for (const c of vector.cases) {
      assert.equal(c.request !== undefined, c.connection.protocol === 'http', `${c.name}: request is present exactly for http`);
      const decision = decide(vector.snapshot, inputOf(c)) as unknown as Record<string, unknown>;
      for (const [field, expected] of Object.entries(c.expect)) {
        try {
          assert.deepEqual(decision[field], expected);
        } catch {
          failures.push(`${c.name}: ${field} is ${JSON.stringify(decision[field])}, expected ${JSON.stringify(expected)} (${String(decision['detail'])})`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });
}

test('the vectors cover every reason and every match field', () => {
  const reasons = new Set(vectors.flatMap(({ vector }) => vector.cases.map((c) => c.expect['reason'])));
  for (const reason of ['host_match', 'sni_match', 'address_match', 'allow_any', 'registry_only', 'route', 'no_route', 'redirect', 'direct_response', 'destination_unknown']) {
    assert.ok(reasons.has(reason), `no vector expects ${reason}`);
  }
  const httpFields = new Set<string>();
  const l4Fields = new Set<string>();
  for (const { vector } of vectors) {
    for (const vs of vector.snapshot.virtualServices) {
      for (const m of vs.http.flatMap((r) => r.match)) {
        for (const [k, v] of Object.entries(m)) if (typeof v !== 'object' || Object.keys(v).length > 0) httpFields.add(k);
        if (m.uri && 'ignoreCase' in m.uri) httpFields.add('ignoreUriCase');
      }
      const l4: object[] = [...vs.tls.flatMap((r) => r.match), ...vs.tcp.flatMap((r) => r.match)];
      for (const m of l4) for (const [k, v] of Object.entries(m)) if (typeof v !== 'object' || Object.keys(v as object).length > 0) l4Fields.add(k);
    }
  }
  assert.deepEqual([...httpFields].sort(), ['authority', 'headers', 'ignoreUriCase', 'method', 'port', 'queryParams', 'scheme', 'sourceLabels', 'sourceNamespace', 'uri', 'withoutHeaders']);
  assert.deepEqual([...l4Fields].sort(), ['destinationSubnets', 'port', 'sniHosts', 'sourceLabels', 'sourceNamespace', 'sourceSubnet']);
});
