// The node's cluster DNS: a stand-in of the suite's own for CoreDNS, on the kubelet's clusterDNS address.
// It answers A/AAAA for SERVICE.NAMESPACE.svc.DOMAIN from the Services the API server has (a list + watch), and
// for a fixed list of stand-in names (--host NAME=IP: the external hosts the seed talks to, served on the node).
// Every other name in DOMAIN is NXDOMAIN; every name outside it is REFUSED: nothing is ever forwarded, so no query
// leaves the machine. UDP only (glibc and Node ask over UDP; the answers are far below 512 bytes).
//
//   node cluster-dns.mjs --listen IP [--port 53] [--domain cluster.local] --server URL --ca F --cert F --key F
//                        [--host NAME=IP]...
//
// Prints "ready" once the first list of Services is in and the socket is bound. Runs under the machine's Node 20
// as well as the project's Node 24 (no dependency, no TypeScript).
import dgram from 'node:dgram';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';

const opts = { port: '53', domain: 'cluster.local', hosts: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i]?.replace(/^--/, '');
  const value = argv[i + 1];
  if (!key || value === undefined) usage(`missing value for ${argv[i]}`);
  if (key === 'host') opts.hosts.push(value);
  else opts[key] = value;
}
for (const required of ['listen', 'server', 'ca', 'cert', 'key']) if (!opts[required]) usage(`--${required} is required`);
function usage(why) {
  process.stderr.write(`cluster-dns.mjs: ${why}\nusage: node cluster-dns.mjs --listen IP [--port 53] [--domain D] --server URL --ca F --cert F --key F [--host NAME=IP]...\n`);
  process.exit(2);
}

const DOMAIN = opts.domain.toLowerCase().replace(/\.$/, '');
const TTL = 5;
const TYPE = { A: 1, AAAA: 28 };
const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
/** "name.namespace" -> ClusterIPs (empty for a headless Service). */
const services = new Map();
/** Stand-in names -> their address. */
const staticHosts = new Map(opts.hosts.map((h) => {
  const [name, ip] = h.split('=');
  if (!name || !(isIPv4(ip ?? '') || isIPv6(ip ?? ''))) usage(`--host wants NAME=IP, got ${h}`);
  return [name.toLowerCase().replace(/\.$/, ''), ip];
}));

