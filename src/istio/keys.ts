// Every Istio-compatible label and annotation key meshgate reads or writes lives here, so a rename in Istio is one edit.

export const Label = {
  sidecarInject: 'sidecar.istio.io/inject',
  namespaceInjection: 'istio-injection',
  revision: 'istio.io/rev',
  tlsMode: 'security.istio.io/tlsMode',
  canonicalName: 'service.istio.io/canonical-name',
  canonicalRevision: 'service.istio.io/canonical-revision',
} as const;

export const Annotation = {
  sidecarInject: 'sidecar.istio.io/inject',
  sidecarStatus: 'sidecar.istio.io/status',
  proxyCPU: 'sidecar.istio.io/proxyCPU',
  proxyMemory: 'sidecar.istio.io/proxyMemory',
  proxyCPULimit: 'sidecar.istio.io/proxyCPULimit',
  proxyMemoryLimit: 'sidecar.istio.io/proxyMemoryLimit',
  proxyImage: 'sidecar.istio.io/proxyImage',
  interceptionMode: 'sidecar.istio.io/interceptionMode',
  userVolume: 'sidecar.istio.io/userVolume',
  userVolumeMount: 'sidecar.istio.io/userVolumeMount',
  rewriteAppHTTPProbers: 'sidecar.istio.io/rewriteAppHTTPProbers',
  proxyConfig: 'proxy.istio.io/config',
  mergeMetrics: 'prometheus.istio.io/merge-metrics',
  statusPort: 'status.sidecar.istio.io/port',
  readinessInitialDelaySeconds: 'readiness.status.sidecar.istio.io/initialDelaySeconds',
  readinessPeriodSeconds: 'readiness.status.sidecar.istio.io/periodSeconds',
  readinessFailureThreshold: 'readiness.status.sidecar.istio.io/failureThreshold',
  readinessApplicationPorts: 'readiness.status.sidecar.istio.io/applicationPorts',
  nativeSidecar: 'sidecar.istio.io/nativeSidecar',
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
  excludeInterfaces: 'traffic.sidecar.istio.io/excludeInterfaces',
  kubevirtInterfaces: 'traffic.sidecar.istio.io/kubevirtInterfaces',
  rerouteVirtualInterfaces: 'istio.io/reroute-virtual-interfaces',
  /** What Istio writes for Prometheus' annotation-based discovery. */
  prometheusScrape: 'prometheus.io/scrape',
  prometheusPort: 'prometheus.io/port',
  prometheusPath: 'prometheus.io/path',
  /** meshgate's own: the effective capture ranges and where each came from (answers "why is this (not) captured"). */
  captureRanges: 'meshgate.io/capture-ranges',
} as const;

/** Names of the injected parts: Istio's, so `kubectl logs POD -c istio-proxy` works unchanged. */
export const Injected = {
  initContainer: 'istio-init',
  proxyContainer: 'istio-proxy',
  workVolume: 'istio-envoy',
} as const;

/** Ports of the sidecar, as Istio numbers them. */
export const ProxyPort = {
  outbound: 15001,
  inbound: 15006,
  admin: 15000,
  status: 15021,
  metrics: 15090,
  hbone: 15008,
} as const;

export const PROXY_UID = 1337;
