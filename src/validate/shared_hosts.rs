//! Several clusters on one host: allowed when their engines keep out of each
//! other's way (no file, directory, socket or port in common), as a Redis
//! and a MariaDB cluster do. Two clusters of one engine family share the
//! distribution's paths, so they never fit on one host.

use crate::model::Cluster;
use crate::render::engine_paths;

/// Why `a` and `b` cannot run on the same host, if they cannot.
pub fn clash(a: &Cluster, b: &Cluster) -> Option<String> {
    if a.port() == b.port() {
        return Some(format!("both listen on port {}", a.port()));
    }
    let (pa, pb) = (
        engine_paths(a.engine, &a.version),
        engine_paths(b.engine, &b.version),
    );
    let owned = |p: &crate::render::EnginePaths| -> Vec<String> {
        let mut v: Vec<String> = p.config_files.iter().map(|f| f.path.clone()).collect();
        v.extend(p.secrets_file.clone());
        v.extend([
            p.data_dir.clone(),
            p.socket.clone(),
            p.pid_file.clone(),
            p.log_file.clone(),
        ]);
        v
    };
    let theirs = owned(&pb);
    owned(&pa)
        .into_iter()
        .find(|path| theirs.contains(path))
        .map(|path| format!("both use {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(engine: &str, version: &str, port: Option<u16>) -> Cluster {
        let port = port.map(|p| format!("port = {p}\n")).unwrap_or_default();
        toml::from_str(&format!(
            "name = \"c\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"single\"\n{port}[[nodes]]\nhost = \"10.0.0.1\"\n"
        ))
        .unwrap()
    }

    #[test]
    fn different_engine_families_fit_on_one_host() {
        let redis = cluster("redis", "7.0", None);
        let maria = cluster("mariadb", "10.11", None);
        let pg = cluster("postgresql", "16", None);
        assert_eq!(clash(&redis, &maria), None);
        assert_eq!(clash(&maria, &pg), None);
        assert_eq!(clash(&pg, &redis), None);
    }

    #[test]
    fn same_port_or_same_paths_do_not() {
        let redis = cluster("redis", "7.0", None);
        let keydb = cluster("keydb", "6.3", None);
        assert_eq!(clash(&redis, &keydb).as_deref(), Some("both listen on port 6379"));
        let other_port = cluster("redis", "7.2", Some(6380));
        assert_eq!(
            clash(&redis, &other_port).as_deref(),
            Some("both use /etc/redis/redis.conf")
        );
        let maria = cluster("mariadb", "10.11", None);
        let mysql = cluster("mysql", "8.0", Some(3307));
        assert_eq!(
            clash(&maria, &mysql).as_deref(),
            Some("both use /etc/mysql/my.cnf")
        );
        let pg15 = cluster("postgresql", "15", None);
        let pg16 = cluster("postgresql", "16", Some(5433));
        assert_eq!(
            clash(&pg15, &pg16).as_deref(),
            Some("both use /var/lib/postgresql/.pgpass")
        );
    }
}
