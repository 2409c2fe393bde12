import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compileSnapshot, type SnapshotInput } from '../../../src/snapshot/compile.ts';
import { decide } from '../../../src/snapshot/decide.ts';
import { everything } from './fixtures.ts';

// The control plane compiles whatever the API server holds: a ServiceEntry or VirtualService mutated at random places
// into random JSON must give a schema-valid snapshot (the bad part listed in `problems`), never a throw; and the
// decision must answer for it.

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync('docs/snapshot.schema.json', 'utf8')));

/** Replaces (or deletes) the node reached by walking `steps` from `root` (each step picks a child by index). */
function mutate(root: unknown, steps: number[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(root);
  let parent: Record<string, unknown> | unknown[] | undefined;
  let key: string | number | undefined;
  let node: unknown = copy;
  for (const step of steps) {
    if (Array.isArray(node) && node.length > 0) {
      parent = node;
      key = step % node.length;
      node = node[key];
    } else if (node !== null && typeof node === 'object' && Object.keys(node).length > 0) {
      const keys = Object.keys(node);
      parent = node as Record<string, unknown>;
      key = keys[step % keys.length]!;
      node = parent[key];
    } else break;
  }
  if (parent === undefined || key === undefined) return value;
  if (remove && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else (parent as Record<string, unknown>)[key as string] = value;
  return copy;
}

const edits = fc.array(fc.record({
  steps: fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 10 }),
  value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('', '*', '0s', '(?=x)', '*foo.com', '10.0.0.0/99', '__proto__', -1, 70000, 1.5, null, 1e308)),
  remove: fc.boolean(),
}), { minLength: 1, maxLength: 4 });

test('randomly mutated ServiceEntries and VirtualServices compile to a schema-valid snapshot, and decide() answers', () => {
  const base = everything();
  const started = Date.now();
  fc.assert(fc.property(edits, fc.boolean(), (list, onRoutes) => {
    let objects: unknown = onRoutes ? base.virtualServices : base.serviceEntries;
    for (const e of list) objects = mutate(objects, e.steps, e.value, e.remove);
    const input = { ...base, [onRoutes ? 'virtualServices' : 'serviceEntries']: Array.isArray(objects) ? objects : [] } as SnapshotInput;
    const snapshot = compileSnapshot(input);
    assert.ok(validate(snapshot), JSON.stringify(validate.errors));
    for (const p of snapshot.problems) assert.ok(p.message.length > 0 && typeof p.source.path === 'string');
    decide(snapshot, { destination: { ip: '1.2.3.4', port: 80 }, protocol: 'http', request: { scheme: 'http', method: 'GET', authority: 'api.example.com', path: '/v1/x?v=2', headers: { 'x-user': 'jason' } }, source: { labels: { app: 'web' } } });
    decide(snapshot, { destination: { ip: '1.2.3.4', port: 443 }, protocol: 'tls', sni: 'api.example.com' });
    decide(snapshot, { destination: { ip: '10.1.2.3', port: 5432 }, protocol: 'tcp' });
  }), { numRuns: 600, ...(process.env['FUZZ_SEED'] ? { seed: Number(process.env['FUZZ_SEED']) } : {}) });
  assert.ok(Date.now() - started < 60_000, 'bounded in time');
});
