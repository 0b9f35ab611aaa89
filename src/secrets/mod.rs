//! Database passwords: read from `{ env }` / `{ file }` references, or
//! generated once and kept in the state directory (`secrets/<cluster>.json`,
//! mode 0600, directory 0700). Never logged, never rendered into a template.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::engine::Secrets;
use crate::model::{Cluster, Secret};
use crate::state::write_atomic;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cluster {cluster}: environment variable {name} (passwords.{field}) is not set")]
    MissingEnv {
        cluster: String,
        field: String,
        name: String,
    },
    #[error("cluster {cluster}: cannot read {path} (passwords.{field})")]
    File {
        cluster: String,
        field: String,
        path: String,
        source: std::io::Error,
    },
    #[error("cluster {cluster}: passwords.{field} is empty")]
    Empty { cluster: String, field: String },
    #[error("secrets store {path}: {message}")]
    Store { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    admin: Option<String>,
    #[serde(default)]
    replication: Option<String>,
}

/// The passwords of `cluster`: references are read; missing ones are taken
/// from the store under `state_dir`, or generated and stored.
pub fn resolve(state_dir: &Path, cluster: &Cluster) -> Result<Secrets, SecretError> {
    let path = state_dir.join("secrets").join(format!("{}.json", cluster.name));
    let store_err = |message: String| SecretError::Store {
        path: path.clone(),
        message,
    };
    let mut stored: Stored = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| store_err(e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored::default(),
        Err(e) => return Err(store_err(e.to_string())),
    };
    let refs = cluster.passwords.clone().unwrap_or(crate::model::Passwords {
        admin: None,
        replication: None,
    });
    let mut changed = false;
    let mut pick =
        |field: &str, reference: Option<&Secret>, slot: &mut Option<String>| -> Result<String, SecretError> {
            if let Some(r) = reference {
                return read_reference(&cluster.name, field, r);
            }
            if let Some(v) = slot {
                return Ok(v.clone());
            }
            let v = generate();
            *slot = Some(v.clone());
            changed = true;
            Ok(v)
        };
    let admin = pick("admin", refs.admin.as_ref(), &mut stored.admin)?;
    let replication = pick("replication", refs.replication.as_ref(), &mut stored.replication)?;
    if changed {
        let bytes = serde_json::to_vec_pretty(&stored).map_err(|e| store_err(e.to_string()))?;
        write_atomic(&path, &bytes, 0o600).map_err(|e| store_err(e.to_string()))?;
    }
    Ok(Secrets {
        admin_password: admin,
        replication_password: replication,
    })
}

/// The passwords as far as they exist, generating nothing (for observing
/// before anything was applied: a missing password is empty).
pub fn peek(state_dir: &Path, cluster: &Cluster) -> Secrets {
    let path = state_dir.join("secrets").join(format!("{}.json", cluster.name));
    let stored: Stored = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let refs = cluster.passwords.clone().unwrap_or(crate::model::Passwords {
        admin: None,
        replication: None,
    });
    let get = |field: &str, r: Option<&Secret>, s: Option<String>| match r {
        Some(r) => read_reference(&cluster.name, field, r).unwrap_or_default(),
        None => s.unwrap_or_default(),
    };
    Secrets {
        admin_password: get("admin", refs.admin.as_ref(), stored.admin),
        replication_password: get("replication", refs.replication.as_ref(), stored.replication),
    }
}

/// The stored passwords of a cluster without generating any (for `credentials`).
pub fn stored(state_dir: &Path, cluster: &Cluster) -> Result<Option<Secrets>, SecretError> {
    let path = state_dir.join("secrets").join(format!("{}.json", cluster.name));
    if !path.exists() && cluster.passwords.is_none() {
        return Ok(None);
    }
    resolve(state_dir, cluster).map(Some)
}

fn read_reference(cluster: &str, field: &str, r: &Secret) -> Result<String, SecretError> {
    let value = match r {
        Secret::Env(name) => std::env::var(name).map_err(|_| SecretError::MissingEnv {
            cluster: cluster.to_string(),
            field: field.to_string(),
            name: name.clone(),
        })?,
        Secret::File(p) => {
            let expanded = expand_home(p);
            std::fs::read_to_string(&expanded).map_err(|source| SecretError::File {
                cluster: cluster.to_string(),
                field: field.to_string(),
                path: p.clone(),
                source,
            })?
        }
    };
    let value = value.trim_end_matches(['\n', '\r']).to_string();
    if value.is_empty() {
        return Err(SecretError::Empty {
            cluster: cluster.to_string(),
            field: field.to_string(),
        });
    }
    Ok(value)
}

/// 32 random characters from [A-Za-z0-9]: safe in every config syntax.
fn generate() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// `~/x` -> `$HOME/x`.
pub fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn cluster(passwords: Option<crate::model::Passwords>) -> Cluster {
        let mut c: Cluster = toml::from_str(
            "name = \"c\"\nengine = \"redis\"\nversion = \"7.0\"\ntopology = \"single\"\n[[nodes]]\nhost = \"10.0.0.1\"\n",
        )
        .expect("cluster");
        c.passwords = passwords;
        c
    }

    #[test]
    fn generated_once_then_kept_private() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = resolve(dir.path(), &cluster(None)).expect("resolve");
        let b = resolve(dir.path(), &cluster(None)).expect("resolve");
        assert_eq!(a, b);
        assert_eq!(a.admin_password.len(), 32);
        assert_ne!(a.admin_password, a.replication_password);
        let meta = std::fs::metadata(dir.path().join("secrets/c.json")).expect("file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dmeta = std::fs::metadata(dir.path().join("secrets")).expect("dir");
        assert_eq!(dmeta.permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn references_are_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\n").expect("write");
        let c = cluster(Some(crate::model::Passwords {
            admin: Some(Secret::File(f.display().to_string())),
            replication: Some(Secret::Env("DBFLEET_TEST_NO_SUCH_VAR".into())),
        }));
        let err = resolve(dir.path(), &c).expect_err("env missing");
        assert_eq!(
            err.to_string(),
            "cluster c: environment variable DBFLEET_TEST_NO_SUCH_VAR (passwords.replication) is not set"
        );
        let c = cluster(Some(crate::model::Passwords {
            admin: Some(Secret::File(f.display().to_string())),
            replication: None,
        }));
        assert_eq!(resolve(dir.path(), &c).expect("ok").admin_password, "from-file");
    }
}
