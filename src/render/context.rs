//! The values a template sees. This is a public contract for users who
//! write template overrides; templates/README.md documents it and the test
//! `context_exposes_every_documented_field` keeps the two in step.
//!
//! ```text
//! cluster       name, engine, version, topology ("single" | "primary-replica" | "multi-master"),
//!               port, allowed_ips (each in CIDR form: an address gets /32 or /128),
//!               extension_version (string or none),
//!               settings (map: normalised key -> value already in the engine's spelling)
//! settings      the same map as cluster.settings, for brevity
//! node          name, number, host, role ("primary" | "replica"), is_primary, server_id,
//!               slot_name (the node name with '-' as '_')
//! primary       name, host, port of the node this one replicates from, or none
//!               (primaries, single nodes, multi-master)
//! peers         list of {name, number, host, addresses}: every other node, by number;
//!               addresses in CIDR form, what a host name resolved to
//! orphans       list of {name, number, host, addresses}: nodes removed from the file but
//!               not yet deleted by a remove-node request (they keep access)
//! paths         config_dir, secrets_file (or none), data_dir, run_dir, socket, pid_file,
//!               log_dir, log_file, user, group, server_binary, bin_dir
//! users         admin, replication: database user names (never passwords)
//! multi_master  {increment, offset} for auto-increment spacing, or none outside multi-master
//! ```
//!
//! Filter: `cidr` turns an address into `/32` or `/128` form, keeps a CIDR
//! range as is, and leaves a host name alone (pg_hba.conf accepts all three).
//!
//! Guarantees: no secret is ever part of the context.

use std::net::IpAddr;

use ipnet::IpNet;
use minijinja::{context, Value};

use super::addresses::Addresses;
use super::error::RenderError;
use super::paths::{slot_name, EnginePaths, ADMIN_USER, REPLICATION_USER};
use super::settings::format_settings;
use crate::layout::{NodeLayout, PeerRef, Role};
use crate::model::{Cluster, Topology};

/// The context for rendering `node` of `cluster` with `paths`.
///
/// Errors: `[settings]` that cannot be written, `allowed_ips` entries that
/// are not addresses, a peer's host name without addresses.
pub(crate) fn build(
    cluster: &Cluster,
    node: &NodeLayout,
    paths: &EnginePaths,
    addresses: &Addresses,
) -> Result<Value, RenderError> {
    let settings =
        format_settings(cluster.engine, &cluster.settings).map_err(|errors| RenderError::Settings {
            cluster: cluster.name.clone(),
            errors,
        })?;
    let allowed_ips = cluster
        .allowed_ips
        .iter()
        .map(|ip| {
            to_cidr(ip).ok_or_else(|| RenderError::AllowedIp {
                cluster: cluster.name.clone(),
                value: ip.clone(),
            })
        })
        .collect::<Result<Vec<String>, RenderError>>()?;
    let settings = Value::from(settings);
    let port = cluster.port();
    let peer = |p: &PeerRef| -> Result<Value, RenderError> {
        let addresses = addresses.of(&p.host).map_err(|u| RenderError::Unresolved {
            cluster: cluster.name.clone(),
            node: p.name.clone(),
            unresolved: Box::new(u),
        })?;
        let cidrs: Vec<String> = addresses
            .into_iter()
            .map(|ip| IpNet::from(ip).to_string())
            .collect();
        Ok(
            context! { name => p.name.clone(), number => p.number, host => p.host.clone(), addresses => cidrs },
        )
    };
    let peers = node.peers.iter().map(peer).collect::<Result<Vec<Value>, _>>()?;
    let orphans = node.orphans.iter().map(peer).collect::<Result<Vec<Value>, _>>()?;
    Ok(context! {
        cluster => context! {
            name => cluster.name.clone(),
            engine => cluster.engine.as_str(),
            version => cluster.version.clone(),
            topology => cluster.topology.as_str(),
            port => port,
            allowed_ips => allowed_ips,
            extension_version => cluster.extension_version.clone(),
            settings => settings.clone(),
        },
        settings => settings,
        node => context! {
            name => node.name.clone(),
            number => node.number,
            host => node.host.clone(),
            role => node.role.as_str(),
            is_primary => node.role == Role::Primary,
            server_id => node.number,
            slot_name => slot_name(&node.name),
        },
        primary => node.primary.as_ref().map(|p| context! {
            name => p.name.clone(),
            host => p.host.clone(),
            port => port,
        }),
        peers => peers,
        orphans => orphans,
        paths => paths_value(paths),
        users => context! { admin => ADMIN_USER, replication => REPLICATION_USER },
        multi_master => (cluster.topology == Topology::MultiMaster).then(|| multi_master(node)),
    })
}

fn paths_value(p: &EnginePaths) -> Value {
    context! {
        config_dir => p.config_dir.clone(),
        secrets_file => p.secrets_file.clone(),
        data_dir => p.data_dir.clone(),
        run_dir => p.run_dir.clone(),
        socket => p.socket.clone(),
        pid_file => p.pid_file.clone(),
        log_dir => p.log_dir.clone(),
        log_file => p.log_file.clone(),
        user => p.user.clone(),
        group => p.group.clone(),
        server_binary => p.server_binary.clone(),
        bin_dir => p.bin_dir.clone(),
    }
}

/// Auto-increment spacing: every node gets its own residue modulo the node
/// count, by position in number order (1 for the lowest number).
fn multi_master(node: &NodeLayout) -> Value {
    let increment = node.peers.len() + 1;
    let offset = 1 + node.peers.iter().filter(|p| p.number < node.number).count();
    context! { increment => increment, offset => offset }
}

/// An address as a CIDR (`/32`, `/128`), a CIDR range as written, or none.
pub(crate) fn to_cidr(s: &str) -> Option<String> {
    if let Ok(addr) = s.parse::<IpAddr>() {
        return Some(IpNet::from(addr).to_string());
    }
    s.parse::<IpNet>().ok().map(|net| net.to_string())
}

/// The `cidr` filter: like [`to_cidr`], but a host name passes through.
pub(crate) fn cidr_filter(host: String) -> String {
    to_cidr(&host).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_cidrs() {
        assert_eq!(to_cidr("203.0.113.7").as_deref(), Some("203.0.113.7/32"));
        assert_eq!(to_cidr("2001:db8::1").as_deref(), Some("2001:db8::1/128"));
        assert_eq!(to_cidr("2001:db8::/48").as_deref(), Some("2001:db8::/48"));
        assert_eq!(to_cidr("10.0.0.0/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(to_cidr("db.example"), None);
        assert_eq!(cidr_filter("db.example".to_string()), "db.example");
    }
}
