import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideInjection, type Decision } from '../../../src/inject/decide.ts';
import { defaultValues, valuesFromDocument } from '../../../src/inject/values.ts';
import { samplePod } from '../../helpers/pods.ts';

const enabled = defaultValues();
const disabled = valuesFromDocument({ global: { proxy: { autoInject: 'disabled' } } }, 'test');
// Loading refuses such a policy (values-schema); built by hand to keep the handler's own rule covered.
const bogusPolicy = defaultValues();
bogusPolicy.global.proxy.autoInject = 'sometimes';
const withSelectors = valuesFromDocument({
  sidecarInjectorWebhook: {
    neverInjectSelector: [{ matchExpressions: [{ key: 'openshift.io/build.name', operator: 'Exists' }] }, {}],
    alwaysInjectSelector: [{ matchLabels: { tier: 'edge' } }],
  },
}, 'test');

const cases: Array<{ name: string; pod: ReturnType<typeof samplePod>; namespace?: string; values?: typeof enabled; expect: Decision }> = [
  { name: 'a plain pod in an opted-in namespace is injected', pod: samplePod(), expect: { inject: true, because: 'policy enabled' } },
  { name: 'a hostNetwork pod is never injected', pod: samplePod({ spec: { hostNetwork: true } }), expect: { inject: false, reason: 'HostNetwork' } },
  { name: 'hostNetwork beats an explicit opt-in', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'true' }, spec: { hostNetwork: true } }), expect: { inject: false, reason: 'HostNetwork' } },
  { name: 'kube-system is never injected', pod: samplePod(), namespace: 'kube-system', expect: { inject: false, reason: 'IgnoredNamespace' } },
  { name: 'kube-public is never injected', pod: samplePod(), namespace: 'kube-public', expect: { inject: false, reason: 'IgnoredNamespace' } },
  { name: 'kube-node-lease is never injected', pod: samplePod(), namespace: 'kube-node-lease', expect: { inject: false, reason: 'IgnoredNamespace' } },
  { name: 'local-path-storage is never injected', pod: samplePod(), namespace: 'local-path-storage', expect: { inject: false, reason: 'IgnoredNamespace' } },
  { name: 'the label "false" opts out', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'false' } }), expect: { inject: false, reason: 'PodOptOut' } },
  { name: 'the annotation "false" opts out', pod: samplePod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), expect: { inject: false, reason: 'PodOptOut' } },
  { name: 'the label beats the annotation (label true, annotation false)', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/inject': 'false' } }), expect: { inject: true, because: 'sidecar.istio.io/inject=true' } },
  { name: 'the label beats the annotation (label false, annotation true)', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'false' }, annotations: { 'sidecar.istio.io/inject': 'true' } }), expect: { inject: false, reason: 'PodOptOut' } },
  { name: 'YAML 1.1 booleans: "off" opts out', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'off' } }), expect: { inject: false, reason: 'PodOptOut' } },
  { name: 'YAML 1.1 booleans: "Yes" opts in under a disabled policy', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'Yes' } }), values: disabled, expect: { inject: true, because: 'sidecar.istio.io/inject=true' } },
  { name: 'an unparseable value counts as unset (policy decides)', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'maybe' } }), expect: { inject: true, because: 'policy enabled' } },
  { name: 'an unparseable value under a disabled policy is not injected', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'maybe' } }), values: disabled, expect: { inject: false, reason: 'PolicyDisabled' } },
  { name: 'policy disabled without opt-in skips', pod: samplePod(), values: disabled, expect: { inject: false, reason: 'PolicyDisabled' } },
  { name: 'an invalid policy turns injection off, even for an opt-in', pod: samplePod({ labels: { 'sidecar.istio.io/inject': 'true' } }), values: bogusPolicy, expect: { inject: false, reason: 'PolicyInvalid' } },
  { name: 'neverInjectSelector (Exists) skips', pod: samplePod({ labels: { 'openshift.io/build.name': 'b1' } }), values: withSelectors, expect: { inject: false, reason: 'NeverInjectSelector' } },
  { name: 'an empty selector in neverInjectSelector matches nothing', pod: samplePod(), values: withSelectors, expect: { inject: true, because: 'policy enabled' } },
  { name: 'an explicit opt-in beats neverInjectSelector', pod: samplePod({ labels: { 'openshift.io/build.name': 'b1', 'sidecar.istio.io/inject': 'true' } }), values: withSelectors, expect: { inject: true, because: 'sidecar.istio.io/inject=true' } },
  { name: 'alwaysInjectSelector injects under a disabled policy', pod: samplePod({ labels: { tier: 'edge' } }), values: valuesFromDocument({ global: { proxy: { autoInject: 'disabled' } }, sidecarInjectorWebhook: { alwaysInjectSelector: [{ matchLabels: { tier: 'edge' } }] } }, 't'), expect: { inject: true, because: 'alwaysInjectSelector' } },
  { name: 'istio.io/rev=default is this injector', pod: samplePod({ labels: { 'istio.io/rev': 'default' } }), expect: { inject: true, because: 'policy enabled' } },
  { name: 'istio.io/rev naming another revision is left to that revision', pod: samplePod({ labels: { 'istio.io/rev': 'canary' } }), expect: { inject: false, reason: 'RevisionMismatch' } },
  { name: 'another revision wins even over an explicit opt-in', pod: samplePod({ labels: { 'istio.io/rev': '1-24', 'sidecar.istio.io/inject': 'true' } }), expect: { inject: false, reason: 'RevisionMismatch' } },
];

for (const c of cases) {
  test(c.name, () => {
    assert.deepEqual(decideInjection(c.pod, c.namespace ?? 'default', c.values ?? enabled), c.expect);
  });
}
