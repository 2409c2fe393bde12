// Debian's nginx as the platform's HTTPS front: terminates TLS with a test CA's certificate and proxies to a function
// runtime on loopback, as Knative's ingress, Cloud Run's front end or a Function URL would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess, waitForPort } from './runtimes.ts';

export interface NginxFront {
  port: number;
  process: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

export async function startNginx(options: { dir: string; port: number; upstreamPort: number; cert: string; key: string }): Promise<NginxFront> {
  const { dir } = options;
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
daemon off;
worker_processes 1;
user root;
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'tmp')};
  proxy_temp_path ${join(dir, 'tmp')};
  fastcgi_temp_path ${join(dir, 'tmp')};
  uwsgi_temp_path ${join(dir, 'tmp')};
  scgi_temp_path ${join(dir, 'tmp')};
  server {
    listen 127.0.0.1:${options.port} ssl;
    ssl_certificate ${options.cert};
    ssl_certificate_key ${options.key};
    # Above the webhook's 8 MiB, so the function's own limit is the one a client meets.
    client_max_body_size 9m;
    location / {
      proxy_pass http://127.0.0.1:${options.upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 30s;
    }
  }
}
`);
  let output = '';
  const child = spawn('nginx', ['-c', conf, '-p', dir, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  await waitForPort(options.port, 10_000).catch((error: Error) => { child.kill('SIGKILL'); throw new Error(`${error.message}\n${output}`); });
  return { port: options.port, process: child, logs: () => output, stop: () => stopProcess(child) };
}
