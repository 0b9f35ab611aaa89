//! `dbfleet credentials CLUSTER`: the database user, password and
//! connection strings for the primary and the cluster's base name. The only
//! command that prints a secret, and only when asked by name.

use anyhow::{bail, Context};
use serde::Serialize;

use super::args::{CredentialsArgs, Format, Global};
use super::{exit, repo};
use crate::model::{Cluster, Family, Fleet};
use crate::render::ADMIN_USER;
use crate::state::StateStore as _;

#[derive(Debug, Serialize)]
struct Credentials {
    cluster: String,
    engine: String,
    user: String,
    password: String,
    primary: Endpoint,
    base_name: Option<Endpoint>,
}

#[derive(Debug, Serialize)]
struct Endpoint {
    host: String,
    port: u16,
    url: String,
}

pub fn run(g: &Global, a: &CredentialsArgs) -> anyhow::Result<u8> {
    let dir = a.repo.clone().unwrap_or_else(|| ".".into());
    let Ok(repo::Opened { loaded, store, .. }) = repo::open(g, &dir)? else {
        return Ok(exit::ERROR);
    };
    let Some(c) = loaded.repo.cluster(&a.cluster) else {
        bail!("no cluster named `{}` in {}", a.cluster, dir.display());
    };
    let Some(secrets) = crate::secrets::stored(store.dir(), c)? else {
        bail!(
            "cluster `{}` has no credentials yet: dbfleet creates them on the first apply",
            c.name
        );
    };
    let state = store.cluster(&c.name).context("reading the state")?;
    let primary_host = state
        .primary
        .clone()
        .or_else(|| c.nodes.first().map(|n| n.host.clone()))
        .unwrap_or_default();
    let user = match c.engine.family() {
        Family::Redis => "default".to_string(),
        _ => ADMIN_USER.to_string(),
    };
    let pw = &secrets.admin_password;
    let endpoint = |host: &str| Endpoint {
        host: host.to_string(),
        port: c.port(),
        url: url(c, &user, pw, host),
    };
    let creds = Credentials {
        cluster: c.name.clone(),
        engine: format!("{} {}", c.engine, c.version),
        user: user.clone(),
        password: pw.clone(),
        primary: endpoint(&primary_host),
        base_name: base_name(&loaded.repo.fleet, c).map(|h| endpoint(&h)),
    };
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&creds)?),
        Format::Text | Format::Markdown => {
            println!("cluster:   {} ({})", creds.cluster, creds.engine);
            println!("user:      {}", creds.user);
            println!("password:  {}", creds.password);
            println!("primary:   {}:{}", creds.primary.host, creds.primary.port);
            println!("           {}", creds.primary.url);
            if let Some(b) = &creds.base_name {
                println!("base name: {}:{}", b.host, b.port);
                println!("           {}", b.url);
            }
        }
    }
    Ok(exit::OK)
}

/// `<cluster>.<zone>` when the fleet manages DNS.
fn base_name(fleet: &Fleet, c: &Cluster) -> Option<String> {
    fleet
        .dns
        .as_ref()
        .map(|d| format!("{}.{}", c.name, d.zone.trim_end_matches('.')))
}

fn url(c: &Cluster, user: &str, password: &str, host: &str) -> String {
    let pw = encode(password);
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let port = c.port();
    match c.engine.family() {
        Family::Mysql => format!("mysql://{}:{pw}@{host}:{port}/", encode(user)),
        Family::Postgresql => format!("postgresql://{}:{pw}@{host}:{port}/postgres", encode(user)),
        Family::Redis => format!("redis://{}:{pw}@{host}:{port}/0", encode(user)),
    }
}

/// Percent-encode everything but unreserved characters (RFC 3986 userinfo).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn userinfo_is_percent_encoded() {
        assert_eq!(super::encode("a b@c:d/é"), "a%20b%40c%3Ad%2F%C3%A9");
        assert_eq!(super::encode("Abc-123_~."), "Abc-123_~.");
    }
}
