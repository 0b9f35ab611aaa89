//! Host key checking: the russh handler that accepts a server only when
//! its key is in known_hosts, and the choice of host key algorithms.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client;
use russh::keys::{check_known_hosts_path, Algorithm, HashAlg, PublicKey, PublicKeyOrCertificate};

use crate::transport::TransportError;

/// Host key algorithms to offer: those recorded for the host, in russh's
/// order of preference (as OpenSSH does), so that the server shows the key
/// known_hosts has. With nothing recorded, all of them (the key will be
/// refused as unknown anyway, with its fingerprint).
pub(super) fn preferred_for<'k>(recorded: impl Iterator<Item = &'k PublicKey>) -> russh::Preferred {
    let recorded: Vec<Algorithm> = recorded.map(PublicKey::algorithm).collect();
    let same = |a: &Algorithm, b: &Algorithm| {
        matches!((a, b), (Algorithm::Rsa { .. }, Algorithm::Rsa { .. })) || a == b
    };
    let mut preferred = russh::Preferred::default();
    let keys: Vec<Algorithm> = preferred
        .key
        .iter()
        .filter(|a| recorded.iter().any(|r| same(a, r)))
        .cloned()
        .collect();
    if !keys.is_empty() {
        preferred.key = keys.into();
    }
    preferred
}

/// The russh event handler: checks the server's host key.
pub(super) struct Client {
    pub host: String,
    pub port: u16,
    pub known_hosts: PathBuf,
}

#[derive(Debug)]
pub(super) enum ClientError {
    Ssh(russh::Error),
    HostKey(TransportError),
}

impl From<russh::Error> for ClientError {
    fn from(e: russh::Error) -> Self {
        ClientError::Ssh(e)
    }
}

impl client::Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> std::result::Result<bool, ClientError> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            return Err(ClientError::Ssh(russh::Error::UnknownKey));
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let refused = match check_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
            Ok(true) => return Ok(true),
            Ok(false) => TransportError::HostKeyUnknown {
                host: self.host.clone(),
                fingerprint,
                known_hosts: self.known_hosts.clone(),
            },
            Err(russh::keys::Error::KeyChanged { line }) => TransportError::HostKeyChanged {
                host: self.host.clone(),
                fingerprint,
                known_hosts: self.known_hosts.clone(),
                line: file_line(&self.known_hosts, line),
            },
            Err(e) => TransportError::KnownHosts {
                host: self.host.clone(),
                known_hosts: self.known_hosts.clone(),
                cause: Arc::new(e),
            },
        };
        tracing::warn!(host = %self.host, error = %refused, "host key refused");
        Err(ClientError::HostKey(refused))
    }
}

/// russh numbers known_hosts lines without counting comment lines; this
/// turns its number into the line an editor shows.
fn file_line(path: &Path, russh_line: usize) -> usize {
    let Ok(text) = std::fs::read_to_string(path) else {
        return russh_line;
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
        .nth(russh_line.saturating_sub(1))
        .map_or(russh_line, |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_line_numbers_count_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, "# a\nh1 ssh-ed25519 AAAA\n# b\n\nh2 ssh-ed25519 BBBB\n").unwrap();
        // russh's 1st and 3rd non-comment lines.
        assert_eq!(file_line(&path, 1), 2);
        assert_eq!(file_line(&path, 3), 5);
        assert_eq!(file_line(&dir.path().join("absent"), 7), 7);
    }

    #[test]
    fn host_key_algorithms_follow_known_hosts() {
        let ed = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        let key = russh::keys::parse_public_key_base64(ed).unwrap();
        let preferred = preferred_for([&key].into_iter());
        assert_eq!(&*preferred.key, &[Algorithm::Ed25519]);
        let all = preferred_for(std::iter::empty());
        assert_eq!(all.key, russh::Preferred::default().key);
    }
}
