// What a new user hits first (issue 9): input the commands do not understand is reported, never passed off as
// success; output formats are checked; unknown flags are refused; the CLI says where it looked for a cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { runMeshgate } from '../helpers/cli.ts';

const FIXTURES = 'test/cli/fixtures';

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-cli-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('validate: a kind typo, an unknown version and documents without kind or apiVersion are findings (exit 1)', () => {
  const result = runMeshgate(['validate', '-f', `${FIXTURES}/unrecognized.yaml`]);
  assert.equal(result.status, 1, result.stdout + result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 4, result.stdout);
  assert.match(lines[0]!, /^test\/cli\/fixtures\/unrecognized\.yaml:1: Serviceentry default\/typo: unknown kind "Serviceentry" in networking\.istio\.io \(did you mean ServiceEntry\?\)/);
  assert.match(lines[1]!, /^test\/cli\/fixtures\/unrecognized\.yaml:2: ServiceEntry default\/future: unknown version "networking\.istio\.io\/v2" \(known: v1alpha3, v1beta1, v1\)/);
  assert.match(lines[2]!, /^test\/cli\/fixtures\/unrecognized\.yaml:3: .*no apiVersion/);
  assert.match(lines[3]!, /^test\/cli\/fixtures\/unrecognized\.yaml:4: .*no kind/);
  assert.match(result.stderr, /0 objects validated, 4 invalid/);
});

test('validate: lines name file, document, kind and namespace/name; other kinds are skipped and counted', () => {
  const result = runMeshgate(['validate', '-f', `${FIXTURES}/mixed.yaml`]);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stdout, /^test\/cli\/fixtures\/mixed\.yaml:3: ServiceEntry shop\/api-http: spec\.hosts\[0\]: /m);
  assert.match(result.stderr, /1 object validated, 1 invalid, 2 skipped \(not validated by meshgate: Deployment, DestinationRule\)/);
});

test('analyze: unrecognized documents are Error findings with file and document; never "no issues"', () => {
  const result = runMeshgate(['analyze', '-f', `${FIXTURES}/unrecognized.yaml`, '-o', 'json']);
  assert.equal(result.status, 1, result.stderr);
  const findings = JSON.parse(result.stdout) as Array<{ code: string; severity: string; origin: string; message: string }>;
  assert.deepEqual(findings.map((f) => `${f.code} ${f.severity} ${f.origin}`), [1, 2, 3, 4].map((i) => `MG0007 Error ${FIXTURES}/unrecognized.yaml:${i}`));
  assert.match(findings[0]!.message, /did you mean ServiceEntry/);
});

test('malformed YAML is an input error (exit 2) in validate, analyze and kube-inject; analyze never claims success', () => {
  const analyze = runMeshgate(['analyze', '-f', `${FIXTURES}/malformed.yaml`]);
  assert.equal(analyze.status, 2, analyze.stdout + analyze.stderr);
  assert.doesNotMatch(analyze.stdout, /No validation issues found/);
  assert.match(analyze.stderr, /malformed\.yaml:1: line \d+: /);
  assert.match(analyze.stdout + analyze.stderr, /could not be parsed/);
  const validate = runMeshgate(['validate', '-f', `${FIXTURES}/malformed.yaml`]);
  assert.equal(validate.status, 2, validate.stdout + validate.stderr);
  assert.match(validate.stdout, /malformed\.yaml:1: line \d+: /);
  assert.equal(runMeshgate(['kube-inject', '-f', `${FIXTURES}/malformed.yaml`]).status, 2);
});

test('-o text|json|yaml on validate and analyze; any other value exits 2 and names the choices', () => {
  const yamlOut = runMeshgate(['analyze', '-f', `${FIXTURES}/mixed.yaml`, '-o', 'yaml']);
  assert.equal(yamlOut.status, 1, yamlOut.stderr);
  const findings = parseYaml(yamlOut.stdout) as Array<{ code: string; object: string }>;
  assert.deepEqual([...new Set(findings.map((f) => `${f.code} ${f.object}`))], ['MG0001 ServiceEntry shop/api-http']);
  const jsonOut = runMeshgate(['validate', '-f', `${FIXTURES}/mixed.yaml`, '-o', 'json']);
  assert.equal(jsonOut.status, 1);
  const report = JSON.parse(jsonOut.stdout) as { validated: number; invalid: number; skipped: number; results: Array<{ file: string; document: number; kind: string; namespace: string; name: string; errors: string[] }> };
  assert.deepEqual([report.validated, report.invalid, report.skipped], [1, 1, 2]);
  assert.deepEqual(report.results.map((r) => `${r.file}:${r.document} ${r.kind} ${r.namespace}/${r.name} ${r.errors.length}`), [`${FIXTURES}/mixed.yaml:3 ServiceEntry shop/api-http 2`]);
  const validateYaml = runMeshgate(['validate', '-f', `${FIXTURES}/mixed.yaml`, '-o', 'yaml']);
  assert.deepEqual((parseYaml(validateYaml.stdout) as typeof report).invalid, 1);
  for (const command of ['analyze', 'validate']) {
    for (const format of ['xml', 'YAML', '']) {
      const bad = runMeshgate([command, '-f', `${FIXTURES}/mixed.yaml`, '-o', format]);
      assert.equal(bad.status, 2, `${command} -o ${format}: ${bad.stdout}`);
      assert.match(bad.stderr, /text, json, yaml/);
      assert.equal(bad.stdout, '', `${command} -o ${format} printed nothing`);
    }
  }
});

