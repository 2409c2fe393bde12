// Bundles the CLI for the image and the cold-start benchmark: dist/meshgate.mjs plus chunks in dist/chunks/.
// Why chunks and not one file: V8 compiles a module whole, and @kubernetes/client-node with undici is ~4 MB of
// the bundle; as one file every start paid ~140 ms compiling it. Code behind a dynamic import() lands in its own
// chunk, compiled only by the commands that talk to a cluster.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { meshgate: 'src/cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  // Native addons load at run time from build/Release, next to the bundle in the image.
  external: ['*.node'],
  // Some CommonJS dependencies call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
