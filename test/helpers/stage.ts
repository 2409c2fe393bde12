// What a non-root process of a test runs (the proxy as UID 1337, as in a pod), staged outside the checkout.
//
// Why: a checkout may sit where other users cannot even traverse (root's home is 0700). UID 1337 then cannot read
// src/, node_modules or the checkout's package.json, and `node --import tsx src/cli/main.ts` dies before running
// (ERR_INVALID_PACKAGE_CONFIG … permission denied). So each script is bundled with esbuild into one file in a
// world-readable temporary directory, the native addon beside it where the proxy looks first (build/Release), and
// the process runs there. Nothing of the checkout is needed at run time, whatever its permissions.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const ADDON = resolve('native/build/Release/original_dst.node');

let stageDir: string | undefined;
const staged = new Map<string, Promise<string>>();

/** The directory every staged script of this test process shares; removed when the process exits. */
function stageDirectory(): string {
  if (stageDir) return stageDir;
  const dir = mkdtempSync(join(tmpdir(), 'mg-stage-'));
  chmodSync(dir, 0o755);
  if (existsSync(ADDON)) {
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true, mode: 0o755 });
    copyFileSync(ADDON, join(dir, 'build', 'Release', 'original_dst.node'));
    chmodSync(join(dir, 'build', 'Release', 'original_dst.node'), 0o755);
  }
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  stageDir = dir;
  return dir;
}

async function bundle(script: string, dir: string): Promise<string> {
  const outfile = join(dir, `${basename(script, '.ts')}-${staged.size}.mjs`);
  await build({
    entryPoints: [resolve(script)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    sourcemap: 'inline',
    // The addon is loaded at run time from build/Release next to the bundle (src/proxy/original-dst.ts).
    external: ['*.node'],
    // Some CommonJS dependencies call require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
  });
  chmodSync(outfile, 0o644);
  return outfile;
}

/** The path of `script` (a .ts path relative to the checkout) bundled into the readable stage; built once per run. */
export function stageScript(script: string): Promise<string> {
  let file = staged.get(script);
  if (!file) {
    file = bundle(script, stageDirectory());
    staged.set(script, file);
  }
  return file;
}

/** Where a staged process runs: its working directory must be readable too. */
export function stageCwd(): string {
  return stageDirectory();
}
