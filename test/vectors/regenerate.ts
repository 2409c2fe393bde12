// Rewrites the `snapshot` of every vector file that has `manifests`, from the current compiler:
//   node --import tsx test/vectors/regenerate.ts
// Run it after an intended change of the compiler or the format, and review the diff: the vectors test fails while
// a snapshot differs from what its manifests compile to, so they never drift apart silently.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileManifests } from '../../src/snapshot/from-directory.ts';

const dir = new URL('.', import.meta.url).pathname;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const path = join(dir, file);
  const vector = JSON.parse(readFileSync(path, 'utf8')) as { manifests?: unknown[]; snapshot?: unknown };
  if (!vector.manifests) continue;
  const { snapshot, problems } = compileManifests([{ source: file, values: vector.manifests }], undefined);
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  // Key order of the file kept; only the snapshot replaced.
  const next = { ...vector, snapshot };
  writeFileSync(`${path}.tmp`, `${JSON.stringify(next, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  process.stdout.write(`${file}: ${snapshot.version}\n`);
}
