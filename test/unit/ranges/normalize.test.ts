import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import fc from 'fast-check';
import { parseCidr, type Cidr } from '../../../src/ranges/cidr.ts';
import { addressToBigInt, bigIntToAddress, cidrToRange, hasHostBits, rangeToCidrs } from '../../../src/ranges/ip-math.ts';
import { normalizeCidrs, normalizeToStrings } from '../../../src/ranges/normalize.ts';

const cidrs = (...texts: string[]): Cidr[] => texts.map((t) => parseCidr(t)!);

const cases: Array<{ name: string; input: string[]; output: string[] }> = [
  { name: 'duplicates are removed', input: ['10.96.0.0/12', '10.96.0.0/12'], output: ['10.96.0.0/12'] },
  { name: 'a contained range disappears into its container', input: ['10.0.0.0/8', '10.96.0.0/12'], output: ['10.0.0.0/8'] },
  { name: 'adjacent halves merge into their parent', input: ['10.0.0.0/25', '10.0.0.128/25'], output: ['10.0.0.0/24'] },
  { name: 'adjacent but unaligned ranges stay two CIDRs', input: ['10.123.0.0/16', '10.124.0.0/16'], output: ['10.123.0.0/16', '10.124.0.0/16'] },
  { name: 'host bits are cleared', input: ['10.96.0.1/12'], output: ['10.96.0.0/12'] },
  { name: 'IPv4 comes first, then IPv6, each in address order', input: ['fd00::/8', '172.16.0.0/12', '10.0.0.0/8'], output: ['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8'] },
  { name: 'IPv6 is written canonically', input: ['FD00:10:96:0:0:0:0:0/112', 'fd00:10:96::1:0/112'], output: ['fd00:10:96::/111'] },
  { name: 'overlapping ranges merge to the exact union', input: ['10.0.0.0/24', '10.0.0.128/24', '10.0.1.0/24'], output: ['10.0.0.0/23'] },
  { name: 'the whole space stays /0', input: ['0.0.0.0/0', '10.0.0.0/8'], output: ['0.0.0.0/0'] },
  { name: 'nothing in, nothing out', input: [], output: [] },
];

for (const c of cases) {
  test(`normalisation: ${c.name}`, () => {
    assert.deepEqual(normalizeToStrings(cidrs(...c.input)), c.output);
  });
}

test('an interval splits into the fewest aligned CIDRs', () => {
  const range = { family: 4 as const, start: addressToBigInt('10.0.0.1'), end: addressToBigInt('10.0.0.6') };
  assert.deepEqual(rangeToCidrs(range).map((c) => `${c.address}/${c.prefix}`), ['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
});

test('host bits are detected in both families', () => {
  assert.equal(hasHostBits(parseCidr('10.0.0.1/24')!), true);
  assert.equal(hasHostBits(parseCidr('10.0.0.0/24')!), false);
  assert.equal(hasHostBits(parseCidr('fd00::1/64')!), true);
  assert.equal(hasHostBits(parseCidr('::ffff:10.0.0.0/120')!), false);
});

// Properties. Small prefixes and a narrow base make overlaps and adjacency common, which is where merging can go wrong.
const v4Cidr = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 16, max: 32 }))
  .map(([b, c, prefix]): Cidr => ({ family: 4, address: `10.${b % 4}.${c}.${(b * 7 + c) % 256}`, prefix }));
const v6Cidr = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 100, max: 128 }))
  .map(([g, prefix]): Cidr => ({ family: 6, address: `fd00::${(g % 16).toString(16)}:${g.toString(16)}`, prefix }));
const anyCidrs = fc.array(fc.oneof(v4Cidr, v6Cidr), { maxLength: 12 });

function blockList(list: Cidr[]): BlockList {
  const blocks = new BlockList();
  for (const c of list) blocks.addSubnet(bigIntToAddress(cidrToRange(c).start, c.family), c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
  return blocks;
}

test('property: the normalised set covers exactly the same addresses (node:net BlockList as the oracle)', () => {
  const probe = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([b, c, d]) => `10.${b}.${c}.${d}`),
    fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([a, b, c]) => `fd00::${a.toString(16)}:${b.toString(16)}:${c.toString(16)}`),
  );
  fc.assert(fc.property(anyCidrs, fc.array(probe, { minLength: 20, maxLength: 60 }), (input, probes) => {
    const before = blockList(input);
    const after = blockList(normalizeCidrs(input));
    for (const address of probes) {
      const family = address.includes(':') ? 'ipv6' : 'ipv4';
      assert.equal(after.check(address, family), before.check(address, family), address);
    }
  }), { numRuns: 300 });
});

test('property: the union of intervals is identical, and the output has no overlaps, no host bits and is a fixed point', () => {
  const union = (list: Cidr[]): string[] => {
    const ranges = list.map(cidrToRange).sort((a, b) => (a.family - b.family) || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const out: Array<{ family: number; start: bigint; end: bigint }> = [];
    for (const r of ranges) {
      const last = out.at(-1);
      if (last && last.family === r.family && last.end + 1n >= r.start) last.end = r.end > last.end ? r.end : last.end;
      else out.push({ ...r });
    }
    return out.map((r) => `${r.family}:${r.start}-${r.end}`);
  };
  fc.assert(fc.property(anyCidrs, (input) => {
    const output = normalizeCidrs(input);
    assert.deepEqual(union(output), union(input));
    assert.ok(output.every((c) => !hasHostBits(c)));
    const sorted = output.map(cidrToRange);
    for (let i = 1; i < sorted.length; i += 1) {
      if (sorted[i]!.family === sorted[i - 1]!.family) assert.ok(sorted[i - 1]!.end < sorted[i]!.start, 'disjoint and ordered');
    }
    assert.deepEqual(normalizeCidrs(output), output);
  }), { numRuns: 300 });
});

test('property: address text and integers round-trip through the canonical form', () => {
  fc.assert(fc.property(fc.ipV6(), (address) => {
    const value = addressToBigInt(address);
    assert.equal(addressToBigInt(bigIntToAddress(value, 6)), value);
    // The canonical text is what node's URL parser prints (RFC 5952), an independent implementation.
    assert.equal(`[${bigIntToAddress(value, 6)}]`, new URL(`http://[${address}]/`).hostname);
  }), { numRuns: 300 });
  fc.assert(fc.property(fc.ipV4(), (address) => {
    assert.equal(bigIntToAddress(addressToBigInt(address), 4), address);
  }), { numRuns: 200 });
});
