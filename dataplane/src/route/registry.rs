//! ServiceEntries compiled into per-port indexes: HTTP by Host, TLS by SNI, TCP by destination address. The same
//! rules as the TypeScript compiler's registry (port protocol, else the port name's prefix; unspecified: sniffed).

use super::cidr::Cidr;
use super::host::HostIndex;
use crate::snapshot::{Resolution, ServiceEntry};
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Http,
    Tls,
    Tcp,
}

/// Where an allowed connection or request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Resolution NONE and passthrough: the address the client dialled.
    Original,
    /// Resolution DNS: the DNS answer for an allowed name, never the dialled IP (no Host/SNI spoofing).
    Dns { host: String, port: u16 },
    /// Resolution STATIC: the entry's endpoints.
    Static { endpoints: Vec<(String, u16)> },
}

impl Plan {
    pub fn describe(&self) -> String {
        match self {
            Plan::Original => "the original destination".to_string(),
            Plan::Dns { host, .. } => format!("DNS answer for {host}"),
            Plan::Static { endpoints } => {
                format!("endpoints {}", endpoints.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>().join(", "))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Envoy's cluster name: `outbound|80||httpbin.org`, PassthroughCluster, BlackHoleCluster.
    pub cluster: String,
    /// The registry host that allowed it (destination_service); None for passthrough and denies.
    pub service: Option<String>,
    pub plan: Plan,
    pub rule: String,
    pub reason: String,
}

pub const PASSTHROUGH_CLUSTER: &str = "PassthroughCluster";
pub const BLACKHOLE_CLUSTER: &str = "BlackHoleCluster";

pub fn cluster_name(port: u16, host: &str) -> String {
    format!("outbound|{port}||{host}")
}

#[derive(Debug)]
struct Entry {
    source: String,
    hosts: Vec<String>,
    addresses: Vec<Cidr>,
    resolution: Resolution,
    endpoints: Vec<(String, std::collections::BTreeMap<String, u16>)>,
}

#[derive(Debug, Clone, Copy)]
struct PortRef {
    entry: usize,
    port: usize,
}

#[derive(Debug, Default)]
pub struct Registry {
    entries: Vec<Entry>,
    ports: Vec<Vec<crate::snapshot::Port>>,
    http: HashMap<u16, HostIndex<PortRef>>,
    tls: HashMap<u16, HostIndex<PortRef>>,
    tcp: HashMap<u16, Vec<PortRef>>,
    by_host: HostIndex<Vec<PortRef>>,
}

fn kinds_of(port: &crate::snapshot::Port) -> &'static [Kind] {
    let declared = port.protocol.clone().unwrap_or_else(|| port.name.split('-').next().unwrap_or("").to_string()).to_ascii_uppercase();
    match declared.as_str() {
        "HTTP" | "HTTP2" | "GRPC" => &[Kind::Http],
        "HTTPS" | "TLS" => &[Kind::Tls],
        "TCP" | "MONGO" | "REDIS" | "MYSQL" => &[Kind::Tcp],
        _ => &[Kind::Http, Kind::Tls, Kind::Tcp],
    }
}

impl Registry {
    pub fn compile(list: &[ServiceEntry]) -> Registry {
        let mut r = Registry::default();
        for se in list {
            let id = r.entries.len();
            let entry = Entry {
                source: se.source.clone(),
                hosts: se.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
                // An address that is neither an IP nor a CIDR is skipped, as the TypeScript compiler does.
                addresses: se.addresses.iter().filter_map(|a| Cidr::parse(a)).collect(),
                resolution: se.resolution,
                endpoints: se.endpoints.iter().map(|e| (e.address.clone(), e.ports.clone())).collect(),
            };
            let refs: Vec<PortRef> = (0..se.ports.len()).map(|port| PortRef { entry: id, port }).collect();
            for host in &entry.hosts {
                match r.by_host.get_mut(host) {
                    Some(existing) => existing.extend(refs.iter().copied()),
                    None => r.by_host.add(host, refs.clone()),
                }
            }
            for (i, port) in se.ports.iter().enumerate() {
                let pr = PortRef { entry: id, port: i };
                for kind in kinds_of(port) {
                    match kind {
                        Kind::Tcp => {
                            if !entry.addresses.is_empty() || entry.resolution == Resolution::Static {
                                r.tcp.entry(port.number).or_default().push(pr);
                            }
                        }
                        Kind::Http | Kind::Tls => {
                            let map = if *kind == Kind::Http { &mut r.http } else { &mut r.tls };
                            let index = map.entry(port.number).or_default();
                            for host in &entry.hosts {
                                index.add(host, pr);
                            }
                        }
                    }
                }
            }
            r.entries.push(entry);
            r.ports.push(se.ports.clone());
        }
        r
    }

    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    fn plan_for(&self, pr: PortRef, name: Option<&str>) -> Plan {
        let entry = &self.entries[pr.entry];
        let port = &self.ports[pr.entry][pr.port];
        let endpoint_port = |ports: &std::collections::BTreeMap<String, u16>| -> u16 {
            ports.get(&port.name).copied().or(port.target_port).unwrap_or(port.number)
        };
        match entry.resolution {
            Resolution::Static => Plan::Static {
                endpoints: entry.endpoints.iter().map(|(a, p)| (a.clone(), endpoint_port(p))).collect(),
            },
            Resolution::Dns | Resolution::DnsRoundRobin => {
                if let Some((address, ports)) = entry.endpoints.first() {
                    return Plan::Dns { host: address.clone(), port: endpoint_port(ports) };
                }
                let host = name.map(str::to_string).or_else(|| entry.hosts.iter().find(|h| !h.starts_with('*')).cloned());
                match host {
                    Some(host) => Plan::Dns { host, port: port.target_port.unwrap_or(port.number) },
                    None => Plan::Original,
                }
            }
            Resolution::None => Plan::Original,
        }
    }

    fn allowed(&self, pr: PortRef, pattern: &str, name: Option<&str>, how: String) -> Decision {
        let entry = &self.entries[pr.entry];
        let port = &self.ports[pr.entry][pr.port];
        Decision {
            allowed: true,
            cluster: cluster_name(port.number, pattern),
            service: Some(pattern.to_string()),
            plan: self.plan_for(pr, name),
            rule: format!(
                "{} host {} port {} ({})",
                entry.source,
                pattern,
                port.number,
                port.protocol.as_deref().unwrap_or("unspecified")
            ),
            reason: format!("{how}; resolution {}", resolution_name(entry.resolution)),
        }
    }

    pub fn lookup_http(&self, host: &str, port: u16) -> Option<Decision> {
        let (pattern, pr) = self.http.get(&port)?.find(host)?;
        Some(self.allowed(*pr, pattern, Some(host), format!("Host {host} matches {pattern} on port {port}")))
    }

    pub fn lookup_tls(&self, sni: &str, port: u16) -> Option<Decision> {
        let (pattern, pr) = self.tls.get(&port)?.find(sni)?;
        Some(self.allowed(*pr, pattern, Some(sni), format!("SNI {sni} matches {pattern} on port {port}")))
    }

    pub fn lookup_tcp(&self, ip: IpAddr, port: u16) -> Option<Decision> {
        for pr in self.tcp.get(&port)? {
            let entry = &self.entries[pr.entry];
            let in_addresses = entry.addresses.iter().any(|c| c.contains(ip));
            let is_endpoint = entry.resolution == Resolution::Static
                && entry.endpoints.iter().any(|(a, _)| a.parse::<IpAddr>().ok() == Some(ip));
            if in_addresses || is_endpoint {
                let ip_text = ip.to_string();
                let host = entry.hosts.first().cloned().unwrap_or_else(|| ip_text.clone());
                let how = format!(
                    "destination {}:{port} is {} of {host}",
                    ip_text,
                    if in_addresses { "in the addresses" } else { "an endpoint" }
                );
                return Some(self.allowed(*pr, &host, None, how));
            }
        }
        None
    }

    /// A route destination: the entry for that host and port (the entry's first port when none is given).
    pub fn lookup_destination(&self, host: &str, port: Option<u16>) -> Option<Decision> {
        let host = host.to_ascii_lowercase();
        let (pattern, refs) = self.by_host.find(&host)?;
        let pr = match port {
            None => refs.first()?,
            Some(n) => refs.iter().find(|r| self.ports[r.entry][r.port].number == n)?,
        };
        let name = (!host.starts_with('*')).then_some(host.as_str());
        Some(self.allowed(*pr, pattern, name, format!("route destination {host}")))
    }
}

fn resolution_name(r: Resolution) -> &'static str {
    match r {
        Resolution::None => "NONE",
        Resolution::Static => "STATIC",
        Resolution::Dns => "DNS",
        Resolution::DnsRoundRobin => "DNS_ROUND_ROBIN",
    }
}
