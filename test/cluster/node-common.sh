# Shared by node-up.sh and node-down.sh: the node's fixed names and what it may leave on the host.
# shellcheck shell=bash
NODE_NAME=meshgate-node            # never resolved: the API server reaches the kubelet by its InternalIP
BRIDGE=mgnode0
POD_CIDR=10.247.0.0/24
NODE_IP=10.247.0.1                 # the bridge's address, the kubelet's --node-ip
STANDIN_CIDR=10.248.0.0/24
STANDIN_IP=10.248.0.10             # a stand-in external host, served on the node itself
# More stand-in addresses on the node, one per external host a test serves (a TLS host needs 443 of its own).
STANDIN_IPS=(10.248.0.10 10.248.0.11 10.248.0.12 10.248.0.13)
DNS_IP=10.248.0.53                 # the pods' DNS server: cluster-dns.mjs, which answers only the cluster domain
CLUSTER_DOMAIN=cluster.local
PAUSE_IMAGE=meshgate.local/pause:1
CGROUP_ROOT=meshgate-node
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
RULE_TAG=meshgate-node
ACTIVE_FILE=/run/meshgate-node.active
KUBE_PROXY_HEALTHZ_PORT=16256
KUBE_PROXY_METRICS_PORT=16249
# What the kubelet, kube-proxy and the bridge plugin change on the host, besides what lives under DIR/node.
# kube-proxy's config leaves conntrack and route_localnet alone; they are recorded all the same (a key the kernel
# lacks is skipped).
NODE_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward net.ipv4.conf.all.route_localnet
  net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait net.netfilter.nf_conntrack_tcp_be_liberal)
# Every iptables chain the kubelet (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) and kube-proxy
# (KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-*, KUBE-PROXY-CANARY, ...) create is named KUBE-*: node-up.sh starts only on
# a host without any, so all of them are the run's own.
IPT_TABLES=(filter nat mangle raw)
HOST_DIRS=(/var/lib/kubelet /var/log/pods /var/log/containers /run/containerd /var/lib/cni)

# The KUBE-* chains of one table.
kube_chains() { "$1" -w 5 -t "$2" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'; }

first_service_ip() { local net="${1%%,*}"; net="${net%/*}"; local a b c d; IFS=. read -r a b c d <<<"$net"; echo "$a.$b.$c.$((d + 1))"; }

# Every trace a node run leaves until node-down.sh removes it, one per line (empty: a clean host).
node_leftovers() {
  local d t c ipt
  ip link show "$BRIDGE" >/dev/null 2>&1 && echo "link:$BRIDGE"
  for d in "${HOST_DIRS[@]}"; do [[ -e "$d" ]] && echo "dir:$d"; done
  for ipt in iptables ip6tables; do
    for t in "${IPT_TABLES[@]}"; do
      for c in $(kube_chains "$ipt" "$t"); do echo "chain:$ipt/$t/$c"; done
    done
  done
  iptables -w 5 -S FORWARD 2>/dev/null | grep -q -- "--comment $RULE_TAG" && echo "rule:filter/FORWARD"
  iptables -w 5 -t nat -S PREROUTING 2>/dev/null | grep -q -- "--comment $RULE_TAG" && echo "rule:nat/PREROUTING"
  for d in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do [[ -d "$d" ]] && echo "cgroup:$d"; done
  [[ -f "$ACTIVE_FILE" ]] && echo "file:$ACTIVE_FILE"
  return 0
}
