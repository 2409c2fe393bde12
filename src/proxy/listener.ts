import { createServer, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { parseClientHello, MAX_CLIENT_HELLO } from './client-hello.ts';
import { connectionInfo, type ConnectionInfo, type OriginalDestinationFn } from './connection.ts';
import { classify } from './sniff.ts';
import { decideTcp, decideTls, type RoutingTable } from './routing/table.ts';
import { forwardStream, type StreamDeps } from './stream/forward.ts';
import type { Logger } from '../observability/logger.ts';

export interface ListenerDeps {
  originalDestination: OriginalDestinationFn;
  table(): RoutingTable;
  httpServer: HttpServer;
  /** Where the HTTP handler finds the connection's facts. */
  connections: WeakMap<Socket, ConnectionInfo>;
  stream: StreamDeps;
  sniffTimeoutMs: number;
  maxConnections: number;
  logger: Logger;
}

/**
 * The outbound listener: reads each connection's original destination, sniffs its first bytes (bounded in size and
 * time) and hands it to the HTTP server (bytes put back with unshift) or to the TLS/TCP forwarder.
 */
export function createOutboundListener(deps: ListenerDeps): Server {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => onConnection(deps, socket));
  server.maxConnections = deps.maxConnections;
  return server;
}

function onConnection(deps: ListenerDeps, socket: Socket): void {
  socket.on('error', () => undefined);
  let original;
  try {
    original = deps.originalDestination(socket);
  } catch (error) {
    deps.logger.warn({ err: (error as Error).message }, 'cannot read the original destination');
  }
  if (!original) {
    // Not redirected (someone dialled 15001 directly): forwarding it would loop back to this listener.
    socket.destroy();
    return;
  }
  const conn = connectionInfo(socket, original);
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (kind: 'http' | 'tls' | 'tcp', sni?: string): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.pause();
    const head = Buffer.concat(chunks, size);
    if (kind === 'http') {
      deps.connections.set(socket, conn);
      socket.unshift(head);
      deps.httpServer.emit('connection', socket);
      socket.resume();
      return;
    }
    const table = deps.table();
    const decision = kind === 'tls' ? decideTls(table, sni, original.port, original.address) : decideTcp(table, original.address, original.port);
    forwardStream(socket, head, conn, decision, kind, sni, deps.stream);
  };
  const decide = (): void => {
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    const kind = classify(data);
    if (kind === 'need-more') return;
    if (kind !== 'tls') return settle(kind);
    const hello = parseClientHello(data);
    if (hello.kind === 'complete') return settle('tls', hello.sni);
    if (hello.kind === 'invalid' || size >= MAX_CLIENT_HELLO) return settle('tls', undefined);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    decide();
  };
  const onEnd = (): void => settle(size === 0 ? 'tcp' : classify(Buffer.concat(chunks, size)) === 'tls' ? 'tls' : 'tcp');
  // Server-first protocols (MySQL, SMTP) send nothing until the server speaks: silence becomes TCP. A TLS client
  // whose ClientHello does not complete in time is decided without SNI.
  const timer = setTimeout(() => {
    const kind = size === 0 ? 'tcp' : classify(Buffer.concat(chunks, size));
    settle(kind === 'need-more' ? 'tcp' : kind);
  }, deps.sniffTimeoutMs);
  socket.on('data', onData);
  socket.on('end', onEnd);
}
