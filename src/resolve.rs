//! Looking up the nodes' host names, at the edge (plan and apply, never
//! validate): the system resolver (getaddrinfo: /etc/hosts, then DNS)
//! behind a small trait, into the [`Addresses`] map that rendering reads.
//! The pure core never resolves anything itself.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, ToSocketAddrs};

use crate::model::Repo;
use crate::render::Addresses;
use crate::source::Snapshot;
use crate::state::ClusterState;

/// Looks up one host name.
pub trait Resolve: Sync {
    /// The addresses of `name`, IPv4 first, each once.
    ///
    /// Errors: the resolver's reason, e.g. "Name or service not known".
    fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, String>;
}

/// The system's resolver, as every other program on this machine uses it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        let found = (name, 0u16).to_socket_addrs().map_err(|e| e.to_string())?;
        let mut ips: Vec<IpAddr> = found.map(|a| a.ip()).collect();
        ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
        ips.dedup();
        if ips.is_empty() {
            return Err("the name has no address".into());
        }
        Ok(ips)
    }
}

/// Every host name among `hosts` looked up once, side by side (a slow DNS
/// server costs its timeout once); addresses are left out of the map.
pub fn resolve<'h>(hosts: impl IntoIterator<Item = &'h str>, resolver: &dyn Resolve) -> Addresses {
    let names: BTreeSet<&str> = hosts
        .into_iter()
        .filter(|h| h.parse::<IpAddr>().is_err())
        .collect();
    let found = std::thread::scope(|s| {
        let lookups: Vec<_> = names
            .iter()
            .map(|name| (*name, s.spawn(move || resolver.lookup(name))))
            .collect();
        lookups
            .into_iter()
            .map(|(name, lookup)| {
                let result = lookup
                    .join()
                    .unwrap_or_else(|_| Err("the lookup failed".to_string()));
                if let Err(why) = &result {
                    tracing::debug!(host = name, "host name does not resolve: {why}");
                }
                (name.to_string(), result)
            })
            .collect::<BTreeMap<_, _>>()
    });
    Addresses::resolved(found)
}

/// The hosts of the repository's clusters and of the recorded state (nodes
/// removed from the files keep their access until deleted).
pub fn hosts_of<'a>(repo: &'a Repo, recorded: &'a BTreeMap<String, ClusterState>) -> BTreeSet<&'a str> {
    let listed = repo
        .clusters
        .iter()
        .flat_map(|c| c.nodes.iter().map(|n| n.host.as_str()));
    let kept = recorded
        .values()
        .flat_map(|s| s.allocations.live.keys().map(String::as_str));
    listed.chain(kept).collect()
}

/// The `host` of every `[[nodes]]` in the cluster files of `snapshot`, as
/// far as they parse (the base of `plan --base`, which may not validate).
pub fn hosts_in_files(snapshot: &Snapshot) -> BTreeSet<String> {
    snapshot
        .files
        .iter()
        .filter(|(path, _)| path.starts_with("clusters/"))
        .filter_map(|(_, text)| text.parse::<toml::Table>().ok())
        .flat_map(|t| {
            let nodes = t
                .get("nodes")
                .and_then(|n| n.as_array())
                .cloned()
                .unwrap_or_default();
            nodes
                .iter()
                .filter_map(|n| n.get("host").and_then(|h| h.as_str()).map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver that knows a fixed list, and counts nothing else.
    struct Fixed;

    impl Resolve for Fixed {
        fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, String> {
            match name {
                "db1.example.internal" => Ok(vec!["10.0.0.11".parse().unwrap()]),
                _ => Err("Name or service not known".into()),
            }
        }
    }

    #[test]
    fn names_are_looked_up_and_addresses_are_not() {
        let a = resolve(["10.0.0.12", "db1.example.internal", "db9.invalid"], &Fixed);
        assert_eq!(
            a.of("10.0.0.12").unwrap(),
            vec!["10.0.0.12".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(a.shown("db1.example.internal").len(), 1);
        assert_eq!(
            a.of("db9.invalid").unwrap_err().to_string(),
            "host name `db9.invalid` does not resolve: Name or service not known"
        );
    }

    /// `localhost` comes from /etc/hosts, with no network; `.invalid` never
    /// resolves (RFC 6761).
    #[test]
    fn the_system_resolver_knows_localhost_and_no_invalid_name() {
        let local = SystemResolver.lookup("localhost").unwrap();
        assert!(local.iter().all(|ip| ip.is_loopback()), "{local:?}");
        assert!(SystemResolver.lookup("db1.dbfleet-test.invalid").is_err());
    }

    #[test]
    fn hosts_are_read_from_cluster_files_that_parse() {
        let snap = Snapshot::in_memory([
            (
                "clusters/a.toml",
                "name = \"a\"\n[[nodes]]\nhost = \"db1.example.internal\"\n[[nodes]]\nhost = \"10.0.0.2\"\n",
            ),
            ("clusters/b.toml", "name = \"b\"\n[[nodes]\n"),
            ("fleet.toml", "[[nodes]]\nhost = \"not.a.node\"\n"),
        ]);
        let hosts: Vec<String> = hosts_in_files(&snap).into_iter().collect();
        assert_eq!(hosts, ["10.0.0.2", "db1.example.internal"]);
    }
}
