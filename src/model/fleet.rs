use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Secret;

/// Fleet-wide settings: `fleet.toml` (optional; every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
#[schemars(title = "dbfleet fleet file")]
pub struct Fleet {
    /// The embedded inventory store; relative paths are relative to the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<String>,
    #[serde(default)]
    pub ssh: SshSettings,
    #[serde(default)]
    pub hosts: HostSettings,
    #[serde(default)]
    pub backup: FleetBackup,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSettings>,
}

/// `[ssh]`: how dbfleet reaches the hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SshSettings {
    pub user: String,
    /// Private key file; never inside the repository.
    pub identity: String,
    pub known_hosts: String,
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Hosts worked on at once.
    #[schemars(range(min = 1, max = 1024))]
    pub parallel: u32,
    /// e.g. "10s", "1m".
    pub connect_timeout: String,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            user: "root".into(),
            identity: "~/.ssh/id_ed25519".into(),
            known_hosts: "~/.ssh/known_hosts".into(),
            port: 22,
            parallel: 16,
            connect_timeout: "10s".into(),
        }
    }
}

/// `[hosts]`: what dbfleet may do on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HostSettings {
    /// Install the engine with apt-get/dnf when missing.
    pub install_packages: bool,
    pub service_manager: ServiceManager,
}

/// How engines are started and stopped on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum ServiceManager {
    /// systemd when it is PID 1, direct otherwise.
    #[default]
    Auto,
    /// The engine's systemd unit, through systemctl.
    Systemd,
    /// dbfleet starts and stops the server process itself.
    Direct,
}

/// `[backup]` of the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FleetBackup {
    /// Directory on the machine that runs dbfleet.
    pub dir: String,
}

impl Default for FleetBackup {
    fn default() -> Self {
        FleetBackup {
            dir: "/var/lib/dbfleet/backups".into(),
        }
    }
}

/// `[notify]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailSettings>,
}

/// `notify.email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// smtp://host:port or smtps://host:port
    pub smtp: String,
    pub from: String,
    #[schemars(length(min = 1))]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

/// `[dns]`: RFC 2136 updates of the clusters' base names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSettings {
    /// host:port of the DNS server.
    pub server: String,
    pub zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_key: Option<Secret>,
}
