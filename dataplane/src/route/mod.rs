//! Policy and routing: the snapshot compiled into lookups, and the pure decision functions over them.

pub mod cidr;
pub mod decorator;
pub mod host;
pub mod http_route;
pub mod matcher;
pub mod regex_limit;
pub mod registry;
pub mod table;
pub mod vector;
pub mod virtual_service;
