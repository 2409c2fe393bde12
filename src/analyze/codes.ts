// Every analyzer finding has a stable code, a severity and a hint, kept in one table so the CLI, the README and
// tests agree (as istioctl analyze's IST codes do).

export type Severity = 'Error' | 'Warning' | 'Info';

export const ANALYZER_CODES = {
  MG0001: { name: 'InvalidConfig', severity: 'Error', hint: 'fix the field named; the validation webhook would deny this object' },
  MG0002: { name: 'RegistryOnlyHostMissing', severity: 'Error', hint: 'add a ServiceEntry for the host, or the sidecar blocks it under outboundTrafficPolicy REGISTRY_ONLY' },
  MG0003: { name: 'ConflictingServiceEntryProtocol', severity: 'Error', hint: 'use one protocol for a host and port across all ServiceEntries' },
  MG0004: { name: 'IneffectiveHttpTimeout', severity: 'Warning', hint: 'the host is served as TLS/TCP only, where HTTP settings never apply; declare an HTTP port or drop the setting' },
  MG0005: { name: 'DestinationNotInRegistry', severity: 'Warning', hint: 'add a ServiceEntry for the destination host, or correct the host name' },
  MG0006: { name: 'PodInjectionDenied', severity: 'Error', hint: 'fix the pod annotation named; the injection webhook would deny this pod' },
  MG0007: { name: 'UnrecognizedObject', severity: 'Error', hint: 'fix the apiVersion or kind: the API server would refuse this document, and nothing in it was checked' },
} as const satisfies Record<string, { name: string; severity: Severity; hint: string }>;

export type AnalyzerCode = keyof typeof ANALYZER_CODES;

export interface Finding {
  code: AnalyzerCode;
  severity: Severity;
  /** `Kind namespace/name`, as istioctl analyze names objects. */
  object: string;
  /** file:document the object came from. */
  origin: string;
  message: string;
  hint: string;
}

export function finding(code: AnalyzerCode, object: string, origin: string, message: string): Finding {
  const entry = ANALYZER_CODES[code];
  return { code, severity: entry.severity, object, origin, message, hint: entry.hint };
}

export function formatFinding(f: Finding): string {
  return `${f.severity} [${f.code}] (${f.object}) ${f.message}\n    at ${f.origin}; hint: ${f.hint}`;
}
