import pkg from '../../package.json' with { type: 'json' };

// What `meshgate version` and `--version` report. The bundle (scripts/bundle.mjs) stamps the commit in at build
// time, so the image knows it without git; run from a checkout, the version command asks git.
declare const MESHGATE_COMMIT: string | undefined;

export const VERSION: string = pkg.version;

/** The commit stamped into the bundle, or undefined when running from source. */
export function stampedCommit(): string | undefined {
  return typeof MESHGATE_COMMIT === 'string' ? MESHGATE_COMMIT : undefined;
}
