// meshgate's embedded injector values: Istio's names and nesting, as the `values` key of the istio-sidecar-injector
// ConfigMap carries them. `meshgate webhook --values FILE` and the ConfigMap are merged over these.
export const DEFAULT_VALUES = {
  global: {
    hub: 'docker.io/meshgate',
    tag: '0.1.0',
    proxy: {
      // One image for init and proxy (meshgate init / meshgate proxy). A value containing "/" is used as is.
      image: 'meshgate',
      // "auto": the ranges computed from the cluster (meshgate ranges); "*" while none are known.
      includeIPRanges: 'auto',
      excludeIPRanges: '',
      includeOutboundPorts: '',
      excludeOutboundPorts: '',
      includeInboundPorts: '*',
      excludeInboundPorts: '',
      statusPort: 15020,
      autoInject: 'enabled',
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
    imagePullPolicy: 'IfNotPresent',
  },
  sidecarInjectorWebhook: {
    neverInjectSelector: [],
    alwaysInjectSelector: [],
    injectedAnnotations: {},
  },
} as const;
