import { classifyObject } from '../mesh/objects.ts';
import type { ServiceEntry, VirtualService } from '../mesh/resources.ts';
import { controlMeshFromConfigMap, DEFAULT_EXPORT_TO, type ControlMesh } from './mesh-defaults.ts';
import { serviceToRegistryEntry, type RegistryService } from './service-registry.ts';
import type { ClusterConfig } from './visibility.ts';
import { DEFAULT_MESH_CONFIG } from '../mesh/mesh-config.ts';

export type WatchedKind = 'ServiceEntry' | 'VirtualService' | 'Service' | 'MeshConfigMap';

export interface StateProblem {
  kind: WatchedKind;
  key: string;
  message: string;
}

const keyOf = (object: unknown): string => {
  const metadata = (object as { metadata?: { namespace?: unknown; name?: unknown } } | undefined)?.metadata;
  return `${String(metadata?.namespace ?? '')}/${String(metadata?.name ?? '')}`;
};

/**
 * Only what a snapshot is made of: resourceVersion, managedFields and status change on every write and would
 * otherwise count as a change and reach every sidecar.
 */
function slim<T extends ServiceEntry | VirtualService>(object: T): T {
  const { name, namespace, creationTimestamp } = object.metadata;
  const metadata = { name, namespace, ...(creationTimestamp === undefined ? {} : { creationTimestamp: creationTimestamp instanceof Date ? creationTimestamp.toISOString() : creationTimestamp }) };
  return { apiVersion: object.apiVersion, kind: object.kind, metadata, spec: object.spec } as T;
}

/** Who can see an object: its namespace, its exportTo, and which mesh default applies when that is empty. */
interface Audience {
  owner: string;
  exportTo: string[] | undefined;
  kind: 'service' | 'route';
}

/** The namespaces that see any of these objects, or everyone. */
function audienceNamespaces(audiences: Audience[], control: ControlMesh): Set<string> | 'everyone' {
  const out = new Set<string>();
  for (const { owner, exportTo, kind } of audiences) {
    const entries = exportTo === undefined || exportTo.length === 0 ? (kind === 'service' ? control.defaultServiceExportTo : control.defaultVirtualServiceExportTo) : exportTo;
    for (const entry of entries) {
      if (entry === '*') return 'everyone';
      if (entry !== '~') out.add(entry === '.' ? owner : entry);
    }
  }
  return out;
}

const byKey = <T>(map: Map<string, T>): T[] => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/**
 * What the informers have seen, by kind and namespace/name, each object as last accepted. An invalid update is
 * reported and the previous version stays in force (an invalid new object is skipped), so one bad object never
 * takes a namespace's snapshot down. `generation` moves on every change that can alter a snapshot.
 */
export class ClusterState {
  private readonly serviceEntries = new Map<string, ServiceEntry>();
  private readonly virtualServices = new Map<string, VirtualService>();
  private readonly services = new Map<string, RegistryService>();
  private control: ControlMesh = { mesh: structuredClone(DEFAULT_MESH_CONFIG), defaultServiceExportTo: [...DEFAULT_EXPORT_TO], defaultVirtualServiceExportTo: [...DEFAULT_EXPORT_TO] };
  private cached: ClusterConfig | undefined;
  generation = 0;
  /** The last generation that changed what every namespace sees (mesh config, an object exported to `*`). */
  private everyoneChangedAt = 0;
  /** The last generation that changed what one namespace sees, for changes visible to a few namespaces. */
  private readonly namespaceChangedAt = new Map<string, number>();

  constructor(
    private readonly clusterDomain: string,
    private readonly report: (problem: StateProblem) => void = () => undefined,
  ) {}

