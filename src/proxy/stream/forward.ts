import { connect, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { hostPort, type ConnectionInfo } from '../connection.ts';
import type { Decision } from '../routing/types.ts';
import type { AccessRecord } from '../telemetry/access-log.ts';
import type { Reporter } from '../telemetry/reporter.ts';
import { resolvePlan, type HostLookup } from '../upstream.ts';

export interface StreamDeps {
  lookup: HostLookup;
  reporter: Reporter;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** Inbound passthrough connects from 127.0.0.6 / ::6, the source iptables lets return (no redirect loop). */
  sourceAddress?: { 4: string; 6: string };
}

/**
 * TLS and TCP: a denied connection is reset at once (curl sees exit 35 on HTTPS, as with Istio's BlackHoleCluster);
 * an allowed one is spliced to its upstream with pipe (backpressure both ways, half-close passed on) and closed
 * after the idle timeout. TLS is never terminated: the sniffed ClientHello is replayed to the upstream.
 */
export function forwardStream(client: Socket, head: Buffer, conn: ConnectionInfo, decision: Decision, protocol: 'tls' | 'tcp', sni: string | undefined, deps: StreamDeps): void {
  const startMs = Date.now();
  const t0 = performance.now();
  let flags = '';
  let upstream: Socket | undefined;
  let upstreamHost: string | undefined;
  let upstreamLocal: string | undefined;
  let reported = false;
  const report = (): void => {
    if (reported) return;
    reported = true;
    const record: AccessRecord = {
      startMs, code: 0, flags, bytesReceived: client.bytesRead, bytesSent: client.bytesWritten, durationMs: performance.now() - t0,
      upstreamHost, cluster: decision.cluster, upstreamLocal, downstreamLocal: conn.downstreamLocal, downstreamRemote: conn.downstreamRemote, sni,
    };
    deps.reporter.connection(record, { destinationServiceHost: decision.service ?? sni ?? conn.original.address, destinationIp: conn.original.address, destinationPort: conn.original.port, rule: decision.rule }, decision.service, protocol);
  };
  client.on('error', () => undefined);
  if (!decision.allowed) {
    flags = 'UH';
    deps.reporter.denied(protocol, `${sni ?? conn.original.address}:${conn.original.port}`, decision.rule, decision.reason);
    client.resetAndDestroy();
    report();
    return;
  }
  deps.reporter.connectionOpened(decision.service, decision.cluster, protocol);
  client.once('close', () => {
    upstream?.destroy();
    report();
  });
  client.setTimeout(deps.idleTimeoutMs, () => { flags = flags || 'IT'; client.destroy(); });
  void resolvePlan(decision.plan, conn.original, deps.lookup).then((endpoint) => {
    if (client.destroyed) return;
    upstreamHost = hostPort(endpoint.address, endpoint.port);
    const localAddress = deps.sourceAddress?.[isIP(endpoint.address) === 6 ? 6 : 4];
    const up = connect({ host: endpoint.address, port: endpoint.port, allowHalfOpen: true, noDelay: true, ...(localAddress ? { localAddress } : {}) });
    upstream = up;
    const connectTimer = setTimeout(() => { flags = 'UF'; up.destroy(); client.destroy(); }, deps.connectTimeoutMs);
    up.once('connect', () => {
      clearTimeout(connectTimer);
      upstreamLocal = hostPort(up.localAddress, up.localPort);
      if (head.length > 0) up.write(head);
      client.pipe(up);
      up.pipe(client);
    });
    up.setTimeout(deps.idleTimeoutMs, () => { flags = flags || 'IT'; up.destroy(); client.destroy(); });
    up.on('error', () => {
      clearTimeout(connectTimer);
      flags = flags || (up.connecting ? 'UF' : 'UC');
      client.destroy();
    });
    up.once('close', () => {
      // Once both directions have ended the client socket is done too; a reset upstream resets the client.
      if (!client.writableEnded) client.destroy();
    });
  }, () => {
    flags = 'UH';
    client.resetAndDestroy();
  });
}
