import { NETWORKING_GROUP, NETWORKING_VERSIONS } from '../mesh/resources.ts';
import { asObj, asText, isRecord } from './access.ts';
import { serviceEntrySpec, virtualServiceSpec } from './crd-schemas.ts';
import { Collector, type FieldIssue } from './field-errors.ts';
import { checkSchema, type Schema } from './schema.ts';
import { validateServiceEntrySpec } from './service-entry.ts';
import { validateVirtualServiceSpec } from './virtual-service.ts';

// The one entry point for both layers: the CRD schema first (as the API server applies it before any webhook),
// then Istio's semantic rules. The webhook, `meshgate validate` and `meshgate analyze` all call this.

export const VALIDATED_KINDS = ['ServiceEntry', 'VirtualService'] as const;
export type ValidatedKind = (typeof VALIDATED_KINDS)[number];

export type ValidationResult =
  | { applies: false }
  | { applies: true; kind: ValidatedKind; name: string; namespace: string; errors: FieldIssue[]; warnings: FieldIssue[] };

/** Annotations Istio's webhook looks at on every object: dry-run is for AuthorizationPolicy only, always-reject is a test hook. */
const DRY_RUN = 'istio.io/dry-run';
const ALWAYS_REJECT = 'istio.io/always-reject';

const RULES: Record<ValidatedKind, { schema: Schema; semantic: (spec: Record<string, unknown>, namespace: string, out: Collector) => void }> = {
  ServiceEntry: { schema: serviceEntrySpec, semantic: validateServiceEntrySpec },
  VirtualService: { schema: virtualServiceSpec, semantic: validateVirtualServiceSpec },
};

/** `networking.istio.io/<v1alpha3|v1beta1|v1>` ServiceEntry or VirtualService; anything else is not ours. */
export function validatedKindOf(apiVersion: unknown, kind: unknown): ValidatedKind | undefined {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const [group, version] = apiVersion.split('/');
  if (group !== NETWORKING_GROUP || !(NETWORKING_VERSIONS as readonly string[]).includes(version ?? '')) return undefined;
  return (VALIDATED_KINDS as readonly string[]).includes(kind) ? (kind as ValidatedKind) : undefined;
}

export function validateSpec(kind: ValidatedKind, spec: unknown, namespace: string, out: Collector): void {
  if (spec === undefined || spec === null) {
    out.error('spec', `required: a ${kind} has a spec`);
    return;
  }
  const rules = RULES[kind];
  const before = out.errors.length;
  checkSchema(spec, rules.schema, 'spec', out);
  // Wrong types stop here, as the API server's schema check stops a request before the webhook sees it.
  if (out.errors.length > before || !isRecord(spec)) return;
  rules.semantic(spec, namespace, out);
}

/** Validates one object as it would be created; `namespace` is the request's when the object names none. */
export function validateMeshObject(object: unknown, namespace?: string, kindHint?: ValidatedKind): ValidationResult {
  const record = asObj(object);
  const kind = kindHint ?? validatedKindOf(record['apiVersion'], record['kind']);
  if (!kind) return { applies: false };
  const out = new Collector();
  const metadata = record['metadata'];
  if (metadata !== undefined && !isRecord(metadata)) out.error('metadata', 'must be an object');
  const meta = asObj(metadata);
  const annotations = meta['annotations'];
  if (annotations !== undefined && annotations !== null) {
    if (!isRecord(annotations) || Object.values(annotations).some((v) => typeof v !== 'string')) out.error('metadata.annotations', 'must be a map of strings');
    else {
      if (DRY_RUN in annotations) out.error(`metadata.annotations["${DRY_RUN}"]`, 'only AuthorizationPolicy supports this annotation; remove it');
      if (ALWAYS_REJECT in annotations) out.error(`metadata.annotations["${ALWAYS_REJECT}"]`, 'annotation found, rejecting');
    }
  }
  const ns = asText(meta['namespace']) || namespace || 'default';
  if (!isRecord(object)) out.error('object', 'must be an object');
  else validateSpec(kind, record['spec'], ns, out);
  return { applies: true, kind, name: asText(meta['name']) || asText(meta['generateName']), namespace: ns, errors: out.errors, warnings: out.warnings };
}
