#!/usr/bin/env bash
# Build the real Kubernetes control plane used by meshgate's end-to-end tests
# (kube-apiserver, kube-controller-manager, kubectl, etcd, helm) and the node
# (kubelet, kube-scheduler, kube-proxy) from the published Go modules pinned in
# test/cluster/go.mod.
#
# Output: ${MESHGATE_BIN_CACHE:-$HOME/.cache/meshgate-bin}/<k8s-version>/
# The folder is printed as the last (and only) line on stdout; progress goes
# to stderr. If the folder already holds binaries built from the same
# go.mod/go.sum/build flags, nothing is built and the script returns at once.
#
# Env:
#   MESHGATE_BIN_CACHE   cache root (default $HOME/.cache/meshgate-bin)
#   MESHGATE_BUILD_NICE  nice level for the compile (default 10)
#   GO                   go binary (default: `go` on PATH, else /usr/local/go/bin/go)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

log() { printf '[build.sh] %s\n' "$*" >&2; }

# --- locate go ---------------------------------------------------------------
GO="${GO:-}"
if [[ -z "$GO" ]]; then
  if command -v go >/dev/null 2>&1; then GO="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
  else log "no Go toolchain found (need go >= 1.26; set GO=/path/to/go)"; exit 1
  fi
fi

# --- versions, read from go.mod -----------------------------------------------
modver_in() { awk -v m="$2" '($1==m && $2 ~ /^v/) || ($1=="require" && $2==m) {print ($1=="require" ? $3 : $2); exit}' "$1"; }
modver() { modver_in go.mod "$1"; }
K8S_VERSION="$(modver k8s.io/kubernetes)"
HELM_VERSION="$(modver helm.sh/helm/v3)"
ETCD_VERSION="$(modver go.etcd.io/etcd/server/v3)"
[[ -n "$K8S_VERSION" && -n "$HELM_VERSION" && -n "$ETCD_VERSION" ]] || { log "cannot read versions from go.mod"; exit 1; }
K8S_MAJOR="${K8S_VERSION#v}"; K8S_MAJOR="${K8S_MAJOR%%.*}"
K8S_MINOR="${K8S_VERSION#v*.}"; K8S_MINOR="${K8S_MINOR%%.*}"
# client-go / kubectl etc. are v0.<minor>.<patch>: helm's k8s defaults use that.
STAGING_VERSION="v0.${K8S_VERSION#v*.}"

CACHE_ROOT="${MESHGATE_BIN_CACHE:-$HOME/.cache/meshgate-bin}"
OUT="$CACHE_ROOT/$K8S_VERSION"
BINS=(kube-apiserver kube-controller-manager kubectl etcd helm)
# The node's binaries come from the same k8s.io/kubernetes module. They have a
# module of their own (node/go.mod: the kubelet needs modules the control plane
# does not) and a stamp of their own (.stamp-node), so adding them to a cache
# folder built before they existed builds just these two and keeps the five above.
NODE_BINS=(kubelet kube-scheduler)
NODE_PKGS=(k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler)
# kube-proxy likewise (proxy/go.mod, .stamp-proxy): adding it rebuilds neither group above.
PROXY_BINS=(kube-proxy)
PROXY_PKGS=(k8s.io/kubernetes/cmd/kube-proxy)

# Fixed build date (the release's commit time) keeps the binaries reproducible.
BUILD_DATE="2026-07-22T18:07:38Z"

VPKG=k8s.io/component-base/version
CPKG=k8s.io/client-go/pkg/version
HPKG=helm.sh/helm/v3
LDFLAGS="-s -w"
for p in "$VPKG" "$CPKG"; do
  LDFLAGS+=" -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR"
  LDFLAGS+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitCommit= -X $p.gitTreeState=clean"
  LDFLAGS+=" -X $p.buildDate=$BUILD_DATE"
done
LDFLAGS+=" -X $HPKG/internal/version.version=$HELM_VERSION -X $HPKG/internal/version.gitTreeState=clean"
LDFLAGS+=" -X $HPKG/pkg/lint/rules.k8sVersionMajor=$K8S_MAJOR -X $HPKG/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR"
LDFLAGS+=" -X $HPKG/pkg/chartutil.k8sVersionMajor=$K8S_MAJOR -X $HPKG/pkg/chartutil.k8sVersionMinor=$K8S_MINOR"
: "$STAGING_VERSION"

# The stamp ties the cache folder to exactly these inputs.
STAMP="$( { cat go.mod go.sum; echo "$LDFLAGS"; "$GO" env GOOS GOARCH; } | sha256sum | cut -c1-32)"
NODE_STAMP="$( { cat node/go.mod node/go.sum; echo "$LDFLAGS"; "$GO" env GOOS GOARCH; } | sha256sum | cut -c1-32)"
PROXY_STAMP="$( { cat proxy/go.mod proxy/go.sum; echo "$LDFLAGS"; "$GO" env GOOS GOARCH; } | sha256sum | cut -c1-32)"
for m in node proxy; do
  [[ "$(modver_in $m/go.mod k8s.io/kubernetes)" == "$K8S_VERSION" ]] || { log "$m/go.mod must require k8s.io/kubernetes $K8S_VERSION"; exit 1; }
