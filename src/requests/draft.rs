//! A request file not written yet: its fields as given on the command line,
//! the TOML text (`action`, `cluster`, then the others in the model's
//! order), its name `requests/<date>-<action>-<target>.toml`, and whether
//! the repository with it added validates.

use crate::diag::Diagnostic;
use crate::load::{load, LoadContext};
use crate::source::Snapshot;

/// The fields of a request as given; a field the action does not take is
/// left for validation to name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// One of [`crate::model::Request::ACTIONS`].
    pub action: String,
    pub cluster: String,
    pub node: Option<String>,
    pub backup: Option<String>,
    pub source: Option<String>,
    pub timeout: Option<String>,
    /// The user confirmed that the request deletes (`--confirm`).
    pub confirm: bool,
}

/// Why a draft cannot become a request file, before any check of the
/// repository.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// remove-node or delete-cluster without the confirmation.
    #[error(
        "{action} deletes {what} `{name}` and must be confirmed: add --confirm to write confirm = \"{name}\""
    )]
    NotConfirmed {
        action: String,
        what: &'static str,
        name: String,
    },
    /// `--confirm` on a request that deletes nothing.
    #[error("{action} deletes nothing: --confirm is only for remove-node and delete-cluster")]
    NothingToConfirm { action: String },
}

impl Draft {
    /// What a deleting action deletes: ("node", name) or ("cluster", name).
    fn deletes(&self) -> Option<(&'static str, &str)> {
        match self.action.as_str() {
            "remove-node" => Some(("node", self.node.as_deref().unwrap_or_default())),
            "delete-cluster" => Some(("cluster", self.cluster.as_str())),
            _ => None,
        }
    }

    /// The node for promote and remove-node, else the cluster.
    fn target(&self) -> &str {
        match (self.action.as_str(), &self.node) {
            ("promote" | "remove-node", Some(node)) => node,
            _ => &self.cluster,
        }
    }

    /// The repository path of the file, dated `today` (`YYYY-MM-DD`).
    pub fn path(&self, today: &str) -> String {
        format!("requests/{today}-{}-{}.toml", self.action, self.target())
    }

    /// The TOML text of the file.
    ///
    /// Errors: a deleting action without [`Draft::confirm`], or
    /// `confirm` on one that deletes nothing.
    pub fn text(&self) -> Result<String, DraftError> {
        let confirm = match (self.deletes(), self.confirm) {
            (Some((_, name)), true) => Some(name.to_string()),
            (Some((what, name)), false) => {
                return Err(DraftError::NotConfirmed {
                    action: self.action.clone(),
                    what,
                    name: name.to_string(),
                })
            }
            (None, true) => {
                return Err(DraftError::NothingToConfirm {
                    action: self.action.clone(),
                })
            }
            (None, false) => None,
        };
        let fields = [
            ("action", Some(self.action.as_str())),
            ("cluster", Some(self.cluster.as_str())),
            ("node", self.node.as_deref()),
            ("backup", self.backup.as_deref()),
            ("source", self.source.as_deref()),
            ("confirm", confirm.as_deref()),
            ("timeout", self.timeout.as_deref()),
        ];
        Ok(fields
            .iter()
            .filter_map(|(key, value)| {
                value.map(|v| format!("{key} = {}\n", toml::Value::String(v.to_string())))
            })
            .collect())
    }
}

/// Load `snapshot` with the file `path` holding `text` added, as `validate`
/// does: the warnings when it validates, else every problem.
pub fn check(
    snapshot: &Snapshot,
    ctx: &LoadContext,
    path: &str,
    text: &str,
) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let mut with = snapshot.clone();
    with.files.insert(path.to_string(), text.to_string());
    load(&with, ctx).map(|loaded| loaded.warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(action: &str) -> Draft {
        Draft {
            action: action.into(),
            cluster: "shop".into(),
            ..Draft::default()
        }
    }

    #[test]
    fn fields_come_in_the_model_order_action_and_cluster_first() {
        let d = Draft {
            node: Some("shop3".into()),
            timeout: Some("10m".into()),
            ..draft("promote")
        };
        assert_eq!(
            d.text().unwrap(),
            "action = \"promote\"\ncluster = \"shop\"\nnode = \"shop3\"\ntimeout = \"10m\"\n"
        );
        assert_eq!(d.path("2026-11-30"), "requests/2026-11-30-promote-shop3.toml");
        assert_eq!(
            draft("backup").path("2026-11-30"),
            "requests/2026-11-30-backup-shop.toml"
        );
    }

    #[test]
    fn values_are_quoted_as_toml_strings() {
        let d = Draft {
            source: Some("mysql://app@old \"db\"/shop".into()),
            ..draft("migrate")
        };
        let text = d.text().unwrap();
        let back: toml::Table = text.parse().unwrap();
        assert_eq!(back["source"].as_str(), Some("mysql://app@old \"db\"/shop"));
    }

    #[test]
    fn deleting_requests_need_the_confirmation() {
        let remove = Draft {
            node: Some("shop2".into()),
            ..draft("remove-node")
        };
        assert_eq!(
            remove.text().unwrap_err().to_string(),
            "remove-node deletes node `shop2` and must be confirmed: add --confirm to write confirm = \"shop2\""
        );
        let confirmed = Draft {
            confirm: true,
            ..remove
        };
        assert!(confirmed
            .text()
            .unwrap()
            .ends_with("node = \"shop2\"\nconfirm = \"shop2\"\n"));
        let delete = Draft {
            confirm: true,
            ..draft("delete-cluster")
        };
        assert!(delete.text().unwrap().ends_with("confirm = \"shop\"\n"));
        assert!(matches!(
            Draft {
                confirm: true,
                ..draft("resync")
            }
            .text(),
            Err(DraftError::NothingToConfirm { .. })
        ));
    }
}
