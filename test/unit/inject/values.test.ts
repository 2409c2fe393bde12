import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultValues, loadValuesFile, proxyImage, valuesFromDocument, ValuesError } from '../../../src/inject/values.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshgate-values-'));

test('a YAML values file merges over the defaults', () => {
  const file = join(dir, 'values.yaml');
  writeFileSync(file, 'global:\n  proxy:\n    includeIPRanges: "10.0.0.1/24"\n');
  const values = loadValuesFile(file);
  assert.equal(values.global.proxy.includeIPRanges, '10.0.0.1/24');
  assert.equal(values.global.proxy.autoInject, 'enabled', 'untouched keys keep their defaults');
});

test('a JSON values file is read too', () => {
  const file = join(dir, 'values.json');
  writeFileSync(file, JSON.stringify({ global: { proxy: { excludeIPRanges: '169.254.169.254/32' } } }));
  assert.equal(loadValuesFile(file).global.proxy.excludeIPRanges, '169.254.169.254/32');
});

test('an istio-sidecar-injector ConfigMap: values JSON plus policy and selectors from config', () => {
  const values = valuesFromDocument({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-sidecar-injector' },
    data: {
      values: JSON.stringify({ global: { proxy: { includeIPRanges: '10.96.0.0/12' } } }),
      config: 'policy: disabled\nneverInjectSelector:\n- matchLabels: {skip: "yes"}\n',
    },
  }, 'cm');
  assert.equal(values.global.proxy.includeIPRanges, '10.96.0.0/12');
  assert.equal(values.global.proxy.autoInject, 'disabled');
  assert.deepEqual(values.sidecarInjectorWebhook.neverInjectSelector, [{ matchLabels: { skip: 'yes' } }]);
});

test('wrong types fail at load with the path', () => {
  assert.throws(() => valuesFromDocument({ global: { proxy: { includeIPRanges: ['10.0.0.0/8'] } } }, 'f.yaml'),
    (e: Error) => e instanceof ValuesError && e.message === 'f.yaml: global.proxy.includeIPRanges: expected string, got array');
  assert.throws(() => valuesFromDocument('just a string', 'f.yaml'), ValuesError);
});

test('a missing file names the file', () => {
  assert.throws(() => loadValuesFile(join(dir, 'nope.yaml')), /nope\.yaml: ENOENT/);
});

test('image: hub/image:tag, or a full reference as is', () => {
  assert.equal(proxyImage(defaultValues()), 'docker.io/meshgate/meshgate:0.1.0');
  assert.equal(proxyImage(valuesFromDocument({ global: { proxy: { image: 'registry.local/mg:dev' } } }, 't')), 'registry.local/mg:dev');
});
