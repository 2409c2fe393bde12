// `npm run image`: the meshgate image as an OCI image-layout tarball, built without a Docker daemon, for
// `kind load image-archive`, `ctr -n k8s.io images import`, `docker load` (25+) or `skopeo copy oci-archive:…`.
//
// One layer, the whole root filesystem: the Node 24 binary of the `node` devDependency, the bundle (dist/), the Rust
// data plane (dataplane/target/release/meshgate-proxy, which `meshgate proxy` runs), iptables (nft and legacy, with
// their extensions) for `meshgate init`, the shared libraries all of them load (found with ldd on the build
// machine) and users root/istio-proxy(1337)/nonroot(65532). The image is for the build machine's
// platform (linux/amd64 or linux/arm64): the binaries are that machine's. Multi-arch: run it on each architecture
// and join the manifests into one index (`crane index append`, `docker buildx imagetools create`).
//
// usage: node scripts/image.mjs [--output FILE] [--tag REF]     (default meshgate-image.tar, docker.io/meshgate/meshgate:VERSION)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarball } from './tar.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const args = process.argv.slice(2);
function flag(name, fallback) {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  if (args[i + 1] === undefined) fail(`${name} needs a value`);
  return args[i + 1];
}
function fail(message) {
  process.stderr.write(`image: ${message}\n`);
  process.exit(2);
}
for (const [i, arg] of args.entries()) if (arg.startsWith('-') && !['--output', '--tag'].includes(arg) && !['--output', '--tag'].includes(args[i - 1])) fail(`unknown option ${arg}`);
const output = resolve(flag('--output', 'meshgate-image.tar'));
const tag = flag('--tag', `docker.io/meshgate/meshgate:${pkg.version}`);
// Reproducible: every file gets the same time, the commit's when git knows it.
const git = (gitArgs) => spawnSync('git', gitArgs, { cwd: root, encoding: 'utf8', timeout: 5_000 });
const commit = process.env.MESHGATE_COMMIT || (git(['rev-parse', 'HEAD']).stdout ?? '').trim() || 'unknown';
const epoch = Number(process.env.SOURCE_DATE_EPOCH || git(['log', '-1', '--format=%ct']).stdout?.trim() || 0);

const ARCH = { x64: 'amd64', arm64: 'arm64' }[process.arch];
if (ARCH === undefined || process.platform !== 'linux') fail(`unsupported build platform ${process.platform}/${process.arch} (linux/amd64 and linux/arm64 are supported)`);

// --- the root filesystem ---------------------------------------------------------------------------------------
/** name (no leading slash) → entry; parents are added as directories. */
const entries = new Map();
function addDir(name, mode = 0o755) {
  if (name === '' || name === '.') return;
  addDir(posix.dirname(name) === '.' ? '' : posix.dirname(name));
  if (!entries.has(name)) entries.set(name, { name: `${name}/`, type: 'dir', mode });
}
function addFile(name, data, mode) {
  addDir(posix.dirname(name));
  entries.set(name, { name, type: 'file', data, mode });
}
function addSymlink(name, target) {
  addDir(posix.dirname(name));
  entries.set(name, { name, type: 'symlink', linkname: target });
}

/** A host path copied to the same path in the image, symlinks kept as symlinks and followed to their targets. */
function addHostPath(path, seen = new Set()) {
  if (seen.has(path)) return;
  seen.add(path);
  const name = path.replace(/^\/+/, '');
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) {
    const target = readlinkSync(path);
    addSymlink(name, target);
    addHostPath(posix.resolve(posix.dirname(path), target), seen);
  } else if (stat.isFile()) addFile(name, readFileSync(path), stat.mode & 0o7777);
}

/** The shared libraries a binary loads (and the loader), copied from the build machine. */
const libraries = new Set();
function addLibrariesOf(binary) {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8', timeout: 10_000 });
  if (ldd.status !== 0) return; // statically linked ("not a dynamic executable")
  for (const line of ldd.stdout.split('\n')) {
    const path = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (path && !libraries.has(path)) {
      libraries.add(path);
      addHostPath(path);
    }
  }
}

function requireFile(path, hint) {
  if (!existsSync(path)) fail(`${path} is missing: ${hint}`);
  return path;
}

// Node 24, the binary of the `node` devDependency (the same runtime the tests use).
const nodeBinary = realpathSync(requireFile(join(root, 'node_modules', 'node', 'bin', 'node'), 'run npm ci'));
const nodeVersion = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' }).stdout.trim();
if (!nodeVersion.startsWith('v24.')) fail(`the node devDependency is ${nodeVersion}, expected Node 24`);
addFile('usr/local/bin/node', readFileSync(nodeBinary), 0o755);
addLibrariesOf(nodeBinary);

// The bundle, at the path the Dockerfile uses.
const dist = join(root, 'dist');
requireFile(join(dist, 'meshgate.mjs'), 'run npm run build');
(function addTree(dir, name) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory()) addTree(join(dir, entry.name), `${name}/${entry.name}`);
    else if (entry.isFile() && !entry.name.endsWith('.map')) addFile(`${name}/${entry.name}`, readFileSync(join(dir, entry.name)), 0o644);
  }
})(dist, 'app/dist');

// The Rust data plane: `meshgate proxy` (the istio-proxy container) finds it on the PATH.
const dataplane = requireFile(join(root, 'dataplane', 'target', 'release', 'meshgate-proxy'), 'npm ci builds it where cargo is installed (or cargo build --release --locked in dataplane/)');
addFile('usr/local/bin/meshgate-proxy', readFileSync(dataplane), 0o755);
addLibrariesOf(dataplane);

