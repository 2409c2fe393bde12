import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCidrList } from '../../../src/ranges/cidr.ts';
import { mergeAsWritten } from '../../../src/ranges/normalize.ts';

// Ranges as Istio (and its docs) write them: host bits and overlaps are valid; only what is not a CIDR is refused.

const lists: Array<{ value: string; ok: boolean; warnings?: string[] }> = [
  { value: '10.0.0.1/24', ok: true, warnings: ['10.0.0.1/24 has host bits set: it is used as written and matches the network 10.0.0.0/24'] },
  { value: 'fd00::1/64', ok: true, warnings: ['fd00::1/64 has host bits set: it is used as written and matches the network fd00::/64'] },
  { value: '10.4.0.0/14,10.7.240.0/20', ok: true, warnings: [] },
  { value: '10.0.0.0/8,10.0.0.0/8', ok: true, warnings: [] },
  { value: '10.0.0.0/33', ok: false },
  { value: '10.0.0.0/99', ok: false },
  { value: 'fd00::/129', ok: false },
  { value: 'garbage', ok: false },
  { value: '10.0.0.0', ok: false },
  { value: '10.0.0.0/8,', ok: false },
];

for (const c of lists) {
  test(`checkCidrList ${JSON.stringify(c.value)} is ${c.ok ? 'valid' : 'an error'}`, () => {
    const check = checkCidrList(c.value, true);
    assert.equal(check.ok, c.ok);
    if (check.ok) assert.deepEqual(check.warnings, c.warnings);
  });
}

const merges: Array<{ name: string; input: string[]; include: string[]; merged: string[] }> = [
  { name: "GKE's service block inside its pod block", input: ['10.4.0.0/14', '10.7.240.0/20'], include: ['10.4.0.0/14'], merged: ['10.7.240.0/20 merged into 10.4.0.0/14'] },
  { name: 'the container second', input: ['10.7.240.0/20', '10.4.0.0/14'], include: ['10.4.0.0/14'], merged: ['10.7.240.0/20 merged into 10.4.0.0/14'] },
  { name: 'host bits kept when nothing merges', input: ['10.0.0.1/24', '10.1.0.0/16'], include: ['10.0.0.1/24', '10.1.0.0/16'], merged: [] },
  { name: 'adjacent halves become one block', input: ['10.0.0.0/25', '10.0.0.128/25'], include: ['10.0.0.0/24'], merged: ['10.0.0.0/25 merged into 10.0.0.0/24', '10.0.0.128/25 merged into 10.0.0.0/24'] },
  { name: 'the same network twice is one', input: ['10.96.0.0/12', '10.96.0.0/12'], include: ['10.96.0.0/12'], merged: [] },
  { name: 'order kept, families apart', input: ['fd00::/64', '172.30.0.0/16', '10.10.10.0/24'], include: ['fd00::/64', '172.30.0.0/16', '10.10.10.0/24'], merged: [] },
];

for (const c of merges) {
  test(`mergeAsWritten: ${c.name}`, () => {
    assert.deepEqual(mergeAsWritten(c.input), { include: c.include, merged: c.merged });
  });
}
