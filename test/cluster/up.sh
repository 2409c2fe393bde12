#!/usr/bin/env bash
# Start a real, kubelet-less Kubernetes control plane for end-to-end tests:
# etcd + kube-apiserver + kube-controller-manager, all on 127.0.0.1.
#
#   up.sh DIR [--service-cidr CIDR[,CIDR6]] [--random-ports]
#             [--apiserver-port N] [--etcd-port N] [--bin BINDIR]
#
# DIR receives everything: etcd data, pki/, *.log, pids, kubeconfig (admin,
# cluster-admin via system:masters) and env (sourceable: KUBECONFIG, ports,
# MESHGATE_BIN). DIR/bin is a symlink to the folder with kubectl and helm.
# Stop with down.sh DIR.
#
# Default ports (override with flags or MESHGATE_*_PORT env; --random-ports
# picks free ones): etcd client 23790, etcd peer 23800, kube-apiserver 16443,
# kube-controller-manager (healthz, https) 16257.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[up.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

DIR=""
SERVICE_CIDR="${MESHGATE_SERVICE_CIDR:-10.96.0.0/16}"
ETCD_PORT="${MESHGATE_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${MESHGATE_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${MESHGATE_APISERVER_PORT:-16443}"
KCM_PORT="${MESHGATE_KCM_PORT:-16257}"
BIN="${MESHGATE_BIN:-}"
RANDOM_PORTS=0
READY_TIMEOUT="${MESHGATE_READY_TIMEOUT:-60}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --service-cidr) SERVICE_CIDR="${2:?--service-cidr needs a value}"; shift 2 ;;
    --service-cidr=*) SERVICE_CIDR="${1#*=}"; shift ;;
    --apiserver-port) APISERVER_PORT="${2:?}"; shift 2 ;;
    --apiserver-port=*) APISERVER_PORT="${1#*=}"; shift ;;
    --etcd-port) ETCD_PORT="${2:?}"; shift 2 ;;
    --etcd-port=*) ETCD_PORT="${1#*=}"; shift ;;
    --random-ports) RANDOM_PORTS=1; shift ;;
    --bin) BIN="${2:?}"; shift 2 ;;
    --bin=*) BIN="${1#*=}"; shift ;;
    -h|--help) usage ;;
    -*) log "unknown option $1"; usage ;;
    *) [[ -z "$DIR" ]] || usage; DIR="$1"; shift ;;
  esac
done
[[ -n "$DIR" ]] || usage
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
[[ "$DIR" != "/" ]] || die "refusing to use / as the state folder"

for t in openssl curl; do command -v "$t" >/dev/null || die "$t is required"; done

# --- refuse to start twice on the same DIR --------------------------------------
running() { # pid -> true while the process exists and is not a zombie
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  st="${st##*) }"; [[ "${st%% *}" != Z ]]
}
if [[ -f "$DIR/pids" ]]; then
  while read -r _name pid; do
    if [[ -n "${pid:-}" ]] && running "$pid"; then
      die "$DIR already has a running cluster (pid $pid); run down.sh $DIR first"
    fi
  done < "$DIR/pids"
fi
# Only ever wipe a folder that is empty or was made by an earlier up.sh.
MARKER="$DIR/.meshgate-cluster"
if [[ ! -f "$MARKER" ]] && [[ -n "$(ls -A "$DIR")" ]]; then
  die "$DIR is not empty and was not made by up.sh; give an empty or new folder"
