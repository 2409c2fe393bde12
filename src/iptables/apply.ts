// The edge of `meshgate init`: runs iptables-save / iptables-restore of the detected variant. All decisions are in
// rules.ts and backend.ts; this file only executes them.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chooseBackend, command, countRules, variantOfVersion, type Backend } from './backend.ts';
import { applyScript, cleanupScript, mentionsIPv6, type Family } from './rules.ts';
import type { InitSettings } from './settings.ts';

interface Run {
  ok: boolean;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Run {
  const result = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000 });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}

function legacyTablesPresent(): boolean {
  try {
    return readFileSync('/proc/net/ip_tables_names', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

export function detectBackend(): Backend {
  const count = (variant: 'nft' | 'legacy'): number | undefined => {
    // Running iptables-legacy-save would itself create legacy tables (and a warning in every later save): when the
    // kernel lists no legacy table in this namespace, legacy holds no rules.
    if (variant === 'legacy' && !legacyTablesPresent()) return 0;
    const save = run(command(variant, 4, 'save'), ['-t', 'nat']);
    return save.ok ? countRules(save.stdout) : undefined;
  };
  const version = run('iptables', ['--version']);
  return chooseBackend({
    legacyRules: count('legacy'),
    nftRules: count('nft'),
    defaultVariant: version.ok ? variantOfVersion(version.stdout) : undefined,
  });
}

/** Whether this network namespace has a global IPv6 address (link-local and loopback do not count). */
export function hasGlobalIPv6(): boolean {
  try {
    // /proc/net/if_inet6: address, ifindex, prefix length, scope (00 = global), flags, name.
    return readFileSync('/proc/net/if_inet6', 'utf8').split('\n').some((line) => line.split(/\s+/)[3] === '00');
  } catch {
    return false;
  }
}

/** The families to program: IPv4 always; IPv6 when the pod has it or the ranges name it. */
export function families(settings: InitSettings | undefined): Family[] {
  return hasGlobalIPv6() || (settings !== undefined && mentionsIPv6(settings)) ? [4, 6] : [4];
}

function save(backend: Backend, family: Family): string {
  const result = run(command(backend.variant, family, 'save'), ['-t', 'nat']);
  if (!result.ok) throw new Error(`${command(backend.variant, family, 'save')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

function restore(backend: Backend, family: Family, script: string): void {
  if (script === '') return;
  const result = run(command(backend.variant, family, 'restore'), ['--noflush'], script);
  if (!result.ok) throw new Error(`${command(backend.variant, family, 'restore')} failed: ${result.stderr.trim()}\n${script}`);
}

export function applyRules(settings: InitSettings, backend: Backend, family: Family): void {
  restore(backend, family, applyScript(settings, family, save(backend, family)));
}

/** The iptables-restore input `--cleanup` would run for this family ('' when nothing of meshgate's is there); reads only. */
export function cleanupPlan(backend: Backend, family: Family): string {
  return cleanupScript(save(backend, family));
}

export function cleanupRules(backend: Backend, family: Family): void {
  restore(backend, family, cleanupPlan(backend, family));
}
