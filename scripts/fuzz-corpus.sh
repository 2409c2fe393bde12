#!/usr/bin/env bash
# Regenerates the fuzz seed corpora checked in under dataplane/fuzz/corpus/ (run it when the snapshot format, the
# test vectors or the smuggling cases change; the fuzz run itself never writes there):
#   sniff/     real ClientHellos captured on loopback from `openssl s_client` and curl (TLS 1.2, 1.3, with and
#              without SNI, with ALPN), plus HTTP/1.1, h2c and binary first bytes;
#   snapshot/  the snapshot of every decision vector (test/vectors/*.json) and a minimal one;
#   http/      request heads: ordinary ones and the smuggling shapes of dataplane/tests/smuggling.rs.
# Plus dict/snapshot.dict: the snapshot schema's field names and enum values, so mutations stay near valid JSON.
# Each seed is named by the SHA-1 of its content, as libFuzzer names what it finds. Nothing leaves the machine: the
# TLS clients connect to a capture listener on 127.0.0.1 (--resolve, no DNS lookup).
set -euo pipefail
cd "$(dirname "$0")/.."
out=dataplane/fuzz/corpus
rm -rf "$out" dataplane/fuzz/dict
mkdir -p "$out/sniff" "$out/snapshot" "$out/http" dataplane/fuzz/dict

seed() { # seed DIR < bytes
  local tmp sum
  tmp="$(mktemp)"
  cat >"$tmp"
  sum="$(sha1sum "$tmp" | cut -d' ' -f1)"
  chmod 644 "$tmp"
  mv "$tmp" "$1/$sum"
}

# One TLS record's worth of a client's first bytes, captured by a one-shot listener (bounded: 5 s per client).
capture_hello() { # capture_hello CLIENT_ARGS... (the word PORT is replaced by the listener's port)
  local portfile hello pid
  portfile="$(mktemp)"
  hello="$(mktemp)"
  python3 - "$portfile" "$hello" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(5)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
c.settimeout(5)
data = b""
while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
    chunk = c.recv(65536)
    if not chunk:
        break
    data += chunk
open(sys.argv[2], "wb").write(data[: 5 + int.from_bytes(data[3:5], "big")] if len(data) >= 5 else data)
c.close()
PY
  pid=$!
  for _ in $(seq 50); do [ -s "$portfile" ] && break; sleep 0.1; done
  local port args=()
  port="$(cat "$portfile")"
  for a in "$@"; do args+=("${a//PORT/$port}"); done
  timeout 5 "${args[@]}" </dev/null >/dev/null 2>&1 || true
  wait "$pid" || true
  [ -s "$hello" ] && seed "$out/sniff" <"$hello"
  rm -f "$portfile" "$hello"
}

capture_hello openssl s_client -connect 127.0.0.1:PORT -servername api.example.com -tls1_2
capture_hello openssl s_client -connect 127.0.0.1:PORT -servername www.google.com -tls1_3 -alpn h2,http/1.1
capture_hello openssl s_client -connect 127.0.0.1:PORT -noservername
capture_hello curl -sk --max-time 3 --resolve api.example.com:PORT:127.0.0.1 https://api.example.com:PORT/
capture_hello curl -sk --max-time 3 --http1.1 --tlsv1.2 --tls-max 1.2 --resolve Mixed.Case.Example.:PORT:127.0.0.1 https://Mixed.Case.Example.:PORT/
[ "$(ls "$out/sniff" | wc -l)" -ge 4 ] || { echo "fuzz-corpus: fewer ClientHellos captured than expected" >&2; exit 1; }

printf 'GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n' | seed "$out/sniff"
printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00' | seed "$out/sniff"
printf '\x00\x01\x02binary' | seed "$out/sniff"
printf 'SSH-2.0-OpenSSH_9.2\r\n' | seed "$out/sniff"

# Snapshots: every vector's, re-serialised compactly (as the compiler writes them).
python3 - "$out/snapshot" <<'PY'
import glob, hashlib, json, os, sys
for f in sorted(glob.glob("test/vectors/*.json")):
    text = json.dumps(json.load(open(f))["snapshot"], separators=(",", ":")).encode()
    open(os.path.join(sys.argv[1], hashlib.sha1(text).hexdigest()), "wb").write(text)
PY
printf '%s' '{"apiVersion":"meshgate.io/snapshot/v1","kind":"ProxySnapshot","version":"sha256:00","mesh":{"outboundTrafficPolicy":"REGISTRY_ONLY","accessLogFile":"","accessLogEncoding":"JSON","accessLogFormat":"","terminationDrainDurationMs":5000},"listeners":[],"hosts":{"exact":{},"wildcard":[]},"clusters":{},"virtualServices":[],"virtualServiceHosts":{"exact":{},"wildcard":[]},"problems":[]}' | seed "$out/snapshot"

# The dictionary: every key and string enum value the seeds use, quoted as JSON tokens.
python3 - "$out/snapshot" dataplane/fuzz/dict/snapshot.dict <<'PY'
import glob, json, os, sys
tokens = set()
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            tokens.add(k)
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
    elif isinstance(v, str) and v.isupper():
        tokens.add(v)
for f in glob.glob(os.path.join(sys.argv[1], "*")):
    walk(json.load(open(f)))
tokens |= {"regex", "prefix", "exact", "present", "ignoreCase", "uriRegex", "((a{100}){100}){100}", "0.0.0.0/0", "::/0"}
with open(sys.argv[2], "w") as out:
    for t in sorted(tokens):
        out.write(json.dumps(json.dumps(t)) + "\n")
PY

# Request heads: ordinary ones, then each smuggling shape.
for head in \
  'GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n' \
  'POST /up HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 5\r\n\r\nhello' \
  'POST /up HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' \
  'GET http://api.example.com/abs HTTP/1.1\r\nHost: api.example.com\r\nOrigin: https://app.example\r\n\r\n' \
  'OPTIONS / HTTP/1.1\r\nHost: api.example.com\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n\r\n' \
  'POST / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
  'POST / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde' \
  'POST / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 5, 5\r\n\r\nabcde' \
  'GET / HTTP/1.1\r\nHost: api.example.com\r\nX-A: one\r\n two\r\n\r\n' \
  'GET / HTTP/1.1\nHost: api.example.com\n\n' \
  'POST / HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' \
  'POST / HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'; do
  printf "$head" | seed "$out/http"
done
echo "fuzz-corpus: $(ls "$out/sniff" | wc -l) sniff, $(ls "$out/snapshot" | wc -l) snapshot, $(ls "$out/http" | wc -l) http seeds"
