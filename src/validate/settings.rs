//! `[settings]` as rendering will see them: every problem
//! [`format_settings`] would refuse, two spellings of one parameter, values
//! of the wrong kind for well-known parameters, and parameters of another
//! engine family (see `known_settings.rs`).

use super::known_settings::{self, Known, FAMILIES};
use super::{line_of, Input};
use crate::diag::Diagnostic;
use crate::load::doc::{escape, field_path, Doc};
use crate::model::{Cluster, Engine, Family};
use crate::render::{format_settings, normalise_key, SettingProblem};

/// Problems of every cluster's `[settings]`. A key whose field already has
/// an error in `so_far` (a managed key, a line break) is not judged again.
pub fn check(input: &Input<'_>, so_far: &[Diagnostic]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (file, c) in input.clusters {
        let Some(doc) = input.doc(file) else { continue };
        let reported = |field: &str| {
            so_far
                .iter()
                .any(|d| d.is_error() && d.file == *file && d.field.as_deref() == Some(field))
        };
        let problems = match format_settings(c.engine, &c.settings) {
            Ok(_) => Vec::new(),
            Err(errors) => errors,
        };
        let mut first_spelling: Vec<(String, &str)> = Vec::new();
        for key in in_text_order(c, doc) {
            let at = Setting::new(file, doc, key);
            if reported(&at.field) {
                continue;
            }
            let problem = problems
                .iter()
                .find(|p| p.key == key && !matches!(p.problem, SettingProblem::Duplicate(_)));
            if let Some(p) = problem {
                out.push(at.refused(&p.problem));
                continue;
            }
            let norm = normalise_key(c.engine, key);
            if let Some((_, first)) = first_spelling.iter().find(|(n, _)| *n == norm) {
                out.push(at.duplicate(c, first));
                continue;
            }
            first_spelling.push((norm.clone(), key));
            if let Some(d) = value_problem(c, &norm, &at) {
                out.push(d);
            }
        }
    }
    out
}

