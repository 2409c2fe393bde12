//go:build tools

// Package tools pins kube-proxy, which ../build.sh compiles from the same
// k8s.io/kubernetes module version as the control plane (../go.mod) and the
// node (../node/go.mod). A module of its own so that its dependencies change
// neither ../go.sum nor ../node/go.sum, whose hashes key the cached binaries.
// Nothing in meshgate imports it.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
)
