import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import pkg from '../../package.json' with { type: 'json' };

// What `meshgate version` reports. The bundle (scripts/bundle.mjs) stamps the commit in at build time, so the image
// knows it without git; run from a checkout, git is asked.
declare const MESHGATE_COMMIT: string | undefined;

export const VERSION: string = pkg.version;

function commitFromCheckout(): string {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8', timeout: 5_000 });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

export function buildInfo(): { version: string; commit: string; node: string; platform: string } {
  const stamped = typeof MESHGATE_COMMIT === 'string' ? MESHGATE_COMMIT : undefined;
  return { version: VERSION, commit: stamped ?? commitFromCheckout(), node: process.version, platform: `${process.platform}/${process.arch}` };
}
