#!/usr/bin/env bash
# Stop the node node-up.sh started and put the host back as node-up.sh found it.
#
#   node-down.sh DIR [--keep-logs]     the usual way (DIR as given to node-up.sh)
#   node-down.sh --force               clean the leftovers of a run whose DIR is gone
#
# Order: pods deleted through the API (bounded), kubelet, scheduler, kube-proxy and the cluster DNS stopped, any
# container left killed through containerd, containerd and its shims stopped, mounts under DIR/node unmounted,
# every KUBE-* chain (kubelet's and kube-proxy's, IPv4 and IPv6) with the jumps to it removed (not `kube-proxy
# --cleanup`, which also probes IPVS and nftables), our own rules removed, the bridge deleted, cgroups removed,
# sysctls restored, host folders the run created removed.
# Every step is bounded in time and runs even when an earlier one failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node-common.sh
source "$HERE/node-common.sh"
log() { printf '[node-down.sh] %s\n' "$*" >&2; }

DIR="" KEEP_LOGS=0 FORCE=0
for a in "$@"; do
  case "$a" in
    --keep-logs) KEEP_LOGS=1 ;;
    --force) FORCE=1 ;;
    *) DIR="$a" ;;
  esac
done
if [[ -z "$DIR" ]]; then
  [[ $FORCE -eq 1 ]] || { log "usage: node-down.sh DIR [--keep-logs] | --force"; exit 2; }
  DIR="$(cat "$ACTIVE_FILE" 2>/dev/null || true)"
fi
NODE="${DIR:+$DIR/node}"
if [[ $FORCE -eq 0 && ! -d "$NODE" ]]; then
  # Already stopped (e.g. the guardian firing after the test's own node-down.sh): another run may own the host now.
  log "$NODE does not exist: nothing to stop"; exit 0
fi
active="$(cat "$ACTIVE_FILE" 2>/dev/null || true)"
if [[ $FORCE -eq 0 && -n "$active" && "$active" != "$DIR" ]]; then
  log "the host's node belongs to $active, not $DIR: left alone"; exit 0
fi
[[ -z "$NODE" || -d "$NODE" ]] || NODE=""

