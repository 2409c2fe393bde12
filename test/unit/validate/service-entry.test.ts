import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issuesOf, serviceEntry, type RuleCase } from '../../helpers/mesh.ts';

const https = { number: 443, name: 'https', protocol: 'TLS' };
const http = { number: 80, name: 'http', protocol: 'HTTP' };
const se = (extra: Record<string, unknown>) => ({ hosts: ['api.example.com'], ports: [https], resolution: 'DNS', location: 'MESH_EXTERNAL', ...extra });

const cases: RuleCase[] = [
  { name: 'an external HTTPS host with DNS resolution is valid', spec: se({}), valid: true },
  { name: 'HTTP and TLS ports on several hosts are valid', spec: se({ hosts: ['a.example.com', 'b.example.com'], ports: [http, https] }), valid: true },
  { name: 'a wildcard host with resolution NONE is valid', spec: se({ hosts: ['*.example.com'], resolution: 'NONE' }), valid: true },
  { name: 'resolution defaults to NONE', spec: { hosts: ['*.example.com'], ports: [https] }, valid: true },
  { name: 'no hosts is refused', spec: se({ hosts: [] }), valid: false, expect: /at least one host/ },
  { name: 'host * is refused', spec: se({ hosts: ['*'], resolution: 'NONE' }), valid: false },
  // Partial wildcards: accepted with a warning naming the host's path, as Istio does.
  { name: 'a partial wildcard host is accepted with a warning', spec: se({ hosts: ['*foo.com'], resolution: 'NONE' }), valid: true, warns: true, expect: /^spec\.hosts\[0\]: partial wildcard not supported.*\("\*foo\.com"\)$/ },
  { name: 'a partial wildcard with a dash is accepted with a warning', spec: se({ hosts: ['a.example.com', '*-foo.example.com'], resolution: 'NONE' }), valid: true, warns: true, expect: /^spec\.hosts\[1\]: partial wildcard/ },
  { name: 'a whole-label wildcard host has no warning', spec: se({ hosts: ['*.example.com'], resolution: 'NONE' }), valid: true, warns: false },
  { name: 'a wildcard in the middle is refused', spec: se({ hosts: ['foo.*.com'], resolution: 'NONE' }), valid: false },
  { name: 'a host with an underscore is refused', spec: se({ hosts: ['foo_bar.com'] }), valid: false },
  { name: 'a wildcard host with DNS resolution and no endpoints is refused', spec: se({ hosts: ['*.example.com'] }), valid: false, expect: /must be FQDN/ },
  { name: 'a wildcard host with DNS resolution and endpoints is valid', spec: se({ hosts: ['*.example.com'], endpoints: [{ address: 'proxy.example.com' }] }), valid: true },
  // addresses
  { name: 'IP and CIDR addresses with STATIC are valid', spec: se({ addresses: ['10.1.2.3', '192.168.0.0/16', '2001:db8::/32'], resolution: 'STATIC', endpoints: [{ address: '10.1.2.3' }] }), valid: true },
  { name: 'a bad address is refused', spec: se({ addresses: ['10.1.2'] }), valid: false, expect: /not a valid IP/ },
  { name: 'a bad CIDR is refused', spec: se({ addresses: ['10.0.0.0/40'], resolution: 'NONE' }), valid: false, expect: /CIDR/ },
  { name: 'a CIDR with host bits is valid, as Istio parses it', spec: se({ addresses: ['10.0.0.1/24'], resolution: 'NONE' }), valid: true },
  { name: 'a CIDR prefix length with a leading zero is refused, as Go netip refuses it', spec: se({ addresses: ['10.0.0.0/08'], resolution: 'NONE' }), valid: false, expect: /spec\.addresses\[0\]: not a valid CIDR block/ },
  { name: 'a CIDR with DNS resolution is refused', spec: se({ addresses: ['10.0.0.0/8'] }), valid: false, expect: /CIDR addresses are allowed only for NONE\/STATIC/ },
  // ports
  { name: 'a port 0 is refused', spec: se({ ports: [{ number: 0, name: 'x', protocol: 'TCP' }] }), valid: false, expect: /1\.\.65535/ },
  { name: 'a port 65536 is refused', spec: se({ ports: [{ number: 65536, name: 'x', protocol: 'TLS' }] }), valid: false },
  { name: 'duplicate port numbers are refused', spec: se({ ports: [https, { ...https, name: 'tls-2' }] }), valid: false, expect: /port already defined/ },
  { name: 'duplicate port names are refused', spec: se({ ports: [https, { ...https, number: 8443 }] }), valid: false, expect: /name already defined/ },
  { name: 'an unknown protocol is refused', spec: se({ ports: [{ number: 443, name: 'x', protocol: 'QUIC' }] }), valid: false, expect: /unsupported protocol/ },
  { name: 'protocols are case-insensitive', spec: se({ ports: [{ number: 27017, name: 'mongo', protocol: 'mongo' }], addresses: ['10.0.0.1'] }), valid: true },
  { name: 'every Istio protocol name is accepted', spec: se({ hosts: ['db.example.com'], addresses: ['10.0.0.1'], ports: ['HTTP', 'HTTPS', 'GRPC', 'GRPC-Web', 'HTTP2', 'MONGO', 'TCP', 'TLS', 'UDP', 'REDIS', 'MYSQL'].map((protocol, i) => ({ number: 1000 + i, name: `p${i}`, protocol })) }), valid: true },
  { name: 'a port name that is not a DNS label is refused', spec: se({ ports: [{ number: 443, name: 'https_port', protocol: 'TLS' }] }), valid: false, expect: /invalid port name/ },
  { name: 'a missing port name is refused', spec: se({ ports: [{ number: 443, protocol: 'TLS' }] }), valid: false },
  { name: 'a valid targetPort is accepted', spec: se({ ports: [{ ...https, targetPort: 8443 }] }), valid: true },
  { name: 'a targetPort over 65535 is refused', spec: se({ ports: [{ ...https, targetPort: 70000 }] }), valid: false },
  { name: 'a targetPort with resolution NONE warns', spec: se({ ports: [{ ...https, targetPort: 8443 }], resolution: 'NONE' }), valid: true, warns: true },
  { name: 'a TCP port without addresses warns', spec: se({ ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }] }), valid: true, warns: true, expect: /addresses are required/ },
  { name: 'a port number as a string is a type error', spec: se({ ports: [{ number: '443', name: 'https', protocol: 'TLS' }] }), valid: false, expect: /integer/ },
  { name: 'a null port is refused', spec: se({ ports: [null] }), valid: false, expect: /may not be null/ },
  { name: 'several hosts with a TCP port are refused', spec: se({ hosts: ['a.example.com', 'b.example.com'], ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }] }), valid: false, expect: /multiple hosts/ },
  { name: 'several hosts with a TCP port and resolution NONE are valid', spec: se({ hosts: ['a.example.com', 'b.example.com'], ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }], resolution: 'NONE' }), valid: true },
  { name: 'several hosts with an unset protocol are refused', spec: se({ hosts: ['a.example.com', 'b.example.com'], ports: [{ number: 5432, name: 'pg' }] }), valid: false },
  // resolution
  { name: 'an unknown resolution is refused', spec: se({ resolution: 'DYNAMIC' }), valid: false, expect: /must be one of NONE, STATIC, DNS, DNS_ROUND_ROBIN, DYNAMIC_DNS/ },
  // DYNAMIC_DNS: wildcard hosts allowed; nothing that pins the answer.
  { name: 'DYNAMIC_DNS with a wildcard host and HTTP and TLS ports is valid, without warnings', spec: se({ hosts: ['*.example.com'], ports: [http, https], resolution: 'DYNAMIC_DNS' }), valid: true, warns: false },
  { name: 'DYNAMIC_DNS with an FQDN host is valid', spec: se({ resolution: 'DYNAMIC_DNS' }), valid: true, warns: false },
  { name: 'DYNAMIC_DNS with addresses is refused', spec: se({ hosts: ['*.example.com'], resolution: 'DYNAMIC_DNS', addresses: ['10.0.0.1'] }), valid: false, expect: /^spec\.addresses: addresses are not allowed for resolution mode DYNAMIC_DNS$/m },
  { name: 'DYNAMIC_DNS with endpoints is refused', spec: se({ hosts: ['*.example.com'], resolution: 'DYNAMIC_DNS', endpoints: [{ address: 'a.example.com' }] }), valid: false, expect: /^spec\.endpoints: no endpoints should be provided for resolution mode DYNAMIC_DNS$/m },
  { name: 'DYNAMIC_DNS with a workloadSelector is refused', spec: se({ hosts: ['*.example.com'], resolution: 'DYNAMIC_DNS', workloadSelector: { labels: { app: 'a' } } }), valid: false, expect: /^spec\.workloadSelector: workloadSelector is not allowed/m },
  { name: 'DYNAMIC_DNS with a TCP port warns on that port', spec: se({ hosts: ['db.example.com'], resolution: 'DYNAMIC_DNS', ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }] }), valid: true, warns: true, expect: /^spec\.ports\[0\]\.protocol: resolution DYNAMIC_DNS resolves the HTTP Host or the TLS SNI/ },
  { name: 'DYNAMIC_DNS still refuses host *', spec: se({ hosts: ['*'], resolution: 'DYNAMIC_DNS' }), valid: false, expect: /cannot claim every host/ },
  { name: 'an unknown location is refused', spec: se({ location: 'OUTSIDE' }), valid: false },
  { name: 'STATIC with IP endpoints is valid', spec: se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', ports: { https: 8443 }, labels: { app: 'a' }, weight: 10 }] }), valid: true },
  { name: 'STATIC with a hostname endpoint is refused', spec: se({ resolution: 'STATIC', endpoints: [{ address: 'api.example.com' }] }), valid: false, expect: /not a valid IP address/ },
  { name: 'STATIC with an endpoint without address is refused', spec: se({ resolution: 'STATIC', endpoints: [{ ports: { https: 1 } }] }), valid: false, expect: /address is required/ },
  { name: 'STATIC with an endpoint port the entry does not define is refused', spec: se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', ports: { other: 8443 } }] }), valid: false, expect: /not defined by the service entry/ },
  { name: 'STATIC with an endpoint port out of range is refused', spec: se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', ports: { https: 0 } }] }), valid: false },
  { name: 'STATIC with bad endpoint labels is refused', spec: se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', labels: { 'a/b/c': 'x' } }] }), valid: false },
  { name: 'STATIC with a unix endpoint and one port is valid', spec: se({ resolution: 'STATIC', endpoints: [{ address: 'unix:///var/run/app.sock' }] }), valid: true },
  { name: 'STATIC with a relative unix path is refused', spec: se({ resolution: 'STATIC', endpoints: [{ address: 'unix://run/app.sock' }] }), valid: false },
  { name: 'STATIC with a workloadSelector is valid', spec: se({ resolution: 'STATIC', workloadSelector: { labels: { app: 'vm' } } }), valid: true },
  { name: 'STATIC with neither endpoints nor selector is accepted, as Istio accepts it', spec: se({ resolution: 'STATIC' }), valid: true, warns: false },
  { name: 'endpoints and a workloadSelector together are refused', spec: se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1' }], workloadSelector: { labels: { app: 'vm' } } }), valid: false, expect: /only one of workloadSelector or endpoints/ },
  { name: 'a selector with a wildcard is refused', spec: se({ resolution: 'STATIC', workloadSelector: { labels: { app: '*' } } }), valid: false },
  { name: 'a selector without labels warns', spec: se({ resolution: 'STATIC', workloadSelector: {} }), valid: true, warns: true },
  { name: 'NONE with endpoints is refused', spec: se({ resolution: 'NONE', endpoints: [{ address: '1.1.1.1' }] }), valid: false, expect: /resolution type NONE/ },
  { name: 'NONE with a workloadSelector warns', spec: se({ resolution: 'NONE', workloadSelector: { labels: { app: 'a' } } }), valid: true, warns: true },
  { name: 'DNS with an FQDN endpoint is valid', spec: se({ endpoints: [{ address: 'eu.api.example.com', ports: { https: 443 } }] }), valid: true },
  { name: 'DNS with a bad endpoint address is refused', spec: se({ endpoints: [{ address: 'not_valid' }] }), valid: false },
  { name: 'DNS_ROUND_ROBIN with one endpoint is valid', spec: se({ resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'a.example.com' }] }), valid: true },
  { name: 'DNS_ROUND_ROBIN with two endpoints is refused', spec: se({ resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'a.example.com' }, { address: 'b.example.com' }] }), valid: false, expect: /0 or 1 endpoint/ },
  { name: 'DNS with a workloadSelector warns', spec: se({ workloadSelector: { labels: { app: 'a' } } }), valid: true, warns: true },
  { name: 'a null endpoint is refused', spec: se({ endpoints: [null] }), valid: false, expect: /cannot be null/ },
  // exportTo and the rest
  { name: 'exportTo ~ is allowed for a ServiceEntry', spec: se({ exportTo: ['~'] }), valid: true },
  { name: 'exportTo ~ with others is refused', spec: se({ exportTo: ['~', '.'] }), valid: false, expect: /no one/ },
  { name: 'exportTo with a duplicate is refused', spec: se({ exportTo: ['a', 'a'] }), valid: false },
  { name: 'exportTo with a bad namespace is refused', spec: se({ exportTo: ['Bad_Ns'] }), valid: false },
  { name: 'subjectAltNames are accepted', spec: se({ subjectAltNames: ['spiffe://cluster.local/ns/a/sa/b'] }), valid: true },
  { name: 'subjectAltNames as a string is a type error', spec: se({ subjectAltNames: 'x' }), valid: false },
];

for (const c of cases) {
  test(`ServiceEntry: ${c.name}`, () => {
    const { errors, warnings } = issuesOf(serviceEntry(c.spec));
    if (c.valid) assert.deepEqual(errors, [], 'expected no errors');
    else assert.ok(errors.length > 0, 'expected errors');
    if (c.warns !== undefined) assert.equal(warnings.length > 0, c.warns, `warnings: ${warnings.join('; ')}`);
    if (c.expect) assert.match((c.valid ? warnings : errors).join('\n'), c.expect);
  });
}

test('ServiceEntry: a missing spec is a clear error', () => {
  const { errors } = issuesOf({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'x' } });
  assert.deepEqual(errors, ['spec: required: a ServiceEntry has a spec']);
});
