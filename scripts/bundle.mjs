// Bundles the CLI into one file (dist/meshgate.mjs) for the image and the cold-start benchmark.
// client-node stays inside the bundle but is only evaluated when a command talks to a cluster (dynamic import).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/meshgate.mjs',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  splitting: false,
  // Native addons load at run time from build/Release, next to the bundle in the image.
  external: ['*.node'],
  // Some CommonJS dependencies call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
