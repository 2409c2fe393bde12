import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeObjects } from '../../../src/analyze/analyze.ts';
import { serviceEntry, virtualService, httpRoute } from '../../helpers/mesh.ts';

const meshConfig = (mode: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: `outboundTrafficPolicy:\n  mode: ${mode}\n` } });
const se = (name: string, hosts: string[], ports: unknown[]) => serviceEntry({ hosts, ports, resolution: 'DNS' }, { name });
const vs = (name: string, hosts: string[], http: unknown[], extra: Record<string, unknown> = {}) => virtualService({ hosts, http, ...extra }, { name });
const route = (host: string, extra: Record<string, unknown> = {}) => ({ route: [{ destination: { host } }], ...extra });
const codes = (objects: unknown[]) => analyzeObjects(objects.map((object, i) => ({ object, origin: `t:${i + 1}` }))).map((f) => f.code).sort();

const cases: Array<{ name: string; objects: unknown[]; codes: string[] }> = [
  { name: 'REGISTRY_ONLY: a host without a ServiceEntry is an error', objects: [meshConfig('REGISTRY_ONLY'), vs('a', ['x.example.com'], [route('x.example.com')])], codes: ['MG0002', 'MG0005'] },
  { name: 'REGISTRY_ONLY: a host covered by a wildcard ServiceEntry is fine', objects: [meshConfig('REGISTRY_ONLY'), serviceEntry({ hosts: ['*.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }] }), vs('a', ['x.example.com'], [route('x.example.com')])], codes: [] },
  { name: 'ALLOW_ANY: a host without a ServiceEntry is only a destination warning', objects: [meshConfig('ALLOW_ANY'), vs('a', ['x.example.com'], [route('x.example.com')])], codes: ['MG0005'] },
  { name: 'no mesh config means ALLOW_ANY', objects: [vs('a', ['x.example.com'], [route('x.example.com')])], codes: ['MG0005'] },
  { name: 'cluster-local hosts need no ServiceEntry', objects: [meshConfig('REGISTRY_ONLY'), vs('a', ['reviews'], [route('reviews.default.svc.cluster.local')])], codes: [] },
  { name: 'a gateway-only VirtualService is not sidecar egress', objects: [meshConfig('REGISTRY_ONLY'), vs('a', ['x.example.com'], [route('x.example.com')], { gateways: ['istio-system/gw'] })], codes: [] },
  { name: 'two ServiceEntries with one host and port but different protocols conflict', objects: [se('a', ['api.example.com'], [{ number: 443, name: 'tls', protocol: 'TLS' }]), se('b', ['api.example.com'], [{ number: 443, name: 'h', protocol: 'HTTP' }])], codes: ['MG0003'] },
  { name: 'the same protocol twice is no conflict', objects: [se('a', ['api.example.com'], [{ number: 443, name: 'tls', protocol: 'TLS' }]), se('b', ['api.example.com'], [{ number: 443, name: 'tls', protocol: 'tls' }])], codes: [] },
  { name: 'an HTTP timeout on a TLS-only host has no effect', objects: [se('a', ['api.example.com'], [{ number: 443, name: 'tls', protocol: 'TLS' }]), vs('v', ['api.example.com'], [route('api.example.com', { timeout: '2s' })])], codes: ['MG0004'] },
  { name: 'an HTTP timeout on an HTTP host is fine', objects: [se('a', ['api.example.com'], [{ number: 80, name: 'http', protocol: 'HTTP' }]), vs('v', ['api.example.com'], [route('api.example.com', { timeout: '2s' })])], codes: [] },
  { name: 'an invalid object is reported with the webhook\'s message', objects: [vs('v', ['a.example.com'], [httpRoute({ timeout: '0s' })])], codes: ['MG0001'] },
  { name: 'a pod the injector would deny is an error', objects: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/33' } }, spec: { containers: [{ name: 'a' }] } }], codes: ['MG0006'] },
  { name: 'a Deployment template the injector would deny is an error', objects: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: { metadata: { annotations: { 'sidecar.istio.io/proxyCPU': 'lots' } }, spec: { containers: [{ name: 'a' }] } } } }], codes: ['MG0006'] },
  { name: 'a broken mesh config is reported', objects: [meshConfig('SOMETIMES')], codes: ['MG0001'] },
];

for (const c of cases) {
  test(`analyze: ${c.name}`, () => {
    assert.deepEqual(codes(c.objects), c.codes);
  });
}
