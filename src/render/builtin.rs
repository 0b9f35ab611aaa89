//! The built-in templates, embedded in the binary from `templates/`: one
//! folder per engine, and `nftables/` for the firewall every node gets.

use crate::model::Engine;

/// One built-in template.
pub(crate) struct BuiltIn {
    /// Folder inside `templates/`: an engine's name, or [`FIREWALL_DIR`].
    pub dir: &'static str,
    /// File name inside `templates/<dir>/`.
    pub file: &'static str,
    pub source: &'static str,
}

/// The folder of the firewall template, shared by every engine.
pub(crate) const FIREWALL_DIR: &str = "nftables";
/// The firewall template's file name inside [`FIREWALL_DIR`].
pub(crate) const FIREWALL_FILE: &str = "dbfleet.nft.j2";

macro_rules! builtin {
    ($dir:literal, $file:literal) => {
        BuiltIn {
            dir: $dir,
            file: $file,
            source: include_str!(concat!("../../templates/", $dir, "/", $file)),
        }
    };
}

pub(crate) const BUILTINS: &[BuiltIn] = &[
    builtin!("mysql", "my.cnf.j2"),
    builtin!("mariadb", "my.cnf.j2"),
    builtin!("postgresql", "postgresql.conf.j2"),
    builtin!("postgresql", "pg_hba.conf.j2"),
    builtin!("postgresql", "pg_ident.conf.j2"),
    builtin!("timescaledb", "postgresql.conf.j2"),
    builtin!("timescaledb", "pg_hba.conf.j2"),
    builtin!("timescaledb", "pg_ident.conf.j2"),
    builtin!("hydra", "postgresql.conf.j2"),
    builtin!("hydra", "pg_hba.conf.j2"),
    builtin!("hydra", "pg_ident.conf.j2"),
    builtin!("redis", "redis.conf.j2"),
    builtin!("valkey", "valkey.conf.j2"),
    builtin!("keydb", "keydb.conf.j2"),
    builtin!("nftables", "dbfleet.nft.j2"),
];

impl BuiltIn {
    /// The template's name inside the renderer: `<dir>/<file>`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.dir, self.file)
    }

    /// Whether this is one of `engine`'s own templates.
    pub fn is_for(&self, engine: Engine) -> bool {
        self.dir == engine.as_str()
    }
}

/// `<engine>/<file>`, the name a template is registered and reported under.
pub(crate) fn template_name(engine: Engine, file: &str) -> String {
    format!("{engine}/{file}")
}

/// `nftables/dbfleet.nft.j2`, the firewall template's name.
pub(crate) fn firewall_template_name() -> String {
    format!("{FIREWALL_DIR}/{FIREWALL_FILE}")
}

/// The repository path of a template name: `templates/<engine>/<file>`.
pub(crate) fn repo_path(name: &str) -> String {
    format!("templates/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::paths::engine_paths;

    #[test]
    fn every_config_file_has_exactly_one_builtin() {
        for engine in Engine::ALL {
            for f in engine_paths(engine, "15").config_files {
                let n = BUILTINS
                    .iter()
                    .filter(|b| b.is_for(engine) && b.file == f.template)
                    .count();
                assert_eq!(n, 1, "{engine}/{}", f.template);
            }
        }
        let files: usize = Engine::ALL
            .iter()
            .map(|e| engine_paths(*e, "15").config_files.len())
            .sum();
        // ... plus the firewall template, which belongs to no engine.
        assert_eq!(files + 1, BUILTINS.len());
        assert_eq!(
            BUILTINS
                .iter()
                .filter(|b| b.name() == firewall_template_name())
                .count(),
            1
        );
    }

    #[test]
    fn postgresql_family_shares_its_access_files() {
        let source = |engine, file| {
            BUILTINS
                .iter()
                .find(|b| b.is_for(engine) && b.file == file)
                .map(|b| b.source)
        };
        for file in ["pg_hba.conf.j2", "pg_ident.conf.j2"] {
            for engine in [Engine::Timescaledb, Engine::Hydra] {
                assert_eq!(
                    source(engine, file),
                    source(Engine::Postgresql, file),
                    "{engine}/{file}"
                );
            }
        }
    }
}
