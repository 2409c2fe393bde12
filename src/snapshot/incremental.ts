import { createHash } from 'node:crypto';
import type { ServiceEntry, VirtualService } from '../mesh/resources.ts';
import { documentOpening, meshSettings, type SnapshotInput } from './compile.ts';
import type { HostTable } from './host-index.ts';
import { assembleRegistry, clusterName, entryContribution, type EntryContribution } from './registry.ts';
import { assembleVirtualServices, compileVirtualService, type VirtualServiceOutcome } from './routes.ts';
import { DEFAULT_CLUSTER_DOMAIN } from './short-names.ts';
import type { Cluster, Problem, SnapshotVirtualService } from './types.ts';

// The control plane's compiler: the same document as `compileSnapshotWithText`, byte for byte and so with the same
// version, but each ServiceEntry and VirtualService is compiled once (and its JSON written once) and then reused in
// every snapshot that holds it. A change every namespace sees then costs one compile of the changed object plus,
// per namespace, the assembly: first-claim tables, the small per-namespace JSON (indexes, problems), byte copies of
// the shared parts, and the hash. test/unit/snapshot/incremental.test.ts holds the two compilers equal on random
// inputs.
//
// Objects are cached by identity (WeakMap): they must not be mutated after they are compiled, which the control
// plane's state guarantees (an update replaces the object), and a deleted object's parts go with it.

/** A compiled document as bytes, and its content-hash version (the document's own `version` field). */
export interface AssembledSnapshot {
  version: string;
  bytes: Buffer;
}

const COMMA = Buffer.from(',');

/** A key JavaScript orders before the others in an object (an array index), ascending: JSON.stringify does too. */
const isArrayIndex = (key: string): boolean => {
  const first = key.charCodeAt(0);
  return first >= 48 && first <= 57 && /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 4294967295; // host names rarely start with a digit
};

/** `JSON.stringify(Object.fromEntries(entries))`, without building the object. */
export function objectJson(entries: ReadonlyMap<string, unknown>): string {
  const indexed: Array<[number, string]> = [];
  const named: string[] = [];
  for (const [key, value] of entries) {
    const member = `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    if (isArrayIndex(key)) indexed.push([Number(key), member]);
    else named.push(member);
  }
  if (indexed.length === 0) return `{${named.join(',')}}`;
  indexed.sort((a, b) => a[0] - b[0]);
  return `{${[...indexed.map(([, member]) => member), ...named].join(',')}}`;
}

/** A snapshot host index (`{exact, wildcard}`) as `HostTable.toIndex` writes it. */
function indexJson<T, W>(table: HostTable<T>, wildcard: (host: string, value: T) => W): string {
  return `{"exact":${objectJson(table.exactEntries())},"wildcard":${JSON.stringify(table.orderedWildcards().map(([host, value]) => wildcard(host, value)))}}`;
}

export class IncrementalCompiler {
  private readonly entries = new WeakMap<ServiceEntry, EntryContribution>();
  private readonly routes = new WeakMap<VirtualService, { clusterDomain: string; outcome: VirtualServiceOutcome }>();
  /** The JSON of a cluster (as its `"name":{…}` member) or of a compiled VirtualService, written once. */
  private readonly fragments = new WeakMap<Cluster | SnapshotVirtualService, Buffer>();

  compile(input: SnapshotInput): AssembledSnapshot {
    const problems: Problem[] = [];
    const registry = assembleRegistry(input.serviceEntries.map((se) => this.contribution(se)), problems);
    const clusterDomain = input.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    const routes = assembleVirtualServices(input.virtualServices.map((vs) => this.outcome(vs, clusterDomain)), problems);

    // The body's fields in the order compileSnapshotWithText writes them: mesh, listeners, hosts, clusters,
    // virtualServices, virtualServiceHosts, problems.
    const parts: Buffer[] = [];
    const listeners = registry.listeners.map((l) => `{"port":${JSON.stringify(l.port)},"http":${indexJson(l.http, (host, cluster) => ({ host, cluster }))},"tls":${indexJson(l.tls, (host, cluster) => ({ host, cluster }))},"tcp":${JSON.stringify(l.tcp)}}`);
    parts.push(Buffer.from(`"mesh":${JSON.stringify(meshSettings(input.mesh))},"listeners":[${listeners.join(',')}],"hosts":${indexJson(registry.hosts, (host, clusters) => ({ host, clusters }))},"clusters":{`));
    // A cluster's name is its port and host (clusterName), never an array index: members keep their insertion order.
    this.list(parts, registry.clusters.values(), (cluster) => `${JSON.stringify(clusterName(cluster.port, cluster.service))}:${JSON.stringify(cluster)}`);
    parts.push(Buffer.from('},"virtualServices":['));
    this.list(parts, routes.virtualServices, (vs) => JSON.stringify(vs));
    parts.push(Buffer.from(`],"virtualServiceHosts":${indexJson(routes.byHost, (host, virtualService) => ({ host, virtualService }))},"problems":${JSON.stringify(problems)}}`));

    // One copy of the parts, after room for the opening: the version's length is fixed, its value is the hash of
    // what follows (with the body's own opening brace).
    const openingLength = Buffer.byteLength(documentOpening(`sha256:${'0'.repeat(64)}`));
    let length = openingLength;
    for (const part of parts) length += part.length;
    const bytes = Buffer.allocUnsafe(length);
    let offset = openingLength;
    for (const part of parts) offset += part.copy(bytes, offset);
    const version = `sha256:${createHash('sha256').update('{').update(bytes.subarray(openingLength)).digest('hex')}`;
    bytes.write(documentOpening(version), 0, 'utf8');
    return { version, bytes };
  }

  private contribution(se: ServiceEntry): EntryContribution {
    let contribution = this.entries.get(se);
    if (!contribution) this.entries.set(se, (contribution = entryContribution(se)));
    return contribution;
  }

  private outcome(vs: VirtualService, clusterDomain: string): VirtualServiceOutcome {
    const cached = this.routes.get(vs);
    if (cached?.clusterDomain === clusterDomain) return cached.outcome;
    const outcome = compileVirtualService(vs, clusterDomain);
    this.routes.set(vs, { clusterDomain, outcome });
    return outcome;
  }

  /** Appends each item's cached JSON, comma-separated. */
  private list<T extends Cluster | SnapshotVirtualService>(parts: Buffer[], items: Iterable<T>, json: (item: T) => string): void {
    let first = true;
    for (const item of items) {
      let fragment = this.fragments.get(item);
      if (!fragment) this.fragments.set(item, (fragment = Buffer.from(json(item))));
      if (!first) parts.push(COMMA);
      parts.push(fragment);
      first = false;
    }
  }
}
