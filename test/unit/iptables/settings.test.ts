import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBackend, variantOfVersion, type BackendEvidence } from '../../../src/iptables/backend.ts';
import { parseInitFlags, type InitFlags } from '../../../src/iptables/settings.ts';

const rejected: Array<{ name: string; flags: InitFlags; errors: string[] }> = [
  { name: 'TPROXY is refused: only REDIRECT is implemented', flags: { interceptionMode: 'TPROXY' }, errors: ['-m: only REDIRECT is supported, not "TPROXY"'] },
  { name: 'a wildcard exclude is refused, as Istio refuses it', flags: { excludeIpRanges: '*' }, errors: ['-x: invalid CIDR "*"'] },
  { name: 'a CIDR with a space is refused', flags: { includeIpRanges: '10.0.0.0/8, 11.0.0.0/8' }, errors: ['-i: invalid CIDR " 11.0.0.0/8"'] },
  { name: 'a port out of range is refused', flags: { proxyPort: '70000' }, errors: ['-p: invalid port "70000"'] },
  { name: 'a non-numeric UID is refused', flags: { proxyUid: 'istio' }, errors: ['-u: invalid id list "istio"'] },
  { name: 'every problem is reported at once', flags: { excludeOutboundPorts: 'x', includeOutboundPorts: '*' }, errors: ['-o: invalid port "x"', '-q: invalid port "*"'] },
];

for (const c of rejected) {
  test(c.name, () => {
    assert.deepEqual(parseInitFlags(c.flags), { ok: false, errors: c.errors });
  });
}

test("the injector's arguments with empty strings parse to: capture all, exclude none", () => {
  const parsed = parseInitFlags({ includeIpRanges: '*', excludeIpRanges: '', includeInboundPorts: '*', excludeInboundPorts: '15090,15021,15020' });
  assert.ok(parsed.ok);
  assert.equal(parsed.settings.includeAll, true);
  assert.deepEqual(parsed.settings.excludeCidrs, []);
  assert.deepEqual(parsed.settings.inboundExcludePorts, [15090, 15021, 15020]);
  assert.deepEqual(parsed.settings.proxyGids, [1337], 'the GID defaults to the UID');
});

const backends: Array<{ name: string; evidence: BackendEvidence; expect: 'nft' | 'legacy' }> = [
  { name: 'legacy wins when only legacy holds rules (an older node)', evidence: { legacyRules: 40, nftRules: 0, defaultVariant: 'nft' }, expect: 'legacy' },
  { name: 'nft wins when only nft holds rules, whatever the default', evidence: { legacyRules: 0, nftRules: 12, defaultVariant: 'legacy' }, expect: 'nft' },
  { name: 'an empty pod namespace follows the system default', evidence: { legacyRules: 0, nftRules: 0, defaultVariant: 'legacy' }, expect: 'legacy' },
  { name: 'no tool answering at all assumes nft', evidence: { legacyRules: undefined, nftRules: undefined, defaultVariant: undefined }, expect: 'nft' },
];

for (const c of backends) {
  test(c.name, () => {
    assert.equal(chooseBackend(c.evidence).variant, c.expect);
  });
}

test('the iptables version line names the variant', () => {
  assert.equal(variantOfVersion('iptables v1.8.9 (nf_tables)'), 'nft');
  assert.equal(variantOfVersion('iptables v1.8.7 (legacy)'), 'legacy');
  assert.equal(variantOfVersion('iptables v1.4.21'), undefined);
});

test('-i/-x CIDRs with host bits are valid, kept as written, and each gives a warning naming the flag and the network', () => {
  const parsed = parseInitFlags({ includeIpRanges: '10.0.0.1/24,10.8.0.0/16', excludeIpRanges: 'fd00::1/64' });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.settings.includeCidrs.map((c) => `${c.address}/${c.prefix}`), ['10.0.0.1/24', '10.8.0.0/16']);
  assert.deepEqual(parsed.warnings, [
    '-i: 10.0.0.1/24 has host bits set: it is used as written and matches the network 10.0.0.0/24',
    '-x: fd00::1/64 has host bits set: it is used as written and matches the network fd00::/64',
  ]);
  const clean = parseInitFlags({ includeIpRanges: '10.0.0.0/24' });
  assert.ok(clean.ok);
  assert.deepEqual(clean.warnings, []);
});