fi
rm -rf "${DIR:?}/etcd" "${DIR:?}/pki" "${DIR:?}/pids" "${DIR:?}/kubeconfig" "${DIR:?}/env" "${DIR:?}/bin" \
       "${DIR:?}"/*.kubeconfig "${DIR:?}"/*.log
echo "made by meshgate test/cluster/up.sh; removed by down.sh" > "$MARKER"

# --- binaries ------------------------------------------------------------------
if [[ -z "$BIN" ]]; then
  BIN="$("$HERE/build.sh")" || die "build.sh failed"
fi
BIN="$(cd "$BIN" && pwd)"
for b in kube-apiserver kube-controller-manager kubectl; do
  [[ -x "$BIN/$b" ]] || die "$BIN/$b missing (run test/cluster/build.sh)"
done
ETCD="$BIN/etcd"
if [[ ! -x "$ETCD" ]]; then
  ETCD="$(command -v etcd || true)"
  if [[ -z "$ETCD" ]] && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "etcd not found; installing Debian's etcd-server"
    apt-get install -y etcd-server >&2 || { apt-get update >&2 && apt-get install -y etcd-server >&2; }
    systemctl disable --now etcd >/dev/null 2>&1 || true
    ETCD="$(command -v etcd || true)"
  fi
  [[ -n "$ETCD" ]] || die "no etcd binary (build.sh builds one; or apt-get install etcd-server)"
fi
ln -sfn "$BIN" "$DIR/bin"

# --- ports -----------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p used=" $* "
  for _ in $(seq 1 200); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
    [[ "$used" == *" $p "* ]] && continue
    port_busy "$p" || { echo "$p"; return 0; }
  done
  return 1
}
if [[ $RANDOM_PORTS -eq 1 ]]; then
  ETCD_PORT=$(pick_port) || die "no free port"
  ETCD_PEER_PORT=$(pick_port "$ETCD_PORT") || die "no free port"
  APISERVER_PORT=$(pick_port "$ETCD_PORT" "$ETCD_PEER_PORT") || die "no free port"
  KCM_PORT=$(pick_port "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT") || die "no free port"
fi
for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT"; do
  port_busy "$p" && die "127.0.0.1:$p is already in use (another cluster? use --random-ports or down.sh)"
done

# --- cleanup of half-started clusters ------------------------------------------------
STARTED=()
on_error() {
  local rc=$?
  log "start-up failed (exit $rc); stopping what was started. Logs in $DIR/*.log"
  local pid
  for pid in "${STARTED[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${STARTED[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  exit "$rc"
}
trap on_error ERR

start() { # name logfile cmd...
  local name="$1" logf="$2"; shift 2
  setsid "$@" </dev/null >"$logf" 2>&1 &
  local pid=$!
  STARTED+=("$pid")
  echo "$name $pid" >> "$DIR/pids"
  log "started $name (pid $pid)"
}

alive() { running "$1"; }

wait_for() { # name pid timeout_s logfile cmd...
  local name="$1" pid="$2" timeout="$3" logf="$4"; shift 4
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then
      log "$name exited; last log lines:"; tail -n 30 "$logf" >&2; return 1
    fi
    if (( $(date +%s) >= deadline )); then
      log "$name not ready after ${timeout}s; last log lines:"; tail -n 30 "$logf" >&2; return 1
    fi
    sleep 0.5
  done
}

# --- PKI -------------------------------------------------------------------------------
PKI="$DIR/pki"
mkdir -p "$PKI"
chmod 700 "$PKI"
ossl() { openssl "$@" >/dev/null 2>>"$DIR/pki.log"; }

make_ca() { # name CN
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$1.key"
  ossl req -x509 -new -key "$PKI/$1.key" -sha256 -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/$1.crt"
}
# ca: cluster CA (serving certs, client certs, kubeconfigs, CSR signing).
# front-proxy-ca: request-header auth, so delegated authn in the
# controller-manager (and any aggregated API server) works as in kubeadm.
make_ca ca meshgate-test-ca
make_ca front-proxy-ca meshgate-test-front-proxy-ca

# Service-account token signing key pair.
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key"
ossl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"

issue() { # name subject extKeyUsage [subjectAltName] [ca-name]
  local n="$1" subj="$2" eku="$3" san="${4:-}" ca="${5:-ca}"
  local ext="$PKI/$n.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    if [[ -n "$san" ]]; then echo "subjectAltName=$san"; fi
  } > "$ext"
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$n.key"
  ossl req -new -key "$PKI/$n.key" -subj "$subj" -out "$PKI/$n.csr"
  ossl x509 -req -in "$PKI/$n.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$ext" -out "$PKI/$n.crt"
  rm -f "$PKI/$n.csr" "$ext"
}

# First IP of each service range (the "kubernetes" Service ClusterIP).
first_ip() {
  local net="${1%/*}"
  if [[ "$net" == *:* ]]; then
    # IPv6: replace a trailing "::" or the last group with ...1 (ranges are /64-/112, base ends with ::)
    [[ "$net" == *:: ]] && echo "${net}1" || echo "$net"
  else
    local a b c d; IFS=. read -r a b c d <<<"$net"; echo "$a.$b.$c.$((d + 1))"
  fi
}
SAN="IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
IFS=, read -r -a CIDRS <<<"$SERVICE_CIDR"
(( ${#CIDRS[@]} >= 1 && ${#CIDRS[@]} <= 2 )) || die "--service-cidr takes one CIDR or an IPv4,IPv6 pair"
for c in "${CIDRS[@]}"; do
  [[ "$c" == */* ]] || die "bad CIDR '$c'"
  SAN+=",IP:$(first_ip "$c")"
