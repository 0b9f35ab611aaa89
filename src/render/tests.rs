//! Renderer tests across engines: overrides, error locations, the context
//! contract, and the agreement between templates and `managed_keys`.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::layout::{layout, Allocations, NodeLayout};
use crate::model::{Cluster, Engine, Family, SettingValue, Topology};

fn cluster(engine: Engine, topology: Topology) -> Cluster {
    let version = engine.versions().last().copied().unwrap_or("1");
    let nodes = match topology {
        Topology::Single => 1,
        Topology::PrimaryReplica => 3,
        Topology::MultiMaster => 2,
    };
    let hosts: String = (1..=nodes)
        .map(|n| format!("[[nodes]]\nhost = \"10.0.0.{}\"\n", 10 + n))
        .collect();
    let text = format!(
        "name = \"c\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"{}\"\n{hosts}",
        topology.as_str()
    );
    toml::from_str(&text).unwrap()
}

fn nodes(c: &Cluster) -> Vec<NodeLayout> {
    layout(c, &Allocations::default(), None)
}

fn shapes() -> Vec<(Engine, Topology)> {
    let topologies = [Topology::Single, Topology::PrimaryReplica, Topology::MultiMaster];
    Engine::ALL
        .into_iter()
        .flat_map(|e| {
            topologies
                .into_iter()
                .filter(move |t| e.supports(*t))
                .map(move |t| (e, t))
        })
        .collect()
}

fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Keys the file sets outside the `# from [settings]` block, by section
/// (MySQL's `[section]`; one unnamed section elsewhere), with repeats.
fn template_keys(family: Family, content: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in content.lines() {
        let line = line.trim();
        if line == "# from [settings]" {
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if family == Family::Mysql && line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let key = match family {
            Family::Redis => line.split_whitespace().next(),
            _ => line.split('=').next().map(str::trim),
        };
        if let Some(key) = key {
            out.push((section.clone(), key.to_string()));
        }
    }
    out
}

#[test]
fn builtins_render_for_every_shape_and_node() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    for (engine, topology) in shapes() {
        let c = cluster(engine, topology);
        for node in nodes(&c) {
            let files = r.render_node(&c, &node, &Addresses::default()).unwrap();
            assert_eq!(files.len(), engine_paths(engine, &c.version).config_files.len());
            for f in files {
                assert!(f.content.ends_with('\n'), "{}: no final newline", f.template);
                assert!(!f.content.contains("\n\n\n"), "{}: double blank line", f.template);
                assert!(
                    !f.content.contains("none"),
                    "{}: a none leaked:\n{}",
                    f.template,
                    f.content
                );
            }
        }
    }
}

/// Every key a template writes is either managed (users may not set it) or
/// a default the template drops when `[settings]` sets it; no key is ever
/// written twice.
#[test]
fn templates_and_managed_keys_agree() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    for (engine, topology) in shapes() {
        let family = engine.family();
        let mut c = cluster(engine, topology);
        for node in nodes(&c.clone()) {
            for f in r.render_node(&c, &node, &Addresses::default()).unwrap() {
                let keys = template_keys(family, &f.content);
                let unique: BTreeSet<_> = keys.iter().collect();
                let multi = engine == Engine::Keydb && topology == Topology::MultiMaster;
                for k in &unique {
                    let n = keys.iter().filter(|x| x == k).count();
                    assert!(
                        n == 1 || (multi && k.1 == "replicaof"),
                        "{}: {k:?} written {n} times",
                        f.template
                    );
                }
                // User settings land in the last section (MySQL's [mysqld]).
                let last = keys.last().map(|k| k.0.clone()).unwrap_or_default();
                for (section, key) in unique.into_iter().filter(|k| k.0 == last) {
                    if is_managed(engine, key) || f.template.contains("pg_hba") {
                        continue;
                    }
                    c.settings = BTreeMap::from([(key.clone(), SettingValue::Integer(1))]);
                    let again = r.render_node(&c, &node, &Addresses::default()).unwrap();
                    let file = again.iter().find(|g| g.template == f.template).unwrap();
                    assert!(
                        !template_keys(family, &file.content).contains(&(section.clone(), key.clone())),
                        "{}: {key} is neither managed nor dropped when set in [settings]",
                        f.template
                    );
                    c.settings.clear();
                }
            }
        }
    }
}

