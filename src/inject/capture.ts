import { Annotation, ProxyPort } from '../istio/keys.ts';
import { checkCidrList } from '../ranges/cidr.ts';
import type { StringMap } from '../k8s/types.ts';
import { checkPortList } from './ports.ts';
import { checkInterfaceList } from '../iptables/interfaces.ts';
import type { InjectorValues } from './values.ts';

/** Ranges computed from the cluster (the ranges module), or the reason there are none. */
export interface ClusterRanges {
  include: string;
  /** e.g. `discovery:ServiceCIDR`, `fallback:discovery failed (forbidden)`. */
  source: string;
}

export type RangesProvider = () => ClusterRanges | undefined;

/** What the init container captures, each setting with where its value came from. */
export interface CaptureSettings {
  includeIPRanges: string;
  includeSource: string;
  excludeIPRanges: string;
  excludeSource: string;
  /** What `auto` captures (the cluster's ranges, or `*` while none are known), recorded whatever was chosen. */
  autoIPRanges: string;
  autoSource: string;
  includeOutboundPorts: string;
  excludeOutboundPorts: string;
  includeInboundPorts: string;
  excludeInboundPorts: string;
  /** istio-iptables -c and -k, comma-separated ("" = none), from the pod's annotations (Istio has no value for them). */
  excludeInterfaces: string;
  kubevirtInterfaces: string;
  /** 0: no status port, no readiness or startup probe. */
  statusPort: number;
  /**
   * For the AdmissionReview: a pod annotation's CIDR written with host bits (`10.0.0.1/24`), naming the network it
   * matches. It is still passed to iptables as written, as Istio does. Values are warned about once, at load.
   */
  warnings: string[];
}

export interface CaptureError {
  field: string;
  value: string;
  message: string;
}

export type CaptureResult = { ok: true; settings: CaptureSettings } | { ok: false; errors: CaptureError[] };

interface Setting {
  value: string;
  source: string;
}

/** Precedence: the pod annotation, even when empty > the values > (includes only) the cluster's ranges > default. */
function pick(annotations: StringMap, key: string, valuesValue: string, fallback: Setting): Setting {
  if (Object.hasOwn(annotations, key)) return { value: annotations[key] as string, source: 'annotation' };
  if (valuesValue !== 'auto') return { value: valuesValue, source: 'values' };
  return fallback;
}

