// The bench's cluster: 1,000 ServiceEntries and 1,000 VirtualServices across 100 namespaces, plus 200 Services.
// Half the objects are exported to everyone, half to their own namespace, so views differ per namespace.
export const NAMESPACES = 100;
export const namespaceName = (i: number): string => `ns-${String(i).padStart(3, '0')}`;

export function benchObjects(): Array<{ kind: 'ServiceEntry' | 'VirtualService' | 'Service'; object: unknown }> {
  const out: Array<{ kind: 'ServiceEntry' | 'VirtualService' | 'Service'; object: unknown }> = [];
  for (let i = 0; i < 1000; i += 1) {
    const namespace = namespaceName(i % NAMESPACES);
    const exportTo = i % 2 === 0 ? ['*'] : ['.'];
    out.push({ kind: 'ServiceEntry', object: {
      apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { namespace, name: `se-${i}` },
      spec: { hosts: [`api-${i}.example.com`], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }, { number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS', location: 'MESH_EXTERNAL', exportTo },
    } });
    out.push({ kind: 'VirtualService', object: {
      apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { namespace, name: `vs-${i}` },
      spec: { hosts: [`api-${i}.example.com`], exportTo, http: [
        { match: [{ uri: { prefix: '/v2' } }], route: [{ destination: { host: `api-${i}.example.com`, port: { number: 80 } } }], timeout: '3s' },
        { route: [{ destination: { host: `api-${i}.example.com`, port: { number: 80 } }, weight: 100 }], retries: { attempts: 2, perTryTimeout: '1s' } },
      ] },
    } });
  }
  for (let i = 0; i < 200; i += 1) {
    out.push({ kind: 'Service', object: {
      apiVersion: 'v1', kind: 'Service', metadata: { namespace: namespaceName(i % NAMESPACES), name: `svc-${i}` },
      spec: { clusterIP: `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`, ports: [{ name: 'http', port: 8080 }, { name: 'grpc', port: 9090 }] },
    } });
  }
  return out;
}

/** A change every namespace sees: one more ServiceEntry exported to everyone. */
export function changeObject(n: number): unknown {
  return {
    apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { namespace: namespaceName(0), name: `change-${n}` },
    spec: { hosts: [`change-${n}.example.com`], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS', exportTo: ['*'] },
  };
}

/** A change one namespace sees: a ServiceEntry exported to its own namespace only. */
export function localChangeObject(n: number, namespace: string): unknown {
  return {
    apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { namespace, name: `local-change-${n}` },
    spec: { hosts: [`local-change-${n}.example.com`], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS', exportTo: ['.'] },
  };
}
