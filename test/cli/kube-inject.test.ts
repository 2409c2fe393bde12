import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { runMeshgate } from '../helpers/cli.ts';

type Obj = Record<string, any>;
const parse = (text: string): Obj[] => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as Obj);
const containerNames = (template: Obj): string[] => template.spec.containers.map((c: Obj) => c.name);

test('the sleep sample: the Deployment is injected, the ServiceAccount and Service pass unchanged', () => {
  const result = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml']);
  assert.equal(result.status, 0, result.stderr);
  const [account, service, deployment] = parse(result.stdout);
  const [origAccount, origService] = parse(readFileSync('samples/sleep/sleep.yaml', 'utf8'));
  assert.deepEqual(account, origAccount);
  assert.deepEqual(service, origService);
  assert.deepEqual(containerNames(deployment!.spec.template), ['sleep', 'istio-proxy']);
  assert.deepEqual(deployment!.spec.template.spec.initContainers.map((c: Obj) => c.name), ['istio-init']);
  const proxyEnv = deployment!.spec.template.spec.containers[1].env as Obj[];
  assert.equal(proxyEnv.find((e) => e.name === 'ISTIO_META_WORKLOAD_NAME')?.value, 'sleep');
});

test('stdin works and the output injects to a fixed point', () => {
  const once = runMeshgate(['kube-inject', '-f', '-'], readFileSync('samples/sleep/sleep.yaml', 'utf8'));
  const twice = runMeshgate(['kube-inject', '-f', '-'], once.stdout);
  assert.equal(twice.status, 0);
  assert.deepEqual(parse(twice.stdout), parse(once.stdout));
});

test('CronJob and List items are injected; other kinds, kube-system and opt-outs pass with a note', () => {
  const result = runMeshgate(['kube-inject', '-f', 'test/fixtures/kube-inject/workloads.yaml']);
  assert.equal(result.status, 0, result.stderr);
  const [cron, list, daemonSet, optout] = parse(result.stdout);
  assert.deepEqual(containerNames(cron!.spec.jobTemplate.spec.template), ['report', 'istio-proxy']);
  assert.deepEqual(containerNames(list!.items[0].spec.template), ['db', 'istio-proxy']);
  assert.deepEqual(list!.items[1].data, { enabled: 'true', answer: 'on' }, 'ConfigMap untouched');
  assert.deepEqual(containerNames(daemonSet!.spec.template), ['agent']);
  assert.deepEqual(containerNames(optout!), ['app']);
  assert.match(result.stderr, /daemonset\/agent: not injected: namespace is never injected/);
  assert.match(result.stderr, /pod\/optout: not injected: pod opts out/);
});

test('YAML 1.1 strings stay strings ("yes", "on", "0777")', () => {
  const result = runMeshgate(['kube-inject', '-f', 'test/fixtures/kube-inject/workloads.yaml']);
  assert.match(result.stdout, /value: "yes"/);
  assert.match(result.stdout, /value: "on"/);
  assert.match(result.stdout, /value: "0777"/);
  const env = parse(result.stdout)[1]!.items[0].spec.template.spec.containers[0].env as Obj[];
  assert.deepEqual(env.map((e) => e.value), ['yes', 'on', '0777']);
});

test('an invalid annotation fails with the object, the field path and exit 1, and prints no YAML', () => {
  const result = runMeshgate(['kube-inject', '-f', 'test/fixtures/kube-inject/bad-annotation.yaml']);
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /bad-annotation\.yaml:1: deployment\/bad: spec\.template\.metadata\.annotations\[traffic\.sidecar\.istio\.io\/excludeOutboundIPRanges\]: "\*" is not allowed in an exclude list \("10\.0\.0\.0\/8,\*"\)/);
});

test("broken YAML names the file, the document and the line, and is an input error (exit 2)", () => {
  const result = runMeshgate(['kube-inject', '-f', 'test/fixtures/kube-inject/broken.yaml']);
  assert.equal(result.status, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /broken\.yaml:2: line \d+: /);
});

test('usage errors exit 2', () => {
  assert.equal(runMeshgate(['kube-inject']).status, 2);
  const missing = runMeshgate(['kube-inject', '-f', 'no/such/file.yaml']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such file/);
  const badValues = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--values', 'no/such/values.yaml']);
  assert.equal(badValues.status, 2);
  assert.match(badValues.stderr, /values\.yaml: ENOENT/);
});

test('a bad value in --values: exit 2 naming the values file and key, never the workload (issue 9 defect 2)', () => {
  const result = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--values', 'test/fixtures/kube-inject/bad-range-values.yaml']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /bad-range-values\.yaml: global\.proxy\.includeIPRanges: invalid CIDR "10\.0\.0\.0\/99"/);
  assert.doesNotMatch(result.stderr, /spec\.template/);
  assert.equal(result.stdout, '');
});

test('an unknown key in --values: exit 2 with the key path and a hint (issue 9 defect 7)', () => {
  const result = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--values', 'test/fixtures/kube-inject/unknown-key-values.yaml']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /unknown-key-values\.yaml: global\.proxy\.tracer: not a value meshgate implements/);
});

test('--values sets the ranges for kube-inject', () => {
  const result = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--values', 'test/fixtures/kube-inject/values.yaml']);
  assert.equal(result.status, 0, result.stderr);
  const init = parse(result.stdout)[2]!.spec.template.spec.initContainers[0] as Obj;
  assert.equal(init.args[init.args.indexOf('-i') + 1], '10.0.0.1/24');
});
