//! Applying changed settings to a running server with `SET GLOBAL`.

use super::host::Host;
use super::sql::{
    config_errors, is_number, literal, set_value, unquote_option, SqlError, READ_ONLY, SESSION_ONLY,
    UNKNOWN_VARIABLE, WRONG_TYPE,
};
use crate::engine::contract::Result;
use crate::engine::{ConfigChange, LiveOutcome};
use crate::transport::{Command, PREV_SUFFIX};

/// Suffix of the staged copy of a new my.cnf that the server checks.
const STAGED: &str = ".dbfleet-check";

impl Host<'_> {
    /// See [`crate::engine::Driver::apply_live`].
    ///
    /// The executor has checked the new file with [`Host::check_config`]
    /// before writing it. Each change is `SET GLOBAL key = value` (or
    /// `= DEFAULT` for a removed line). A read-only variable, an option
    /// that is no variable at all (`skip_...`, `plugin_load_add`) and the
    /// `[mysqld_safe]` group need a restart.
    pub(crate) async fn apply_live(&self, changes: &[ConfigChange]) -> Result<LiveOutcome> {
        if changes.is_empty() {
            return Ok(LiveOutcome::Applied);
        }
        if !self.ping().await? {
            return Err(self.other(format!("{} is not running", self.flavor.name())));
        }
        let mut restart = Vec::new();
        for change in changes {
            let key = change.key.as_str();
            if !super::sql::is_variable_name(key) {
                restart.push(change.key.clone());
                continue;
            }
            let value = change
                .value
                .as_deref()
                .map_or_else(|| "DEFAULT".to_string(), set_value);
            let mut result = self.set_global(key, &value).await?;
            if let (Err(e), Some(raw)) = (&result, change.value.as_deref()) {
                // A string variable given a bare number ("init_connect = 1").
                if e.is(WRONG_TYPE) && is_number(&value) {
                    result = self.set_global(key, &literal(&unquote_option(raw))).await?;
                }
            }
            match result {
                Ok(()) => {}
                Err(e) if e.is(READ_ONLY) || e.is(UNKNOWN_VARIABLE) || e.is(SESSION_ONLY) => {
                    restart.push(change.key.clone());
                }
                Err(e) => {
                    let shown = change.value.as_deref().unwrap_or("its default");
                    return Err(self.rejected(format!("setting {key} = {shown}"), e.message));
                }
            }
        }
        Ok(if restart.is_empty() {
            LiveOutcome::Applied
        } else {
            LiveOutcome::NeedsRestart(restart)
        })
    }

    async fn set_global(&self, key: &str, value: &str) -> Result<std::result::Result<(), SqlError>> {
        Ok(self
            .sql(&[format!("SET GLOBAL {key} = {value}")])
            .await?
            .map(drop))
    }

    /// See [`crate::engine::Driver::check_config`]: `content` as the server
    /// binary reads it (`mariadbd --help --verbose`, `mysqld
    /// --validate-config`) from a staged copy beside my.cnf; `Rejected`
    /// with the server's `[ERROR]` lines when it would not start on it.
    pub(crate) async fn check_config(&self, content: &str) -> Result<()> {
        let p = self.cx.paths;
        let Some(file) = p.config_files.first() else {
            return Ok(());
        };
        let staged = format!("{}{STAGED}", file.path);
        self.t
            .write_file(&staged, content.as_bytes(), file.mode, &file.owner, &file.group)
            .await?;
        let checked = self
            .run(&self.flavor.config_check(&p.server_binary, &staged, &p.user))
            .await;
        let prev = format!("{staged}{PREV_SUFFIX}");
        // Best effort: a staged copy left behind is replaced next time.
        let _ = self
            .run(&Command::new("rm").args(["-f", "--", &staged, &prev]))
            .await;
        let out = checked?;
        if out.success() {
            return Ok(());
        }
        let stderr = out.stderr_str();
        let errors = config_errors(&stderr);
        let message = if errors.is_empty() {
            stderr.trim().to_string()
        } else {
            errors.join("\n")
        };
        Err(self.rejected(format!("the configuration in {}", self.config()), message))
    }
}
