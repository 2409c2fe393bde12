import { LineCounter, isScalar, isSeq, parseAllDocuments, visit } from 'yaml';
import { parseCidr } from './cidr.ts';
import { formatCidr, maskCidr } from './ip-math.ts';
import type { InputSpec } from './presets.ts';
import type { FoundRange, RangeKind } from './report.ts';

export type InputRead = { ok: true; found: FoundRange[] } | { ok: false; problems: string[] };

interface Candidate {
  kind: RangeKind;
  key: string;
  value: string;
  line: number;
}

function keyCandidates(text: string, name: string, keys: Partial<Record<RangeKind, string[]>>, problems: string[]): Candidate[] {
  const kindOf = new Map<string, RangeKind>();
  for (const [kind, list] of Object.entries(keys) as Array<[RangeKind, string[]]>) for (const key of list) kindOf.set(key, kind);
  const lineCounter = new LineCounter();
  const out: Candidate[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter, version: '1.1', prettyErrors: false })) {
    const error = doc.errors[0];
    if (error) {
      problems.push(`${name}:${lineCounter.linePos(error.pos[0]).line}: not YAML or JSON: ${error.message.split('\n')[0]}`);
      continue;
    }
    visit(doc, {
      Pair(_, pair) {
        if (!isScalar(pair.key) || typeof pair.key.value !== 'string') return;
        const kind = kindOf.get(pair.key.value);
        if (!kind) return;
        // A list (serviceCidrs: [..]) contributes each item with its own line.
        const items = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const item of items) {
          const offset = (isScalar(item) && item.range ? item.range[0] : pair.key.range?.[0]) ?? 0;
          const value = isScalar(item) && item.value !== null ? String(item.value) : '';
          out.push({ kind, key: pair.key.value, value, line: lineCounter.linePos(offset).line });
        }
      },
    });
  }
  return out;
}

function flagCandidates(text: string, flags: Partial<Record<RangeKind, string[]>>): Candidate[] {
  const out: Candidate[] = [];
  const lines = text.split('\n');
  for (const [kind, list] of Object.entries(flags) as Array<[RangeKind, string[]]>) {
    for (const flag of list) {
      // `--flag=value`, `--flag value`, quoted or not: static pod YAML, `ps` output and `kubectl describe` alike.
      const pattern = new RegExp(`${flag}(?:=|\\s+)["']?([^\\s"']*)`);
      lines.forEach((line, i) => {
        const match = pattern.exec(line);
        if (match) out.push({ kind, key: flag, value: match[1] ?? '', line: i + 1 });
      });
    }
  }
  return out;
}

function expectedKeys(spec: InputSpec): string {
  const names = Object.values(spec.kind === 'keys' ? spec.keys : spec.flags).flat();
  return names.join(', ');
}

/**
 * Reads the ranges out of a user-supplied file (describe output, config.yaml, an apiserver manifest), as Istio's
 * docs use them: host bits are allowed (ICP's `service_cluster_ip_range: 10.0.0.1/24`) and overlapping ranges are
 * merged later (GKE's service block inside its pod block). Only what is not a CIDR at all is an error, reported
 * with the file and the line.
 */
export function readRangesInput(text: string, name: string, spec: InputSpec): InputRead {
  if (text.trim() === '') return { ok: false, problems: [`${name}: empty input (expected the output of ${spec.produce})`] };
  const problems: string[] = [];
  const candidates = spec.kind === 'keys' ? keyCandidates(text, name, spec.keys, problems) : flagCandidates(text, spec.flags);
  if (problems.length > 0) return { ok: false, problems };
  if (candidates.length === 0) {
    return { ok: false, problems: [`${name}: none of ${expectedKeys(spec)} found (expected the output of ${spec.produce})`] };
  }
  const found: Array<FoundRange & { line: number }> = [];
  for (const c of candidates) {
    const where = `${name}:${c.line}`;
    if (c.value.trim() === '') {
      problems.push(`${where}: ${c.key} is empty`);
      continue;
    }
    for (const item of c.value.split(',').map((s) => s.trim())) {
      const cidr = parseCidr(item);
      if (!cidr) {
        problems.push(`${where}: ${c.key} ${JSON.stringify(item)} is not a CIDR`);
        continue;
      }
      // The same network under two keys (gcloud repeats clusterIpv4Cidr in ipAllocationPolicy) is one range.
      const network = formatCidr(maskCidr(cidr));
      if (found.some((f) => formatCidr(maskCidr(parseCidr(f.cidr)!)) === network)) continue;
      found.push({ cidr: item, kind: c.kind, from: `${where} ${c.key}`, line: c.line });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, found: found.map(({ line: _line, ...rest }) => rest) };
}
