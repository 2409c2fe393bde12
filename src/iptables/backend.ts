// Which iptables the host uses: iptables-nft and iptables-legacy keep separate rule sets, and rules written with the
// wrong one are silently ignored by the kernel path the node uses (a common init-container failure in Istio).
import type { Family } from './rules.ts';

export type Variant = 'nft' | 'legacy';

export interface BackendEvidence {
  /** Rule lines (`-A …`) each variant's save command printed, or undefined when it is missing or failed. */
  legacyRules: number | undefined;
  nftRules: number | undefined;
  /** What plain `iptables --version` says it is: "(nf_tables)" or "(legacy)". */
  defaultVariant: Variant | undefined;
}

export interface Backend {
  variant: Variant;
  reason: string;
}

/**
 * The variant already holding rules wins (the node's kubelet and kube-proxy write there, as Istio's detection
 * assumes); with rules in neither or both equally, the system default; with no answer at all, nft (Debian ≥ 11).
 */
export function chooseBackend(e: BackendEvidence): Backend {
  const legacy = e.legacyRules ?? 0;
  const nft = e.nftRules ?? 0;
  if (legacy > nft) return { variant: 'legacy', reason: `iptables-legacy holds ${legacy} rules, iptables-nft ${nft}` };
  if (nft > legacy) return { variant: 'nft', reason: `iptables-nft holds ${nft} rules, iptables-legacy ${legacy}` };
  if (e.defaultVariant) return { variant: e.defaultVariant, reason: `no existing rules; the system iptables is ${e.defaultVariant}` };
  return { variant: 'nft', reason: 'no existing rules and no system default; assuming nft' };
}

/** `iptables --version` → variant: "iptables v1.8.9 (nf_tables)" or "iptables v1.8.9 (legacy)". */
export function variantOfVersion(text: string): Variant | undefined {
  if (text.includes('nf_tables')) return 'nft';
  if (text.includes('legacy')) return 'legacy';
  return undefined;
}

/** Counts rule lines in iptables-save output. */
export function countRules(save: string): number {
  return save.split('\n').filter((line) => line.startsWith('-A ')).length;
}

/** The command for one tool: `iptables-nft-restore`, `ip6tables-legacy-save`, … */
export function command(variant: Variant, family: Family, tool: 'save' | 'restore'): string {
  return `${family === 4 ? 'iptables' : 'ip6tables'}-${variant}-${tool}`;
}
