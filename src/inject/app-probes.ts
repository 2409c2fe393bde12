// sidecar.istio.io/rewriteAppHTTPProbers: the app containers' httpGet and tcpSocket probes go to the proxy's status
// port (`/app-health/<container>/readyz|livez|startupz`), and the originals ride along in ISTIO_KUBE_APP_PROBERS for
// the proxy to run against the app. Kubelet's probes then pass whatever the capture does to the app's ports, as with
// Istio's pilot-agent. Pure: the pod spec in, patch operations and the proxy's environment out.
import { Injected } from '../istio/keys.ts';
import { isRecord, type Container, type PodSpec } from '../k8s/types.ts';
import type { PatchOp } from './patch.ts';

/** Istio's variable: a JSON map from the status-port path to the original probe. */
export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';
/** The port the proxy serves the rewritten probes on (Istio's status port, 15020 by default). */
export const APP_PROBE_PORT_ENV = 'MESHGATE_APP_PROBE_PORT';

const PROBES = [['readinessProbe', 'readyz'], ['livenessProbe', 'livez'], ['startupProbe', 'startupz']] as const;
/** Kubelet sends at most a handful; this bounds what one probe can put into the proxy's environment. */
const MAX_HEADERS = 32;

export interface HttpGetAction {
  path?: string;
  port: number;
  host?: string;
  scheme?: 'HTTP' | 'HTTPS';
  httpHeaders?: Array<{ name: string; value: string }>;
}

/** One original probe, in Istio's field order (httpGet, tcpSocket, timeoutSeconds). */
export interface AppProber {
  httpGet?: HttpGetAction;
  tcpSocket?: { host?: string; port: number };
  timeoutSeconds?: number;
}

export interface ProbeRewrite {
  ops: PatchOp[];
  /** Keyed by the status-port path; empty when nothing was rewritten. */
  probers: Record<string, AppProber>;
  errors: Array<{ field: string; message: string }>;
  warnings: string[];
}

export function appProbePath(container: string, kind: 'readyz' | 'livez' | 'startupz'): string {
  return `/app-health/${container}/${kind}`;
}

/** Where gRPC probes stand: refused when the pod asked for the rewrite itself, kept as they are (with a warning) when
 * the rewrite is only the injector's default, so a default never denies a pod. */
export type GrpcProbes = 'deny' | 'keep';

function isOurs(container: Container): boolean {
  return container.name === Injected.proxyContainer || container.name === Injected.initContainer;
}

/** The probers an earlier injection recorded on istio-proxy: a re-injected pod's probes are already rewritten. */
function previousProbers(spec: PodSpec): Record<string, unknown> {
  const proxy = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].find((c) => c.name === Injected.proxyContainer);
  const env = Array.isArray(proxy?.['env']) ? (proxy['env'] as unknown[]) : [];
  const entry = env.find((e) => isRecord(e) && e['name'] === APP_PROBERS_ENV);
  if (!isRecord(entry) || typeof entry['value'] !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(entry['value']);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {}; // not ours to judge: the probe then stays as it is, pointing at the status port
  }
}

