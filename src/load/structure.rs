//! Structural checks: a parsed file against the JSON Schema generated from
//! its Rust type. Every violation becomes a diagnostic pointing at the text.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::Validator;
use serde_json::Value;

use super::doc::{escape, field_path, Doc};
use super::hint;
pub use super::suggest::did_you_mean;
use crate::diag::Diagnostic;
use crate::model::Secret;

/// A compiled schema together with its JSON (to look up allowed fields).
pub struct Checker {
    validator: Validator,
    schema: Value,
}

impl Checker {
    pub fn new(schema: Value) -> Checker {
        // The schemas are generated from our own types; failing to compile one is a bug.
        #[allow(clippy::expect_used)]
        let validator = jsonschema::validator_for(&schema).expect("generated schema compiles");
        Checker { validator, schema }
    }

    pub fn check(&self, doc: &Doc) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let errors: Vec<_> = self.validator.iter_errors(&doc.value).collect();
        let wrong_type: Vec<&str> = errors
            .iter()
            .filter(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
            .map(|e| e.instance_path().as_str())
            .collect();
        for err in &errors {
            // `engine = 5` is of the wrong type; that it is no engine goes without saying.
            if matches!(err.kind(), ValidationErrorKind::Enum { .. })
                && wrong_type.contains(&err.instance_path().as_str())
            {
                continue;
            }
            let pointer = err.instance_path().as_str().to_string();
            let schema_path = err.schema_path().as_str().to_string();
            out.extend(self.describe(doc, &pointer, &schema_path, err.kind(), err.instance()));
        }
        out
    }

