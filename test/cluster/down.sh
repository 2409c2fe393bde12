#!/usr/bin/env bash
# Stop a cluster started by up.sh and remove its state.
#
#   down.sh DIR [--keep-logs]
#
# Sends SIGTERM to the processes listed in DIR/pids (controller-manager and
# apiserver first, then etcd), SIGKILLs any that is still there after 15 s
# (etcd: 10 s). A pid is only signalled if its command line still mentions
# DIR (so a recycled pid is never hit). Takes 1-3 s. Then removes etcd data,
# pki, kubeconfigs, pids, env and, unless --keep-logs, the logs; DIR itself
# is removed if it is then empty.
set -uo pipefail

log() { printf '[down.sh] %s\n' "$*" >&2; }

DIR=""; KEEP_LOGS=0
for a in "$@"; do
  case "$a" in
    --keep-logs) KEEP_LOGS=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) [[ -z "$DIR" ]] || { log "usage: down.sh DIR [--keep-logs]"; exit 2; }; DIR="$a" ;;
  esac
done
[[ -n "$DIR" ]] || { log "usage: down.sh DIR [--keep-logs]"; exit 2; }
[[ -d "$DIR" ]] || { log "$DIR does not exist; nothing to do"; exit 0; }
DIR="$(cd "$DIR" && pwd)"

running() { # pid -> true while the process exists and is not a zombie
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  st="${st##*) }"; [[ "${st%% *}" != Z ]]
}

ours() { # pid -> true if it is running and was started for DIR
  running "$1" || return 1
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR"
}

stop_group() { # timeout_s name:pid...   SIGTERM all, wait, SIGKILL leftovers
  local timeout="$1"; shift
  local item pids=() pid
  for item in "$@"; do
    pid="${item##*:}"
    ours "$pid" || continue
    log "stopping ${item%:*} (pid $pid)"
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  (( ${#pids[@]} )) || return 0
  local deadline=$(( $(date +%s) + timeout )) left
  while :; do
    left=0; for pid in "${pids[@]}"; do running "$pid" && left=1; done
    (( left )) || return 0
    (( $(date +%s) < deadline )) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if running "$pid"; then log "pid $pid ignored SIGTERM for ${timeout}s; SIGKILL"; kill -KILL "$pid" 2>/dev/null; fi
  done
  for _ in $(seq 1 50); do
    left=0; for pid in "${pids[@]}"; do running "$pid" && left=1; done
    (( left )) || return 0
    sleep 0.1
  done
}

# kube-apiserver must be gone before etcd: an apiserver whose etcd vanished
# can ignore SIGTERM indefinitely. So: controller-manager + apiserver first
# (they shut down in ~3 s), then etcd.
FIRST=(); LAST=()
if [[ -f "$DIR/pids" ]]; then
  while read -r name pid; do
    [[ -n "${pid:-}" ]] || continue
    if [[ "$name" == etcd ]]; then LAST+=("$name:$pid"); else FIRST+=("$name:$pid"); fi
  done < "$DIR/pids"
fi
(( ${#FIRST[@]} )) && stop_group 15 "${FIRST[@]}"
(( ${#LAST[@]} )) && stop_group 10 "${LAST[@]}"

# Remove state only in a folder that up.sh made (it leaves a marker file).
if [[ -f "$DIR/.meshgate-cluster" && "$DIR" != / ]]; then
  rm -rf "${DIR:?}/etcd" "${DIR:?}/pki" "${DIR:?}/pids" "${DIR:?}/kubeconfig" "${DIR:?}/env" "${DIR:?}/bin" \
         "${DIR:?}"/*.kubeconfig "${DIR:?}/pki.log"
  if [[ $KEEP_LOGS -eq 0 ]]; then
    rm -f "${DIR:?}/etcd.log" "${DIR:?}/kube-apiserver.log" "${DIR:?}/kube-controller-manager.log" "${DIR:?}/.meshgate-cluster"
  fi
  rmdir "$DIR" 2>/dev/null || true
else
  log "$DIR has no .meshgate-cluster marker: processes stopped, no files removed"
fi
log "stopped"
