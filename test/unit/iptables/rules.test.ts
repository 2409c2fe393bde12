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