    fn describe(
        &self,
        doc: &Doc,
        pointer: &str,
        schema_path: &str,
        kind: &ValidationErrorKind,
        instance: &Value,
    ) -> Vec<Diagnostic> {
        let file = doc.file.as_str();
        let field = field_path(pointer);
        let last = last_segment(pointer);
        let with_field = |d: Diagnostic| {
            if field.is_empty() {
                d
            } else {
                d.field(field.clone())
            }
        };
        let found = doc.kind(pointer).unwrap_or("value");
        match kind {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = self.allowed_fields(schema_path);
                unexpected
                    .iter()
                    .map(|key| unknown_field(doc, pointer, key, &allowed))
                    .collect()
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let what = if pointer.is_empty() {
                    "the file".to_string()
                } else {
                    format!("`{field}`")
                };
                let d = Diagnostic::error(file, format!("missing required field `{name}` in {what}"))
                    .at(doc.key_span(pointer))
                    .label(format!("`{name}` is required"));
                vec![d.help(self.required_hint(schema_path, name))]
            }
            ValidationErrorKind::Type { .. }
                if (is_secret(last) || secret_branch(schema_path)) && !inside_secret(schema_path) =>
            {
                vec![secret_diag(doc, pointer, &field, found)]
            }
            ValidationErrorKind::Type { kind } => {
                let expected = expected_types(&type_names(kind));
                let mut d = Diagnostic::error(file, format!("expected {expected}, found {}", article(found)))
                    .at(doc.value_span(pointer))
                    .label(format!("expected {expected}"));
                // A fixed set of values beside the type (`engine = 5`): name them.
                let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
                let values = resolve(&self.schema, parent)
                    .and_then(|n| n.get("enum"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "));
                if let Some(values) = values.filter(|v| !v.is_empty()) {
                    d = d.help(format!("allowed: {values}"));
                }
                vec![with_field(d)]
            }
            ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
                self.alternatives(doc, pointer, schema_path, context, instance)
            }
            ValidationErrorKind::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                vec![enum_diag(doc, pointer, &allowed, instance)]
            }
            ValidationErrorKind::Pattern { pattern } => {
                let got = instance.as_str().unwrap_or_default();
                let (msg, help) = if last == "name" {
                    (
                        format!("invalid name `{got}`"),
                        "a name starts with a lowercase letter, then up to 40 lowercase letters, digits or '-'"
                            .to_string(),
                    )
                } else {
                    (
                        format!("`{got}` is not allowed here"),
                        format!("must match {pattern}"),
                    )
                };
                vec![with_field(
                    Diagnostic::error(file, msg)
                        .at(doc.value_span(pointer))
                        .label("invalid")
                        .help(help),
                )]
            }
            ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
                let written = doc
                    .source(pointer)
                    .map_or_else(|| instance.to_string(), str::to_string);
                vec![with_field(
                    Diagnostic::error(file, format!("{written} is too small"))
                        .at(doc.value_span(pointer))
                        .label(format!("must be at least {limit}"))
                        .help(self.range_help(schema_path)),
                )]
            }
            ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
                let written = doc
                    .source(pointer)
                    .map_or_else(|| instance.to_string(), str::to_string);
                vec![with_field(
                    Diagnostic::error(file, format!("{written} is too large"))
                        .at(doc.value_span(pointer))
                        .label(format!("must be at most {limit}"))
                        .help(self.range_help(schema_path)),
                )]
            }
            ValidationErrorKind::MinItems { limit } => vec![with_field(
                Diagnostic::error(file, format!("needs at least {limit} entr{}", plural_y(*limit)))
                    .at(doc.key_span(pointer))
                    .label("too few entries"),
            )],
            ValidationErrorKind::MinLength { limit } => vec![with_field(
                Diagnostic::error(file, format!("must be at least {limit} characters long"))
                    .at(doc.value_span(pointer))
                    .label("too short"),
            )],
            ValidationErrorKind::MaxLength { limit } => vec![with_field(
                Diagnostic::error(file, format!("must be at most {limit} characters long"))
                    .at(doc.value_span(pointer))
                    .label("too long"),
            )],
            other => vec![with_field(
                Diagnostic::error(file, format!("invalid value: {}", describe_other(other)))
                    .at(doc.value_span(pointer))
                    .label("invalid"),
            )],
        }
    }

    /// The `properties` names of the object schema that `additionalProperties` sits in.
    fn allowed_fields(&self, schema_path: &str) -> Vec<String> {
        let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
        let Some(node) = resolve(&self.schema, parent) else {
            return Vec::new();
        };
        let mut names: Vec<String> = node
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// "allowed: 1 to 65535" from the schema node that holds `minimum`/`maximum`.
    fn range_help(&self, schema_path: &str) -> String {
        let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
        let node = resolve(&self.schema, parent);
        let bound = |k: &str| node.and_then(|n| n.get(k)).map(Value::to_string);
        match (bound("minimum"), bound("maximum")) {
            (Some(lo), Some(hi)) => format!("allowed: a whole number from {lo} to {hi}"),
            (Some(lo), None) => format!("allowed: {lo} or more"),
            (None, Some(hi)) => format!("allowed: {hi} or less"),
            (None, None) => "allowed: a smaller number".into(),
        }
    }

    /// The TOML a user would add for a missing required field.
    fn required_hint(&self, schema_path: &str, name: &str) -> String {
        let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
        let prop = resolve(&self.schema, parent)
            .and_then(|n| n.get("properties"))
            .and_then(|p| p.get(name));
        match prop {
            Some(prop) => format!("add\n{}", hint::toml_for(&self.schema, name, prop)),
            None => format!("add `{name} = ...`"),
        }
    }

    /// A value that matches none of the alternatives of a `oneOf`/`anyOf`.
    fn alternatives(
        &self,
        doc: &Doc,
        pointer: &str,
        schema_path: &str,
        context: &[Vec<jsonschema::ValidationError<'static>>],
        instance: &Value,
    ) -> Vec<Diagnostic> {
        let field = field_path(pointer);
        let found = doc.kind(pointer).unwrap_or("value");
        let descend = |branch: &[jsonschema::ValidationError<'static>]| -> Vec<Diagnostic> {
            branch
                .iter()
                .flat_map(|e| {
                    self.describe(
                        doc,
                        e.instance_path().as_str(),
                        e.schema_path().as_str(),
                        e.kind(),
                        e.instance(),
                    )
                })
                .collect()
        };
        // One alternative has the right type and shape (e.g. the table behind
        // an optional field): its problems are the ones the user meant.
        if let Some(branch) = matching_branch(context, pointer, Match::Shape) {
            return descend(branch);
        }
        // One alternative has the right type: a table with a wrong key, or
        // a wrong value inside (`{ env = 5 }`).
        if found == "table" {
            if let Some(branch) = matching_branch(context, pointer, Match::Type) {
                return descend(branch);
            }
            // Several alternatives are tables (`{ env = ... }` or
            // `{ file = ... }`): a key none of them knows is unknown
            // whichever was meant.
            let unknown = self.unknown_in_every_table(doc, pointer, context);
            if !unknown.is_empty() {
                return unknown;
            }
        }
        if is_secret(last_segment(pointer)) || secret_branch(schema_path) {
            return vec![secret_diag(doc, pointer, &field, found)];
        }
        let options = enum_options(context, pointer);
        if let (Some(allowed), false) = (&options, has_type_error(context, pointer)) {
            return vec![enum_diag(doc, pointer, allowed, instance)];
        }
        let mut types = Vec::new();
        for e in context.iter().flatten() {
            if let (true, ValidationErrorKind::Type { kind }) =
                (e.instance_path().as_str() == pointer, e.kind())
            {
                for t in type_names(kind) {
                    if !types.contains(&t) {
                        types.push(t);
                    }
                }
            }
        }
        let expected = match types.is_empty() {
            true => "another value".to_string(),
            false => expected_types(&types),
        };
        let mut d = Diagnostic::error(
            &doc.file,
            format!("expected {expected}, found {}", article(found)),
        )
        .at(doc.value_span(pointer))
        .label(format!("expected {expected}"));
        if let Some(allowed) = options {
            d = d.help(format!("allowed: {}", allowed.join(", ")));
        }
        vec![if field.is_empty() { d } else { d.field(field) }]
    }
}

impl Checker {
    /// The keys of the table at `pointer` that every alternative of the
    /// table type refuses, each as an unknown field; the allowed fields are
    /// those of all these alternatives.
    fn unknown_in_every_table(
        &self,
        doc: &Doc,
        pointer: &str,
        context: &[Vec<jsonschema::ValidationError<'static>>],
    ) -> Vec<Diagnostic> {
        let tables = context.iter().filter(|errs| {
            !errs.iter().any(|e| {
                e.instance_path().as_str() == pointer
                    && matches!(
                        e.kind(),
                        ValidationErrorKind::Type { .. }
                            | ValidationErrorKind::Enum { .. }
                            | ValidationErrorKind::Constant { .. }
                    )
            })
        });
        let mut common: Option<Vec<String>> = None;
        let mut allowed: Vec<String> = Vec::new();
        for errs in tables {
            let mut unknown = Vec::new();
            for e in errs.iter().filter(|e| e.instance_path().as_str() == pointer) {
                if let ValidationErrorKind::AdditionalProperties { unexpected } = e.kind() {
                    unknown.extend(unexpected.iter().cloned());
                    allowed.extend(self.allowed_fields(e.schema_path().as_str()));
                }
            }
            common = Some(match common {
                None => unknown,
                Some(before) => before.into_iter().filter(|k| unknown.contains(k)).collect(),
            });
        }
        allowed.sort();
        allowed.dedup();
        common
            .unwrap_or_default()
            .iter()
            .map(|key| unknown_field(doc, pointer, key, &allowed))
            .collect()
    }
}

/// `key` of the table at `pointer` is no field of it.
fn unknown_field(doc: &Doc, pointer: &str, key: &str, allowed: &[String]) -> Diagnostic {
    let ptr = format!("{pointer}/{}", escape(key));
    let mut d = Diagnostic::error(&doc.file, format!("unknown field `{key}`"))
        .at(doc.key_span(&ptr))
        .label("unknown field");
    let field = field_path(pointer);
    if !field.is_empty() {
        d = d.field(field);
    }
    let list = allowed.join(", ");
    d.help(match did_you_mean(key, allowed) {
        Some(s) => format!("did you mean `{s}`? allowed fields: {list}"),
        None => format!("allowed fields: {list}"),
    })
}

/// How closely an alternative must fit the value to be the one the user meant.
#[derive(Clone, Copy)]
enum Match {
    /// Right type, every required field there and no unknown one.
    Shape,
    /// Right type, whatever is wrong inside.
    Type,
}

/// The errors of the only alternative that fits the value (see [`Match`]),
/// if exactly one does.
fn matching_branch<'e>(
    context: &'e [Vec<jsonschema::ValidationError<'static>>],
    pointer: &str,
    how: Match,
) -> Option<&'e [jsonschema::ValidationError<'static>]> {
    let typed: Vec<&Vec<jsonschema::ValidationError<'static>>> = context
        .iter()
        .filter(|errs| {
            !errs.iter().any(|e| {
                e.instance_path().as_str() == pointer
                    && match e.kind() {
                        ValidationErrorKind::Type { .. } => true,
                        ValidationErrorKind::OneOfNotValid { .. }
                        | ValidationErrorKind::AnyOf { .. }
                        | ValidationErrorKind::Required { .. }
                        | ValidationErrorKind::AdditionalProperties { .. } => matches!(how, Match::Shape),
                        // A value of the right type outside an enum: not this one either.
                        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => true,
                        _ => false,
                    }
            })
        })
        .collect();
    match typed.as_slice() {
        [one] => Some(one.as_slice()),
        _ => None,
    }
}