done

issue apiserver "/CN=kube-apiserver" serverAuth "$SAN"
issue admin "/O=system:masters/CN=meshgate-admin" clientAuth
issue kcm "/CN=system:kube-controller-manager" clientAuth
issue kcm-serving "/CN=kube-controller-manager" serverAuth "IP:127.0.0.1,DNS:localhost"
issue front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca
# The API server's client cert for kubelets (logs, exec): node-up.sh's kubelet
# trusts this CA and authorizes the user through the API server.
issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
log "generated PKI in $PKI"

APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"
b64() { base64 -w0 < "$1"; }
write_kubeconfig() { # file user cert key
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: meshgate-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$3")
    client-key-data: $(b64 "$4")
contexts:
- name: meshgate-test
  context:
    cluster: meshgate-test
    user: $2
    namespace: default
current-context: meshgate-test
EOF
  chmod 600 "$1"
}
write_kubeconfig "$DIR/kubeconfig" meshgate-admin "$PKI/admin.crt" "$PKI/admin.key"
write_kubeconfig "$DIR/kcm.kubeconfig" kube-controller-manager "$PKI/kcm.crt" "$PKI/kcm.key"

# --- etcd -------------------------------------------------------------------------------
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
ETCD_ARGS=(
  --name=meshgate
  --data-dir="$DIR/etcd"
  --listen-client-urls="$ETCD_URL"
  --advertise-client-urls="$ETCD_URL"
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT"
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT"
  --initial-cluster="meshgate=http://127.0.0.1:$ETCD_PEER_PORT"
  --initial-cluster-state=new
  --log-level=warn
)
# Throw-away test data: skip fsync where this etcd supports it (3.5+).
if "$ETCD" --help 2>&1 | grep -q -- '--unsafe-no-fsync'; then ETCD_ARGS+=(--unsafe-no-fsync); fi
: > "$DIR/pids"
start etcd "$DIR/etcd.log" "$ETCD" "${ETCD_ARGS[@]}"
ETCD_PID=$!
wait_for etcd "$ETCD_PID" 30 "$DIR/etcd.log" curl -fsS --max-time 2 "$ETCD_URL/health"
log "etcd ready at $ETCD_URL"

