import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDuration, parseDurationMs, parseProtoDuration } from '../../../src/mesh/duration.ts';
import { hostsOverlap, hostSubsetOf } from '../../../src/validate/hosts.ts';
import { checkFqdn, checkIpOrCidr, checkWildcardDomain, isPartialWildcard } from '../../../src/validate/names.ts';
import { checkRe2 } from '../../../src/validate/regex.ts';
import { checkHeaderValue } from '../../../src/validate/http-parts.ts';

const durations: Array<[string, boolean]> = [
  ['1s', true], ['0.001s', true], ['1.5s', true], ['3600s', true], ['0.000000001s', false], ['0.0015s', false],
  ['0s', false], ['-1s', false], ['1m', false], ['100ms', false], ['1', false], ['s', false], ['1.0000000001s', false],
];
for (const [text, ok] of durations) {
  test(`duration ${JSON.stringify(text)} is ${ok ? 'valid' : 'refused'}`, () => assert.equal(checkDuration(text) === undefined, ok));
}

// One parser, two modes: validation takes only the protobuf form; file mode also reads one Go unit.
const fileMode: Array<[unknown, number | undefined]> = [
  ['3s', 3000], ['0.5s', 500], ['0.250s', 250], ['250ms', 250], ['1m', 60000], ['1h', 3600000], ['100us', 0.1], ['1.5m', 90000],
  [' 2s ', 2000], ['3', undefined], ['-1s', undefined], ['1d', undefined], ['1m30s', undefined], [3, undefined], ['', undefined],
];
for (const [text, ms] of fileMode) {
  test(`file mode reads ${JSON.stringify(text)} as ${ms} ms`, () => assert.equal(parseDurationMs(text), ms));
}
test('the strict form gives seconds and nanos exactly, and refuses what exceeds protobuf\'s range', () => {
  assert.deepEqual(parseProtoDuration('1.000000001s'), { negative: false, seconds: 1, nanos: 1 });
  assert.deepEqual(parseProtoDuration('-0.5s'), { negative: true, seconds: 0, nanos: 500_000_000 });
  assert.equal(parseProtoDuration('315576000001s'), undefined);
  assert.equal(parseProtoDuration('1ms'), undefined);
});

const overlaps: Array<[string, string, boolean]> = [
  ['a.com', 'a.com', true], ['a.com', 'b.com', false], ['*.a.com', 'x.a.com', true], ['*.a.com', '*.b.a.com', true],
  ['*', 'anything.com', true], ['*.a.com', 'a.com', false], ['*.com', '*.a.com', true],
];
for (const [a, b, expected] of overlaps) {
  test(`hosts ${a} and ${b} ${expected ? 'overlap' : 'do not overlap'}, both ways`, () => {
    assert.equal(hostsOverlap(a, b), expected);
    assert.equal(hostsOverlap(b, a), expected);
  });
}

const subsets: Array<[string, string, boolean]> = [
  ['x.a.com', '*.a.com', true], ['*.b.a.com', '*.a.com', true], ['*.a.com', '*.b.a.com', false], ['*', '*.a.com', false],
  ['a.com', '*', true], ['*.a.com', 'x.a.com', false], ['a.com', 'a.com', true],
];
for (const [a, b, expected] of subsets) {
  test(`${a} ${expected ? 'is' : 'is not'} within ${b}`, () => assert.equal(hostSubsetOf(a, b), expected));
}

const domains: Array<[string, boolean, boolean]> = [
  // name, valid as a wildcard domain, valid as an FQDN
  ['example.com', true, true], ['*.example.com', true, false], ['*', true, false], ['*foo.com', true, false],
  ['foo.*.com', false, false], ['-foo.com', false, false], ['foo.123', false, false], ['istio.io.', true, true],
  ['reviews', true, true], ['a'.repeat(64) + '.com', false, false], ['', false, false],
];
for (const [name, wildcard, fqdn] of domains) {
  test(`domain ${JSON.stringify(name)}: wildcard domain ${wildcard}, FQDN ${fqdn}`, () => {
    assert.equal(checkWildcardDomain(name) === undefined, wildcard);
    assert.equal(checkFqdn(name) === undefined, fqdn);
  });
}

test('partial wildcards are told apart from leading ones', () => {
  assert.deepEqual(['*foo.com', '*-foo.com', 'foo.*', '*.foo.com', '*', 'foo.com'].map(isPartialWildcard), [true, true, true, false, false, false]);
});

const addresses: Array<[string, boolean]> = [
  ['10.0.0.1', true], ['10.0.0.0/8', true], ['2001:db8::/32', true], ['::1', true], ['10.0.0.0/33', false],
  ['10.0.0', false], ['10.0.0.1/8/9', false], ['example.com', false],
];
for (const [address, ok] of addresses) {
  test(`address ${address} is ${ok ? 'valid' : 'refused'}`, () => assert.equal(checkIpOrCidr(address) === undefined, ok));
}

const regexes: Array<[string, boolean]> = [
  ['^/api/v[0-9]+/.*$', true], ['(?i)abc', true], ['\\d+', true], ['(?P<name>x)', true],
  ['(?=x)', false], ['(?!x)', false], ['(?<=x)y', false], ['(a)\\1', false], ['(', false], ['a{2,1}', false],
];
for (const [pattern, ok] of regexes) {
  test(`regex ${JSON.stringify(pattern)} is ${ok ? 'valid RE2' : 'not RE2'}`, () => assert.equal(checkRe2(pattern) === undefined, ok));
}

const headerValues: Array<[string, boolean]> = [
  ['plain', true], ['100%%', true], ['%HOSTNAME%', true], ['prefix %START_TIME% suffix', true], ['%REQ(x-a)%', true],
  ['%DYNAMIC_METADATA(["a", "b"])%', true], ['abc%', false], ['%START_TIME', false], ['a\u0001b', false], ['tab\there', true],
];
for (const [value, ok] of headerValues) {
  test(`header value ${JSON.stringify(value)} is ${ok ? 'valid' : 'refused'}`, () => assert.equal(checkHeaderValue(value) === undefined, ok));
}
