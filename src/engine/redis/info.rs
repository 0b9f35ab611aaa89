//! What `INFO` and `<server> --version` say, pure: versions, role,
//! replication, and whether one server can full-sync from another.

use std::collections::BTreeMap;
use std::fmt;

use crate::engine::{parse_pairs, ObservedRole, Replication};
use crate::model::Engine;

/// `INFO` output as `field -> value`.
pub type Info = BTreeMap<String, String>;

pub fn parse_info(text: &str) -> Info {
    parse_pairs(text, ':')
}

/// Which server program a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Redis,
    Valkey,
    Keydb,
}

impl Flavor {
    pub fn of(engine: Engine) -> Flavor {
        match engine {
            Engine::Valkey => Flavor::Valkey,
            Engine::Keydb => Flavor::Keydb,
            _ => Flavor::Redis,
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::Redis => "Redis",
            Flavor::Valkey => "Valkey",
            Flavor::Keydb => "KeyDB",
        })
    }
}

/// A server program and its version, e.g. Valkey 9.1.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion {
    pub flavor: Flavor,
    pub version: String,
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.flavor, self.version)
    }
}

/// The server's own version from `INFO server`: Valkey reports
/// `redis_version:7.2.4` for compatibility and its real version in
/// `valkey_version`. KeyDB cannot be told from Redis by `INFO`, so
/// `engine` (the cluster's) decides between those two.
pub fn version_from_info(info: &Info, engine: Engine) -> Option<ServerVersion> {
    if info.get("server_name").map(String::as_str) == Some("valkey") || info.contains_key("valkey_version") {
        let version = info.get("valkey_version").or_else(|| info.get("redis_version"))?;
        return Some(ServerVersion {
            flavor: Flavor::Valkey,
            version: version.clone(),
        });
    }
    let version = info.get("redis_version")?;
    let flavor = match Flavor::of(engine) {
        Flavor::Keydb => Flavor::Keydb,
        _ => Flavor::Redis,
    };
    Some(ServerVersion {
        flavor,
        version: version.clone(),
    })
}

/// The version `<server> --version` prints: `Redis server v=7.0.15 sha=..`,
/// `Valkey server v=9.1.2 ..`, `KeyDB server v=6.3.4 ..`.
pub fn version_from_banner(text: &str) -> Option<ServerVersion> {
    let mut words = text.split_whitespace();
    let flavor = match words.next()?.to_ascii_lowercase().as_str() {
        "redis" => Flavor::Redis,
        "valkey" => Flavor::Valkey,
        "keydb" => Flavor::Keydb,
        _ => return None,
    };
    let version = words.find_map(|w| w.strip_prefix("v="))?;
    Some(ServerVersion {
        flavor,
        version: version.to_string(),
    })
}

/// `(major, minor)` of a version such as `7.0.15`.
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

/// The RDB format version a server writes, which is also the newest it
/// can load. `None` when the release is not in the table.
fn rdb_version(server: &ServerVersion) -> Option<u32> {
    let (major, minor) = major_minor(&server.version)?;
    match server.flavor {
        Flavor::Redis => Some(match (major, minor) {
            (..=5, _) => return None,
            (6, _) => 9,
            (7, 0..=1) => 10,
            (7, 2..=3) => 11,
            _ => 12,
        }),
        // Valkey forked from Redis 7.2.4 and still writes format 11 (a
        // Valkey 9.1.2 primary was seen sending 11 to a Redis 7.0 replica).
        Flavor::Valkey if major >= 7 => Some(11),
        // KeyDB 6.x is built on Redis 6.2.
        Flavor::Keydb if major == 6 => Some(9),
        _ => None,
    }
}

/// Why `replica` could not full-sync from `primary`, if it could not: a
/// replica loads the primary's snapshot, and a server refuses a snapshot
/// newer than its own format ("Can't handle RDB format version 11" from a
/// Redis 7.0 replica of a Valkey primary; it then retries forever).
/// Partial resyncs may work, but any reconnect after a gap needs a full
/// sync, so such a pairing is refused outright.
pub fn full_sync_problem(replica: &ServerVersion, primary: &ServerVersion) -> Option<String> {
    let (Some(theirs), Some(ours)) = (rdb_version(primary), rdb_version(replica)) else {
        return None;
    };
    (theirs > ours).then(|| {
        format!(
            "a {replica} replica cannot full-sync from a {primary} primary: the primary sends \
             RDB format {theirs} and the replica loads at most format {ours} (it would fail with \
             \"Can't handle RDB format version {theirs}\" and retry forever)"
        )
    })
}

/// The node's role as the engine reports it. KeyDB's `active-replica`
/// (multi-master) takes writes, so it counts as a primary.
pub fn role(info: &Info) -> Option<ObservedRole> {
    match info.get("role")?.as_str() {
        "master" | "active-replica" => Some(ObservedRole::Primary),
        "slave" | "replica" => Some(ObservedRole::Replica),
        _ => None,
    }
}

