// Opens IDLE plain TCP connections (never start TLS) and SLOW TLS connections that trickle header lines forever
// (slowloris) to 127.0.0.1:PORT, in its own process so the test's measuring client shares no event loop with them.
// Prints "open N" once all are attempted, then "closed N" each second (how many the server has cut). Bounded: exits
// after LIFETIME_MS.
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const [port, idleCount, slowCount, ca, lifetimeMs] = [Number(process.env.PORT), Number(process.env.IDLE), Number(process.env.SLOW), process.env.CA, Number(process.env.LIFETIME_MS ?? 30000)];
let closed = 0;
const sockets = [];
for (let i = 0; i < idleCount; i += 1) {
  const s = tcpConnect(port, '127.0.0.1');
  s.on('error', () => {});
  s.on('close', () => { closed += 1; });
  sockets.push(s);
}
const slow = [];
for (let i = 0; i < slowCount; i += 1) {
  const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  s.on('error', () => {});
  s.on('close', () => { closed += 1; });
  s.once('secureConnect', () => s.write('POST /inject HTTP/1.1\r\nHost: x\r\n'));
  slow.push(s);
}
console.log(`open ${sockets.length + slow.length}`);
const trickle = setInterval(() => { for (const s of slow) if (!s.destroyed && s.writable) s.write('X-a: b\r\n'); }, 500);
const report = setInterval(() => console.log(`closed ${closed}`), 1000);
setTimeout(() => { clearInterval(trickle); clearInterval(report); process.exit(0); }, lifetimeMs);
