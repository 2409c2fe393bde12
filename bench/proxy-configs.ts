// Configuration files for bench/proxy.ts: nginx and haproxy as one-worker reverse proxies, the upstream nginx, and
// the meshgate config dir (REGISTRY_ONLY, the matching ServiceEntries, plus 100 ServiceEntries and 100
// VirtualServices of ballast so RSS and lookups are measured with a realistic table).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function upstreamNginx(dir: string, tls?: { cert: string; key: string }): string {
  mkdirSync(dir, { recursive: true });
  const listen = tls
    ? `listen 443 ssl; listen [::]:443 ssl; ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key}; keepalive_requests 1000000;`
    : 'listen 80; listen [::]:80; keepalive_requests 1000000;';
  writeFileSync(join(dir, 'nginx.conf'), `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; server { ${listen} location / { return 200 "hello from upstream\\n"; } } }
`);
  return join(dir, 'nginx.conf');
}

export function proxyNginx(dir: string, port: number, upstream: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  upstream backend { server ${upstream}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port}; keepalive_requests 1000000;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host httpbin.org; }
  }
}
`);
  return join(dir, 'nginx.conf');
}

export function proxyHaproxy(dir: string, port: number, upstream: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'haproxy.cfg'), `global
  nbthread 1
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server up ${upstream}
`);
  return join(dir, 'haproxy.cfg');
}

/** The meshgate config dir: the task's manifests and the ballast, all from files the proxy reads with --config-dir. */
export function meshgateConfig(dir: string, fixtures: string, ballast: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  copyFileSync(join(fixtures, 'mesh-registry-only.yaml'), join(dir, 'mesh.yaml'));
  copyFileSync(join(fixtures, 'httpbin-ext-serviceentry.yaml'), join(dir, 'httpbin-ext-serviceentry.yaml'));
  copyFileSync(join(fixtures, 'google-serviceentry.yaml'), join(dir, 'google-serviceentry.yaml'));
  const docs: string[] = [];
  for (let i = 0; i < ballast; i++) {
    const host = `svc-${i}.bench.example`;
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se-${i}, namespace: default}
spec:
  hosts: [${host}]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
  location: MESH_EXTERNAL`);
    docs.push(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs-${i}, namespace: default}
spec:
  hosts: [${host}]
  http:
  - match: [{uri: {prefix: /v${i}}}]
    timeout: 5s
    route: [{destination: {host: ${host}}}]`);
  }
  writeFileSync(join(dir, 'ballast.yaml'), docs.join('\n---\n') + '\n', { mode: 0o644 });
}
