#!/usr/bin/env node
// The installed command runs the bundle (npm run build); from a source checkout without a bundle, run
// `npx tsx src/cli/main.ts` instead.
await import('../dist/meshgate.mjs');
