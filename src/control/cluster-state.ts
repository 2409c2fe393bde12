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
          return this.set(map, key, slim(result.item.object));
        }
        this.reject(kind, key, result.ok === false ? result.message : 'not a networking.istio.io object', (kind === 'ServiceEntry' ? this.serviceEntries : this.virtualServices).has(key));
        return false;
      }
      case 'Service': {
        const result = serviceToRegistryEntry(object);
        if (result.ok === true) return this.set(this.services, key, result.service);
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
    const map: Map<string, unknown> | undefined = kind === 'ServiceEntry' ? this.serviceEntries : kind === 'VirtualService' ? this.virtualServices : kind === 'Service' ? this.services : undefined;
    if (map === undefined) return this.setControl(controlMeshFromConfigMap(undefined));
    if (!map.delete(key)) return false;
    this.changed();
    return true;
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

  private set<T>(map: Map<string, T>, key: string, value: T): boolean {
    const previous = map.get(key);
    // Informers resend unchanged objects on resync and status-only updates: those must not wake every sidecar.
    if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(value)) return false;
    map.set(key, value);
    this.changed();
    return true;
  }

  private setControl(next: ControlMesh): boolean {
    if (JSON.stringify(next) === JSON.stringify(this.control)) return false;
    this.control = next;
    this.changed();
    return true;
  }

  private changed(): void {
    this.cached = undefined;
    this.generation += 1;
  }

  private reject(kind: WatchedKind, key: string, message: string, kept: boolean): void {
    this.report({ kind, key, message: `${message}${kept ? '; keeping the last good version' : '; skipped'}` });
  }
}
