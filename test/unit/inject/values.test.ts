import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withConfigMapTypeMeta } from '../../../src/k8s/configmap-watch.ts';
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

const loadError = (document: unknown): string => {
  try {
    valuesFromDocument(document, 'f.yaml');
  } catch (error) {
    assert.ok(error instanceof ValuesError, String(error));
    return error.message;
  }
  assert.fail('expected the values to be refused');
};

test('bad values are refused at load with the key path, not on the first pod (issue 9 defect 2)', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ global: { proxy: { includeIPRanges: '10.0.0.0/99' } } }, /^f\.yaml: global\.proxy\.includeIPRanges: invalid CIDR "10\.0\.0\.0\/99"/],
    [{ global: { proxy: { excludeIPRanges: '*' } } }, /^f\.yaml: global\.proxy\.excludeIPRanges: "\*" is not allowed/],
    [{ global: { proxy: { excludeInboundPorts: '80,99999' } } }, /global\.proxy\.excludeInboundPorts: invalid port "99999"/],
    [{ global: { proxy: { statusPort: 70000 } } }, /global\.proxy\.statusPort: must be an integer from 0 to 65535/],
    [{ global: { proxy: { autoInject: 'sometimes' } } }, /global\.proxy\.autoInject: must be one of enabled, disabled/],
    [{ global: { proxy: { resources: { limits: { memory: '1GB' } } } } }, /global\.proxy\.resources: limits\.memory: invalid quantity/],
    [{ global: { imagePullPolicy: 'Sometimes' } }, /global\.imagePullPolicy/],
    [{ global: { proxy: { readinessPeriodSeconds: 0 } } }, /global\.proxy\.readinessPeriodSeconds/],
  ];
  for (const [document, expected] of cases) assert.match(loadError(document), expected);
});

test('every problem is reported at once, each with its path', () => {
  const message = loadError({ global: { proxy: { includeIPRanges: 'x', statusPort: -1 } } });
  assert.match(message, /global\.proxy\.includeIPRanges: .*; global\.proxy\.statusPort: /);
});

test('unknown keys are refused with the path and a hint (issue 9 defect 7)', () => {
  assert.match(loadError({ global: { proxy: { includeIpRanges: '10.0.0.0/8' } } }),
    /global\.proxy\.includeIpRanges: not a value meshgate implements; did you mean includeIPRanges\?/);
  assert.match(loadError({ global: { proxy: { tracer: 'zipkin' } } }), /global\.proxy\.tracer: not a value meshgate implements \(known here: image, /);
  assert.match(loadError({ pilot: { enabled: true } }), /^f\.yaml: pilot: not a value meshgate implements/);
  assert.match(loadError({ revision: 'canary' }), /^f\.yaml: revision: /);
});

test('rewriteAppHTTPProbe: a boolean, true by default as in Istio; anything else is refused at load with its path', () => {
  assert.match(loadError({ sidecarInjectorWebhook: { rewriteAppHTTPProbe: 'yes' } }), /sidecarInjectorWebhook\.rewriteAppHTTPProbe: expected true or false/);
  assert.equal(defaultValues().sidecarInjectorWebhook.rewriteAppHTTPProbe, true);
  assert.equal(valuesFromDocument({ sidecarInjectorWebhook: { rewriteAppHTTPProbe: false } }, 't').sidecarInjectorWebhook.rewriteAppHTTPProbe, false);
});

test('meshConfig.defaultConfig is checked as a ProxyConfig at load', () => {
  assert.match(loadError({ meshConfig: { defaultConfig: { tracing: {} } } }), /meshConfig\.defaultConfig: tracing: ProxyConfig field not implemented/);
  assert.equal(valuesFromDocument({ meshConfig: { defaultConfig: { holdApplicationUntilProxyStarts: true } } }, 't').meshConfig.defaultConfig['holdApplicationUntilProxyStarts'], true);
});

test('an Istio ConfigMap\'s injection template is refused (meshgate builds the sidecar itself)', () => {
  assert.throws(() => valuesFromDocument({ kind: 'ConfigMap', data: { config: 'policy: enabled\ntemplate: |\n  containers: []\n', values: '{}' } }, 'cm'),
    /cm: data\.config\.template: not read by meshgate/);
});

test('the default includeIPRanges is "*", as Istio; "auto", "", "*" and CIDRs with host bits load', () => {
  assert.equal(defaultValues().global.proxy.includeIPRanges, '*');
  for (const value of ['auto', '', '*', '10.0.0.1/24', '10.0.0.0/8,fd00::/8']) {
    assert.equal(valuesFromDocument({ global: { proxy: { includeIPRanges: value } } }, 't').global.proxy.includeIPRanges, value);
  }
});

test('status port 0 loads (it disables the status port, as Istio)', () => {
  assert.equal(valuesFromDocument({ global: { proxy: { statusPort: 0 } } }, 't').global.proxy.statusPort, 0);
});

test('global.meshgate.controlAddress: an https address is taken, anything else is refused at load with its path', () => {
  const values = valuesFromDocument({ global: { meshgate: { controlAddress: 'https://control.mesh.svc:15012' } } }, 'f.yaml');
  assert.equal(values.global.meshgate.controlAddress, 'https://control.mesh.svc:15012');
  assert.throws(() => valuesFromDocument({ global: { meshgate: { controlAddress: 'http://control:15012' } } }, 'f.yaml'),
    /global\.meshgate\.controlAddress/);
});

test('a ConfigMap as an informer lists it (no kind, no apiVersion) is still read as the injector ConfigMap', () => {
  // Listed items carry no TypeMeta; read raw, `data` and `metadata` were refused as unknown values and a webhook
  // started after its ConfigMap stayed unready (found on the real node).
  const listed = { metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system' }, data: { values: JSON.stringify({ global: { proxy: { includeIPRanges: '10.0.0.0/8' } } }) } };
  assert.throws(() => valuesFromDocument(listed, 'cm'), ValuesError);
  const values = valuesFromDocument(withConfigMapTypeMeta(listed), 'cm');
  assert.equal(values.global.proxy.includeIPRanges, '10.0.0.0/8');
});