export function resolveCapture(annotations: StringMap, values: InjectorValues, cluster: ClusterRanges | undefined): CaptureResult {
  const proxy = values.global.proxy;
  const errors: CaptureError[] = [];
  const field = (key: string, source: string, valuesPath: string): string =>
    source === 'annotation' ? `metadata.annotations[${key}]` : valuesPath;

  const auto: Setting = cluster ? { value: cluster.include, source: cluster.source } : { value: '*', source: 'default' };
  const include = pick(annotations, Annotation.includeOutboundIPRanges, proxy.includeIPRanges, auto);
  const exclude = pick(annotations, Annotation.excludeOutboundIPRanges, proxy.excludeIPRanges, { value: '', source: 'default' });

  const warnings: string[] = [];
  const warnAboutHostBits = (key: string, setting: Setting, check: ReturnType<typeof checkCidrList>): void => {
    if (check.ok && setting.source === 'annotation') for (const w of check.warnings) warnings.push(`metadata.annotations[${key}]: ${w}`);
  };
  const includeCheck = checkCidrList(include.value, true);
  warnAboutHostBits(Annotation.includeOutboundIPRanges, include, includeCheck);
  if (!includeCheck.ok) {
    errors.push({ field: field(Annotation.includeOutboundIPRanges, include.source, 'global.proxy.includeIPRanges'),
      value: include.value, message: `invalid CIDR ${JSON.stringify(includeCheck.bad)}` });
  }
  const excludeCheck = checkCidrList(exclude.value, false);
  warnAboutHostBits(Annotation.excludeOutboundIPRanges, exclude, excludeCheck);
  if (!excludeCheck.ok) {
    errors.push({ field: field(Annotation.excludeOutboundIPRanges, exclude.source, 'global.proxy.excludeIPRanges'),
      value: exclude.value, message: excludeCheck.bad === '*'
        ? '"*" is not allowed in an exclude list' : `invalid CIDR ${JSON.stringify(excludeCheck.bad)}` });
  }

  const portSetting = (key: string, valuesValue: string, valuesPath: string, allowWildcard: boolean): string => {
    const setting = pick(annotations, key, valuesValue, { value: valuesValue, source: 'values' });
    const check = checkPortList(setting.value, allowWildcard);
    if (!check.ok) {
      errors.push({ field: field(key, setting.source, valuesPath), value: setting.value,
        message: `invalid port ${JSON.stringify(check.bad)}` });
      return '';
    }
    // Re-serialised from the parsed numbers: a value from an annotation is never pasted into the pod as written.
    return check.all ? '*' : check.ports.join(',');
  };

  const includeOutboundPorts = portSetting(Annotation.includeOutboundPorts, proxy.includeOutboundPorts, 'global.proxy.includeOutboundPorts', false);
  const excludeOutboundPorts = portSetting(Annotation.excludeOutboundPorts, proxy.excludeOutboundPorts, 'global.proxy.excludeOutboundPorts', false);
  const includeInboundPorts = portSetting(Annotation.includeInboundPorts, proxy.includeInboundPorts, 'global.proxy.includeInboundPorts', true);
  const excludedInbound = portSetting(Annotation.excludeInboundPorts, proxy.excludeInboundPorts, 'global.proxy.excludeInboundPorts', false);
  // Istio's template: istio.io/reroute-virtual-interfaces, else the older traffic.sidecar.istio.io/kubevirtInterfaces.
  const interfaces = (key: string): string => {
    const check = checkInterfaceList(annotations[key] ?? '');
    if (check.ok) return check.interfaces.join(',');
    errors.push({ field: `metadata.annotations[${key}]`, value: annotations[key] as string,
      message: `invalid interface ${JSON.stringify(check.bad)} (comma-separated names of 1-15 characters: letters, digits, _ . @ -, a trailing + as wildcard)` });
    return '';
  };
  const excludeInterfaces = interfaces(Annotation.excludeInterfaces);
  const kubevirtInterfaces = interfaces(Object.hasOwn(annotations, Annotation.rerouteVirtualInterfaces)
    ? Annotation.rerouteVirtualInterfaces : Annotation.kubevirtInterfaces);
  const statusPortText = annotations[Annotation.statusPort] ?? String(proxy.statusPort);
  const statusPort = /^\d{1,5}$/.test(statusPortText.trim()) ? Number(statusPortText.trim()) : NaN;
  if (!(statusPort >= 0 && statusPort <= 65535)) {
    errors.push({ field: field(Annotation.statusPort, Object.hasOwn(annotations, Annotation.statusPort) ? 'annotation' : 'values', 'global.proxy.statusPort'),
      value: statusPortText, message: 'invalid status port (0 disables it, else 1-65535)' });
  }
  if (errors.length > 0) return { ok: false, errors };

  // The proxy's own ports never take inbound capture (Istio's excludeInboundPort rule).
  // A status port of 0 (disabled) is left out, as Istio's excludeInboundPort does.
  const excludeInboundPorts = [...new Set([ProxyPort.metrics, ProxyPort.status,
    ...(statusPort > 0 ? [statusPort] : []), ...(excludedInbound ? excludedInbound.split(',').map(Number) : [])])].join(',');

  return {
    ok: true,
    settings: {
      // CIDRs pass through as written (validated above, never rewritten), as Istio does.
      includeIPRanges: include.value,
      includeSource: include.source,
      excludeIPRanges: exclude.value,
      excludeSource: exclude.source,
      autoIPRanges: auto.value,
      autoSource: auto.source,
      includeOutboundPorts,
      excludeOutboundPorts,
      includeInboundPorts,
      excludeInboundPorts,
      excludeInterfaces,
      kubevirtInterfaces,
      statusPort,
      warnings,
    },
  };
}
