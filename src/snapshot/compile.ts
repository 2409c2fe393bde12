import { createHash } from 'node:crypto';
import type { MeshConfig } from '../mesh/mesh-config.ts';
import type { ServiceEntry, VirtualService } from '../mesh/resources.ts';
import { compileRegistry } from './registry.ts';
import { compileVirtualServices } from './routes.ts';
import { SNAPSHOT_API_VERSION, type Problem, type ProxySnapshot, type SnapshotMesh } from './types.ts';

export interface SnapshotInput {
  mesh: MeshConfig;
  /** Visible to the proxy (exportTo already applied by the caller), in precedence order: the first to claim a host wins. */
  serviceEntries: ServiceEntry[];
  virtualServices: VirtualService[];
  /** For VirtualService short names (`reviews` → `reviews.<namespace>.svc.<clusterDomain>`); default `cluster.local`. */
  clusterDomain?: string;
}

/** meshgate's defaults where the mesh config is silent: the access log on stdout (as before), Istio's 5 s drain. */
export const DEFAULT_ACCESS_LOG_FILE = '/dev/stdout';
export const DEFAULT_TERMINATION_DRAIN_MS = 5000;

export function meshSettings(mesh: MeshConfig): SnapshotMesh {
  return {
    outboundTrafficPolicy: mesh.outboundTrafficPolicy.mode,
    accessLogFile: mesh.accessLogFile ?? DEFAULT_ACCESS_LOG_FILE,
    accessLogEncoding: mesh.accessLogEncoding ?? 'TEXT',
    accessLogFormat: mesh.accessLogFormat ?? '',
    terminationDrainDurationMs: Math.ceil(mesh.terminationDrainDurationMs ?? DEFAULT_TERMINATION_DRAIN_MS),
  };
}

/**
 * The ProxySnapshot for one proxy's view of the mesh (docs/snapshot.md). Pure: the same input gives the same
 * document and the same `version` (a hash of the content), so the control plane can use it as an ETag. Objects the
 * compiler refuses are listed in `problems`, never thrown.
 */
export function compileSnapshot(input: SnapshotInput): ProxySnapshot {
  return compileSnapshotWithText(input).snapshot;
}

/**
 * compileSnapshot plus the document as JSON, equal to `JSON.stringify(snapshot)`: the body is serialised once for
 * the hash and reused, so a server that sends the text does not pay a second stringify of a multi-megabyte document.
 */
export function compileSnapshotWithText(input: SnapshotInput): { snapshot: ProxySnapshot; text: string } {
  const problems: Problem[] = [];
  const registry = compileRegistry(input.serviceEntries, problems);
  const routes = compileVirtualServices(input.virtualServices, problems, input.clusterDomain);
  const body = { mesh: meshSettings(input.mesh), ...registry, ...routes, problems };
  const bodyText = JSON.stringify(body);
  const version = `sha256:${createHash('sha256').update(bodyText).digest('hex')}`;
  const snapshot: ProxySnapshot = { apiVersion: SNAPSHOT_API_VERSION, kind: 'ProxySnapshot', version, ...body };
  return { snapshot, text: `${documentOpening(version)}${bodyText.slice(1)}` };
}

/**
 * The document's text up to its first body field: the header fields, `version` (the sha256 of the body's JSON)
 * last, and the comma after it. The body's JSON without its opening brace follows.
 */
export function documentOpening(version: string): string {
  return `${JSON.stringify({ apiVersion: SNAPSHOT_API_VERSION, kind: 'ProxySnapshot', version }).slice(0, -1)},`;
}