/// One upstream link of a replica, from `master_host` and friends (KeyDB
/// in multi-master lists more, as `master_1_host`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub host: String,
    pub port: Option<u16>,
    /// `master_link_status:up`: connected and the initial sync finished.
    pub up: bool,
    /// A full sync is being received.
    pub syncing: bool,
    /// Bytes of the current full sync read so far.
    pub sync_read_bytes: Option<u64>,
    /// Seconds since the last byte from the primary; only while up.
    pub last_io_seconds: Option<f64>,
}

/// Every upstream link in `info`, in the engine's order.
pub fn links(info: &Info) -> Vec<Link> {
    let mut prefixes: Vec<&str> = info
        .keys()
        .filter_map(|k| k.strip_suffix("_host"))
        .filter(|p| {
            *p == "master"
                || p.strip_prefix("master_")
                    .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .collect();
    prefixes.sort_by_key(|p| {
        p.strip_prefix("master_")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    prefixes
        .into_iter()
        .filter_map(|p| {
            let field = |name: &str| info.get(&format!("{p}_{name}"));
            let host = field("host")?.clone();
            let up = field("link_status").map(String::as_str) == Some("up");
            Some(Link {
                host,
                port: field("port").and_then(|v| v.parse().ok()),
                up,
                syncing: field("sync_in_progress").map(String::as_str) == Some("1"),
                sync_read_bytes: field("sync_read_bytes").and_then(|v| v.parse().ok()),
                last_io_seconds: field("last_io_seconds_ago")
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|s| up && *s >= 0.0),
            })
        })
        .collect()
}

/// The link to `host:port`, if the node replicates from it.
pub fn link_to<'a>(links: &'a [Link], host: &str, port: u16) -> Option<&'a Link> {
    links
        .iter()
        .find(|l| l.host == host && l.port.is_none_or(|p| p == port))
}

/// How far the replica's applied offset is behind the primary's.
pub fn offset_lag(primary: &Info, replica: &Info) -> Option<u64> {
    let theirs: u64 = primary.get("master_repl_offset")?.parse().ok()?;
    let ours: u64 = replica.get("slave_repl_offset")?.parse().ok()?;
    Some(theirs.saturating_sub(ours))
}

/// The replication a replica reports, without the byte lag (which needs
/// the primary's offset). With several links (KeyDB multi-master) it sums
/// them up: every source host, healthy only if every link is up, the
/// largest lag.
pub fn replication(links: &[Link]) -> Option<Replication> {
    if links.is_empty() {
        return None;
    }
    let source_host = links
        .iter()
        .map(|l| l.host.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let healthy = links.iter().all(|l| l.up && !l.syncing);
    let lag_seconds = if healthy {
        links.iter().filter_map(|l| l.last_io_seconds).reduce(f64::max)
    } else {
        None
    };
    Some(Replication {
        source_host,
        healthy,
        lag_seconds,
        lag_bytes: None,
        last_error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALKEY_SERVER: &str = "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\n\
        valkey_version:9.1.2\r\nprocess_id:18550\r\n";
    const REDIS_REPLICA: &str = "# Replication\r\nrole:slave\r\nmaster_host:10.231.0.11\r\n\
        master_port:6379\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:1\r\n\
        master_sync_in_progress:0\r\nslave_read_repl_offset:1000\r\nslave_repl_offset:990\r\n\
        master_repl_offset:990\r\n";

    fn v(flavor: Flavor, version: &str) -> ServerVersion {
        ServerVersion {
            flavor,
            version: version.into(),
        }
    }

    #[test]
    fn versions_from_info_and_banner() {
        let info = parse_info(VALKEY_SERVER);
        assert_eq!(
            version_from_info(&info, Engine::Valkey),
            Some(v(Flavor::Valkey, "9.1.2"))
        );
        // Valkey says so itself, whatever the cluster claims.
        assert_eq!(
            version_from_info(&info, Engine::Redis),
            Some(v(Flavor::Valkey, "9.1.2"))
        );
        let redis = parse_info("redis_version:7.0.15\r\n");
        assert_eq!(
            version_from_info(&redis, Engine::Redis),
            Some(v(Flavor::Redis, "7.0.15"))
        );
        assert_eq!(
            version_from_info(&redis, Engine::Keydb),
            Some(v(Flavor::Keydb, "7.0.15"))
        );
        assert_eq!(version_from_info(&parse_info("role:master"), Engine::Redis), None);

        let table = [
            (
                "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64",
                Some(v(Flavor::Redis, "7.0.15")),
            ),
            (
                "Valkey server v=9.1.2 sha=00000000:1 malloc=libc",
                Some(v(Flavor::Valkey, "9.1.2")),
            ),
            (
                "KeyDB server v=6.3.4 sha=7e7e5e57:0",
                Some(v(Flavor::Keydb, "6.3.4")),
            ),
            ("sh: 1: valkey-server: not found", None),
        ];
        for (banner, expected) in table {
            assert_eq!(version_from_banner(banner), expected, "{banner}");
        }
    }

    #[test]
    fn full_sync_compatibility() {
        let redis70 = v(Flavor::Redis, "7.0.15");
        let redis72 = v(Flavor::Redis, "7.2.4");
        let redis74 = v(Flavor::Redis, "7.4.1");
        let valkey = v(Flavor::Valkey, "9.1.2");
        // The lab's finding: Redis 7.0 cannot load a Valkey snapshot.
        let problem = full_sync_problem(&redis70, &valkey).expect("refused");
        assert_eq!(
            problem,
            "a Redis 7.0.15 replica cannot full-sync from a Valkey 9.1.2 primary: the primary \
             sends RDB format 11 and the replica loads at most format 10 (it would fail with \
             \"Can't handle RDB format version 11\" and retry forever)"
        );
        // ... while Valkey loads Redis 7.0's, and 7.2 reads Valkey's.
        assert_eq!(full_sync_problem(&valkey, &redis70), None);
        assert_eq!(full_sync_problem(&redis72, &valkey), None);
        // Same engine: an older replica is refused, equal or newer is fine.
        assert!(full_sync_problem(&redis70, &redis72).is_some());
        assert_eq!(full_sync_problem(&redis72, &redis70), None);
        assert_eq!(full_sync_problem(&redis70, &v(Flavor::Redis, "7.0.11")), None);
        assert!(full_sync_problem(&valkey, &redis74).is_some());
        // Unknown releases are not guessed at.
        assert_eq!(full_sync_problem(&v(Flavor::Redis, "5.0.7"), &valkey), None);
        assert_eq!(full_sync_problem(&v(Flavor::Redis, "bogus"), &valkey), None);
    }

    #[test]
    fn replica_links_and_lag() {
        let info = parse_info(REDIS_REPLICA);
        assert_eq!(role(&info), Some(ObservedRole::Replica));
        let links = links(&info);
        assert_eq!(
            links,
            vec![Link {
                host: "10.231.0.11".into(),
                port: Some(6379),
                up: true,
                syncing: false,
                sync_read_bytes: None,
                last_io_seconds: Some(1.0),
            }]
        );
        assert!(link_to(&links, "10.231.0.11", 6379).is_some());
        assert!(link_to(&links, "10.231.0.11", 6380).is_none());
        assert!(link_to(&links, "10.231.0.12", 6379).is_none());
        let primary = parse_info("role:master\r\nmaster_repl_offset:1500\r\n");
        assert_eq!(offset_lag(&primary, &info), Some(510));
        assert_eq!(role(&primary), Some(ObservedRole::Primary));
        assert_eq!(
            replication(&links),
            Some(Replication {
                source_host: "10.231.0.11".into(),
                healthy: true,
                lag_seconds: Some(1.0),
                lag_bytes: None,
                last_error: None,
            })
        );
        assert_eq!(replication(&super::links(&primary)), None);
    }

    #[test]
    fn a_link_that_is_down_or_syncing_is_not_healthy() {
        let down = parse_info(
            "role:slave\r\nmaster_host:h1\r\nmaster_port:6379\r\nmaster_link_status:down\r\n\
             master_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:1\r\nmaster_sync_read_bytes:4096\r\n",
        );
        let links = links(&down);
        assert_eq!(links[0].last_io_seconds, None);
        assert!(links[0].syncing);
        assert_eq!(links[0].sync_read_bytes, Some(4096));
        let r = replication(&links).unwrap();
        assert!(!r.healthy);
        assert_eq!(r.lag_seconds, None);
    }

    #[test]
    fn keydb_multi_master_lists_every_master() {
        let info = parse_info(
            "role:active-replica\r\nmaster_host:10.0.0.2\r\nmaster_port:6379\r\nmaster_link_status:up\r\n\
             master_last_io_seconds_ago:0\r\nmaster_1_host:10.0.0.3\r\nmaster_1_port:6379\r\n\
             master_1_link_status:up\r\nmaster_1_last_io_seconds_ago:3\r\nmaster_repl_offset:77\r\n",
        );
        assert_eq!(role(&info), Some(ObservedRole::Primary));
        let links = links(&info);
        assert_eq!(links.len(), 2);
        let r = replication(&links).unwrap();
        assert_eq!(r.source_host, "10.0.0.2,10.0.0.3");
        assert!(r.healthy);
        assert_eq!(r.lag_seconds, Some(3.0));
    }
}
