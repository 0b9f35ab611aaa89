//! Repositories whose hosts never answer, for online commands without the
//! lab: TEST-NET addresses (192.0.2.0/24), a short connect timeout, and key
//! files and state kept outside the repository.

use super::git::TempRepo;

/// A repository holding `clusters` (file name, text) and a fleet.toml with
/// `connect_timeout = "1s"` and SSH key files in the returned directory,
/// which also holds the state (`<outside>/state`).
pub fn unreachable_repo(clusters: &[(&str, &str)]) -> (TempRepo, tempfile::TempDir) {
    let outside = tempfile::tempdir().expect("tempdir");
    let fleet = format!(
        "[ssh]\nconnect_timeout = \"1s\"\nidentity = \"{0}/id_ed25519\"\nknown_hosts = \"{0}/known_hosts\"\n",
        outside.path().display()
    );
    let mut files = vec![("fleet.toml".to_string(), fleet)];
    files.extend(
        clusters
            .iter()
            .map(|(name, text)| (format!("clusters/{name}"), text.to_string())),
    );
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    (TempRepo::with_files(&files), outside)
}
