import { arrayOf, bool, enumOf, int32, mapOf, num, obj, str, stringMap, strings, uint32, type Schema } from './schema.ts';

// The shapes of Istio's ServiceEntry and VirtualService specs (same in v1alpha3, v1beta1 and v1), field names from
// Istio's API reference. Durations are strings here; their format is checked by the semantic layer.

const percent = obj({ value: num });
const portSelector = obj({ number: uint32 });
const destination = obj({ host: str, subset: str, port: portSelector });
const stringMatch = obj({ exact: str, prefix: str, regex: str }, [['exact', 'prefix', 'regex']]);
const headerOperations = obj({ set: stringMap, add: stringMap, remove: strings });
const headers = obj({ request: headerOperations, response: headerOperations });

const workloadEntry = obj({
  address: str, ports: mapOf(uint32), labels: stringMap, network: str, locality: str, weight: uint32, serviceAccount: str,
});

export const serviceEntrySpec: Schema = obj({
  hosts: strings,
  addresses: strings,
  ports: arrayOf(obj({ number: uint32, protocol: str, name: str, targetPort: uint32 })),
  location: enumOf('MESH_EXTERNAL', 'MESH_INTERNAL'),
  resolution: enumOf('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'),
  endpoints: arrayOf(workloadEntry),
  workloadSelector: obj({ labels: stringMap }),
  exportTo: strings,
  subjectAltNames: strings,
});

const httpMatch = obj({
  name: str, uri: stringMatch, scheme: stringMatch, method: stringMatch, authority: stringMatch,
  headers: mapOf(stringMatch), port: uint32, sourceLabels: stringMap, gateways: strings, queryParams: mapOf(stringMatch),
  ignoreUriCase: bool, withoutHeaders: mapOf(stringMatch), sourceNamespace: str, statPrefix: str,
});

const httpRoute = obj({
  name: str,
  match: arrayOf(httpMatch),
  route: arrayOf(obj({ destination, weight: int32, headers })),
  redirect: obj({
    uri: str, prefixRewrite: str, authority: str, port: uint32, derivePort: enumOf('FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'), scheme: str,
    redirectCode: uint32,
  }, [['port', 'derivePort']]),
  directResponse: obj({ status: uint32, body: obj({ string: str, bytes: str }, [['string', 'bytes']]) }),
  delegate: obj({ name: str, namespace: str }),
  rewrite: obj({ uri: str, authority: str, uriRegexRewrite: obj({ match: str, rewrite: str }) }),
  timeout: str,
  retries: obj({ attempts: int32, perTryTimeout: str, retryOn: str, retryRemoteLocalities: bool, retryIgnorePreviousHosts: bool, backoff: str }),
  fault: obj({
    delay: obj({ fixedDelay: str, exponentialDelay: str, percentage: percent, percent: int32 }, [['fixedDelay', 'exponentialDelay']]),
    abort: obj({ httpStatus: int32, grpcStatus: str, http2Error: str, percentage: percent }, [['httpStatus', 'grpcStatus', 'http2Error']]),
  }),
  mirror: destination,
  mirrors: arrayOf(obj({ destination, percentage: percent })),
  mirrorPercent: uint32,
  mirrorPercentage: percent,
  corsPolicy: obj({
    allowOrigin: strings, allowOrigins: arrayOf(stringMatch), allowMethods: strings, allowHeaders: strings,
    exposeHeaders: strings, maxAge: str, allowCredentials: bool, unmatchedPreflights: enumOf('UNSPECIFIED', 'FORWARD', 'IGNORE'),
  }),
  headers,
});

const l4Match = { destinationSubnets: strings, port: uint32, sourceLabels: stringMap, gateways: strings, sourceNamespace: str };
const routeDestination = obj({ destination, weight: int32 });

export const virtualServiceSpec: Schema = obj({
  hosts: strings,
  gateways: strings,
  http: arrayOf(httpRoute),
  tls: arrayOf(obj({ match: arrayOf(obj({ sniHosts: strings, ...l4Match })), route: arrayOf(routeDestination) })),
  tcp: arrayOf(obj({ match: arrayOf(obj({ ...l4Match, sourceSubnet: str })), route: arrayOf(routeDestination) })),
  exportTo: strings,
});