/// The keys of `[settings]` in the order the file has them.
fn in_text_order<'c>(c: &'c Cluster, doc: &Doc) -> Vec<&'c str> {
    let mut keys: Vec<(usize, &str)> = c
        .settings
        .keys()
        .map(|k| {
            let ptr = format!("/settings/{}", escape(k));
            (doc.key_span(&ptr).map_or(usize::MAX, |s| s.start), k.as_str())
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

/// A wrong value for a well-known parameter, or a parameter of another family.
fn value_problem(c: &Cluster, norm: &str, at: &Setting<'_>) -> Option<Diagnostic> {
    let family = c.engine.family();
    let value = c.settings.get(at.key)?;
    if let Some(known) = known_settings::lookup(family, norm) {
        return (!known.kind.accepts(family, value)).then(|| at.wrong_value(c, known));
    }
    let others: Vec<&str> = FAMILIES
        .into_iter()
        .filter(|f| *f != family)
        .filter(|f| known_settings::lookup(*f, &normalise_key_for(*f, at.key)).is_some())
        .map(known_settings::family_name)
        .collect();
    (!others.is_empty()).then(|| at.foreign(c, &others.join(" and ")))
}

/// `key` as a family spells it (any engine of the family spells it alike).
fn normalise_key_for(family: Family, key: &str) -> String {
    let engine = Engine::ALL
        .into_iter()
        .find(|e| e.family() == family)
        .unwrap_or(Engine::Mysql);
    normalise_key(engine, key)
}

/// One `[settings]` entry and where it is written.
struct Setting<'a> {
    file: &'a str,
    doc: &'a Doc,
    key: &'a str,
    ptr: String,
    field: String,
}

impl<'a> Setting<'a> {
    fn new(file: &'a str, doc: &'a Doc, key: &'a str) -> Setting<'a> {
        let ptr = format!("/settings/{}", escape(key));
        let field = field_path(&ptr);
        Setting {
            file,
            doc,
            key,
            ptr,
            field,
        }
    }

    fn error(&self, message: String) -> Diagnostic {
        Diagnostic::error(self.file, message).field(&self.field)
    }

    /// What rendering refuses: a bad name, a managed key, an unwritable value.
    fn refused(&self, problem: &SettingProblem) -> Diagnostic {
        let key = self.key;
        let (span, label, help) = match problem {
            SettingProblem::BadKey => (
                self.doc.key_span(&self.ptr),
                "invalid name",
                "setting names start with a letter, then letters, digits, '_', '-' and '.'".to_string(),
            ),
            SettingProblem::Managed => (
                self.doc.key_span(&self.ptr),
                "cannot be set in [settings]",
                format!("dbfleet sets {key} itself from the cluster's topology and nodes; remove it"),
            ),
            SettingProblem::ControlCharacter => (
                self.doc.value_span(&self.ptr),
                "control character",
                "settings are single-line values without tabs or other control characters".to_string(),
            ),
            SettingProblem::NotFinite | SettingProblem::Duplicate(_) => (
                self.doc.value_span(&self.ptr),
                "cannot be written",
                "write a finite number".to_string(),
            ),
        };
        self.error(format!("setting `{key}` {problem}"))
            .at(span)
            .label(label)
            .help(help)
    }

    /// The second spelling of a parameter.
    fn duplicate(&self, c: &Cluster, first: &str) -> Diagnostic {
        let norm = normalise_key(c.engine, self.key);
        let first_ptr = format!("/settings/{}", escape(first));
        let line = line_of(self.doc.key_span(&first_ptr), Some(self.doc.text.as_str()));
        let on_line = line.map(|l| format!(" on line {l}")).unwrap_or_default();
        self.error(format!(
            "`{}` names the same parameter as `{first}`{on_line}",
            self.key
        ))
        .at(self.doc.key_span(&self.ptr))
        .label(format!("second spelling of `{norm}`"))
        .help(format!("{} writes both as `{norm}`; keep one of them", c.engine))
    }

    /// A value the parameter does not take.
    fn wrong_value(&self, c: &Cluster, known: &Known) -> Diagnostic {
        let family = c.engine.family();
        let expected = known.kind.expected();
        self.error(format!(
            "`{}` must be {expected}, found {}",
            self.key,
            self.written()
        ))
        .at(self.doc.value_span(&self.ptr))
        .label(known.kind.label())
        .help(format!(
            "{} takes {}, e.g. `{} = {}`",
            known.name,
            known.kind.how(family),
            self.key,
            known.example
        ))
    }

    /// A parameter of another engine family.
    fn foreign(&self, c: &Cluster, families: &str) -> Diagnostic {
        Diagnostic::warning(
            self.file,
            format!(
                "`{}` is a {families} setting; {} does not know it",
                self.key, c.engine
            ),
        )
        .field(&self.field)
        .at(self.doc.key_span(&self.ptr))
        .label(format!("not a {} setting", c.engine))
        .help(format!(
            "{} refuses to start on a setting it does not know: remove it, or move it to the cluster it was meant for",
            c.engine
        ))
    }

    /// The value as the user wrote it.
    fn written(&self) -> String {
        let text = self
            .doc
            .value_span(&self.ptr)
            .and_then(|s| self.doc.text.get(s))
            .map(str::to_string);
        match text {
            Some(t) => format!("`{t}`"),
            None => "another value".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{diagnostics, mariadb};
    use crate::load::LoadContext;

    fn check(file: &str, text: &str) -> Vec<String> {
        diagnostics(&[(file, text)], &LoadContext::default())
    }

    #[test]
    fn two_spellings_are_one_error_at_the_second() {
        let text = mariadb("max_connections = 400\nmax-connections = 500");
        assert_eq!(
            check("clusters/db.toml", &text),
            [
                "clusters/db.toml:7:1: error: settings.max-connections: `max-connections` names the \
              same parameter as `max_connections` on line 6 | second spelling of `max_connections` \
              | mariadb writes both as `max_connections`; keep one of them"
            ]
        );
        // Text order decides which is second, not the order of the keys.
        let text = mariadb("max-connections = 500\nmax_connections = 400");
        let diags = check("clusters/db.toml", &text);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].starts_with(
            "clusters/db.toml:7:1: error: settings.max_connections: \
             `max_connections` names the same parameter as `max-connections` on line 6"
        ));
    }

    #[test]
    fn wrong_values_for_well_known_parameters() {
        let text = mariadb("max_connections = \"lots\"");
        assert_eq!(
            check("clusters/db.toml", &text),
            [
                "clusters/db.toml:6:19: error: settings.max_connections: `max_connections` must be an \
              integer from 1 to 100000, found `\"lots\"` | expected an integer from 1 to 100000 | \
              max_connections takes a whole number, e.g. `max_connections = 500`"
            ]
        );
        for (value, col) in [("-5", 19), ("400.5", 19)] {
            let diags = check(
                "clusters/db.toml",
                &mariadb(&format!("max_connections = {value}")),
            );
            assert_eq!(diags.len(), 1, "{diags:?}");
            assert!(
                diags[0].contains(&format!(":6:{col}: error: settings.max_connections: `max_connections` must be an integer from 1 to 100000, found `{value}`")),
                "{diags:?}"
            );
        }
        let ok = mariadb("max_connections = 500\ninnodb_buffer_pool_size = \"4G\"\nslow_query_log = \"ON\"");
        assert_eq!(check("clusters/db.toml", &ok), Vec::<String>::new());
    }

    #[test]
    fn sizes_take_the_familys_units() {
        let pg = "name = \"pg\"\nengine = \"postgresql\"\nversion = \"15\"\ntopology = \"single\"\n\
                  [settings]\nshared_buffers = \"1G\"\n[[nodes]]\nhost = \"10.0.0.11\"\n";
        assert_eq!(
            check("clusters/pg.toml", pg),
            [
                "clusters/pg.toml:6:18: error: settings.shared_buffers: `shared_buffers` must be a size, \
              found `\"1G\"` | expected a size | shared_buffers takes an integer in the parameter's unit, \
              or a string with a unit B, kB, MB, GB or TB (case matters), e.g. `shared_buffers = \"8GB\"`"
            ]
        );
    }

    #[test]
    fn a_setting_of_another_family_warns() {
        let text = mariadb("maxmemory_policy = \"allkeys-lru\"\nmax_connections = 10");
        assert_eq!(
            check("clusters/db.toml", &text),
            [
                "clusters/db.toml:6:1: warning: settings.maxmemory_policy: `maxmemory_policy` is a Redis \
              setting; mariadb does not know it | not a mariadb setting | mariadb refuses to start on a \
              setting it does not know: remove it, or move it to the cluster it was meant for"
            ]
        );
    }

    #[test]
    fn what_rendering_refuses_is_reported_once() {
        // `server_id` is managed: cluster.rs reports it, this module does not again.
        let text = mariadb("server_id = 3\n\"9lives\" = 1\nsql_mode = \"a\\tb\"");
        let diags = check("clusters/db.toml", &text);
        assert_eq!(diags.len(), 3, "{diags:?}");
        assert!(
            diags[0].contains("settings.server_id: `server_id` is managed by dbfleet"),
            "{diags:?}"
        );
        assert!(
            diags[1].starts_with(
                "clusters/db.toml:7:1: error: settings.9lives: setting `9lives` is not a parameter name"
            ),
            "{diags:?}"
        );
        assert!(
            diags[2].starts_with("clusters/db.toml:8:12: error: settings.sql_mode: setting `sql_mode` has a value with a control character"),
            "{diags:?}"
        );
    }
}
