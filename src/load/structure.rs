//! Structural checks: a parsed file against the JSON Schema generated from
//! its Rust type. Every violation becomes a diagnostic pointing at the text.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::Validator;
use serde_json::Value;

use super::doc::{escape, field_path, Doc};
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
        for err in self.validator.iter_errors(&doc.value) {
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
                    .map(|key| {
                        let ptr = format!("{pointer}/{}", escape(key));
                        let mut d = Diagnostic::error(file, format!("unknown field `{key}`"))
                            .at(doc.key_span(&ptr))
                            .label("unknown field");
                        d = with_field(d);
                        let list = allowed.join(", ");
                        d.help(match did_you_mean(key, &allowed) {
                            Some(s) => format!("did you mean `{s}`? allowed fields: {list}"),
                            None => format!("allowed fields: {list}"),
                        })
                    })
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
                vec![d.help(format!("add `{name} = ...`"))]
            }
            ValidationErrorKind::Type { kind } if is_secret(last) || secret_branch(schema_path) => {
                vec![secret_diag(doc, pointer, &field, found)]
            }
            ValidationErrorKind::Type { kind } => {
                let expected = expected_types(kind);
                vec![with_field(
                    Diagnostic::error(file, format!("expected {expected}, found {}", article(found)))
                        .at(doc.value_span(pointer))
                        .label(format!("expected {expected}")),
                )]
            }
            ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context }
                if matching_branch(context, pointer).is_some() =>
            {
                // One alternative has the right type (e.g. the table behind an
                // optional field): its problems are the ones the user meant.
                let branch = matching_branch(context, pointer).unwrap_or_default();
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
            }
            ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. }
                if is_secret(last) || secret_branch(schema_path) =>
            {
                vec![secret_diag(doc, pointer, &field, found)]
            }
            ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
                let expected = "a string, integer, float or boolean";
                vec![with_field(
                    Diagnostic::error(file, format!("expected {expected}, found {}", article(found)))
                        .at(doc.value_span(pointer))
                        .label(format!("expected {expected}")),
                )]
            }
            ValidationErrorKind::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                let got = instance
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| instance.to_string());
                let list = allowed.join(", ");
                let help = match did_you_mean(&got, &allowed) {
                    Some(s) => format!("did you mean `{s}`? allowed: {list}"),
                    None => format!("allowed: {list}"),
                };
                vec![with_field(
                    Diagnostic::error(file, format!("unknown {last} `{got}`"))
                        .at(doc.value_span(pointer))
                        .label(format!("not a known {last}"))
                        .help(help),
                )]
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
                vec![with_field(
                    Diagnostic::error(file, format!("{instance} is too small"))
                        .at(doc.value_span(pointer))
                        .label(format!("must be at least {limit}")),
                )]
            }
            ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
                vec![with_field(
                    Diagnostic::error(file, format!("{instance} is too large"))
                        .at(doc.value_span(pointer))
                        .label(format!("must be at most {limit}")),
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
}

/// The errors of the only alternative whose type matched the value, if
/// exactly one did.
fn matching_branch<'e>(
    context: &'e [Vec<jsonschema::ValidationError<'static>>],
    pointer: &str,
) -> Option<&'e [jsonschema::ValidationError<'static>]> {
    let typed: Vec<&Vec<jsonschema::ValidationError<'static>>> = context
        .iter()
        .filter(|errs| {
            !errs.iter().any(|e| {
                e.instance_path().as_str() == pointer
                    && matches!(
                        e.kind(),
                        ValidationErrorKind::Type { .. }
                            | ValidationErrorKind::OneOfNotValid { .. }
                            | ValidationErrorKind::AnyOf { .. }
                            | ValidationErrorKind::Required { .. }
                            | ValidationErrorKind::AdditionalProperties { .. }
                    )
            })
        })
        .collect();
    match typed.as_slice() {
        [one] => Some(one.as_slice()),
        _ => None,
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

fn expected_types(kind: &TypeKind) -> String {
    let names: Vec<&str> = match kind {
        TypeKind::Single(t) => vec![type_name(&t.to_string())],
        TypeKind::Multiple(set) => set.iter().map(|t| type_name(&t.to_string())).collect(),
    };
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| *n != "nothing")
        .map(article)
        .collect();
    names.join(" or ")
}

fn type_name(json: &str) -> &'static str {
    match json {
        "string" => "string",
        "integer" => "integer",
        "number" => "number",
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

/// The closest candidate to `got`, if it is close enough to be a typo.
pub fn did_you_mean<S: AsRef<str>>(got: &str, candidates: &[S]) -> Option<String> {
    let got_l = got.to_lowercase();
    candidates
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&got_l, &c.as_ref().to_lowercase()),
                c.as_ref(),
            )
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}
