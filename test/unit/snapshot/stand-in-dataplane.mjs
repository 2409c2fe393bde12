#!/usr/bin/env node
// Stands in for meshgate-proxy in the supervisor test (the real binary is exercised by test/cli/proxy.test.ts
// when it is built): reports the argument list, then each snapshot version it reads from --snapshot FILE, and
// "term" on SIGTERM, then exits with $STAND_IN_EXIT (default 0). Bounded: exits by itself after 30 s.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args[args.indexOf('--snapshot') + 1];
process.stdout.write(`args ${JSON.stringify(args)}\n`);
let seen;
const poll = setInterval(() => {
  try {
    const { version } = JSON.parse(readFileSync(file, 'utf8'));
    if (version !== seen) process.stdout.write(`version ${(seen = version)}\n`);
  } catch (error) {
    process.stdout.write(`unreadable ${error.message}\n`); // a half-written file would show here
  }
}, 20);
process.on('SIGTERM', () => {
  process.stdout.write('term\n');
  clearInterval(poll);
  process.exit(Number(process.env.STAND_IN_EXIT ?? 0));
});
setTimeout(() => process.exit(3), 30_000).unref();
