import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyScript, cleanupScript, renderRules, staleJumps, type Family } from '../../../src/iptables/rules.ts';
import { parseInitFlags, type InitFlags, type InitSettings } from '../../../src/iptables/settings.ts';

function settings(flags: InitFlags): InitSettings {
  const parsed = parseInitFlags(flags);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.settings;
}

const HEAD = [
  '*nat',
  ':ISTIO_INBOUND - [0:0]',
  ':ISTIO_IN_REDIRECT - [0:0]',
  ':ISTIO_OUTPUT - [0:0]',
  ':ISTIO_REDIRECT - [0:0]',
  '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
  '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
];
const OWNER_AND_LOOPBACK_V4 = [
  '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
  '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
  '-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN',
  '-A ISTIO_OUTPUT -o lo -j RETURN',
  '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
];
const lines = (...parts: string[][]): string => [...parts.flat(), 'COMMIT', ''].join('\n');

const cases: Array<{ name: string; flags: InitFlags; family?: Family; expect: string }> = [
  {
    name: "the injector's default arguments capture every destination and every inbound port but the proxy's",
    flags: { proxyPort: '15001', inboundCapturePort: '15006', proxyUid: '1337', interceptionMode: 'REDIRECT', includeIpRanges: '*', excludeIpRanges: '', includeInboundPorts: '*', excludeInboundPorts: '15090,15021,15020' },
    expect: lines(HEAD, [
      '-A PREROUTING -p tcp -j ISTIO_INBOUND',
      '-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN',
      '-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN',
      '-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN',
      '-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN',
      '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
    ], OWNER_AND_LOOPBACK_V4, ['-A ISTIO_OUTPUT -j ISTIO_REDIRECT']),
  },
  {
    name: 'an include range jumps to the redirect chain for that range only (the reference example)',
    flags: { includeIpRanges: '10.0.0.0/8' },
    expect: lines(HEAD, OWNER_AND_LOOPBACK_V4, ['-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT']),
  },
  {
    name: 'excludes return before includes, in the order given, with host bits kept verbatim',
    flags: { includeIpRanges: '10.0.0.0/8,172.16.0.0/12', excludeIpRanges: '10.96.0.1/24,10.1.2.3/32' },
    expect: lines(HEAD, OWNER_AND_LOOPBACK_V4, [
      '-A ISTIO_OUTPUT -d 10.96.0.1/24 -j RETURN',
      '-A ISTIO_OUTPUT -d 10.1.2.3/32 -j RETURN',
      '-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT',
      '-A ISTIO_OUTPUT -d 172.16.0.0/12 -j ISTIO_REDIRECT',
    ]),
  },
  {
    name: 'an empty include captures nothing outbound but still lets the proxy and loopback return',
    flags: { includeIpRanges: '', excludeIpRanges: '' },
    expect: lines(HEAD, OWNER_AND_LOOPBACK_V4),
  },
  {
    name: 'excluded outbound ports return first, included outbound ports redirect before the ranges',
    flags: { includeIpRanges: '10.0.0.0/8', excludeOutboundPorts: '25,3306', includeOutboundPorts: '8080' },
    expect: lines(HEAD, [
      '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
      '-A ISTIO_OUTPUT -p tcp --dport 25 -j RETURN',
      '-A ISTIO_OUTPUT -p tcp --dport 3306 -j RETURN',
    ], OWNER_AND_LOOPBACK_V4.slice(1), [
      '-A ISTIO_OUTPUT -p tcp --dport 8080 -j ISTIO_REDIRECT',
      '-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT',
    ]),
  },
  {
    name: 'listed inbound ports are captured one by one, without the wildcard returns',
    flags: { includeIpRanges: '', includeInboundPorts: '8080,9090' },
    expect: lines(HEAD, [
      '-A PREROUTING -p tcp -j ISTIO_INBOUND',
      '-A ISTIO_INBOUND -p tcp --dport 8080 -j ISTIO_IN_REDIRECT',
      '-A ISTIO_INBOUND -p tcp --dport 9090 -j ISTIO_IN_REDIRECT',
    ], OWNER_AND_LOOPBACK_V4),
  },
  {
    name: 'other ports, several UIDs and a separate GID are honoured',
    flags: { proxyPort: '16001', inboundCapturePort: '16006', proxyUid: '1337,1338', proxyGid: '2000', includeIpRanges: '*' },
    expect: lines([...HEAD.slice(0, 5), '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 16001', '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006'], [
      '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
      '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -m owner --uid-owner 1338 -j RETURN',
      '-A ISTIO_OUTPUT -m owner --gid-owner 2000 -j RETURN',
      '-A ISTIO_OUTPUT -o lo -j RETURN',
      '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
      '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    ]),
  },
  {
    name: 'IPv4 rules leave IPv6 ranges to ip6tables',
    flags: { includeIpRanges: '10.0.0.0/8,fd00::/8', excludeIpRanges: 'fd00:1::/64' },
    expect: lines(HEAD, OWNER_AND_LOOPBACK_V4, ['-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT']),
  },
  {
    name: 'ip6tables gets the IPv6 ranges and ::1 instead of 127.0.0.1',
    flags: { includeIpRanges: '10.0.0.0/8,fd00::/8', excludeIpRanges: 'fd00:1::/64' },
    family: 6,
    expect: lines(HEAD, OWNER_AND_LOOPBACK_V4.slice(0, 4), [
      '-A ISTIO_OUTPUT -d ::1/128 -j RETURN',
      '-A ISTIO_OUTPUT -d fd00:1::/64 -j RETURN',
      '-A ISTIO_OUTPUT -d fd00::/8 -j ISTIO_REDIRECT',
    ]),
  },
];

for (const c of cases) {
  test(c.name, () => {
    assert.equal(renderRules(settings(c.flags), c.family ?? 4), c.expect);
  });
}

const SAVED = [
  '# Generated by iptables-save v1.8.9 (nf_tables)',
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':ISTIO_OUTPUT - [0:0]',
  ':ISTIO_REDIRECT - [0:0]',
  ':KUBE-SERVICES - [0:0]',
  '-A PREROUTING -j KUBE-SERVICES',
  '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
  '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
  '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
  'COMMIT',
  '*filter',
  '-A OUTPUT -j ISTIO_OUTPUT',
  'COMMIT',
].join('\n');

test('stale jumps are the nat built-in chain rules that target our chains, and only those', () => {
  assert.deepEqual(staleJumps(SAVED), ['-D OUTPUT -p tcp -j ISTIO_OUTPUT']);
});

test('applying over an earlier run deletes its jump before adding the new one, so a second run changes nothing', () => {
  const script = applyScript(settings({ includeIpRanges: '*' }), 4, SAVED).split('\n');
  const deleted = script.indexOf('-D OUTPUT -p tcp -j ISTIO_OUTPUT');
  assert.ok(deleted > 0 && deleted < script.indexOf('-A OUTPUT -p tcp -j ISTIO_OUTPUT'));
  assert.equal(script.filter((line) => line.startsWith('-A OUTPUT')).length, 1);
});

test('cleanup flushes and deletes only the chains that exist, after removing the jumps', () => {
  assert.equal(cleanupScript(SAVED), [
    '*nat',
    ':ISTIO_OUTPUT - [0:0]',
    ':ISTIO_REDIRECT - [0:0]',
    '-D OUTPUT -p tcp -j ISTIO_OUTPUT',
    '-X ISTIO_OUTPUT',
    '-X ISTIO_REDIRECT',
    'COMMIT',
    '',
  ].join('\n'));
});

test('cleanup of a namespace without our chains has nothing to do', () => {
  assert.equal(cleanupScript('*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j KUBE-SERVICES\nCOMMIT\n'), '');
});

// istio-iptables' golden files basic-exclude-nic, kube-virt-interfaces and ipnets-with-kube-virt-interfaces: the same
// matches and targets; the interface RETURNs open meshgate's own chains instead of the built-in ones (rules.ts says why).
test('-c: traffic in or out of an excluded interface returns before any capture rule, in both families', () => {
  for (const family of [4, 6] as const) {
    const text = renderRules(settings({ includeIpRanges: '*', includeInboundPorts: '*', excludeInterfaces: 'not-istio-nic,eth9' }), family).split('\n');
    const inbound = text.filter((l) => l.startsWith('-A ISTIO_INBOUND'));
    assert.deepEqual(inbound.slice(0, 2), ['-A ISTIO_INBOUND -i not-istio-nic -j RETURN', '-A ISTIO_INBOUND -i eth9 -j RETURN']);
    const output = text.filter((l) => l.startsWith('-A ISTIO_OUTPUT'));
    assert.deepEqual(output.slice(0, 2), ['-A ISTIO_OUTPUT -o not-istio-nic -j RETURN', '-A ISTIO_OUTPUT -o eth9 -j RETURN']);
    assert.ok(!text.some((l) => l.startsWith('-A PREROUTING -i')), 'an excluded interface is not rerouted');
  }
});

test('-k with -i *: what arrives on a virtual interface takes the outbound redirect, and never the inbound one', () => {
  const text = renderRules(settings({ includeIpRanges: '*', includeInboundPorts: '*', kubevirtInterfaces: 'eth1,eth2' }), 4).split('\n');
  const prerouting = text.filter((l) => l.startsWith('-A PREROUTING'));
  assert.deepEqual(prerouting, ['-A PREROUTING -i eth1 -j ISTIO_REDIRECT', '-A PREROUTING -i eth2 -j ISTIO_REDIRECT', '-A PREROUTING -p tcp -j ISTIO_INBOUND']);
  assert.deepEqual(text.filter((l) => / -i eth\d -j RETURN/.test(l)), ['-A ISTIO_INBOUND -i eth1 -j RETURN', '-A ISTIO_INBOUND -i eth2 -j RETURN']);
});

test('-k with include CIDRs: only those destinations, per family (ipnets-with-kube-virt-interfaces)', () => {
  const s = settings({ includeIpRanges: '10.0.0.0/8,fd00::/8', kubevirtInterfaces: 'eth1' });
  assert.deepEqual(renderRules(s, 4).split('\n').filter((l) => l.startsWith('-A PREROUTING')), ['-A PREROUTING -i eth1 -d 10.0.0.0/8 -j ISTIO_REDIRECT']);
  assert.deepEqual(renderRules(s, 6).split('\n').filter((l) => l.startsWith('-A PREROUTING')), ['-A PREROUTING -i eth1 -d fd00::/8 -j ISTIO_REDIRECT']);
  assert.deepEqual(renderRules(settings({ includeIpRanges: '', kubevirtInterfaces: 'eth1' }), 4).split('\n').filter((l) => l.startsWith('-A PREROUTING')), [],
    'no include, nothing rerouted');
});

test('a rerun removes the kubevirt jumps of the earlier run (they target our chain), so they are not doubled', () => {
  const s = settings({ includeIpRanges: '*', kubevirtInterfaces: 'eth1' });
  const saved = renderRules(s, 4);
  const script = applyScript(s, 4, saved).split('\n');
  assert.ok(script.includes('-D PREROUTING -i eth1 -j ISTIO_REDIRECT'));
  assert.ok(cleanupScript(saved).includes('-D PREROUTING -i eth1 -j ISTIO_REDIRECT'));
});

test('bad interface names are refused with the flag, good ones (with iptables\' + wildcard) accepted', () => {
  for (const bad of ['eth0;rm', 'a/b', 'eth0:1', 'x'.repeat(16), 'eth 0', 'et+h', '"eth0"']) {
    const parsed = parseInitFlags({ excludeInterfaces: `eth1,${bad}` });
    assert.equal(parsed.ok, false, bad);
    if (!parsed.ok) assert.match(parsed.errors[0]!, /^-c: invalid interface/);
  }
  const kubevirt = parseInitFlags({ kubevirtInterfaces: '!' });
  assert.ok(!kubevirt.ok && /^-k: invalid interface "!"/.test(kubevirt.errors[0]!));
  const good = parseInitFlags({ excludeInterfaces: 'veth+, eth0.100,net1', kubevirtInterfaces: 'k6t-eth0' });
  assert.ok(good.ok);
  if (good.ok) {
    assert.deepEqual(good.settings.excludeInterfaces, ['veth+', 'eth0.100', 'net1']);
    assert.deepEqual(good.settings.kubevirtInterfaces, ['k6t-eth0']);
  }
});
