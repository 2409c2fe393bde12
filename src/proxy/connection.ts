import type { Socket } from 'node:net';
import type { OriginalDestination } from './upstream.ts';

/** What the listener learnt about a redirected connection, handed to the HTTP and stream forwarders. */
export interface ConnectionInfo {
  original: OriginalDestination;
  /** Envoy logs the original destination as the downstream local address of an outbound connection. */
  downstreamLocal: string;
  downstreamRemote: string;
}

/** Reads SO_ORIGINAL_DST (injected so loopback tests can map connections to local upstreams). */
export type OriginalDestinationFn = (socket: Socket) => OriginalDestination | undefined;

export function hostPort(address: string | undefined, port: number | undefined): string {
  if (address === undefined || port === undefined) return '-';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function connectionInfo(socket: Socket, original: OriginalDestination): ConnectionInfo {
  return {
    original,
    downstreamLocal: hostPort(original.address, original.port),
    downstreamRemote: hostPort(socket.remoteAddress, socket.remotePort),
  };
}