// --- Services from the API server (list, then watch from the list's resourceVersion; relist on any end) -----------
const tls = { ca: readFileSync(opts.ca), cert: readFileSync(opts.cert), key: readFileSync(opts.key) };
const server = new URL(opts.server);
function request(path, onResponse) {
  const req = https.get({ host: server.hostname, port: server.port, path, ...tls, timeout: 330_000 }, onResponse);
  req.on('timeout', () => req.destroy(new Error('timed out')));
  return req;
}
function record(svc) {
  const key = `${svc.metadata.name}.${svc.metadata.namespace}`;
  const ips = (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).filter((ip) => ip && ip !== 'None');
  services.set(key, ips);
}
function list() {
  return new Promise((resolve, reject) => {
    request('/api/v1/services', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`list services: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
        const parsed = JSON.parse(body);
        services.clear();
        for (const svc of parsed.items) record(svc);
        resolve(parsed.metadata.resourceVersion);
      });
    }).on('error', reject);
  });
}
function watch(resourceVersion) {
  return new Promise((resolve) => {
    request(`/api/v1/services?watch=1&resourceVersion=${resourceVersion}&timeoutSeconds=300`, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (!line.trim()) continue;
          const event = JSON.parse(line);
          if (event.type === 'ADDED' || event.type === 'MODIFIED') record(event.object);
          else if (event.type === 'DELETED') services.delete(`${event.object.metadata.name}.${event.object.metadata.namespace}`);
          else if (event.type === 'ERROR') res.destroy(); // e.g. 410 Gone: relist
        }
      });
      res.on('close', resolve);
    }).on('error', resolve);
  });
}
async function follow() {
  for (;;) {
    try {
      await watch(await list());
    } catch (error) {
      process.stderr.write(`cluster-dns: ${error.message}; retrying in 1 s\n`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

// --- DNS ------------------------------------------------------------------------------------------------------------
/** The question of a standard query, or undefined for a message we cannot read. */
function parseQuestion(msg) {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels = [];
  let off = 12;
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off];
    if (len === 0) { off += 1; break; }
    if (len > 63 || off + 1 + len > msg.length || labels.length >= 127) return undefined; // no compression in a question
    labels.push(msg.toString('latin1', off + 1, off + 1 + len).toLowerCase());
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return { labels, qtype: msg.readUInt16BE(off), qclass: msg.readUInt16BE(off + 2), end: off };
}

/** rcode and addresses for a name and type. */
export function answer(labels, qtype) {
  const name = labels.join('.');
  const wanted = (ips) => ips.filter((ip) => (qtype === TYPE.A ? isIPv4(ip) : qtype === TYPE.AAAA ? isIPv6(ip) : false));
  if (staticHosts.has(name)) return { rcode: RCODE.NOERROR, ips: wanted([staticHosts.get(name)]), authoritative: true };
  if (name !== DOMAIN && !name.endsWith(`.${DOMAIN}`)) return { rcode: RCODE.REFUSED, ips: [], authoritative: false };
  const domainLabels = DOMAIN.split('.').length;
  if (labels.length === 3 + domainLabels && labels[2] === 'svc') {
    const ips = services.get(`${labels[0]}.${labels[1]}`);
    if (ips) return { rcode: RCODE.NOERROR, ips: wanted(ips), authoritative: true };
  }
  return { rcode: RCODE.NXDOMAIN, ips: [], authoritative: true };
}

function reply(query, q, rcode, ips, authoritative) {
  const question = q ? query.subarray(12, q.end + 4) : Buffer.alloc(0);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  const rd = query[2] & 0x01;
  header[2] = 0x80 | (query[2] & 0x78) | (authoritative ? 0x04 : 0) | rd; // QR, opcode, AA, RD
  header[3] = rcode & 0x0f; // RA = 0: this server recurses for nobody
  header.writeUInt16BE(q ? 1 : 0, 4);
  header.writeUInt16BE(ips.length, 6);
  const records = ips.map((ip) => {
    const v4 = isIPv4(ip);
    const rdata = v4 ? Buffer.from(ip.split('.').map(Number)) : ipv6Bytes(ip);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(v4 ? TYPE.A : TYPE.AAAA, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(TTL, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...records]);
}
function ipv6Bytes(ip) {
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const socket = dgram.createSocket(isIPv6(opts.listen) ? 'udp6' : 'udp4');
socket.on('message', (msg, from) => {
  if (msg.length < 12 || msg[2] & 0x80) return; // too short to answer, or a response
  const q = parseQuestion(msg);
  let out;
  if (!q) out = reply(msg, undefined, RCODE.FORMERR, [], false);
  else if ((msg[2] >> 3) & 0x0f) out = reply(msg, q, RCODE.NOTIMP, [], false); // only standard queries
  else if (q.qclass !== 1) out = reply(msg, q, RCODE.REFUSED, [], false);
  else {
    const { rcode, ips, authoritative } = answer(q.labels, q.qtype);
    process.stdout.write(`${from.address} ${q.labels.join('.')} ${q.qtype} -> ${Object.keys(RCODE).find((k) => RCODE[k] === rcode)} ${ips.join(',')}\n`);
    out = reply(msg, q, rcode, ips, authoritative);
  }
  socket.send(out, from.port, from.address);
});
socket.on('error', (error) => { process.stderr.write(`cluster-dns: ${error.message}\n`); process.exit(1); });

await list().then((rv) => {
  socket.bind(Number(opts.port), opts.listen, () => {
    process.stdout.write('ready\n');
    watch(rv).then(follow);
  });
});
process.on('SIGTERM', () => process.exit(0));
