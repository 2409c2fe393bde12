#!/usr/bin/env bash
# Add a real node to a cluster started by up.sh: containerd (Debian's, with runc), the CNI bridge plugin, the kubelet
# and kube-scheduler (built by build.sh from the same k8s.io/kubernetes module as the API server).
#
#   node-up.sh DIR [--owner PID] [--images IMGDIR] [--dns-host NAME=IP]...
#
# DIR is the folder up.sh made. Everything the node keeps goes to DIR/node: containerd's root, state and socket, CNI
# config and IPAM data, the kubelet's root dir, pod logs, certificates, logs, pids and host-state (what the host
# looked like before, so node-down.sh can put it back). IMGDIR holds OCI image tarballs (test/images/build.mjs) to
# import; pods use them with imagePullPolicy: Never. With --owner, a guardian process runs node-down.sh as soon as
# PID exits (a test runner killed by a signal still leaves the host as it was). --dns-host names a stand-in external
# host for the cluster DNS (its IP one of the stand-in addresses on the node).
#
# Network (ranges of this suite's own, nothing routed off the machine):
#   pods 10.247.0.0/24 on bridge mgnode0, whose address 10.247.0.1 is the node IP (no DNS name is ever looked up);
#   stand-ins 10.248.0.0/24: 10.248.0.10-13 are on the node (INPUT, not forwarded), 10.248.0.53 is the pods' DNS
#   server (cluster-dns.mjs on the node: Services by name, the --dns-host names, nothing forwarded); the pods' routes
#   are those two ranges and the service range, no default route; FORWARD drops anything from the bridge to another
#   interface; the "kubernetes" Service's ClusterIP is DNATed to a socat on the node that relays to the API server on
#   loopback; every other Service is routed by kube-proxy (iptables mode), for pods and for the node itself (the API
#   server calls webhook Services at their ClusterIP); the service range is routed to the bridge on the node, so a
#   ClusterIP kube-proxy has not programmed goes nowhere.
# Stop with node-down.sh DIR (before down.sh DIR).
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node-common.sh
source "$HERE/node-common.sh"
log() { printf '[node-up.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

DIR="" OWNER="" IMAGES="" DNS_HOSTS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --owner) OWNER="${2:?}"; shift 2 ;;
    --images) IMAGES="${2:?}"; shift 2 ;;
    --dns-host) DNS_HOSTS+=(--host "${2:?}"); shift 2 ;;
    -*) die "unknown option $1" ;;
    *) DIR="$1"; shift ;;
  esac
done
[[ -n "$DIR" && -f "$DIR/env" ]] || die "usage: node-up.sh DIR [--owner PID] [--images IMGDIR] (DIR: a running cluster from up.sh)"
DIR="$(cd "$DIR" && pwd)"
# shellcheck disable=SC1091
source "$DIR/env"
NODE="$DIR/node"
[[ $(id -u) -eq 0 ]] || die "the node needs root (containerd, runc, iptables)"
for t in containerd ctr runc iptables ip socat openssl curl; do command -v "$t" >/dev/null || die "$t is missing (scripts/install-system-deps.sh)"; done
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] || die "CNI plugins missing (containernetworking-plugins)"
NODE_JS="${MESHGATE_NODE_JS:-node}"   # cluster-dns.mjs runs under Node 20 or 24
command -v "$NODE_JS" >/dev/null || die "node is missing (set MESHGATE_NODE_JS)"
for b in kubelet kube-scheduler kube-proxy kubectl; do [[ -x "$MESHGATE_BIN/$b" ]] || die "$MESHGATE_BIN/$b missing (run test/cluster/build.sh)"; done

# --- leftovers of another run ----------------------------------------------------------------------------------------
leftovers="$(node_leftovers)"
if [[ -n "$leftovers" ]]; then
  active="$(cat "$ACTIVE_FILE" 2>/dev/null || true)"
  log "the host has leftovers of another node run (or a node of its own):"
  printf '  %s\n' $leftovers >&2
  if [[ -n "$active" ]]; then log "clean them with: $HERE/node-down.sh $active"
  else log "clean them with: $HERE/node-down.sh --force (removes exactly the items above)"; fi
  exit 1
