// What a non-root process of a test runs (the proxy as UID 1337, as in a pod), staged outside the checkout.
//
// Why: a checkout may sit where other users cannot even traverse (root's home is 0700). UID 1337 then cannot read
// src/, node_modules or the checkout's package.json, and `node --import tsx src/cli/main.ts` dies before running
// (ERR_INVALID_PACKAGE_CONFIG … permission denied), nor run dataplane/target/release/meshgate-proxy. So each script
// is bundled with esbuild into one file in a world-readable temporary directory, a copy of meshgate-proxy beside it
// (`meshgate proxy` is pointed at it with MESHGATE_PROXY_BIN: stagedEnv), and the process runs there. Nothing of the
// checkout is needed at run time, whatever its permissions.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const DATAPLANE = resolve('dataplane/target/release/meshgate-proxy');

let stageDir: string | undefined;
const staged = new Map<string, Promise<string>>();

/** The directory every staged script of this test process shares; removed when the process exits. */
function stageDirectory(): string {
  if (stageDir) return stageDir;
  const dir = mkdtempSync(join(tmpdir(), 'mg-stage-'));
  chmodSync(dir, 0o755);
  if (existsSync(DATAPLANE)) {
    copyFileSync(DATAPLANE, join(dir, 'meshgate-proxy'));
    chmodSync(join(dir, 'meshgate-proxy'), 0o755);
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

/** The environment a staged process needs: `meshgate proxy` runs the staged copy of meshgate-proxy. */
export function stagedEnv(): Record<string, string> {
  const binary = join(stageDirectory(), 'meshgate-proxy');
  return existsSync(binary) ? { MESHGATE_PROXY_BIN: binary } : {};
}