# --- kube-apiserver ------------------------------------------------------------------------
# --endpoint-reconciler-type=none: the "kubernetes" Service would get the
# advertise address 127.0.0.1 as its endpoint, which Endpoints validation
# rejects (loopback), logging an error every 10 s. The Service itself (and the
# default ServiceCIDR) are still created. Without kubelet/kube-proxy nothing
# routes ClusterIPs anyway: admission webhooks must use clientConfig.url
# (https://127.0.0.1:PORT/...), not clientConfig.service.
start kube-apiserver "$DIR/kube-apiserver.log" "$BIN/kube-apiserver" \
  --advertise-address=127.0.0.1 \
  --bind-address=127.0.0.1 \
  --secure-port="$APISERVER_PORT" \
  --etcd-servers="$ETCD_URL" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --client-ca-file="$PKI/ca.crt" \
  --tls-cert-file="$PKI/apiserver.crt" \
  --tls-private-key-file="$PKI/apiserver.key" \
  --cert-dir="$PKI" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --api-audiences=https://kubernetes.default.svc.cluster.local \
  --authorization-mode=Node,RBAC \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
  --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --endpoint-reconciler-type=none \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" \
  --kubelet-preferred-address-types=InternalIP \
  --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,ResourceQuota,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook \
  --allow-privileged=true \
  --profiling=false \
  --v=1
APISERVER_PID=$!
wait_for kube-apiserver "$APISERVER_PID" "$READY_TIMEOUT" "$DIR/kube-apiserver.log" \
  curl -fsS --max-time 3 --cacert "$PKI/ca.crt" "$APISERVER_URL/readyz"
log "kube-apiserver ready at $APISERVER_URL"

# --- kube-controller-manager -------------------------------------------------------------------
start kube-controller-manager "$DIR/kube-controller-manager.log" "$BIN/kube-controller-manager" \
  --kubeconfig="$DIR/kcm.kubeconfig" \
  --authentication-kubeconfig="$DIR/kcm.kubeconfig" \
  --authorization-kubeconfig="$DIR/kcm.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --tls-cert-file="$PKI/kcm-serving.crt" \
  --tls-private-key-file="$PKI/kcm-serving.key" \
  --client-ca-file="$PKI/ca.crt" \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --root-ca-file="$PKI/ca.crt" \
  --service-account-private-key-file="$PKI/sa.key" \
  --cluster-signing-cert-file="$PKI/ca.crt" \
  --cluster-signing-key-file="$PKI/ca.key" \
  --use-service-account-credentials=true \
  --controllers='*' \
  --leader-elect=false \
  --profiling=false \
  --v=1
KCM_PID=$!
wait_for kube-controller-manager "$KCM_PID" 30 "$DIR/kube-controller-manager.log" \
  curl -fsS --max-time 2 --cacert "$PKI/ca.crt" "https://127.0.0.1:$KCM_PORT/healthz"
log "kube-controller-manager healthy on 127.0.0.1:$KCM_PORT"

# The ServiceAccount admission plugin rejects Pods until the namespace's
# "default" ServiceAccount exists; wait for the controller to make it so the
# first test never races it.
wait_for "default ServiceAccount" "$KCM_PID" 30 "$DIR/kube-controller-manager.log" \
  "$BIN/kubectl" --kubeconfig="$DIR/kubeconfig" -n default get serviceaccount default

cat > "$DIR/env" <<EOF
export KUBECONFIG=$DIR/kubeconfig
export MESHGATE_BIN=$BIN
export MESHGATE_APISERVER_URL=$APISERVER_URL
export MESHGATE_APISERVER_PORT=$APISERVER_PORT
export MESHGATE_ETCD_URL=$ETCD_URL
export MESHGATE_ETCD_PORT=$ETCD_PORT
export MESHGATE_ETCD_PEER_PORT=$ETCD_PEER_PORT
export MESHGATE_KCM_PORT=$KCM_PORT
export MESHGATE_SERVICE_CIDR=$SERVICE_CIDR
EOF
trap - ERR
log "cluster up: KUBECONFIG=$DIR/kubeconfig (source $DIR/env; kubectl and helm in $DIR/bin)"
echo "$DIR/kubeconfig"