fi

mkdir -p "$NODE"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs,pki}
chmod 711 "$NODE"
: > "$NODE/pids"
echo "$DIR" > "$ACTIVE_FILE"

# --- record the host before changing it --------------------------------------------------------------------------
{
  for s in "${NODE_SYSCTLS[@]}"; do v="$(sysctl -n "$s" 2>/dev/null)" && echo "sysctl $s $v"; done
} > "$NODE/host-state"
# containerd pins each sandbox's network namespace under /run/netns/cni-*; node-down.sh removes the new ones.
compgen -G '/run/netns/cni-*' > "$NODE/netns-before" || true

failed() {
  local rc=$?
  trap - ERR INT TERM
  log "start-up failed (exit $rc); logs kept in $NODE/*.log; restoring the host"
  "$HERE/node-down.sh" "$DIR" --keep-logs >&2 || true
  exit "$rc"
}
trap failed ERR
trap 'false' INT TERM

start() { # name logfile cmd...
  local name="$1" logf="$2"; shift 2
  setsid "$@" </dev/null >"$logf" 2>&1 &
  echo "$name $!" >> "$NODE/pids"
  log "started $name (pid $!)"
}
wait_for() { # what timeout_s logfile cmd...
  local what="$1" timeout="$2" logf="$3"; shift 3
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= deadline )); then log "$what not ready after ${timeout}s; last lines of $logf:"; tail -n 30 "$logf" >&2; return 1; fi
    sleep 0.3
  done
}
t0=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - t0) / 1000000 ))ms"; }

# --- network ---------------------------------------------------------------------------------------------------------
ip link add "$BRIDGE" type bridge
ip addr add "$NODE_IP/24" dev "$BRIDGE"
for ip in "${STANDIN_IPS[@]}" "$DNS_IP"; do ip addr add "$ip/32" dev "$BRIDGE"; done
ip link set "$BRIDGE" up
# The node's own connections to a ClusterIP (the API server calling a webhook Service) leave through the bridge with
# the node IP as source, and one kube-proxy has not (yet) rewritten goes nowhere: never out of the default route.
ip route add "${MESHGATE_SERVICE_CIDR%%,*}" dev "$BRIDGE" src "$NODE_IP"
iptables -w 5 -I FORWARD 1 -i "$BRIDGE" ! -o "$BRIDGE" -m comment --comment "$RULE_TAG" -j DROP
API_RELAY_PORT=16440
KUBERNETES_IP="$(first_service_ip "$MESHGATE_SERVICE_CIDR")"
iptables -w 5 -t nat -I PREROUTING 1 -i "$BRIDGE" -d "$KUBERNETES_IP" -p tcp --dport 443 -m comment --comment "$RULE_TAG" \
  -j DNAT --to-destination "$NODE_IP:$API_RELAY_PORT"
start api-relay "$NODE/api-relay.log" socat "TCP-LISTEN:$API_RELAY_PORT,bind=$NODE_IP,fork,reuseaddr" "TCP:127.0.0.1:$MESHGATE_APISERVER_PORT"

cat > "$NODE/cni/net.d/10-meshgate.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "meshgate-node",
  "plugins": [{
    "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {
      "type": "host-local", "dataDir": "$NODE/cni/ipam",
      "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]],
      "routes": [{ "dst": "$STANDIN_CIDR" }, { "dst": "${MESHGATE_SERVICE_CIDR%%,*}" }]
    }
  }]
}
EOF
printf 'nameserver %s\noptions ndots:1 attempts:1 timeout:1\n' "$DNS_IP" > "$NODE/resolv.conf"

