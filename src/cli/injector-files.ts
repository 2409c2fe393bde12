import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { isRecord } from '../k8s/types.ts';
import { defaultValues, loadValuesFile, valuesFromDocument, type InjectorValues } from '../inject/values.ts';
import { UsageError } from './exit-codes.ts';

// istioctl kube-inject's file flags, mapped onto the one values loader the webhook uses: `--valuesFile` is the
// `values` key of the istio-sidecar-injector ConfigMap (meshgate's `--values`), `--injectConfigFile` its `config`
// key (policy and selectors; the template is meshgate's own) or the whole ConfigMap, as `kubectl get -o yaml` prints it.

export interface InjectorFileFlags {
  values?: string;
  valuesFile?: string;
  injectConfigFile?: string;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function parsed(text: string, path: string): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message.split('\n')[0]}`);
  }
}

function isConfigMap(document: unknown): document is Record<string, unknown> {
  return isRecord(document) && document['kind'] === 'ConfigMap';
}

/** The `key` of a ConfigMap document, or the whole text when the file is not a ConfigMap. */
function dataKey(text: string, path: string, key: 'values' | 'config'): string {
  const document = parsed(text, path);
  if (!isConfigMap(document)) return text;
  const data = isRecord(document['data']) ? document['data'] : {};
  return typeof data[key] === 'string' ? data[key] : '';
}

export function loadInjectorFiles(flags: InjectorFileFlags): InjectorValues {
  if (flags.values !== undefined && flags.valuesFile !== undefined) throw new UsageError('--values and --valuesFile are the same flag: give one');
  const valuesPath = flags.values ?? flags.valuesFile;
  if (flags.injectConfigFile === undefined) return valuesPath === undefined ? defaultValues() : loadValuesFile(valuesPath);
  const configPath = flags.injectConfigFile;
  const configText = read(configPath);
  const configDocument = parsed(configText, configPath);
  // A whole ConfigMap and no separate values: it carries both keys, read as the webhook reads --values-configmap.
  if (valuesPath === undefined && isConfigMap(configDocument)) return valuesFromDocument(configDocument, configPath);
  // Otherwise one ConfigMap of the two parts, so the one loader merges them as it merges a ConfigMap's.
  const data: Record<string, string> = { config: dataKey(configText, configPath, 'config') };
  if (valuesPath !== undefined) data['values'] = dataKey(read(valuesPath), valuesPath, 'values');
  return valuesFromDocument({ apiVersion: 'v1', kind: 'ConfigMap', data }, valuesPath === undefined ? configPath : `${configPath} + ${valuesPath}`);
}