done

have_control_plane() {
  [[ -f "$OUT/.stamp" && "$(cat "$OUT/.stamp")" == "$STAMP" ]] || return 1
  local b; for b in "${BINS[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
}
have_node() {
  [[ -f "$OUT/.stamp-node" && "$(cat "$OUT/.stamp-node")" == "$NODE_STAMP" ]] || return 1
  local b; for b in "${NODE_BINS[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
}
have_proxy() {
  [[ -f "$OUT/.stamp-proxy" && "$(cat "$OUT/.stamp-proxy")" == "$PROXY_STAMP" ]] || return 1
  local b; for b in "${PROXY_BINS[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
}
have_all() { have_control_plane && have_node && have_proxy; }

if have_all; then echo "$OUT"; exit 0; fi

mkdir -p "$CACHE_ROOT"
# Serialise concurrent builds (e.g. two test runs starting at once).
exec 9>"$CACHE_ROOT/.build-$K8S_VERSION.lock"
if command -v flock >/dev/null 2>&1; then
  flock -w 3600 9 || { log "timed out waiting for another build"; exit 1; }
fi
if have_all; then echo "$OUT"; exit 0; fi

GOVER="$("$GO" env GOVERSION)"
log "building kubernetes $K8S_VERSION (staging $STAGING_VERSION), etcd $ETCD_VERSION, helm $HELM_VERSION with $GOVER"
log "into $OUT (a cold build takes ~6 min on 2 cores; later runs are instant)"

TMP="$(mktemp -d "$CACHE_ROOT/.tmp-$K8S_VERSION.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

start=$(date +%s)
# CGO off: static binaries, no C toolchain needed. -mod=readonly: go.sum in
# this folder is authoritative (run `go mod tidy` here after changing go.mod).
export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
gobuild() { nice -n "${MESHGATE_BUILD_NICE:-10}" "$GO" build -trimpath -ldflags="$LDFLAGS" -o "$TMP/" "$@" >&2; }
build_node() { (cd node && gobuild "${NODE_PKGS[@]}"); }

build_proxy() { (cd proxy && gobuild "${PROXY_PKGS[@]}"); }
# Build one group next to a cached control plane, which stays as it is. group: node|proxy
add_group() {
  local group="$1" stamp bins b
  if [[ "$group" == node ]]; then build_node; stamp="$NODE_STAMP"; bins=("${NODE_BINS[@]}")
  else build_proxy; stamp="$PROXY_STAMP"; bins=("${PROXY_BINS[@]}"); fi
  for b in "${bins[@]}"; do [[ -x "$TMP/$b" ]] || { log "missing $b after build"; exit 1; }; done
  for b in "${bins[@]}"; do mv -f "$TMP/$b" "$OUT/$b"; done
  echo "$stamp" > "$OUT/.stamp-$group"
  log "built ${bins[*]} in $(( $(date +%s) - start ))s"
}

if have_control_plane; then
  # Only the node's or kube-proxy's binaries are missing or stale.
  have_node || { log "control plane cached; building ${NODE_BINS[*]}"; add_group node; }
  have_proxy || { log "control plane cached; building ${PROXY_BINS[*]}"; add_group proxy; }
  rm -rf "$TMP"
  trap - EXIT
  echo "$OUT"
  exit 0
fi

gobuild \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl \
  helm.sh/helm/v3/cmd/helm \
  go.etcd.io/etcd/server/v3
build_node
build_proxy
# The etcd server module's main package is the module root; go names that
# binary "server" (the element before the /v3 major-version suffix).
for n in server v3; do [[ -x "$TMP/$n" ]] && mv "$TMP/$n" "$TMP/etcd" && break; done
for b in "${BINS[@]}" "${NODE_BINS[@]}" "${PROXY_BINS[@]}"; do [[ -x "$TMP/$b" ]] || { log "missing $b after build"; exit 1; }; done
echo "$STAMP" > "$TMP/.stamp"
echo "$NODE_STAMP" > "$TMP/.stamp-node"
echo "$PROXY_STAMP" > "$TMP/.stamp-proxy"
{
  echo "kubernetes $K8S_VERSION"
  echo "k8s.io staging modules $STAGING_VERSION"
  echo "etcd $ETCD_VERSION"
  echo "helm $HELM_VERSION"
  echo "go $GOVER"
} > "$TMP/VERSIONS"

rm -rf "$OUT.old"
[[ -e "$OUT" ]] && mv "$OUT" "$OUT.old"
mv "$TMP" "$OUT"
rm -rf "$OUT.old"
trap - EXIT
log "built in $(( $(date +%s) - start ))s: $(du -sh "$OUT" | cut -f1)"
echo "$OUT"