# --- containerd ------------------------------------------------------------------------------------------------------
SOCK="$NODE/containerd.sock"
cat > "$NODE/containerd.toml" <<EOF
version = 2
root = "$NODE/containerd/root"
state = "$NODE/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$NODE/containerd.ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE: runc cannot raise the sandbox's oom_score_adj.
  restrict_oom_score_adj = true
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  # Sandbox network namespaces under DIR/node, not /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE/cni/net.d"
EOF
start containerd "$NODE/containerd.log" containerd --config "$NODE/containerd.toml"
wait_for containerd 20 "$NODE/containerd.log" ctr --address "$SOCK" version
log "containerd up after $(elapsed)"
if [[ -n "$IMAGES" ]]; then
  for img in "$IMAGES"/*.tar; do
    timeout 120 ctr --address "$SOCK" -n k8s.io images import "$img" >>"$NODE/images.log" 2>&1 \
      || { tail -5 "$NODE/images.log" >&2; die "importing $img failed"; }
  done
  log "images imported after $(elapsed): $(ctr --address "$SOCK" -n k8s.io images ls -q | grep -v '^sha256:' | tr '\n' ' ')"
fi

# --- certificates ----------------------------------------------------------------------------------------------------
PKI="$DIR/pki"
issue() { # name subject eku [san]
  local n="$1" ext="$NODE/pki/$1.ext"
  { echo "basicConstraints=critical,CA:FALSE"; echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$3"; [[ -z "${4:-}" ]] || echo "subjectAltName=$4"; } > "$ext"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$NODE/pki/$n.key" 2>/dev/null
  openssl req -new -key "$NODE/pki/$n.key" -subj "$2" -out "$NODE/pki/$n.csr" 2>/dev/null
  openssl x509 -req -in "$NODE/pki/$n.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 30 -sha256 \
    -extfile "$ext" -out "$NODE/pki/$n.crt" 2>/dev/null
  rm -f "$NODE/pki/$n.csr" "$ext"
}
issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
issue kubelet-serving "/O=system:nodes/CN=system:node:$NODE_NAME" serverAuth "IP:$NODE_IP"
issue scheduler "/CN=system:kube-scheduler" clientAuth
# kube-proxy's user, bound to system:node-proxier by the API server's bootstrap RBAC (Services, EndpointSlices,
# Nodes: read). cluster-dns.mjs reads Services with the same identity.
issue kube-proxy "/CN=system:kube-proxy" clientAuth
kubeconfig() { # file cert key
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$MESHGATE_APISERVER_URL", certificate-authority: "$PKI/ca.crt"}}]
users: [{name: u, user: {client-certificate: "$2", client-key: "$3"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
EOF
}
kubeconfig "$NODE/kubelet.kubeconfig" "$NODE/pki/kubelet.crt" "$NODE/pki/kubelet.key"
kubeconfig "$NODE/scheduler.kubeconfig" "$NODE/pki/scheduler.crt" "$NODE/pki/scheduler.key"
kubeconfig "$NODE/kube-proxy.kubeconfig" "$NODE/pki/kube-proxy.crt" "$NODE/pki/kube-proxy.key"

# --- kube-scheduler --------------------------------------------------------------------------------------------------
SCHED_PORT=16259
start kube-scheduler "$NODE/kube-scheduler.log" "$MESHGATE_BIN/kube-scheduler" \
  --kubeconfig="$NODE/scheduler.kubeconfig" --authentication-kubeconfig="$NODE/scheduler.kubeconfig" \
  --authorization-kubeconfig="$NODE/scheduler.kubeconfig" --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" \
  --leader-elect=false --v=1

# --- kubelet ---------------------------------------------------------------------------------------------------------
# The kubelet wants its cgroup root to exist in every v1 hierarchy; node-down.sh removes it with all below.
for h in /sys/fs/cgroup/*; do
  [[ -d "$h" && "$(basename "$h")" != unified ]] && grep -q " $h cgroup " /proc/mounts && mkdir -p "$h/$CGROUP_ROOT"
done
# --- kubelet (config) ---------------------------------------------------------------------------------------------------------
cat > "$NODE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This VM: cgroup v1 only, no systemd, swap allowed.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupRoot: /$CGROUP_ROOT
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $NODE/pki/kubelet-serving.crt
tlsPrivateKeyFile: $NODE/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$SOCK
podLogsDir: $NODE/pod-logs
resolvConf: $NODE/resolv.conf
clusterDNS: [$DNS_IP]
clusterDomain: $CLUSTER_DOMAIN
registerNode: true
maxPods: 30
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
EOF
start kubelet "$NODE/kubelet.log" "$MESHGATE_BIN/kubelet" --config="$NODE/kubelet.yaml" \
  --kubeconfig="$NODE/kubelet.kubeconfig" --root-dir="$NODE/kubelet" --hostname-override="$NODE_NAME" \
  --node-ip="$NODE_IP" --v=1
kubectl_() { "$MESHGATE_BIN/kubectl" --kubeconfig="$DIR/kubeconfig" "$@"; }
wait_for "node $NODE_NAME" 60 "$NODE/kubelet.log" kubectl_ get node "$NODE_NAME"
kubectl_ wait --for=condition=Ready "node/$NODE_NAME" --timeout=60s >/dev/null \
  || { tail -n 30 "$NODE/kubelet.log" >&2; die "node $NODE_NAME not Ready after 60s"; }
log "node $NODE_NAME Ready after $(elapsed)"

# --- kube-proxy ------------------------------------------------------------------------------------------------------
# iptables mode (IPv4, and IPv6 where ip6tables works): its KUBE-* chains are removed by node-down.sh (kube-proxy
# --cleanup, then every KUBE-* chain left). masqueradeAll: service traffic is SNATed to the node, so replies come
# back through it whether or not the host bridges through iptables (br_netfilter). NodePorts only on the node IP,
# not on localhost (no route_localnet); conntrack sysctls untouched (zeros).
cat > "$NODE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $NODE/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
mode: iptables
clusterCIDR: $POD_CIDR
nodePortAddresses: [$NODE_IP/32]
iptables: {masqueradeAll: true, localhostNodePorts: false, syncPeriod: 30s, minSyncPeriod: 0s}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
start kube-proxy "$NODE/kube-proxy.log" "$MESHGATE_BIN/kube-proxy" --config="$NODE/kube-proxy.yaml" --v=1
wait_for kube-proxy 60 "$NODE/kube-proxy.log" curl -sf --max-time 2 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz"
wait_for "kube-proxy's FORWARD jumps" 30 "$NODE/kube-proxy.log" sh -c "iptables -w 5 -S FORWARD | grep -q KUBE-FORWARD"
# kube-proxy prepends its jumps to FORWARD (KUBE-FORWARD accepts established and masquerade-marked traffic): our
# drop of anything the bridge would forward off the node goes back in front of them. kube-proxy checks that its
# jumps exist, not where they are, so it stays first.
iptables -w 5 -D FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -m comment --comment "$RULE_TAG" -j DROP
iptables -w 5 -I FORWARD 1 -i "$BRIDGE" ! -o "$BRIDGE" -m comment --comment "$RULE_TAG" -j DROP
log "kube-proxy healthy after $(elapsed)"

# --- cluster DNS -----------------------------------------------------------------------------------------------------
start cluster-dns "$NODE/cluster-dns.log" "$NODE_JS" "$HERE/cluster-dns.mjs" --listen "$DNS_IP" --domain "$CLUSTER_DOMAIN" \
  --server "$MESHGATE_APISERVER_URL" --ca "$PKI/ca.crt" --cert "$NODE/pki/kube-proxy.crt" --key "$NODE/pki/kube-proxy.key" \
  "${DNS_HOSTS[@]}"
wait_for cluster-dns 20 "$NODE/cluster-dns.log" grep -qx ready "$NODE/cluster-dns.log"
log "cluster DNS on $DNS_IP after $(elapsed)"

if [[ -n "$OWNER" ]]; then
  start guardian "$NODE/guardian.log" bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" "$3" --keep-logs' \
    guardian "$OWNER" "$HERE/node-down.sh" "$DIR"
fi
trap - ERR INT TERM
cat >> "$DIR/env" <<EOF
export MESHGATE_NODE_NAME=$NODE_NAME
export MESHGATE_NODE_IP=$NODE_IP
export MESHGATE_STANDIN_IP=$STANDIN_IP
export MESHGATE_STANDIN_IPS=$(IFS=,; echo "${STANDIN_IPS[*]}")
export MESHGATE_DNS_IP=$DNS_IP
export MESHGATE_CONTAINERD_SOCK=$SOCK
EOF
echo "$NODE_NAME"
