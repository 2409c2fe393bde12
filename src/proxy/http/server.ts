import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpLimits {
  /** Bytes of request line plus headers (Node's parser answers 431 beyond). */
  maxHeaderBytes: number;
  /** Time to receive a request's headers: slowloris connections are closed then. */
  headersTimeoutMs: number;
  /** Time to receive a whole request. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections from clients. */
  keepAliveTimeoutMs: number;
}

/**
 * The HTTP/1.1 half of the proxy: Node's own parser (strict: CL+TE and other smuggling shapes are parse errors),
 * fed with sniffed sockets via emit('connection'). It never listens itself.
 */
export function createProxyHttpServer(limits: HttpLimits, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    requireHostHeader: true,
    joinDuplicateHeaders: false,
    insecureHTTPParser: false,
  }, handler);
  server.maxHeadersCount = 0; // count is checked per request (431), not silently truncated
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    socket.destroySoon();
  });
  // Node starts the header/request timeout checks when a server emits 'listening'; this one is fed sockets by the
  // outbound listener and never listens, so it is told it is listening (otherwise slowloris would never be cut off).
  server.emit('listening');
  return server;
}
