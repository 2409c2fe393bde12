import { isRecord } from '../k8s/types.ts';
import { NETWORKING_GROUP, NETWORKING_VERSIONS } from '../mesh/resources.ts';
import { validatedKindOf, VALIDATED_KINDS, type ValidatedKind } from '../validate/validate.ts';

// What `validate` and `analyze` make of one input object, decided in one place so both commands agree: a mesh object
// meshgate validates, another Kubernetes kind (skipped, and counted so the summary shows it), or something nobody
// would apply successfully (a typo in the mesh group's kind, a version Istio does not serve, no kind or apiVersion),
// which is a finding: reporting "0 objects validated, 0 invalid" for a misspelt ServiceEntry hides the mistake.

/** networking.istio.io kinds Istio serves; meshgate validates ServiceEntry and VirtualService and skips the others. */
const ISTIO_NETWORKING_KINDS = ['DestinationRule', 'EnvoyFilter', 'Gateway', 'ProxyConfig', 'ServiceEntry', 'Sidecar', 'VirtualService', 'WorkloadEntry', 'WorkloadGroup'];

export type InputKind =
  | { status: 'mesh'; kind: ValidatedKind }
  | { status: 'skipped'; kind: string }
  | { status: 'unrecognized'; message: string };

function suggestion(kind: string): string {
  const near = ISTIO_NETWORKING_KINDS.find((known) => known.toLowerCase() === kind.toLowerCase().replace(/[-_ ]/g, ''));
  return near ? ` (did you mean ${near}?)` : ` (known: ${ISTIO_NETWORKING_KINDS.join(', ')})`;
}

export function classifyInput(object: unknown): InputKind {
  if (!isRecord(object)) return { status: 'unrecognized', message: 'not a Kubernetes object (a mapping with apiVersion and kind)' };
  const apiVersion = object['apiVersion'];
  const kind = object['kind'];
  const hasVersion = typeof apiVersion === 'string' && apiVersion !== '';
  const hasKind = typeof kind === 'string' && kind !== '';
  if (!hasVersion && !hasKind) return { status: 'unrecognized', message: 'no apiVersion and no kind: not a Kubernetes object' };
  if (!hasVersion) return { status: 'unrecognized', message: `no apiVersion (a ${String(kind)} needs one, e.g. ${NETWORKING_GROUP}/v1)` };
  if (!hasKind) return { status: 'unrecognized', message: `no kind (apiVersion ${apiVersion})` };
  const validated = validatedKindOf(apiVersion, kind);
  if (validated) return { status: 'mesh', kind: validated };
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  if (group !== NETWORKING_GROUP) return { status: 'skipped', kind };
  if (!(NETWORKING_VERSIONS as readonly string[]).includes(version ?? '')) {
    return { status: 'unrecognized', message: `unknown version "${apiVersion}" (known: ${NETWORKING_VERSIONS.join(', ')})` };
  }
  // A kind Istio serves but meshgate does not validate is skipped; anything else in the group is a typo.
  if (ISTIO_NETWORKING_KINDS.includes(kind) && !(VALIDATED_KINDS as readonly string[]).includes(kind)) return { status: 'skipped', kind };
  return { status: 'unrecognized', message: `unknown kind "${kind}" in ${NETWORKING_GROUP}${suggestion(kind)}` };
}

export interface ObjectIdentity {
  kind: string;
  namespace: string;
  name: string;
}

/** Kind, namespace and name as the input gives them (`?` for what is missing); the namespace defaults as kubectl's. */
export function objectIdentity(object: unknown, defaultNamespace: string): ObjectIdentity {
  const record = isRecord(object) ? object : {};
  const meta = isRecord(record['metadata']) ? record['metadata'] : {};
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    kind: text(record['kind']) || '?',
    namespace: text(meta['namespace']) || defaultNamespace,
    name: text(meta['name']) || text(meta['generateName']) || '?',
  };
}

/** `Kind namespace/name`, the label the webhook and istioctl use. */
export function objectLabel(object: unknown, defaultNamespace: string): string {
  const { kind, namespace, name } = objectIdentity(object, defaultNamespace);
  return `${kind} ${namespace}/${name}`;
}

/** The objects of a document: itself, or the items of a List. */
export function objectsOf(value: unknown): unknown[] {
  if (isRecord(value) && value['kind'] === 'List' && Array.isArray(value['items'])) return value['items'];
  return [value];
}
