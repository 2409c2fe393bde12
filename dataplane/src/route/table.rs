//! The routing table: one snapshot compiled for the request path and swapped whole. Every decision the proxy acts on,
//! every /explain answer and every decision vector goes through the functions here (docs/snapshot.md, "The decision").

use super::host::HostIndex;
use super::registry::{
    mesh_policy_source, Decision, Plan, Reason, Registry, BLACKHOLE_CLUSTER, DYNAMIC_DNS_CLUSTER, PASSTHROUGH_CLUSTER,
};
use super::virtual_service::{self, CompiledVs, WeightedDestination};
use crate::snapshot::{OutboundMode, Snapshot, Source};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Who the proxy serves (for sourceLabels / sourceNamespace), given at injection.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// The connection's source address, for a TCP match's sourceSubnet.
    pub ip: Option<IpAddr>,
}

impl Workload {
    pub fn matches(&self, labels: &BTreeMap<String, String>, namespace: Option<&str>) -> bool {
        namespace.is_none_or(|ns| ns == self.namespace) && labels.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

#[derive(Debug)]
pub struct Table {
    pub mode: OutboundMode,
    pub registry: Registry,
    pub virtual_services: Vec<Arc<CompiledVs>>,
    vs_hosts: HostIndex<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Kind {
    Tls,
    Tcp,
}

impl Table {
    pub fn compile(snapshot: &Snapshot) -> Result<Table, String> {
        let virtual_services: Vec<Arc<CompiledVs>> = snapshot
            .virtual_services
            .iter()
            .map(|vs| virtual_service::compile(vs).map(Arc::new))
            .collect::<Result<_, _>>()?;
        let mut vs_hosts = HostIndex::default();
        let doc = &snapshot.virtual_service_hosts;
        for (host, i) in doc.exact.iter().map(|(h, i)| (h, *i)).chain(doc.wildcard.iter().map(|w| (&w.host, w.value))) {
            if i >= virtual_services.len() {
                return Err(format!("virtualServiceHosts[{host:?}]: index {i} is out of range"));
            }
            vs_hosts.add_ordered(host, i);
        }
        Ok(Table {
            mode: snapshot.mesh.outbound_traffic_policy,
            registry: Registry::compile(snapshot)?,
            virtual_services,
            vs_hosts,
        })
    }

    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            OutboundMode::AllowAny => "ALLOW_ANY",
            OutboundMode::RegistryOnly => "REGISTRY_ONLY",
            OutboundMode::AllowAnyDynamicDns => "ALLOW_ANY_DYNAMIC_DNS",
        }
    }

    /// Both ALLOW_ANY modes let unknown destinations through (they differ only for plaintext HTTP to a name).
    fn allows_any(&self) -> bool {
        self.mode != OutboundMode::RegistryOnly
    }

    /// The VirtualService for a host (exact first, then the narrowest wildcard).
    pub fn virtual_service(&self, host: &str) -> Option<&Arc<CompiledVs>> {
        self.vs_hosts.find(host).and_then(|(_, i)| self.virtual_services.get(*i))
    }

    fn unknown(&self) -> Decision {
        match self.mode {
            OutboundMode::AllowAny | OutboundMode::AllowAnyDynamicDns => Decision {
                allowed: true,
                reason: Reason::AllowAny,
                cluster: Some(PASSTHROUGH_CLUSTER.to_string()),
                service: None,
                plan: Plan::Original,
                status: None,
                location: None,
                policy_source: Some(mesh_policy_source()),
                route_source: None,
                upstream_h2: None,
            },
            OutboundMode::RegistryOnly => Decision {
                cluster: Some(BLACKHOLE_CLUSTER.to_string()),
                policy_source: Some(mesh_policy_source()),
                status: Some(502),
                ..deny(Reason::RegistryOnly, None)
            },
        }
    }

    /// HTTP: by the Host (port stripped), then by address for entries matched by address.
    pub fn decide_http_policy(&self, host: &str, port: u16, ip: IpAddr) -> Decision {
        self.registry
            .lookup_http(host, port)
            .or_else(|| self.registry.lookup_tcp(ip, port))
            .unwrap_or_else(|| self.unknown_http(host, port))
    }

    /// ALLOW_ANY_DYNAMIC_DNS: plaintext HTTP for a name goes to the DNS answer for that name on the dialled port, as
    /// Envoy's dynamic forward proxy resolves the Host; an IP literal has nothing to resolve.
    fn unknown_http(&self, host: &str, port: u16) -> Decision {
        let name = super::host::normalize_host(host);
        if self.mode != OutboundMode::AllowAnyDynamicDns || name.is_empty() || name.parse::<IpAddr>().is_ok() {
            return self.unknown();
        }
        Decision {
            cluster: Some(DYNAMIC_DNS_CLUSTER.to_string()),
            plan: Plan::Dns { host: name, port },
            ..self.unknown()
        }
    }

    /// TLS by SNI (then address) or TCP by address, re-targeted by the first matching tls/tcp route (a TLS route
    /// needs a match whose sniHosts hold the SNI; a TCP route without matches takes every connection). `random` in [0, 1).
    pub fn decide_l4(
        &self,
        kind: L4Kind,
        sni: Option<&str>,
        ip: IpAddr,
        port: u16,
        workload: &Workload,
        random: f64,
    ) -> Decision {
        let sni = sni.filter(|s| !s.is_empty()).map(super::host::normalize_host);
        let hit = match (kind, &sni) {
            (L4Kind::Tls, Some(s)) => self.registry.lookup_tls(s, port),
            _ => None,
        };
        let mut base = hit.or_else(|| self.registry.lookup_tcp(ip, port)).unwrap_or_else(|| self.unknown());
        base.status = None; // TLS and TCP are closed, never answered
        if !base.allowed {
            return base;
        }
        let (vs_host, tls) = match kind {
            L4Kind::Tls => match &sni {
                Some(s) => (s.clone(), true),
                None => return base,
            },
            L4Kind::Tcp => match &base.service {
                Some(service) => (service.clone(), false),
                None => return base,
            },
        };
        let Some(vs) = self.virtual_service(&vs_host) else { return base };
        let routes = if tls { &vs.tls } else { &vs.tcp };
        let chosen = routes.iter().find(|r| {
            (!tls && r.matches.is_empty())
                || r.matches.iter().any(|m| l4_match(m, tls, sni.as_deref(), ip, port, workload))
        });
        match chosen.and_then(|r| pick_destination(&r.destinations, r.total_weight, random).map(|d| (r, d))) {
            Some((route, d)) => {
                let mut out = self.route_to(&base, d, port, &route.source);
                out.status = None;
                out
            }
            None => base,
        }
    }

    /// Step 4 of the decision: a route destination becomes a cluster. The registry hit's own service keeps its
    /// cluster; another host must be in the registry (routing never opens what the policy closes). The policy
    /// source stays the one that allowed the request.
    pub fn route_to(&self, base: &Decision, d: &WeightedDestination, port: u16, route_source: &Source) -> Decision {
        let want_port = d.port.unwrap_or(port);
        if base.service.as_deref() == Some(d.host.as_str()) && want_port == port {
            return Decision { reason: Reason::Route, route_source: Some(route_source.clone()), ..base.clone() };
        }
        let exact_name = (!d.host.starts_with('*')).then_some(d.host.as_str());
        if let Some(hit) = self.registry.lookup_destination(&d.host, want_port, d.port.is_none(), exact_name) {
            return Decision {
                policy_source: base.policy_source.clone(),
                route_source: Some(route_source.clone()),
                ..hit
            };
        }
        if self.allows_any() && exact_name.is_some_and(|h| h.parse::<IpAddr>().is_err()) {
            return Decision {
                allowed: true,
                reason: Reason::Route,
                cluster: Some(PASSTHROUGH_CLUSTER.to_string()),
                service: None,
                plan: Plan::Dns { host: d.host.clone(), port: want_port },
                status: None,
                location: None,
                policy_source: base.policy_source.clone(),
                route_source: Some(route_source.clone()),
                upstream_h2: None,
            };
        }
        Decision {
            status: Some(503),
            policy_source: base.policy_source.clone(),
            route_source: Some(route_source.clone()),
            ..deny(Reason::DestinationUnknown, None)
        }
    }
}

pub fn deny(reason: Reason, cluster: Option<String>) -> Decision {
    Decision {
        allowed: false,
        reason,
        cluster,
        service: None,
        plan: Plan::Original,
        status: None,
        location: None,
        policy_source: None,
        route_source: None,
        upstream_h2: None,
    }
}

fn l4_match(
    m: &super::virtual_service::L4Match,
    tls: bool,
    sni: Option<&str>,
    ip: IpAddr,
    port: u16,
    w: &Workload,
) -> bool {
    m.port.is_none_or(|p| p == port)
        && (!tls || sni.is_some_and(|s| m.sni_hosts.iter().any(|h| super::host::host_matches(h, s))))
        && (m.subnets.is_empty() || m.subnets.iter().any(|c| c.contains(ip)))
        && m.source_subnet.is_none_or(|c| w.ip.is_some_and(|ip| c.contains(ip)))
        && w.matches(&m.source_labels, m.source_namespace.as_deref())
}

/// Weighted choice: `point = random × total`, the first destination whose weight exceeds what is left of it.
pub fn pick_destination(list: &[WeightedDestination], total: u32, random: f64) -> Option<&WeightedDestination> {
    if list.len() <= 1 || total == 0 {
        return list.first();
    }
    let mut point = random * f64::from(total);
    for d in list {
        if point < f64::from(d.weight) {
            return Some(d);
        }
        point -= f64::from(d.weight);
    }
    list.last()
}