// iptables for `meshgate init`: both variants (init picks the one the node uses) and their match/target modules.
const multi = ['nft', 'legacy'].map((variant) => `/usr/sbin/xtables-${variant}-multi`);
for (const binary of multi) {
  requireFile(binary, 'install iptables (scripts/install-system-deps.sh)');
  addHostPath(binary);
  addLibrariesOf(binary);
}
for (const family of ['iptables', 'ip6tables']) {
  for (const tool of ['', '-save', '-restore']) {
    for (const variant of ['nft', 'legacy']) addSymlink(`usr/sbin/${family}-${variant}${tool}`, `xtables-${variant}-multi`);
    addSymlink(`usr/sbin/${family}${tool}`, `xtables-nft-multi`); // the plain name, as Debian's default alternative
  }
}
const xtablesDir = ['/usr/lib/x86_64-linux-gnu/xtables', '/usr/lib/aarch64-linux-gnu/xtables'].find((dir) => existsSync(dir));
if (xtablesDir === undefined) fail('no xtables extension directory found (install iptables)');
for (const module of readdirSync(xtablesDir).sort()) {
  addHostPath(join(xtablesDir, module));
  if (module.endsWith('.so') && statSync(join(xtablesDir, module)).isFile()) addLibrariesOf(join(xtablesDir, module));
}

// jemalloc for the webhook, at the path the chart's webhook.ldPreload names (as the Dockerfile links it).
const jemalloc = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((path) => existsSync(path));
if (jemalloc === undefined) fail('no libjemalloc.so.2 found (install libjemalloc2: scripts/install-system-deps.sh)');
addHostPath(jemalloc);
addLibrariesOf(jemalloc);
addSymlink('usr/local/lib/libjemalloc.so.2', `../..${jemalloc.replace(/^\/usr/, '')}`);

// Users and a writable /tmp: the webhook runs as nonroot (65532), istio-proxy as 1337, istio-init as root.
addFile('etc/passwd', Buffer.from('root:x:0:0:root:/root:/sbin/nologin\nistio-proxy:x:1337:1337:istio-proxy:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n'), 0o644);
addFile('etc/group', Buffer.from('root:x:0:\nistio-proxy:x:1337:\nnonroot:x:65532:\n'), 0o644);
addDir('tmp');
entries.get('tmp').mode = 0o1777;
addDir('home/nonroot');
Object.assign(entries.get('home/nonroot'), { uid: 65532, gid: 65532 });

const layerTar = tarball([...entries.values()].sort((a, b) => a.name.localeCompare(b.name)), epoch);
const layer = gzipSync(layerTar, { level: 6 });

// --- the OCI image layout ---------------------------------------------------------------------------------------
const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blobs = [];
function blob(data, mediaType) {
  const digest = sha256(data);
  blobs.push({ digest, data });
  return { mediaType, digest, size: data.length };
}
const created = new Date(epoch * 1000).toISOString();
const labels = {
  'org.opencontainers.image.title': 'meshgate',
  'org.opencontainers.image.version': pkg.version,
  'org.opencontainers.image.revision': commit,
  'org.opencontainers.image.licenses': pkg.license,
  'org.opencontainers.image.description': pkg.description,
};
const config = {
  created,
  architecture: ARCH,
  ...(ARCH === 'arm64' ? { variant: 'v8' } : {}),
  os: 'linux',
  config: {
    User: '65532:65532',
    // The same entrypoint as the Dockerfile: the pod's args (webhook, init …, proxy) select the role.
    Entrypoint: ['/usr/local/bin/node', '/app/dist/meshgate.mjs'],
    Cmd: ['webhook'],
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `MESHGATE_VERSION=${pkg.version}`],
    WorkingDir: '/app',
    Labels: labels,
  },
  rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
  history: [{ created, created_by: `scripts/image.mjs (meshgate ${pkg.version}, ${commit}, node ${nodeVersion})` }],
};
const configDescriptor = blob(Buffer.from(JSON.stringify(config)), 'application/vnd.oci.image.config.v1+json');
const layerDescriptor = blob(layer, 'application/vnd.oci.image.layer.v1.tar+gzip');
const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDescriptor, layers: [layerDescriptor], annotations: labels };
const manifestDescriptor = blob(Buffer.from(JSON.stringify(manifest)), 'application/vnd.oci.image.manifest.v1+json');
const index = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [{
    ...manifestDescriptor,
    platform: { architecture: ARCH, os: 'linux', ...(ARCH === 'arm64' ? { variant: 'v8' } : {}) },
    // containerd (ctr import, kind load) names the image by the first, OCI tools by the second.
    annotations: { 'io.containerd.image.name': tag, 'org.opencontainers.image.ref.name': tag.slice(tag.lastIndexOf(':') + 1) },
  }],
};
// docker load before 25 reads manifest.json (docker save's format) and takes the same blobs.
const dockerManifest = [{ Config: `blobs/sha256/${configDescriptor.digest.slice(7)}`, RepoTags: [tag], Layers: [`blobs/sha256/${layerDescriptor.digest.slice(7)}`] }];

const archive = tarball([
  { name: 'oci-layout', type: 'file', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
  { name: 'index.json', type: 'file', data: Buffer.from(JSON.stringify(index)) },
  { name: 'manifest.json', type: 'file', data: Buffer.from(JSON.stringify(dockerManifest)) },
  { name: 'blobs/', type: 'dir' },
  { name: 'blobs/sha256/', type: 'dir' },
  ...blobs.map(({ digest, data }) => ({ name: `blobs/sha256/${digest.slice(7)}`, type: 'file', data })),
], epoch);
writeFileSync(output, archive);
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
process.stdout.write(`${output}: ${tag} linux/${ARCH}, ${entries.size} paths, layer ${mb(layerTar.length)} (${mb(layer.length)} gzipped)\n`);
