// The images the node suite runs, as OCI image-layout tarballs for `ctr -n k8s.io images import` (no registry, no
// daemon; pods use imagePullPolicy: Never):
//   pause.tar     meshgate.local/pause:1      the sandbox: pause.c, built static with the host's gcc
//   sleep.tar     meshgate.local/sleep:1      busybox-static (sh, sleep, ...) and the host's curl with the libraries
//                                              ldd names, as Istio's sleep sample uses curl
//   meshgate.tar  docker.io/meshgate/meshgate:VERSION   written by scripts/image.mjs (`npm run image`), the tag the
//                                              chart injects
// usage: node test/images/build.mjs OUTDIR
// The layers use the tar writer of scripts/tar.mjs, the one `npm run image` uses.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarball } from '../../scripts/tar.mjs';

const here = dirname(new URL(import.meta.url).pathname);
const root = resolve(here, '..', '..');
const out = resolve(process.argv[2] ?? '');
if (!process.argv[2]) { process.stderr.write('usage: node test/images/build.mjs OUTDIR\n'); process.exit(2); }
mkdirSync(out, { recursive: true });

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr ?? ''}${r.error ?? ''}`);
  return r.stdout;
}

/** A root filesystem being assembled: name (no leading slash) -> tar entry; parents are added as directories. */
class Rootfs {
  entries = new Map();
  dir(name, mode = 0o755) {
    if (name === '' || name === '.') return;
    this.dir(posix.dirname(name) === '.' ? '' : posix.dirname(name));
    if (!this.entries.has(name)) this.entries.set(name, { name: `${name}/`, type: 'dir', mode });
  }
  file(name, data, mode = 0o644) { this.dir(posix.dirname(name)); this.entries.set(name, { name, type: 'file', data, mode }); }
  symlink(name, target) { this.dir(posix.dirname(name)); this.entries.set(name, { name, type: 'symlink', linkname: target }); }
  /** A host file at the same path, symlinks kept and followed. */
  host(path) {
    const name = path.replace(/^\/+/, '');
    if (this.entries.has(name)) return;
    const st = lstatSync(path);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(path);
      this.symlink(name, target);
      this.host(posix.resolve(posix.dirname(path), target));
    } else this.file(name, readFileSync(path), st.mode & 0o7777);
  }
  /** A host binary with the shared libraries (and loader) ldd names. */
  binary(path) {
    this.host(path);
    const ldd = spawnSync('ldd', [path], { encoding: 'utf8', timeout: 10_000 });
    if (ldd.status !== 0) return; // static
    for (const line of ldd.stdout.split('\n')) {
      const lib = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
      if (lib) this.host(lib);
    }
  }
  layer() { return tarball([...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name)), 0); }
}

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const ARCH = { x64: 'amd64', arm64: 'arm64' }[process.arch];

/** One-layer OCI image layout in a tarball, named `tag` for containerd. */
function writeImage(file, tag, rootfs, config) {
  const layerTar = rootfs.layer();
  const layer = gzipSync(layerTar);
  const blobs = [];
  const blob = (data, mediaType) => { blobs.push({ digest: sha256(data), data }); return { mediaType, digest: sha256(data), size: data.length }; };
  const configDesc = blob(Buffer.from(JSON.stringify({
    architecture: ARCH, os: 'linux', config, rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
  })), 'application/vnd.oci.image.config.v1+json');
  const layerDesc = blob(layer, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: [layerDesc],
  })), 'application/vnd.oci.image.manifest.v1+json');
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...manifest, platform: { architecture: ARCH, os: 'linux' }, annotations: { 'io.containerd.image.name': tag } }] };
  writeFileSync(file, tarball([
    { name: 'oci-layout', type: 'file', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', type: 'file', data: Buffer.from(JSON.stringify(index)) },
    { name: 'blobs/', type: 'dir' }, { name: 'blobs/sha256/', type: 'dir' },
    ...blobs.map(({ digest, data }) => ({ name: `blobs/sha256/${digest.slice(7)}`, type: 'file', data })),
  ], 0));
  process.stdout.write(`${file}: ${tag}\n`);
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// pause
const pauseBin = join(out, 'pause');
run('gcc', ['-static', '-Os', '-s', '-o', pauseBin, join(here, 'pause.c')]);
const pause = new Rootfs();
pause.file('pause', readFileSync(pauseBin), 0o755);
writeImage(join(out, 'pause.tar'), 'meshgate.local/pause:1', pause, { Entrypoint: ['/pause'], Env: [PATH] });

// sleep: busybox applets as /bin/*, curl from the host with its libraries and CA bundle.
const sleep = new Rootfs();
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
if (!busybox || run('file', ['-L', busybox]).indexOf('statically linked') < 0) throw new Error('busybox-static is required (scripts/install-system-deps.sh)');
sleep.file('bin/busybox', readFileSync(busybox), 0o755);
for (const applet of ['sh', 'sleep', 'cat', 'ls', 'id', 'echo', 'env', 'touch', 'true', 'wget', 'nc']) sleep.symlink(`bin/${applet}`, 'busybox');
sleep.binary('/usr/bin/curl');
if (existsSync('/etc/ssl/certs/ca-certificates.crt')) sleep.host('/etc/ssl/certs/ca-certificates.crt');
sleep.file('etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/sh\ncurl_user:x:100:101:curl:/home/curl_user:/bin/sh\n'));
// Without nsswitch.conf glibc asks DNS before /etc/hosts, where the kubelet writes the pod's hostAliases.
sleep.file('etc/nsswitch.conf', Buffer.from('hosts: files dns\n'));
sleep.file('etc/group', Buffer.from('root:x:0:\ncurl_group:x:101:\n'));
sleep.dir('tmp', 0o1777);
writeImage(join(out, 'sleep.tar'), 'meshgate.local/sleep:1', sleep, { Entrypoint: ['/bin/sleep', 'infinity'], Env: [PATH] });

// meshgate: the project's own image writer.
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
process.stdout.write(run(process.execPath, [join(root, 'scripts', 'image.mjs'), '--output', join(out, 'meshgate.tar'), '--tag', `docker.io/meshgate/meshgate:${version}`], { cwd: root }));
