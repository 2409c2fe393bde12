// The settings of `meshgate init`, parsed from istio-iptables' flags. Validation only: no I/O.
import { checkPortList } from '../inject/ports.ts';
import { checkCidrList, type Cidr } from '../ranges/cidr.ts';
import { checkInterfaceList } from './interfaces.ts';

export interface InitSettings {
  outboundPort: number;
  inboundPort: number;
  /** The proxy's UIDs and GIDs: their traffic is never captured (that would loop). */
  proxyUids: number[];
  proxyGids: number[];
  /** true: capture every destination ("*"); else only includeCidrs ("" = none). */
  includeAll: boolean;
  includeCidrs: Cidr[];
  excludeCidrs: Cidr[];
  /** Inbound capture: every port but the excluded ones ("*"), or the listed ones ("" = none). */
  inboundAll: boolean;
  inboundPorts: number[];
  inboundExcludePorts: number[];
  outboundExcludePorts: number[];
  outboundIncludePorts: number[];
  /** Traffic in or out of these interfaces is never captured (istio-iptables -c). */
  excludeInterfaces: string[];
  /** Traffic arriving on these (a VM's virtual interfaces) is captured as outbound (istio-iptables -k). */
  kubevirtInterfaces: string[];
}

/** The flags as commander hands them over: raw strings, absent when not given. */
export interface InitFlags {
  proxyPort?: string;
  inboundCapturePort?: string;
  proxyUid?: string;
  proxyGid?: string;
  interceptionMode?: string;
  includeIpRanges?: string;
  excludeIpRanges?: string;
  includeInboundPorts?: string;
  excludeInboundPorts?: string;
  excludeOutboundPorts?: string;
  includeOutboundPorts?: string;
  excludeInterfaces?: string;
  kubevirtInterfaces?: string;
}

/** `warnings`: valid flags worth a word (a CIDR with host bits, used as written), for stderr. */
export type SettingsResult = { ok: true; settings: InitSettings; warnings: string[] } | { ok: false; errors: string[] };

function port(flag: string, value: string, errors: string[]): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65535)) errors.push(`${flag}: invalid port ${JSON.stringify(value)}`);
  return n;
}

function ids(flag: string, value: string, errors: string[]): number[] {
  const items = value.split(',');
  if (!items.every((item) => /^\d{1,10}$/.test(item) && Number(item) < 2 ** 32)) {
    errors.push(`${flag}: invalid id list ${JSON.stringify(value)}`);
    return [];
  }
  return items.map(Number);
}

function cidrs(flag: string, value: string, wildcard: boolean, errors: string[], warnings: string[]): { all: boolean; cidrs: Cidr[] } {
  const check = checkCidrList(value, wildcard);
  if (check.ok) {
    // Host bits stay as written: iptables masks them itself, as it does for istio-iptables.
    for (const warning of check.warnings) warnings.push(`${flag}: ${warning}`);
    return check;
  }
  errors.push(`${flag}: invalid CIDR ${JSON.stringify(check.bad)}`);
  return { all: false, cidrs: [] };
}

function ports(flag: string, value: string, wildcard: boolean, errors: string[]): { all: boolean; ports: number[] } {
  const check = checkPortList(value, wildcard);
  if (check.ok) return check;
  errors.push(`${flag}: invalid port ${JSON.stringify(check.bad)}`);
  return { all: false, ports: [] };
}

function interfaces(flag: string, value: string, errors: string[]): string[] {
  const check = checkInterfaceList(value);
  if (check.ok) return check.interfaces;
  errors.push(`${flag}: invalid interface ${JSON.stringify(check.bad)} (1-15 characters, letters, digits, _ . @ -, a trailing + as wildcard)`);
  return [];
}

/**
 * istio-iptables' defaults: redirect to 15001/15006, proxy UID 1337, GID = UID, capture every destination, no
 * inbound capture. Every problem is collected, so one run reports them all.
 */
export function parseInitFlags(flags: InitFlags): SettingsResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const mode = flags.interceptionMode ?? 'REDIRECT';
  if (mode !== 'REDIRECT') errors.push(`-m: only REDIRECT is supported, not ${JSON.stringify(mode)}`);
  const proxyUids = ids('-u', flags.proxyUid ?? '1337', errors);
  const include = cidrs('-i', flags.includeIpRanges ?? '*', true, errors, warnings);
  const inbound = ports('-b', flags.includeInboundPorts ?? '', true, errors);
  const settings: InitSettings = {
    outboundPort: port('-p', flags.proxyPort ?? '15001', errors),
    inboundPort: port('-z', flags.inboundCapturePort ?? '15006', errors),
    proxyUids,
    proxyGids: flags.proxyGid === undefined ? proxyUids : ids('-g', flags.proxyGid, errors),
    includeAll: include.all,
    includeCidrs: include.cidrs,
    excludeCidrs: cidrs('-x', flags.excludeIpRanges ?? '', false, errors, warnings).cidrs,
    inboundAll: inbound.all,
    inboundPorts: inbound.ports,
    inboundExcludePorts: ports('-d', flags.excludeInboundPorts ?? '', false, errors).ports,
    outboundExcludePorts: ports('-o', flags.excludeOutboundPorts ?? '', false, errors).ports,
    outboundIncludePorts: ports('-q', flags.includeOutboundPorts ?? '', false, errors).ports,
    excludeInterfaces: interfaces('-c', flags.excludeInterfaces ?? '', errors),
    kubevirtInterfaces: interfaces('-k', flags.kubevirtInterfaces ?? '', errors),
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, settings, warnings };
}