test('kube-inject -o FILE / --output FILE writes the manifests there, and nothing on stdout', () => {
  withTempDir((dir) => {
    for (const flag of ['-o', '--output']) {
      const file = join(dir, `out${flag}.yaml`);
      const result = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', flag, file]);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, '');
      const deployment = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS())[2] as { spec: { template: { spec: { containers: Array<{ name: string }> } } } };
      assert.deepEqual(deployment.spec.template.spec.containers.map((c) => c.name), ['sleep', 'istio-proxy']);
    }
  });
});

test('kube-inject --valuesFile and --injectConfigFile (the istio-sidecar-injector ConfigMap, or its config) as istioctl names them', () => {
  const initArgs = (stdout: string): string[] => (parseAllDocuments(stdout).map((d) => d.toJS())[2] as { spec: { template: { spec: { initContainers: Array<{ args: string[] }> } } } }).spec.template.spec.initContainers[0]!.args;
  const values = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--valuesFile', 'test/fixtures/kube-inject/values.yaml']);
  assert.equal(values.status, 0, values.stderr);
  const args = initArgs(values.stdout);
  assert.equal(args[args.indexOf('-i') + 1], '10.0.0.1/24');
  withTempDir((dir) => {
    const configMap = join(dir, 'injector.yaml');
    writeFileSync(configMap, [
      'apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: istio-sidecar-injector, namespace: istio-system}', 'data:',
      '  values: |', '    {"global": {"proxy": {"includeIPRanges": "10.96.0.0/12"}}}',
      '  config: |', '    policy: disabled', '',
    ].join('\n'));
    const fromConfigMap = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--injectConfigFile', configMap]);
    assert.equal(fromConfigMap.status, 0, fromConfigMap.stderr);
    // policy: disabled and no opt-in: the Deployment passes uninjected, with the reason.
    assert.match(fromConfigMap.stderr, /not injected/);
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'policy: disabled\nalwaysInjectSelector: []\nneverInjectSelector: []\n');
    const withBoth = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--injectConfigFile', config, '--valuesFile', 'test/fixtures/kube-inject/values.yaml']);
    assert.equal(withBoth.status, 0, withBoth.stderr);
    assert.match(withBoth.stderr, /not injected/);
  });
  const twice = runMeshgate(['kube-inject', '-f', 'samples/sleep/sleep.yaml', '--values', 'a.yaml', '--valuesFile', 'b.yaml']);
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /--values and --valuesFile/);
});

test('unknown flags and subcommands exit 2 with the flag named, on every subcommand', () => {
  for (const command of ['webhook', 'kube-inject', 'validate', 'analyze', 'ranges', 'init', 'proxy', 'version']) {
    const result = runMeshgate([command, '--no-such-flag']);
    assert.equal(result.status, 2, `${command}: ${result.stderr}`);
    assert.match(result.stderr, /unknown option '--no-such-flag'/, command);
  }
  const unknownCommand = runMeshgate(['instal']);
  assert.equal(unknownCommand.status, 2);
  assert.match(unknownCommand.stderr, /unknown command 'instal'/);
  const extra = runMeshgate(['validate', '-f', `${FIXTURES}/mixed.yaml`, 'stray-argument']);
  assert.equal(extra.status, 2, extra.stderr);
  assert.match(extra.stderr, /too many arguments/);
});

test('version: the version, the git commit and Node; --version stays', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const result = runMeshgate(['version']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`^meshgate ${pkg.version.replaceAll('.', '\\.')}\\n`));
  assert.match(result.stdout, /^commit: ([0-9a-f]{7,40}|unknown)$/m);
  assert.match(result.stdout, new RegExp(`^node: ${process.version.replaceAll('.', '\\.')}$`, 'm'));
  const json = JSON.parse(runMeshgate(['version', '-o', 'json']).stdout) as { version: string; node: string };
  assert.equal(json.version, pkg.version);
  assert.equal(runMeshgate(['--version']).stdout.trim(), pkg.version);
});

test('ranges without any kubeconfig: one clear message and exit 2', () => {
  withTempDir((home) => {
    const env = { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' };
    const result = runMeshgate(['ranges'], undefined, env);
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^meshgate: no kubeconfig found \(looked at \$KUBECONFIG, ~\/\.kube\/config, in-cluster\)\n$/);
  });
});
