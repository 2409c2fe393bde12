// A minimal, deterministic tar writer (POSIX ustar, with PAX records for long names) for scripts/image.mjs: the
// image is assembled without a Docker daemon or a tar binary's idea of owners and times.

const BLOCK = 512;

function octal(value, width) {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header({ name, mode, size, type, linkname = '', mtime, uid = 0, gid = 0 }) {
  const block = Buffer.alloc(BLOCK, 0);
  const put = (text, offset, width) => block.write(text.slice(0, width), offset, width, 'utf8');
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(uid, 8), 108, 8);
  put(octal(gid, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(mtime, 12), 136, 12);
  put('        ', 148, 8); // checksum field counts as spaces while summing
  put(type, 156, 1);
  put(linkname, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

function padding(size) {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest, 0);
}

/** A PAX extended header carrying the names ustar's 100-byte fields cannot hold. */
function paxRecords(entry) {
  const records = [];
  const record = (key, value) => {
    const body = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(body) + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
    records.push(`${length}${body}`);
  };
  if (Buffer.byteLength(entry.name) > 100) record('path', entry.name);
  if (entry.linkname && Buffer.byteLength(entry.linkname) > 100) record('linkpath', entry.linkname);
  return records.join('');
}

/**
 * entries: { name, type: 'file' | 'dir' | 'symlink', data?: Buffer, mode?, linkname? } in the order given; the
 * caller lists parent directories first. Every entry is owned by root with the same mtime (reproducible layers).
 */
export function tarball(entries, mtime = 0) {
  const chunks = [];
  for (const entry of entries) {
    const type = { file: '0', symlink: '2', dir: '5' }[entry.type];
    if (type === undefined) throw new Error(`tar: unknown entry type ${entry.type} for ${entry.name}`);
    const data = entry.type === 'file' ? entry.data : Buffer.alloc(0);
    const pax = paxRecords(entry);
    if (pax !== '') {
      const body = Buffer.from(pax, 'utf8');
      chunks.push(header({ name: 'PaxHeader', mode: 0o644, size: body.length, type: 'x', mtime }), body, padding(body.length));
    }
    const mode = entry.mode ?? (entry.type === 'dir' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644);
    chunks.push(header({ name: entry.name, mode, size: data.length, type, linkname: entry.linkname, mtime, uid: entry.uid, gid: entry.gid }));
    if (data.length > 0) chunks.push(data, padding(data.length));
  }
  chunks.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(chunks);
}
