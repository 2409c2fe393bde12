import { createServer, type Server } from 'node:net';
import { connectionInfo, type OriginalDestinationFn } from './connection.ts';
import { forwardStream, type StreamDeps } from './stream/forward.ts';

export const INBOUND_CLUSTER = 'InboundPassthroughCluster';

/**
 * The inbound listener (15006): `meshgate init -b` redirects inbound TCP here. meshgate controls egress, so inbound
 * is a plain passthrough to the original destination (the pod's own address), from 127.0.0.6 so the connection
 * is not captured again. It is logged like any TCP connection, with cluster InboundPassthroughCluster.
 */
export function createInboundListener(originalDestination: OriginalDestinationFn, deps: StreamDeps): Server {
  return createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => undefined);
    const original = originalDestination(socket);
    if (!original) {
      socket.destroy();
      return;
    }
    const decision = { allowed: true as const, cluster: INBOUND_CLUSTER, service: undefined, plan: { kind: 'original' as const }, rule: 'inbound passthrough', reason: 'inbound traffic is passed to the workload' };
    forwardStream(socket, Buffer.alloc(0), connectionInfo(socket, original), decision, 'tcp', undefined, { ...deps, sourceAddress: { 4: '127.0.0.6', 6: '::6' } });
  });
}
