import type { SnapshotInput } from '../../../src/snapshot/compile.ts';
import type { ServiceEntry, VirtualService } from '../../../src/mesh/resources.ts';

export const se = (name: string, spec: Record<string, unknown>, namespace = 'default'): ServiceEntry =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace }, spec }) as unknown as ServiceEntry;
export const vs = (name: string, spec: Record<string, unknown>, namespace = 'default'): VirtualService =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace }, spec }) as unknown as VirtualService;

/** A mesh using every field the snapshot carries, so the schema test reaches every part of the schema. */
export function everything(): SnapshotInput {
  return {
    mesh: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' }, accessLogFile: '', accessLogEncoding: 'JSON', accessLogFormat: '%START_TIME%', terminationDrainDurationMs: 7000 },
    serviceEntries: [
      se('api', { hosts: ['api.example.com', '*.cdn.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'tls', protocol: 'TLS', targetPort: 8443 }], resolution: 'DNS', location: 'MESH_EXTERNAL' }),
      se('db', { hosts: ['db.internal'], addresses: ['10.1.2.3/16', '2001:db8::1'], ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }], resolution: 'STATIC', endpoints: [{ address: '10.1.2.3', ports: { tcp: 6432 }, labels: { role: 'primary' }, weight: 3 }] }),
      se('any', { hosts: ['*.dynamic.example'], ports: [{ number: 8080, name: 'web' }], resolution: 'DYNAMIC_DNS', location: 'MESH_INTERNAL' }),
    ],
    virtualServices: [
      vs('api', {
        hosts: ['api.example.com', 'db.internal'],
        http: [
          {
            name: 'everything',
            match: [{
              name: 'm0', uri: { prefix: '/v1' }, ignoreUriCase: true, scheme: { exact: 'http' }, method: { regex: 'GET|HEAD' }, authority: { prefix: 'api.' },
              headers: { 'X-User': { exact: 'jason' }, 'x-any': {} }, withoutHeaders: { 'x-debug': { regex: '*' } }, queryParams: { v: { exact: '2' } },
              port: 80, sourceLabels: { app: 'web' }, sourceNamespace: 'default', gateways: ['mesh'],
            }],
            route: [
              { destination: { host: 'api.example.com', port: { number: 80 }, subset: 'v1' }, weight: 75, headers: { request: { set: { 'X-A': 'b' }, add: { 'x-c': 'd' }, remove: ['x-e'] } } },
              { destination: { host: 'api.example.com' }, weight: 25 },
            ],
            rewrite: { authority: 'internal.example.com', uriRegexRewrite: { match: '^/v1/(.*)$', rewrite: '/\\1' } },
            timeout: '1.5s',
            retries: { attempts: 3, perTryTimeout: '100us', retryOn: '5xx,reset,503', backoff: '50ms' },
            fault: { delay: { fixedDelay: '2s', percentage: { value: 12.5 } }, abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 1 } } },
            headers: { response: { set: { 'x-served-by': 'meshgate' } } },
            mirror: { host: 'api.example.com', port: { number: 80 } }, mirrorPercentage: { value: 5 },
            mirrors: [{ destination: { host: 'shadow.example.com' }, percentage: { value: 50 } }],
            corsPolicy: { allowOrigins: [{ exact: 'https://a.example' }, { regex: 'https://.*\\.b\\.example' }], allowMethods: ['GET'], allowHeaders: ['x-a'], exposeHeaders: ['x-b'], maxAge: '24h', allowCredentials: true, unmatchedPreflights: 'IGNORE' },
          },
          { match: [{ uri: { exact: '/old' } }], redirect: { uri: '/new', authority: 'www.example.com', port: 8080, scheme: 'https', redirectCode: 308 } },
          { match: [{ uri: { exact: '/gone' } }], redirect: { derivePort: 'FROM_REQUEST_PORT' } },
          { match: [{ uri: { exact: '/hello' } }], directResponse: { status: 200, body: { string: 'hello' } } },
          { match: [{ uri: { exact: '/bin' } }], directResponse: { status: 418, body: { bytes: 'AAEC' } } },
          { match: [{ uri: { exact: '/abort' } }], route: [{ destination: { host: 'api.example.com' } }], fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }, retries: { attempts: 0 } },
          { route: [{ destination: { host: 'api.example.com' } }] },
        ],
        tls: [{ match: [{ sniHosts: ['api.example.com'], destinationSubnets: ['1.2.3.0/24'], port: 443, sourceLabels: { app: 'web' }, sourceNamespace: 'default' }], route: [{ destination: { host: 'api.example.com', port: { number: 443 } } }] }],
        tcp: [{ match: [{ destinationSubnets: ['10.1.0.0/16'], port: 5432, sourceLabels: { app: 'web' }, sourceNamespace: 'default', sourceSubnet: '192.168.0.0/16' }], route: [{ destination: { host: 'db.internal' }, weight: 100 }] }],
      }),
    ],
  };
}
