import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerOptions } from 'node:https';

// What one client may hold of the webhook, and for how long. The API server sends a whole review at once over a
// pooled keep-alive connection; anything slower than that is a broken or hostile client.

export const CONNECTION_LIMITS = {
  /** Open connections at once; more are closed on accept (Node's `drop`). ~1,000 idle TLS sockets fit in ~60 MB. */
  maxConnections: 1000,
  /** A connection that has not finished its TLS handshake by then is closed (Node's default: 120 s). */
  handshakeTimeoutMs: 5_000,
  /** The request line and headers must arrive within this. */
  headersTimeoutMs: 5_000,
  /** The whole request (an 8 MiB body included) must arrive within this. */
  requestTimeoutMs: 30_000,
  /** How often Node checks the two timeouts above (default 30 s, which let slow headers live 10-40 s). */
  connectionsCheckingIntervalMs: 1_000,
  /**
   * An idle keep-alive connection is kept this long: above client-go's idle timeout (Go's http.DefaultTransport
   * IdleConnTimeout, 90 s), so the API server always closes first and never sends a review into a socket the webhook
   * is closing.
   */
  keepAliveTimeoutMs: 100_000,
} as const;

/** The options only settable when the server is created (TLS handshake timeout, checking interval). */
export function serverCreationOptions(): Pick<ServerOptions, 'handshakeTimeout' | 'connectionsCheckingInterval'> {
  return { handshakeTimeout: CONNECTION_LIMITS.handshakeTimeoutMs, connectionsCheckingInterval: CONNECTION_LIMITS.connectionsCheckingIntervalMs };
}

/** What the limits report: a connection refused at the limit, and the count held (+1 on accept, -1 on close). */
export interface ConnectionEvents {
  dropped(): void;
  held(delta: 1 | -1): void;
}

/** Applies the limits settable on a created server. */
export function applyConnectionLimits(server: Server, events: ConnectionEvents): void {
  server.maxConnections = CONNECTION_LIMITS.maxConnections;
  server.headersTimeout = CONNECTION_LIMITS.headersTimeoutMs;
  server.requestTimeout = CONNECTION_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = CONNECTION_LIMITS.keepAliveTimeoutMs;
  server.on('drop', () => events.dropped());
  server.on('connection', (socket: Socket) => {
    events.held(1);
    socket.once('close', () => events.held(-1));
  });
  // A client that opens a TLS connection and never completes the handshake: closed by handshakeTimeout; its
  // errors (ECONNRESET, timeouts) are the client's business, not the log's.
  server.on('tlsClientError', () => { /* counted by nothing: the socket is already gone */ });
}