fn has_type_error(context: &[Vec<jsonschema::ValidationError<'static>>], pointer: &str) -> bool {
    context.iter().flatten().any(|e| {
        e.instance_path().as_str() == pointer && matches!(e.kind(), ValidationErrorKind::Type { .. })
    })
}

/// The allowed values when every alternative is a fixed value (an enum
/// whose variants carry documentation becomes `oneOf` of `const`s).
fn enum_options(context: &[Vec<jsonschema::ValidationError<'static>>], pointer: &str) -> Option<Vec<String>> {
    let mut allowed = Vec::new();
    for e in context.iter().flatten() {
        if e.instance_path().as_str() != pointer {
            return None;
        }
        match e.kind() {
            ValidationErrorKind::Enum { options } => {
                allowed.extend(
                    options
                        .as_array()?
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string)),
                );
            }
            ValidationErrorKind::Constant { expected_value } => {
                allowed.push(expected_value.as_str()?.to_string());
            }
            ValidationErrorKind::Type { .. } => {}
            _ => return None,
        }
    }
    (!allowed.is_empty()).then_some(allowed)
}

/// A value outside a fixed set: name the value and the set.
fn enum_diag(doc: &Doc, pointer: &str, allowed: &[String], instance: &Value) -> Diagnostic {
    let last = last_segment(pointer);
    let got = instance
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| instance.to_string());
    let list = allowed.join(", ");
    let help = match did_you_mean(&got, allowed) {
        Some(s) => format!("did you mean `{s}`? allowed: {list}"),
        None => format!("allowed: {list}"),
    };
    let d = Diagnostic::error(&doc.file, format!("unknown {last} `{got}`"))
        .at(doc.value_span(pointer))
        .label(format!("not a known {last}"))
        .help(help);
    match field_path(pointer) {
        f if f.is_empty() => d,
        f => d.field(f),
    }
}