running() { local st; st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1; st="${st##*) }"; [[ "${st%% *}" != Z ]]; }
pid_of() { [[ -n "$NODE" && -f "$NODE/pids" ]] && awk -v n="$1" '$1==n {print $2}' "$NODE/pids"; }
# Signal a recorded pid only while its command line still names the node's folder (or is the api relay/guardian).
stop_pid() { # name timeout_s
  local pid; pid="$(pid_of "$1")"
  [[ -n "$pid" && "$pid" != "$$" && "$pid" != "$PPID" ]] || return 0
  running "$pid" || return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -e "$DIR" -e "$NODE_IP" || { log "pid $pid is no longer $1; left alone"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  local deadline=$(( $(date +%s) + $2 ))
  while running "$pid" && (( $(date +%s) < deadline )); do sleep 0.2; done
  running "$pid" && { log "$1 ignored SIGTERM for $2 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; sleep 0.2; }
  return 0
}

if [[ -n "$NODE" && -f "$DIR/kubeconfig" ]]; then
  kubectl=("$DIR/bin/kubectl" --kubeconfig="$DIR/kubeconfig" --request-timeout=5s)
  # Pods first, while the kubelet still tears their sandboxes down through CNI.
  timeout 40 "${kubectl[@]}" delete pods --all -A --grace-period=1 --wait=true --timeout=30s >/dev/null 2>&1 || true
  timeout 10 "${kubectl[@]}" delete node "$NODE_NAME" --wait=false >/dev/null 2>&1 || true
fi
stop_pid guardian 2
stop_pid kubelet 15
stop_pid kube-scheduler 10
stop_pid kube-proxy 10
stop_pid cluster-dns 3
SOCK="${NODE:+$NODE/containerd.sock}"
if [[ -n "$SOCK" && -S "$SOCK" ]]; then
  ctr_() { timeout 20 ctr --address "$SOCK" -n k8s.io "$@" 2>/dev/null; }
  for task in $(ctr_ tasks ls -q); do ctr_ tasks kill -s SIGKILL "$task" >/dev/null; done
  sleep 0.5
  for task in $(ctr_ tasks ls -q); do ctr_ tasks delete -f "$task" >/dev/null; done
  for c in $(ctr_ containers ls -q); do ctr_ containers delete "$c" >/dev/null; done
fi
stop_pid containerd 15
stop_pid api-relay 3
# Shims outlive containerd: end those that serve this node's socket.
if [[ -n "$SOCK" ]]; then
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK" || true); do kill -KILL "$pid" 2>/dev/null; done
fi

# Mounts: the kubelet's root dir (a shared bind mount of itself), pod volumes, container rootfs, sandbox netns.
if [[ -n "$NODE" ]]; then
  for _ in 1 2 3; do
    mapfile -t mounts < <(awk -v p="$NODE/" 'index($2, p) == 1 || $2 == substr(p, 1, length(p) - 1) {print $2}' /proc/mounts | sort -r)
    [[ ${#mounts[@]} -eq 0 ]] && break
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  done
fi
# Sandbox network namespaces containerd pinned under /run/netns (recorded by name at start).
if [[ -n "$NODE" && -f "$NODE/netns-before" ]]; then
  for ns in /run/netns/cni-*; do
    [[ -e "$ns" ]] || continue
    grep -qxF "$ns" "$NODE/netns-before" && continue
    umount "$ns" 2>/dev/null; rm -f "$ns"
  done
fi

# iptables: our rules, then the kubelet's chains and every jump to them.
for spec in "filter FORWARD" "nat PREROUTING"; do
  read -r t chain <<<"$spec"
  for _ in 1 2 3 4 5; do
    rule="$(iptables -w 5 -t "$t" -S "$chain" 2>/dev/null | grep -- "--comment $RULE_TAG" | head -1)"
    [[ -z "$rule" ]] && break
    eval "iptables -w 5 -t $t ${rule/-A /-D }" || break
  done
done
for ipt in iptables ip6tables; do
  for t in "${IPT_TABLES[@]}"; do
    mapfile -t chains < <(kube_chains "$ipt" "$t")
    [[ ${#chains[@]} -eq 0 ]] && continue
    # The jumps from the built-in chains first, then every KUBE-* chain flushed (they jump to each other), then deleted.
    while read -r rule; do
      [[ -n "$rule" ]] && eval "$ipt -w 5 -t $t ${rule/-A /-D }" 2>/dev/null
    done < <("$ipt" -w 5 -t "$t" -S 2>/dev/null | grep -E -- '^-A [A-Z]+ .*-j KUBE-[A-Z0-9-]+( |$)' | grep -Ev -- '^-A KUBE-')
    for c in "${chains[@]}"; do "$ipt" -w 5 -t "$t" -F "$c" 2>/dev/null; done
    for c in "${chains[@]}"; do "$ipt" -w 5 -t "$t" -X "$c" 2>/dev/null || log "could not delete $ipt -t $t $c"; done
  done
done

ip link del "$BRIDGE" 2>/dev/null

# cgroups the kubelet made under its cgroup root, deepest first (the tasks are gone by now).
for root in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do
  [[ -d "$root" ]] || continue
  for _ in 1 2 3 4 5; do
    find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
    [[ -d "$root" ]] || break
    sleep 0.5
  done
  [[ -d "$root" ]] && log "cgroup $root still busy"
done

if [[ -n "$NODE" && -f "$NODE/host-state" ]]; then
  while read -r kind key value; do
    [[ "$kind" == sysctl ]] || continue
    [[ "$(sysctl -n "$key" 2>/dev/null)" == "$value" ]] || sysctl -qw "$key=$value" || log "could not restore $key=$value"
  done < "$NODE/host-state"
elif [[ $FORCE -eq 1 ]]; then
  log "no record of the sysctls before the run: ${NODE_SYSCTLS[*]} left as they are ($(for s in "${NODE_SYSCTLS[@]}"; do printf '%s=%s ' "$s" "$(sysctl -n "$s")"; done))"
fi

# Host folders: node-up.sh only starts when none of them exists, so they are the run's own.
for d in "${HOST_DIRS[@]}"; do
  [[ -e "$d" ]] || continue
  if grep -q " $d[/ ]" /proc/mounts; then log "$d still has mounts; left in place"; continue; fi
  rm -rf "$d"
done
rm -f "$ACTIVE_FILE"

if [[ -n "$NODE" ]]; then
  if [[ $KEEP_LOGS -eq 1 ]]; then
    find "$NODE" -mindepth 1 -maxdepth 1 ! -name '*.log' ! -name pod-logs -exec rm -rf {} + 2>/dev/null
  else
    rm -rf "$NODE"
  fi
fi
left="$(node_leftovers)"
if [[ -n "$left" ]]; then log "left on the host: $(echo "$left" | tr '\n' ' ')"; exit 1; fi
log "node stopped; host restored"