#[test]
fn settings_are_merged_in_engine_spelling() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    let mut c = cluster(Engine::Redis, Topology::Single);
    c.settings.insert(
        "maxmemory_policy".into(),
        SettingValue::String("allkeys-lru".into()),
    );
    c.settings.insert("appendonly".into(), SettingValue::Bool(true));
    let files = r.render_node(&c, &nodes(&c)[0], &Addresses::default()).unwrap();
    let text = &files[0].content;
    assert!(
        text.contains("# from [settings]\nappendonly yes\nmaxmemory-policy allkeys-lru\n"),
        "{text}"
    );
    assert!(!text.contains("appendonly no"));
}

#[test]
fn override_replaces_the_builtin() {
    let o = overrides(&[("templates/redis/redis.conf.j2", "port {{ cluster.port }}\n")]);
    let r = Renderer::new(&o).unwrap();
    assert!(r.is_overridden("redis/redis.conf.j2"));
    assert!(!r.is_overridden("valkey/valkey.conf.j2"));
    let c = cluster(Engine::Redis, Topology::Single);
    let files = r.render_node(&c, &nodes(&c)[0], &Addresses::default()).unwrap();
    assert_eq!(files[0].content, "port 6379\n");
}

#[test]
fn override_syntax_errors_name_file_line_and_column() {
    let o = overrides(&[
        (
            "templates/mariadb/my.cnf.j2",
            "[mysqld]\nport = {{ cluster.port }\n",
        ),
        ("templates/valkey/valkey.conf.j2", "ok\n{% if x %}\n"),
    ]);
    let errors: Vec<String> = Renderer::check_overrides(&o)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("templates/mariadb/my.cnf.j2:2:"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("template syntax error"), "{}", errors[0]);
    assert!(
        errors[1].starts_with("templates/valkey/valkey.conf.j2:"),
        "{}",
        errors[1]
    );
    let first = Renderer::new(&o).unwrap_err();
    assert!(matches!(first, RenderError::Syntax { ref at, .. } if at.line == Some(2)));
}

#[test]
fn unknown_override_paths_are_named() {
    let o = overrides(&[
        ("templates/mariadb/mariadb.cnf.j2", "x"),
        ("templates/oracle/init.ora.j2", "x"),
    ]);
    let errors: Vec<String> = Renderer::check_overrides(&o)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "templates/mariadb/mariadb.cnf.j2: no built-in template at this path to override; \
             mariadb has templates/mariadb/my.cnf.j2",
            "templates/oracle/init.ora.j2: no built-in template at this path to override; \
             expected templates/<engine>/<file>.j2 with <engine> one of \
             mysql, mariadb, postgresql, timescaledb, hydra, redis, valkey, keydb, \
             or templates/nftables/dbfleet.nft.j2",
        ]
    );
}

#[test]
fn undefined_variables_fail_with_the_line() {
    let o = overrides(&[(
        "templates/redis/redis.conf.j2",
        "port 1\nbind {{ node.address }}\n",
    )]);
    let r = Renderer::new(&o).unwrap();
    let c = cluster(Engine::Redis, Topology::Single);
    let err = r
        .render_node(&c, &nodes(&c)[0], &Addresses::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("templates/redis/redis.conf.j2:2:"), "{err}");
    assert!(err.contains("undefined"), "{err}");
}

