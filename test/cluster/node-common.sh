# Shared by node-up.sh and node-down.sh: the node's fixed names and what it may leave on the host.
# shellcheck shell=bash
NODE_NAME=meshgate-node            # never resolved: the API server reaches the kubelet by its InternalIP
BRIDGE=mgnode0
POD_CIDR=10.247.0.0/24
NODE_IP=10.247.0.1                 # the bridge's address, the kubelet's --node-ip
STANDIN_CIDR=10.248.0.0/24
STANDIN_IP=10.248.0.10             # a stand-in external host, served on the node itself
DNS_IP=10.248.0.53                 # the pods' DNS server: nothing answers, so no query goes anywhere
PAUSE_IMAGE=meshgate.local/pause:1
CGROUP_ROOT=meshgate-node
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
RULE_TAG=meshgate-node
ACTIVE_FILE=/run/meshgate-node.active
# What the kubelet and the bridge plugin change on the host, besides what lives under DIR/node.
NODE_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward)
KUBELET_CHAINS=(KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT)
HOST_DIRS=(/var/lib/kubelet /var/log/pods /var/log/containers /run/containerd /var/lib/cni)

first_service_ip() { local net="${1%%,*}"; net="${net%/*}"; local a b c d; IFS=. read -r a b c d <<<"$net"; echo "$a.$b.$c.$((d + 1))"; }

# Every trace a node run leaves until node-down.sh removes it, one per line (empty: a clean host).
node_leftovers() {
  local d t c ipt
  ip link show "$BRIDGE" >/dev/null 2>&1 && echo "link:$BRIDGE"
  for d in "${HOST_DIRS[@]}"; do [[ -e "$d" ]] && echo "dir:$d"; done
  for ipt in iptables ip6tables; do
    for t in filter nat mangle; do
      for c in "${KUBELET_CHAINS[@]}"; do "$ipt" -w 5 -t "$t" -S "$c" >/dev/null 2>&1 && echo "chain:$ipt/$t/$c"; done
    done
  done
  iptables -w 5 -S FORWARD 2>/dev/null | grep -q -- "--comment $RULE_TAG" && echo "rule:filter/FORWARD"
  iptables -w 5 -t nat -S PREROUTING 2>/dev/null | grep -q -- "--comment $RULE_TAG" && echo "rule:nat/PREROUTING"
  for d in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do [[ -d "$d" ]] && echo "cgroup:$d"; done
  [[ -f "$ACTIVE_FILE" ]] && echo "file:$ACTIVE_FILE"
  return 0
}
