//! The firewall of a node: an nftables ruleset enforcing the cluster's
//! `allowed_ips` on the engine port, rendered from
//! `templates/nftables/dbfleet.nft.j2` like any other configuration file.
//!
//! dbfleet owns one table, `inet dbfleet`, on every host. Each cluster has
//! its own chain in it (`cluster-<name>`, hooked on input) and its own file
//! (`/etc/nftables.d/dbfleet-<name>.nft`), so clusters of different engines
//! sharing a host never overwrite each other's rules. Loading the file with
//! `nft -f` empties and refills the chain in one transaction.
//!
//! The rules: loopback accepted; the fleet's SSH port accepted from
//! anywhere; when `allowed_ips` is set, the engine port accepted from every
//! node of the cluster and from each entry, then rejected with a TCP reset
//! for everyone else. When it is empty the engine port stays open.
//!
//! A node given by host name is let in by every address the name resolved
//! to (looked up before rendering, see [`Addresses`]); a name without
//! addresses is a render error (the firewall could not let it replicate).

use std::net::IpAddr;

use minijinja::{context, Value};

use super::addresses::Addresses;
use super::error::RenderError;
use crate::layout::NodeLayout;
use crate::model::Cluster;
use crate::validate::parse_allowed;

/// The nftables table dbfleet owns on every host (family `inet`).
pub const FIREWALL_TABLE: &str = "dbfleet";

/// Where a cluster's ruleset is written on each of its nodes. The lab keeps
/// `/etc/nftables.d` private per host; on a real host nftables' own service
/// may include the folder at boot, and dbfleet reloads it when it is missing.
pub fn firewall_path(cluster: &str) -> String {
    format!("/etc/nftables.d/dbfleet-{cluster}.nft")
}

/// The cluster's chain in `table inet dbfleet`. The prefix keeps a cluster
/// called `fwd` or `ip6` from clashing with an nft keyword.
pub fn firewall_chain(cluster: &str) -> String {
    format!("cluster-{cluster}")
}

/// The `firewall` value of the firewall template's context.
///
/// Errors: an `allowed_ips` entry that is not an address or range; with
/// `allowed_ips` set, a node whose host name has no addresses.
pub(crate) fn context(
    cluster: &Cluster,
    node: &NodeLayout,
    ssh_port: u16,
    addresses: &Addresses,
) -> Result<Value, RenderError> {
    let restricted = !cluster.allowed_ips.is_empty();
    let mut all: Vec<(u32, &str, &str)> = node
        .peers
        .iter()
        .chain(node.orphans.iter())
        .map(|p| (p.number, p.name.as_str(), p.host.as_str()))
        .chain([(node.number, node.name.as_str(), node.host.as_str())])
        .collect();
    all.sort_by_key(|(number, _, _)| *number);
    let mut nodes = Vec::new();
    for (_, name, host) in all {
        match addresses.of(host) {
            Ok(ips) => nodes.extend(ips.into_iter().map(|ip| {
                context! {
                    name => name,
                    host => ip.to_string(),
                    family => family(ip),
                }
            })),
            Err(u) if restricted => {
                return Err(RenderError::Unresolved {
                    cluster: cluster.name.clone(),
                    node: name.to_string(),
                    unresolved: Box::new(u),
                })
            }
            Err(_) => {}
        }
    }
    let allowed = cluster
        .allowed_ips
        .iter()
        .map(|entry| {
            let net = parse_allowed(entry).ok_or_else(|| RenderError::AllowedIp {
                cluster: cluster.name.clone(),
                value: entry.clone(),
            })?;
            Ok(context! { net => net.trunc().to_string(), family => family(net.addr()) })
        })
        .collect::<Result<Vec<Value>, RenderError>>()?;
    Ok(context! {
        path => firewall_path(&cluster.name),
        table => FIREWALL_TABLE,
        chain => firewall_chain(&cluster.name),
        ssh_port => ssh_port,
        port => cluster.port(),
        restricted => restricted,
        nodes => nodes,
        allowed => allowed,
    })
}

/// The nft keyword matching an address's family: `ip` or `ip6`.
fn family(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "ip",
        IpAddr::V6(_) => "ip6",
    }
}