fn secret_diag(doc: &Doc, pointer: &str, field: &str, found: &str) -> Diagnostic {
    let (msg, label) = if found == "string" {
        (
            "a secret must not be written in the repository".to_string(),
            "plain-text secret".to_string(),
        )
    } else {
        (
            format!("expected a secret reference, found {}", article(found)),
            "not a secret reference".into(),
        )
    };
    Diagnostic::error(&doc.file, msg)
        .field(field.to_string())
        .at(doc.value_span(pointer))
        .label(label)
        .help(r#"write { env = "VARIABLE" } or { file = "/path/outside/the/repository" }"#)
}

fn is_secret(last: &str) -> bool {
    Secret::FIELDS.contains(&last)
}

/// Whether a schema path goes into the fields of a secret reference (`env`, `file`).
fn inside_secret(schema_path: &str) -> bool {
    schema_path
        .rsplit_once("/$defs/Secret")
        .is_some_and(|(_, rest)| rest.contains("/properties/"))
}

fn secret_branch(schema_path: &str) -> bool {
    schema_path.contains("/$defs/Secret/") || schema_path.ends_with("/$defs/Secret")
}

/// Follow a schema path (as jsonschema reports it, possibly through `$ref`)
/// from the root schema.
pub fn resolve<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = root;
    for seg in path.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            node = resolve(root, target)?;
            continue;
        }
        node = match node {
            Value::Object(m) => m.get(&seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn last_segment(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or_default()
}

/// The TOML names of the JSON types a schema asked for.
fn type_names(kind: &TypeKind) -> Vec<&'static str> {
    let names: Vec<&'static str> = match kind {
        TypeKind::Single(t) => vec![type_name(&t.to_string())],
        TypeKind::Multiple(set) => set.iter().map(|t| type_name(&t.to_string())).collect(),
    };
    names.into_iter().filter(|n| *n != "nothing").collect()
}

/// "a string", "a boolean, integer, float or string".
fn expected_types(names: &[&str]) -> String {
    match names {
        [] => "another value".into(),
        [one] => article(one),
        [init @ .., last] => format!("{} or {last}", article(&init.join(", "))),
    }
}

/// JSON type -> what TOML calls it.
fn type_name(json: &str) -> &'static str {
    match json {
        "string" => "string",
        "integer" => "integer",
        "number" => "float",
        "boolean" => "boolean",
        "array" => "array",
        "object" => "table",
        _ => "nothing",
    }
}

fn article(noun: &str) -> String {
    match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {noun}"),
        _ => format!("a {noun}"),
    }
}

fn plural_y(n: u64) -> &'static str {
    if n == 1 {
        "y"
    } else {
        "ies"
    }
}

fn describe_other(kind: &ValidationErrorKind) -> String {
    match kind {
        ValidationErrorKind::Constant { expected_value } => format!("expected {expected_value}"),
        ValidationErrorKind::UniqueItems => "entries must be unique".into(),
        other => format!("{other:?}"),
    }
}
