import { asText } from './access.ts';
import { at, type Collector } from './field-errors.ts';
import { checkFqdn, isDns1123Label } from './names.ts';

/** The name of the implicit gateway that stands for every sidecar in the mesh. */
export const MESH_GATEWAY = 'mesh';

/**
 * Gateway references: `namespace/name`, or a legacy bare or dotted name. Istio stops at the first name without a
 * slash (it validates it as an FQDN and returns); reproduced so both accept the same lists.
 */
export function checkGatewayNames(names: unknown[], path: string, out: Collector): void {
  for (let i = 0; i < names.length; i += 1) {
    const name = asText(names[i]);
    const itemPath = at(path, i);
    const slash = name.indexOf('/');
    if (slash < 0) {
      if (name.includes('.')) {
        const [gateway, namespace] = name.split('.');
        out.warn(itemPath, `using legacy gateway name format; prefer <namespace>/<name>: "${namespace}/${gateway}"`, name);
      }
      const problem = checkFqdn(name);
      if (problem) out.error(itemPath, problem, name);
      return;
    }
    const namespace = name.slice(0, slash);
    const gateway = name.slice(slash + 1);
    if (namespace === '' || gateway === '') out.error(itemPath, 'config namespace and gateway name cannot be empty', name);
    if (!isDns1123Label(namespace)) out.error(itemPath, 'invalid value for namespace', namespace);
    if (!isDns1123Label(gateway)) out.error(itemPath, 'invalid value for gateway name', gateway);
  }
}