  /** An informer add or update. Returns whether anything a snapshot is made from changed. */
  upsert(kind: WatchedKind, object: unknown): boolean {
    const key = keyOf(object);
    switch (kind) {
      case 'ServiceEntry':
      case 'VirtualService': {
        const result = classifyObject(object);
        if (result.ok === true && (result.item.kind === 'ServiceEntry' || result.item.kind === 'VirtualService')) {
          const map = (result.item.kind === 'ServiceEntry' ? this.serviceEntries : this.virtualServices) as Map<string, ServiceEntry | VirtualService>;
          const object = slim(result.item.object);
          return this.set(map, key, object, (o) => ({ owner: o.metadata.namespace ?? 'default', exportTo: o.spec.exportTo, kind: result.item.kind === 'ServiceEntry' ? 'service' : 'route' }));
        }
        this.reject(kind, key, result.ok === false ? result.message : 'not a networking.istio.io object', (kind === 'ServiceEntry' ? this.serviceEntries : this.virtualServices).has(key));
        return false;
      }
      case 'Service': {
        const result = serviceToRegistryEntry(object);
        if (result.ok === true) return this.set(this.services, key, result.service, (o) => ({ owner: o.namespace, exportTo: o.exportTo, kind: 'service' }));
        this.reject(kind, key, result.ok === false ? result.reason : 'not a Service', this.services.has(key));
        return false;
      }
      case 'MeshConfigMap': {
        try {
          return this.setControl(controlMeshFromConfigMap(object));
        } catch (error) {
          this.reject(kind, key, (error as Error).message, true);
          return false;
        }
      }
    }
  }

  /** An informer delete. A deleted mesh ConfigMap means Istio's defaults again. */
  remove(kind: WatchedKind, object: unknown): boolean {
    const key = keyOf(object);
    if (kind === 'MeshConfigMap') return this.setControl(controlMeshFromConfigMap(undefined));
    const audience = kind === 'Service'
      ? (() => { const s = this.services.get(key); return s && { owner: s.namespace, exportTo: s.exportTo, kind: 'service' as const }; })()
      : (() => { const o = (kind === 'ServiceEntry' ? this.serviceEntries : this.virtualServices).get(key); return o && { owner: o.metadata.namespace ?? 'default', exportTo: o.spec.exportTo, kind: kind === 'ServiceEntry' ? 'service' as const : 'route' as const }; })();
    if (!audience) return false;
    (kind === 'Service' ? this.services : kind === 'ServiceEntry' ? this.serviceEntries : this.virtualServices).delete(key);
    this.changed([audience]);
    return true;
  }

  /**
   * The generation of the last change the namespace can see: its snapshot is current if compiled at or after it.
   * A change to an object exported to a few namespaces leaves every other namespace's snapshot alone.
   */
  changedFor(namespace: string): number {
    return Math.max(this.everyoneChangedAt, this.namespaceChangedAt.get(namespace) ?? 0);
  }

  /** The whole config, in a stable order (so equal content compiles to an equal, equally hashed snapshot). */
  config(): ClusterConfig {
    this.cached ??= {
      control: this.control,
      serviceEntries: byKey(this.serviceEntries),
      virtualServices: byKey(this.virtualServices),
      services: byKey(this.services),
      clusterDomain: this.clusterDomain,
    };
    return this.cached;
  }

  counts(): Record<WatchedKind, number> {
    return { ServiceEntry: this.serviceEntries.size, VirtualService: this.virtualServices.size, Service: this.services.size, MeshConfigMap: 1 };
  }

  private set<T>(map: Map<string, T>, key: string, value: T, audienceOf: (value: T) => Audience): boolean {
    const previous = map.get(key);
    // Informers resend unchanged objects on resync and status-only updates: those must not wake every sidecar.
    if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(value)) return false;
    map.set(key, value);
    // Both who saw the old version and who sees the new one.
    this.changed(previous === undefined ? [audienceOf(value)] : [audienceOf(previous), audienceOf(value)]);
    return true;
  }

  private setControl(next: ControlMesh): boolean {
    if (JSON.stringify(next) === JSON.stringify(this.control)) return false;
    this.control = next;
    this.changed('everyone');
    return true;
  }

  private changed(audiences: Audience[] | 'everyone'): void {
    this.cached = undefined;
    this.generation += 1;
    const namespaces = audiences === 'everyone' ? 'everyone' : audienceNamespaces(audiences, this.control);
    if (namespaces === 'everyone') {
      this.everyoneChangedAt = this.generation;
      // Everything before this generation is covered by it.
      this.namespaceChangedAt.clear();
    } else for (const namespace of namespaces) this.namespaceChangedAt.set(namespace, this.generation);
  }

  private reject(kind: WatchedKind, key: string, message: string, kept: boolean): void {
    this.report({ kind, key, message: `${message}${kept ? '; keeping the last good version' : '; skipped'}` });
  }
}
