// meshgate's embedded injector values: Istio's names and nesting, as the `values` key of the istio-sidecar-injector
// ConfigMap carries them. `meshgate webhook --values FILE` and the ConfigMap are merged over these. Every key here is
// one the injector implements; any other key is refused at load (values-schema.ts).
export const DEFAULT_VALUES = {
  global: {
    hub: 'docker.io/meshgate',
    tag: '0.1.0',
    proxy: {
      // One image for init and proxy (meshgate init / meshgate proxy). A value containing "/" is used as is.
      image: 'meshgate',
      // "*" as in Istio: every outbound connection goes through the proxy, so ServiceEntries and REGISTRY_ONLY apply
      // to external traffic. "auto" captures only the cluster's ranges (meshgate ranges), letting external traffic
      // bypass the proxy; the computed ranges are recorded in meshgate.io/capture-ranges either way.
      includeIPRanges: '*',
      excludeIPRanges: '',
      includeOutboundPorts: '',
      excludeOutboundPorts: '',
      includeInboundPorts: '*',
      excludeInboundPorts: '',
      // 0 disables the status port and the proxy's readiness and startup probes, as in Istio.
      statusPort: 15020,
      autoInject: 'enabled',
      // Istio's probe defaults: the startup probe (1 s period) gates the readiness probe's slower period.
      readinessInitialDelaySeconds: 0,
      readinessPeriodSeconds: 15,
      readinessFailureThreshold: 4,
      startupProbe: { enabled: true, failureThreshold: 600 },
      holdApplicationUntilProxyStarts: false,
      // A container lifecycle for istio-proxy ({postStart, preStop}); when set it replaces the hold's postStart.
      lifecycle: {},
      privileged: false,
      resources: {
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { cpu: '2000m', memory: '1024Mi' },
      },
    },
    proxy_init: {
      image: '',
      resources: {
        requests: { cpu: '10m', memory: '10Mi' },
        limits: { cpu: '2000m', memory: '1024Mi' },
      },
    },
    // Native sidecars (Kubernetes >= 1.29): istio-proxy becomes an init container with restartPolicy Always.
    nativeSidecars: false,
    // meshgate control, which serves each sidecar its namespace's snapshot (docs/control-plane.md); the chart fills
    // in its own Service. The CA bundle is empty when the control plane's certificate chains to the pod's trust.
    meshgate: { controlAddress: 'https://meshgate-control.istio-system.svc:15012', controlCaBundle: '' },
    imagePullPolicy: 'IfNotPresent',
    imagePullSecrets: [],
  },
  sidecarInjectorWebhook: {
    neverInjectSelector: [],
    alwaysInjectSelector: [],
    injectedAnnotations: {},
    // Read by the chart (the webhook configuration's namespace selector); the API server applies it.
    enableNamespacesByDefault: false,
    // Istio's default: the app's httpGet/tcpSocket probes go through the proxy's status port (app-probes.ts).
    rewriteAppHTTPProbe: true,
  },
  meshConfig: {
    // ProxyConfig defaults, under each pod's proxy.istio.io/config.
    defaultConfig: {},
    // Off: with it on, pods get prometheus.io/* pointing at the proxy's metrics (no app metrics merging).
    enablePrometheusMerge: false,
  },
} as const;
