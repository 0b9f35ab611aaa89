//! Starting and stopping services: systemd where it is PID 1, directly
//! otherwise (containers, the test lab).

use serde::Serialize;

use crate::model::ServiceManager;
use crate::transport::{Command, Transport, TransportError};

/// How engines are started on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceMode {
    Systemd,
    Direct,
}

impl ServiceMode {
    pub fn is_systemd(self) -> bool {
        self == ServiceMode::Systemd
    }
}

/// Resolve the fleet's `service_manager` for a host: `auto` means systemd
/// when it is PID 1 (/run/systemd/system exists).
pub async fn detect_service_mode(
    t: &dyn Transport,
    setting: ServiceManager,
) -> Result<ServiceMode, TransportError> {
    match setting {
        ServiceManager::Systemd => Ok(ServiceMode::Systemd),
        ServiceManager::Direct => Ok(ServiceMode::Direct),
        ServiceManager::Auto => {
            let out = t.run(&service_command()).await?;
            Ok(if out.success() {
                ServiceMode::Systemd
            } else {
                ServiceMode::Direct
            })
        }
    }
}

/// What `auto` runs to tell: whether systemd is PID 1.
pub fn service_command() -> Command {
    Command::new("test").args(["-d", "/run/systemd/system"])
}
