import { anyKeysInput, apiserverFlags, findPlatform, platformNames, type InputSpec } from './presets.ts';
import { readRangesInput } from './read-input.ts';
import { buildReport, type RangesReport } from './report.ts';

export interface InputFile {
  name: string;
  text: string;
}

/** `problems` are input errors (file:line: message), all of them usage errors for the CLI (exit 2). */
export type PlatformRanges = { ok: true; report: RangesReport } | { ok: false; problems: string[] };

/** `auto --from FILE`: a file carrying kube-apiserver flags is read as one; anything else by the describe keys. */
function sniff(text: string): InputSpec {
  return /--service-cluster-ip-range|--cluster-cidr/.test(text) ? apiserverFlags : anyKeysInput();
}

/** The ranges of a named platform, from its fixed values, the given file, or its documented defaults. */
export function rangesForPlatform(name: string, input: InputFile | undefined): PlatformRanges {
  if (name === 'auto') {
    if (!input) return { ok: false, problems: ['--platform auto without --from asks the cluster (discovery), not a file'] };
    const read = readRangesInput(input.text, input.name, sniff(input.text));
    return read.ok ? { ok: true, report: buildReport(read.found, `file:${input.name}`) } : read;
  }
  const platform = findPlatform(name);
  if (!platform) {
    return { ok: false, problems: [`unknown platform ${JSON.stringify(name)} (one of ${platformNames.join(', ')})`] };
  }
  if (platform.fixed) {
    if (input) return { ok: false, problems: [`--platform ${name} has fixed ranges and reads no --from file`] };
    return { ok: true, report: buildReport(platform.fixed.map((r) => ({ ...r, from: `preset:${name}` })), `preset:${name}`) };
  }
  if (input && platform.input) {
    const read = readRangesInput(input.text, input.name, platform.input);
    return read.ok ? { ok: true, report: buildReport(read.found, `file:${input.name}`) } : read;
  }
  if (platform.defaults) {
    const hint = platform.input ? `; pass --from with: ${platform.input.produce}` : '';
    return { ok: true, report: buildReport(platform.defaults.map((r) => ({ ...r, from: `default:${name}` })), `default:${name}`,
      [`${platform.title} defaults, not read from your cluster${hint}, or use --platform auto`]) };
  }
  return { ok: false, problems: [`--platform ${name} needs --from FILE (the output of: ${platform.input?.produce ?? 'n/a'})`] };
}
