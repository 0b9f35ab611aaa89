//! The built-in templates, embedded in the binary from `templates/`.

use crate::model::Engine;

/// One built-in template.
pub(crate) struct BuiltIn {
    pub engine: Engine,
    /// File name inside `templates/<engine>/`.
    pub file: &'static str,
    pub source: &'static str,
}

macro_rules! builtin {
    ($engine:ident, $dir:literal, $file:literal) => {
        BuiltIn {
            engine: Engine::$engine,
            file: $file,
            source: include_str!(concat!("../../templates/", $dir, "/", $file)),
        }
    };
}

pub(crate) const BUILTINS: &[BuiltIn] = &[
    builtin!(Mysql, "mysql", "my.cnf.j2"),
    builtin!(Mariadb, "mariadb", "my.cnf.j2"),
    builtin!(Postgresql, "postgresql", "postgresql.conf.j2"),
    builtin!(Postgresql, "postgresql", "pg_hba.conf.j2"),
    builtin!(Postgresql, "postgresql", "pg_ident.conf.j2"),
    builtin!(Timescaledb, "timescaledb", "postgresql.conf.j2"),
    builtin!(Timescaledb, "timescaledb", "pg_hba.conf.j2"),
    builtin!(Timescaledb, "timescaledb", "pg_ident.conf.j2"),
    builtin!(Hydra, "hydra", "postgresql.conf.j2"),
    builtin!(Hydra, "hydra", "pg_hba.conf.j2"),
    builtin!(Hydra, "hydra", "pg_ident.conf.j2"),
    builtin!(Redis, "redis", "redis.conf.j2"),
    builtin!(Valkey, "valkey", "valkey.conf.j2"),
    builtin!(Keydb, "keydb", "keydb.conf.j2"),
];

impl BuiltIn {
    /// The template's name inside the renderer: `<engine>/<file>`.
    pub fn name(&self) -> String {
        template_name(self.engine, self.file)
    }
}

/// `<engine>/<file>`, the name a template is registered and reported under.
pub(crate) fn template_name(engine: Engine, file: &str) -> String {
    format!("{engine}/{file}")
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
                    .filter(|b| b.engine == engine && b.file == f.template)
                    .count();
                assert_eq!(n, 1, "{engine}/{}", f.template);
            }
        }
        let files: usize = Engine::ALL
            .iter()
            .map(|e| engine_paths(*e, "15").config_files.len())
            .sum();
        assert_eq!(files, BUILTINS.len());
    }

    #[test]
    fn postgresql_family_shares_its_access_files() {
        let source = |engine, file| {
            BUILTINS
                .iter()
                .find(|b| b.engine == engine && b.file == file)
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