/// Every field templates/README.md documents exists in the context.
#[test]
fn context_exposes_every_documented_field() {
    let readme = include_str!("../../templates/README.md");
    // The firewall's own fields are checked in firewall_tests.rs.
    let fields: Vec<&str> = readme
        .lines()
        .take_while(|l| *l != "## The firewall")
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert!(fields.len() > 30, "{fields:?}");
    // `primary.*` exists on replicas, `multi_master.*` in multi-master only.
    let render = |topology, node: usize, skip: &str| {
        let body: String = fields
            .iter()
            .filter(|f| !f.starts_with(skip))
            .map(|f| format!("{f}={{{{ {f} }}}}\n"))
            .collect();
        let o = overrides(&[("templates/keydb/keydb.conf.j2", &body)]);
        let c = cluster(Engine::Keydb, topology);
        let node = &nodes(&c)[node];
        let out = Renderer::new(&o)
            .unwrap()
            .render_node(&c, node, &Addresses::default())
            .unwrap();
        out[0].content.clone()
    };
    let mm = render(Topology::MultiMaster, 1, "primary.");
    assert!(mm.contains("multi_master.offset=2\n"), "{mm}");
    let replica = render(Topology::PrimaryReplica, 2, "multi_master.");
    assert!(replica.contains("primary.host=10.0.0.11\n"), "{replica}");
}

#[test]
fn bad_allowed_ips_are_errors() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    let mut c = cluster(Engine::Postgresql, Topology::Single);
    c.allowed_ips = vec!["10.0.0.0/8".into(), "not-an-ip".into()];
    let err = r
        .render_node(&c, &nodes(&c)[0], &Addresses::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cluster \"c\": allowed_ips entry \"not-an-ip\" is neither an IP address nor a CIDR range"
    );
}

#[test]
fn builtin_sources_by_path() {
    assert!(builtin_source("templates/hydra/postgresql.conf.j2").is_some_and(|s| s.contains("columnar")));
    assert_eq!(builtin_source("templates/hydra/nope.j2"), None);
    assert_eq!(builtin_paths().len(), 15);
    assert!(builtin_source("templates/nftables/dbfleet.nft.j2").is_some_and(|s| s.contains("inet")));
}

#[test]
fn managed_settings_are_refused_when_rendering() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    let mut c = cluster(Engine::Postgresql, Topology::Single);
    c.settings
        .insert("listen-addresses".into(), SettingValue::String("*".into()));
    let err = r
        .render_node(&c, &nodes(&c)[0], &Addresses::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cluster \"c\": setting \"listen-addresses\" is managed by dbfleet and cannot be set in [settings]"
    );
}

#[test]
fn renderer_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Renderer>();
}

#[test]
fn an_unclosed_block_points_at_its_opening_tag() {
    let o = overrides(&[(
        "templates/mariadb/my.cnf.j2",
        "[mysqld]\n{% if node.role == \"primary\" %}\nread_only = 0\n{% for p in peers %}# {{ p.name }}\n{% endfor %}\nend\n",
    )]);
    let err = Renderer::new(&o).unwrap_err();
    assert_eq!(
        err.to_string(),
        "templates/mariadb/my.cnf.j2:2:1: template syntax error: `{% if %}` opened here is never \
         closed (expected `{% endif %}`)"
    );
    let RenderError::Unclosed { at, keyword } = err else {
        panic!("{err:?}")
    };
    assert_eq!((keyword.as_str(), at.span), ("if", Some(9..40)));
}

#[test]
fn other_syntax_errors_keep_minijinja_s_place() {
    let o = overrides(&[("templates/redis/redis.conf.j2", "port 1\n{% if %}\n{% endif %}\n")]);
    let err = Renderer::new(&o).unwrap_err().to_string();
    assert!(err.starts_with("templates/redis/redis.conf.j2:2:"), "{err}");
    assert!(!err.contains("never closed"), "{err}");
}

#[test]
fn render_errors_carry_the_span_of_the_expression() {
    let source = "port 1\nbind {{ node.address }}\n";
    let o = overrides(&[("templates/redis/redis.conf.j2", source)]);
    let r = Renderer::new(&o).unwrap();
    let c = cluster(Engine::Redis, Topology::Single);
    let RenderError::Render { at, message } = r
        .render_node(&c, &nodes(&c)[0], &Addresses::default())
        .unwrap_err()
    else {
        panic!("not a render error")
    };
    assert_eq!((at.line, at.column), (Some(2), Some(9)));
    assert_eq!(at.span.map(|s| &source[s]), Some("node.address"));
    assert_eq!(message, "undefined value: `node.address` is undefined");
}
