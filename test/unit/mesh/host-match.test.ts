import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostIndex, hostMatches, normalizeHost, wildcardShape, type WildcardShape } from '../../../src/mesh/host-match.ts';
import { parseDurationMs } from '../../../src/mesh/duration.ts';

const matches: Array<[string, string, boolean]> = [
  ['httpbin.org', 'httpbin.org', true],
  ['httpbin.org', 'www.httpbin.org', false],
  ['*.wikipedia.org', 'en.wikipedia.org', true],
  ['*.wikipedia.org', 'a.b.wikipedia.org', true],
  ['*.wikipedia.org', 'wikipedia.org', false],
  ['*.wikipedia.org', 'evilwikipedia.org', false],
  ['*', 'anything.example', true],
];
for (const [pattern, host, expected] of matches) {
  test(`host match: ${pattern} ${expected ? 'matches' : 'does not match'} ${host}`, () => {
    assert.equal(hostMatches(pattern, host), expected);
  });
}

const normalised: Array<[string, string]> = [
  ['HTTPBin.org:80', 'httpbin.org'],
  ['httpbin.org.', 'httpbin.org'],
  ['[::1]:8080', '::1'],
  ['10.0.0.1:443', '10.0.0.1'],
];
for (const [input, expected] of normalised) {
  test(`authority ${input} is matched as ${expected} (the port is never part of the host match)`, () => {
    assert.equal(normalizeHost(input), expected);
  });
}

test('the index prefers an exact name, then the narrowest wildcard', () => {
  const index = new HostIndex<string>();
  index.add('*.org', 'broad');
  index.add('*.wikipedia.org', 'narrow');
  index.add('en.wikipedia.org', 'exact');
  assert.equal(index.find('en.wikipedia.org')?.value, 'exact');
  assert.equal(index.find('de.wikipedia.org')?.value, 'narrow');
  assert.equal(index.find('example.org')?.value, 'broad');
  assert.equal(index.find('example.com'), undefined);
});

const durations: Array<[unknown, number | undefined]> = [['3s', 3000], ['0.5s', 500], ['250ms', 250], ['1m', 60000], ['1h', 3600000], ['3', undefined], ['-1s', undefined], [3, undefined]];
for (const [input, expected] of durations) {
  test(`duration ${JSON.stringify(input)} is ${expected ?? 'refused'}`, () => {
    assert.equal(parseDurationMs(input), expected);
  });
}

test('wildcard shapes: where admission allows a "*" (partial only glued to the first label), and where it refuses one', () => {
  const shapes: Array<[string, WildcardShape]> = [
    ['api.example.com', 'none'], ['*', 'all'], ['*.example.com', 'labels'], ['*foo.com', 'partial'], ['*-foo.com', 'partial'],
    ['a.*.com', 'invalid'], ['foo*.com', 'invalid'], ['*.*.com', 'invalid'], ['*.', 'invalid'], ['**.com', 'invalid'],
  ];
  for (const [host, shape] of shapes) assert.equal(wildcardShape(host), shape, host);
});
