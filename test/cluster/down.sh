#!/usr/bin/env bash
# Stop a cluster started by up.sh and remove its state.
#
#   down.sh DIR [--keep-logs]
#
# Sends SIGTERM to every process listed in DIR/pids (controller-manager,
# apiserver, then etcd), waits up to 15 s, then SIGKILLs what is left. A pid
# is only signalled if its command line still mentions DIR (so a recycled pid
# is never hit). Then removes etcd data, pki, kubeconfigs, pids, env and, unless
# --keep-logs, the logs; DIR itself is removed if it is then empty.
set -uo pipefail

log() { printf '[down.sh] %s\n' "$*" >&2; }

DIR=""; KEEP_LOGS=0
for a in "$@"; do
  case "$a" in
    --keep-logs) KEEP_LOGS=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) [[ -z "$DIR" ]] || { log "usage: down.sh DIR [--keep-logs]"; exit 2; }; DIR="$a" ;;
  esac
done
[[ -n "$DIR" ]] || { log "usage: down.sh DIR [--keep-logs]"; exit 2; }
[[ -d "$DIR" ]] || { log "$DIR does not exist; nothing to do"; exit 0; }
DIR="$(cd "$DIR" && pwd)"

ours() { # pid -> true if it is alive and was started for DIR
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR"
}

PIDS=()
if [[ -f "$DIR/pids" ]]; then
  # Reverse order: stop clients of etcd before etcd.
  mapfile -t LINES < <(tac "$DIR/pids")
  for line in "${LINES[@]}"; do
    read -r name pid <<<"$line"
    [[ -n "${pid:-}" ]] || continue
    if ours "$pid"; then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null
      PIDS+=("$pid")
      # Give each component a moment so shutdown happens in order.
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
  done
fi

deadline=$(( $(date +%s) + 15 ))
for pid in "${PIDS[@]}"; do
  while kill -0 "$pid" 2>/dev/null && (( $(date +%s) < deadline )); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not exit; SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
done
# Wait (bounded) for SIGKILLed processes to disappear so ports are free on return.
for pid in "${PIDS[@]}"; do
  for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
done

rm -rf "$DIR/etcd" "$DIR/pki" "$DIR/pids" "$DIR/kubeconfig" "$DIR/env" "$DIR/bin" \
       "$DIR"/*.kubeconfig "$DIR/pki.log"
[[ $KEEP_LOGS -eq 1 ]] || rm -f "$DIR"/etcd.log "$DIR"/kube-apiserver.log "$DIR"/kube-controller-manager.log
rmdir "$DIR" 2>/dev/null || true
log "stopped"
