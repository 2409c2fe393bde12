//! The routing table: one snapshot compiled for the request path and swapped whole. Every decision the proxy acts on
//! and every answer of /explain and the decision vectors comes from the functions here.

use super::host::HostIndex;
use super::registry::{Decision, Kind, Plan, Registry, BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER};
use super::virtual_service::{self, CompiledVs, L4Route, WeightedDestination};
use crate::snapshot::{OutboundMode, Snapshot};
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug)]
pub struct Table {
    pub mode: OutboundMode,
    pub registry: Registry,
    pub virtual_services: HostIndex<Arc<CompiledVs>>,
    pub virtual_service_count: usize,
}

impl Table {
    pub fn compile(snapshot: &Snapshot) -> Result<Table, String> {
        Ok(Table {
            mode: snapshot.mesh.outbound_traffic_policy,
            registry: Registry::compile(&snapshot.service_entries),
            virtual_services: virtual_service::compile_all(&snapshot.virtual_services)?,
            virtual_service_count: snapshot.virtual_services.len(),
        })
    }

    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            OutboundMode::AllowAny => "ALLOW_ANY",
            OutboundMode::RegistryOnly => "REGISTRY_ONLY",
        }
    }

    fn unknown(&self, kind: Kind, what: String) -> Decision {
        match self.mode {
            OutboundMode::AllowAny => Decision {
                allowed: true,
                cluster: PASSTHROUGH_CLUSTER.to_string(),
                service: None,
                plan: Plan::Original,
                rule: "outboundTrafficPolicy ALLOW_ANY".to_string(),
                reason: format!("{what} is not in the registry; ALLOW_ANY passes it to the original destination"),
            },
            OutboundMode::RegistryOnly => deny(
                "outboundTrafficPolicy REGISTRY_ONLY".to_string(),
                format!(
                    "{what} matches no ServiceEntry {} on this port",
                    match kind {
                        Kind::Http => "HTTP host",
                        Kind::Tls => "TLS SNI",
                        Kind::Tcp => "address",
                    }
                ),
            ),
        }
    }

    /// HTTP: by the Host actually used (port stripped), then by address for TCP-only entries.
    pub fn decide_http(&self, host: &str, port: u16, ip: IpAddr) -> Decision {
        self.registry
            .lookup_http(host, port)
            .or_else(|| self.registry.lookup_tcp(ip, port))
            .unwrap_or_else(|| self.unknown(Kind::Http, format!("Host {host} on port {port}")))
    }

    /// TLS: by SNI; a ClientHello without SNI can only match by address. `random` in [0, 1) picks a weighted route.
    pub fn decide_tls(&self, sni: Option<&str>, port: u16, ip: IpAddr, random: f64) -> Decision {
        let base = sni
            .and_then(|s| self.registry.lookup_tls(s, port))
            .or_else(|| self.registry.lookup_tcp(ip, port))
            .unwrap_or_else(|| {
                let what = match sni {
                    None => format!("TLS without SNI to {ip}:{port}"),
                    Some(s) => format!("SNI {s} on port {port}"),
                };
                self.unknown(Kind::Tls, what)
            });
        match sni {
            Some(s) if base.allowed => self.route_l4(base, Kind::Tls, s, port, ip, random),
            _ => base,
        }
    }

    pub fn decide_tcp(&self, ip: IpAddr, port: u16, random: f64) -> Decision {
        let base = self.registry.lookup_tcp(ip, port).unwrap_or_else(|| self.unknown(Kind::Tcp, format!("{ip}:{port}")));
        match base.service.clone() {
            Some(service) if base.allowed => self.route_l4(base, Kind::Tcp, &service, port, ip, random),
            _ => base,
        }
    }

    /// tls/tcp routes of the host's VirtualService re-target an allowed connection.
    fn route_l4(&self, base: Decision, kind: Kind, host: &str, port: u16, ip: IpAddr, random: f64) -> Decision {
        let Some((_, vs)) = self.virtual_services.find(host) else { return base };
        let routes = if kind == Kind::Tls { &vs.tls } else { &vs.tcp };
        let Some(route) = routes.iter().find(|r| l4_matches(r, host, port, ip)) else { return base };
        match pick_destination(&route.destinations, route.total_weight, random) {
            Some(d) => self.resolve_destination(&d.host, d.port, port, &base, &vs.source),
            None => base,
        }
    }

    /// A route destination becomes an upstream: the same host keeps the decision that allowed it; another host must
    /// be in the registry (routing cannot open a destination the policy closes).
    pub fn resolve_destination(&self, host: &str, dest_port: Option<u16>, port: u16, base: &Decision, source: &str) -> Decision {
        if base.service.as_deref() == Some(host) && dest_port.is_none_or(|p| p == port) {
            return Decision { rule: format!("{}; {source}", base.rule), ..base.clone() };
        }
        let hit = self
            .registry
            .lookup_destination(host, Some(dest_port.unwrap_or(port)))
            .or_else(|| self.registry.lookup_destination(host, None));
        if let Some(hit) = hit {
            return Decision { rule: format!("{source} -> {}", hit.rule), ..hit };
        }
        if base.service.is_none() && host.parse::<IpAddr>().is_err() && self.mode == OutboundMode::AllowAny {
            return Decision {
                plan: Plan::Dns { host: host.to_string(), port: dest_port.unwrap_or(port) },
                rule: format!("{source} (ALLOW_ANY)"),
                ..base.clone()
            };
        }
        deny(source.to_string(), format!("route destination {host} is not in the registry"))
    }
}

pub fn deny(rule: String, reason: String) -> Decision {
    Decision { allowed: false, cluster: BLACKHOLE_CLUSTER.to_string(), service: None, plan: Plan::Original, rule, reason }
}

fn l4_matches(route: &L4Route, host: &str, port: u16, ip: IpAddr) -> bool {
    let sni_ok = route.sni_hosts.is_empty() || route.sni_hosts.iter().any(|h| super::host::host_matches(h, host));
    // Each match is port AND subnets; any match (or none listed) accepts.
    let match_ok = route.ports.is_empty()
        || route.ports.iter().zip(&route.subnets).any(|(p, subnets)| {
            p.is_none_or(|p| p == port) && (subnets.is_empty() || subnets.iter().any(|c| c.contains(ip)))
        });
    sni_ok && match_ok
}

/// Weighted choice; `random` in [0, 1) is injected so tests and vectors can pin it.
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
