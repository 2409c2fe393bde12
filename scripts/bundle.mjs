// Bundles the CLI for the image and the cold-start benchmark: dist/meshgate.mjs plus chunks in dist/chunks/.
// Why chunks and not one file: V8 compiles a module whole, and @kubernetes/client-node with undici is ~4 MB of
// the bundle; as one file every start paid ~140 ms compiling it. Code behind a dynamic import() lands in its own
// chunk, compiled only by the commands that talk to a cluster.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

// `import ... from 'node:http'` in an ES module makes Node build the module's namespace from every export, and the
// lazy getters among them (WebSocket, CloseEvent, MessageEvent) load Node's internal undici: +14 MB RSS in every
// process that serves or sends HTTP (the proxy sidecar most of all), for classes meshgate never uses. This plugin
// hands the bundle node:http through require() and re-exports only the plain properties, so the getters never run.
const httpWithoutLazyGetters = {
  name: 'node-http-without-lazy-getters',
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, (args) => (args.kind === 'require-call' ? { path: 'node:http', external: true } : { path: 'node:http', namespace: 'node-http-cjs' }));
    b.onLoad({ filter: /.*/, namespace: 'node-http-cjs' }, () => {
      const http = createRequire(import.meta.url)('node:http');
      const plain = Object.keys(http).filter((key) => 'value' in Object.getOwnPropertyDescriptor(http, key));
      return { contents: `const http = require('node:http');\nexport default http;\nexport const { ${plain.join(', ')} } = http;\n`, loader: 'js' };
    });
  },
};

// The commit `meshgate version` reports: $MESHGATE_COMMIT (a Docker build without .git passes it as a build arg),
// else git's answer, else "unknown".
const git = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', timeout: 5_000 });
const commit = process.env.MESHGATE_COMMIT || (git.status === 0 ? git.stdout.trim() : 'unknown');

rmSync('dist', { recursive: true, force: true });
await build({
  // functions: the webhook for function runtimes (Knative Functions, Cloud Run functions, AWS Lambda); see
  // src/serverless/functions.ts. Code it shares with the CLI lands in shared chunks; it never loads the CLI.
  // review-worker: the webhook's review thread (src/admission/review-thread.ts), loaded by file name.
  entryPoints: { meshgate: 'src/cli/main.ts', functions: 'src/serverless/functions.ts', 'review-worker': 'src/admission/review-worker.ts' },
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
  // Some CommonJS dependencies call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  plugins: [httpWithoutLazyGetters],
  define: { MESHGATE_COMMIT: JSON.stringify(commit) },
});
