//go:build tools

// Package tools pins the node commands that ../build.sh compiles: the kubelet
// and kube-scheduler, from the same k8s.io/kubernetes module version as the
// control plane in ../go.mod. Nothing in meshgate imports it.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
