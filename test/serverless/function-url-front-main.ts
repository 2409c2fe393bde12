// The Function-URL front as its own process (a test that blocks its event loop in spawnSync, as kubectl calls do,
// must not hold the front up): --port PORT --invoke URL. Prints "listening" once it accepts connections.
import { parseArgs } from 'node:util';
import { startFunctionUrlFront } from './function-url-front.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, invoke: { type: 'string' } } });
if (!values.port || !values.invoke) {
  console.error('usage: function-url-front-main.ts --port PORT --invoke URL');
  process.exit(2);
}
const front = startFunctionUrlFront({ port: Number(values.port), invokeUrl: values.invoke });
front.server.once('listening', () => console.log('listening'));
process.on('SIGTERM', () => { console.log(front.trace()); void front.close().then(() => process.exit(0)); });
