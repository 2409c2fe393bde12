//go:build tools

// Package tools pins the upstream commands that test/cluster/build.sh
// compiles. Nothing here is imported by meshgate itself: this module
// exists only so `go build` can produce a real Kubernetes control plane
// (kube-apiserver, kube-controller-manager, kubectl), etcd and helm from
// published Go modules.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "helm.sh/helm/v3/cmd/helm"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