/** An IntOrString port: a number, or a name among the container's ports (Kubernetes' named ports). */
function resolvePort(port: unknown, container: Container): number | string {
  if (typeof port === 'number') return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : `port ${port} is out of range`;
  if (typeof port !== 'string' || port === '') return 'port is required';
  if (/^\d+$/.test(port)) return resolvePort(Number(port), container);
  const ports = Array.isArray(container['ports']) ? (container['ports'] as unknown[]) : [];
  const named = ports.find((p) => isRecord(p) && p['name'] === port);
  const number = isRecord(named) ? named['containerPort'] : undefined;
  return typeof number === 'number' && Number.isInteger(number) && number >= 1 && number <= 65535
    ? number : `named port ${JSON.stringify(port)} is not a port of container ${JSON.stringify(container.name)}`;
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

/** The original httpGet with its port resolved, in Istio's field order; a string is the reason it cannot be. */
function originalHttpGet(action: Record<string, unknown>, container: Container): HttpGetAction | string {
  const port = resolvePort(action['port'], container);
  if (typeof port === 'string') return port;
  const { path, host, scheme, httpHeaders } = action;
  if (!optionalString(path) || !optionalString(host)) return 'path and host must be strings';
  if (scheme !== undefined && scheme !== 'HTTP' && scheme !== 'HTTPS') return `scheme must be HTTP or HTTPS, got ${JSON.stringify(scheme)}`;
  const headers = httpHeaders ?? [];
  if (!Array.isArray(headers) || headers.length > MAX_HEADERS
    || !headers.every((h) => isRecord(h) && typeof h['name'] === 'string' && typeof h['value'] === 'string')) {
    return `httpHeaders must be at most ${MAX_HEADERS} {name, value} strings`;
  }
  const out: HttpGetAction = { ...(path !== undefined ? { path } : {}), port };
  if (host !== undefined && host !== '') out.host = host;
  if (scheme !== undefined) out.scheme = scheme;
  if (headers.length > 0) out.httpHeaders = (headers as Array<Record<string, string>>).map((h) => ({ name: h['name'] as string, value: h['value'] as string }));
  return out;
}

function timeoutOf(probe: Record<string, unknown>): Pick<AppProber, 'timeoutSeconds'> {
  const timeout = probe['timeoutSeconds'];
  return typeof timeout === 'number' && Number.isInteger(timeout) && timeout > 0 ? { timeoutSeconds: timeout } : {};
}

/** Rewrites one probe, or says why it stays: `undefined` for a probe that is not ours to take (exec, none). */
function rewriteProbe(probe: Record<string, unknown>, url: string, statusPort: number, container: Container):
  { rewritten: Record<string, unknown>; prober: AppProber } | { error: string } | { grpc: true } | undefined {
  const target = { path: url, port: statusPort };
  if (isRecord(probe['httpGet'])) {
    const action = probe['httpGet'];
    const original = originalHttpGet(action, container);
    if (typeof original === 'string') return { error: original };
    // Kubelet -> HTTP -> proxy -> HTTPS -> app: the proxy speaks the app's scheme, kubelet plain HTTP to it.
    const httpGet = { ...action, ...target, ...(action['scheme'] === 'HTTPS' ? { scheme: 'HTTP' } : {}) };
    return { rewritten: { ...probe, httpGet }, prober: { httpGet: original, ...timeoutOf(probe) } };
  }
  if (isRecord(probe['tcpSocket'])) {
    const { tcpSocket, ...rest } = probe as { tcpSocket: Record<string, unknown> };
    const port = resolvePort(tcpSocket['port'], container);
    if (typeof port === 'string') return { error: port };
    if (!optionalString(tcpSocket['host'])) return { error: 'host must be a string' };
    const host = tcpSocket['host'];
    return { rewritten: { ...rest, httpGet: target }, prober: { tcpSocket: { ...(host ? { host } : {}), port }, ...timeoutOf(probe) } };
  }
  if (isRecord(probe['grpc'])) return { grpc: true };
  return undefined;
}

export function rewriteAppProbes(spec: PodSpec, statusPort: number, grpc: GrpcProbes): ProbeRewrite {
  const result: ProbeRewrite = { ops: [], probers: {}, errors: [], warnings: [] };
  const previous = previousProbers(spec);
  for (const list of ['containers', 'initContainers'] as const) {
    (spec[list] ?? []).forEach((container, index) => {
      if (isOurs(container)) return;
      for (const [key, kind] of PROBES) {
        const probe = container[key];
        if (!isRecord(probe)) continue;
        const field = `spec.${list}[${index}].${key}`;
        const url = appProbePath(container.name, kind);
        const httpGet = probe['httpGet'];
        // Already rewritten (a re-injected pod): keep it, and the original an earlier injection recorded for it, checked
        // again as if it were the probe (the old istio-proxy's env is pod input).
        if (isRecord(httpGet) && resolvePort(httpGet['port'], container) === statusPort) {
          const carried = isRecord(previous[url]) ? rewriteProbe(previous[url], url, statusPort, container) : undefined;
          if (httpGet['path'] === url && carried !== undefined && 'prober' in carried) result.probers[url] = carried.prober;
          else if (httpGet['path'] === url) result.warnings.push(`${field}: points at ${url} on the status port, but no original probe is recorded for it; the proxy answers 404`);
          continue;
        }
        const outcome = rewriteProbe(probe, url, statusPort, container);
        if (outcome === undefined) continue;
        if ('error' in outcome) {
          result.errors.push({ field, message: `cannot rewrite the probe to the status port: ${outcome.error}` });
        } else if ('grpc' in outcome) {
          const reason = 'meshgate\'s proxy does not run gRPC health checks, so a gRPC probe cannot go through the status port';
          if (grpc === 'deny') result.errors.push({ field: `${field}.grpc`, message: `${reason}; set sidecar.istio.io/rewriteAppHTTPProbers: "false" or use an httpGet/tcpSocket probe` });
          else result.warnings.push(`${field}: left as it is (${reason}); kubelet reaches the app through the inbound passthrough`);
        } else {
          result.ops.push({ op: 'replace', path: `/spec/${list}/${index}/${key}`, value: outcome.rewritten });
          result.probers[url] = outcome.prober;
        }
      }
    });
  }
  return result;
}

/** istio-proxy's environment for the rewritten probes: none when nothing was rewritten. Keys sorted, as Go writes
 * a map, so the same pod always gets the same text (re-injection compares it). */
export function appProbeEnv(probers: Record<string, AppProber>, statusPort: number): Array<{ name: string; value: string }> {
  const keys = Object.keys(probers).sort();
  if (keys.length === 0) return [];
  const sorted = Object.fromEntries(keys.map((key) => [key, probers[key]]));
  return [{ name: APP_PROBERS_ENV, value: JSON.stringify(sorted) }, { name: APP_PROBE_PORT_ENV, value: String(statusPort) }];
}
