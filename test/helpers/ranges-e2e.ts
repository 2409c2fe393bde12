import { runMeshgate } from './cli.ts';
import type { RangesReport } from '../../src/ranges/report.ts';

/**
 * For the e2e suite: `meshgate ranges --platform auto --kubeconfig FILE --format json` against a real cluster
 * (test/cluster/up.sh DIR --service-cidr CIDR[,CIDR6]). Returns the exit status and, on success, the report, whose
 * `include` must equal the --service-cidr given to up.sh (normalised) and `source` start with `discovery:`.
 */
export function discoverWithCli(kubeconfig: string): { status: number | null; report?: RangesReport & { attempts: unknown[] }; stderr: string } {
  const result = runMeshgate(['ranges', '--platform', 'auto', '--kubeconfig', kubeconfig, '--format', 'json']);
  return result.status === 0
    ? { status: result.status, report: JSON.parse(result.stdout) as RangesReport & { attempts: unknown[] }, stderr: result.stderr }
    : { status: result.status, stderr: result.stderr };
}
