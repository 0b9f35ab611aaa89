//! One TOML file parsed with spans: its value as JSON (for schema checks)
//! and an index from JSON pointer to the text the user wrote.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

use crate::diag::Diagnostic;

/// Where a value sits in the source.
#[derive(Debug, Clone)]
pub struct Place {
    /// The key naming the value (absent for array elements and the root).
    pub key: Option<Range<usize>>,
    /// The value itself.
    pub value: Range<usize>,
    /// TOML kind as users name it: "string", "integer", "table", ...
    pub kind: &'static str,
}

/// A parsed file: JSON value plus places.
#[derive(Debug)]
pub struct Doc {
    pub file: String,
    pub text: String,
    pub value: Value,
    places: HashMap<String, Place>,
}

impl Doc {
    /// Parse `text`; syntax errors come back as diagnostics (all of them that
    /// the parser could recover from).
    pub fn parse(file: &str, text: &str) -> Result<Doc, Vec<Diagnostic>> {
        let (root, errors) = DeTable::parse_recoverable(text);
        if !errors.is_empty() {
            return Err(errors
                .into_iter()
                .map(|e| {
                    let msg = e.message().trim().to_string();
                    Diagnostic::error(file, format!("invalid TOML: {msg}"))
                        .at(e.span())
                        .label(first_line(&msg))
                })
                .collect());
        }
        let mut places = HashMap::new();
        let span = root.span();
        places.insert(
            String::new(),
            Place {
                key: None,
                value: span.start..span.start,
                kind: "table",
            },
        );
        let value = table(root.get_ref(), "", &mut places);
        Ok(Doc {
            file: file.to_string(),
            text: text.to_string(),
            value,
            places,
        })
    }

    pub fn place(&self, pointer: &str) -> Option<&Place> {
        self.places.get(pointer)
    }

    /// The span to underline for a value: the value itself.
    pub fn value_span(&self, pointer: &str) -> Option<Range<usize>> {
        self.place(pointer).map(|p| p.value.clone())
    }

    /// The span to underline for a key: the key, else the value.
    pub fn key_span(&self, pointer: &str) -> Option<Range<usize>> {
        self.place(pointer)
            .map(|p| p.key.clone().unwrap_or_else(|| p.value.clone()))
    }

    pub fn kind(&self, pointer: &str) -> Option<&'static str> {
        self.place(pointer).map(|p| p.kind)
    }

    /// The text of a value as the user wrote it.
    pub fn source(&self, pointer: &str) -> Option<&str> {
        self.text.get(self.value_span(pointer)?)
    }

    /// The pointer of the value written at exactly `span`, if any (to name the
    /// field of an error that only knows where it is).
    pub fn pointer_at(&self, span: &Range<usize>) -> Option<&str> {
        self.places
            .iter()
            .filter(|(ptr, p)| !ptr.is_empty() && p.value == *span)
            .map(|(ptr, _)| ptr.as_str())
            .max_by_key(|ptr| ptr.len())
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

fn table(t: &DeTable<'_>, prefix: &str, places: &mut HashMap<String, Place>) -> Value {
    let mut map = Map::new();
    for (k, v) in t.iter() {
        let key: &str = k.get_ref();
        let ptr = format!("{prefix}/{}", escape(key));
        let val = value(v.get_ref(), &ptr, places);
        places.insert(
            ptr,
            Place {
                key: Some(k.span()),
                value: v.span(),
                kind: kind(v.get_ref()),
            },
        );
        map.insert(key.to_string(), val);
    }
    Value::Object(map)
}

fn value(v: &DeValue<'_>, ptr: &str, places: &mut HashMap<String, Place>) -> Value {
    match v {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => {
            let text = i.as_str().replace('_', "");
            let n = match i.radix() {
                10 => text.parse::<i128>().ok(),
                r => i128::from_str_radix(&text[2..], r).ok(),
            };
            // Beyond i64 the value is still a number, so that range checks
            // (not type checks) report it.
            match n {
                Some(n) => i64::try_from(n).map(Value::from).unwrap_or_else(|_| {
                    u64::try_from(n).map(Value::from).unwrap_or_else(|_| {
                        serde_json::Number::from_f64(n as f64).map_or(Value::Null, Value::Number)
                    })
                }),
                None => Value::String(text),
            }
        }
        DeValue::Float(f) => {
            let x: f64 = f.as_str().replace('_', "").parse().unwrap_or(f64::NAN);
            serde_json::Number::from_f64(x)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        DeValue::Boolean(b) => Value::Bool(*b),
        // A datetime is never valid where dbfleet expects a value; keep it
        // out of every JSON type the schemas accept except "object".
        DeValue::Datetime(d) => {
            let mut m = Map::new();
            m.insert("$datetime".into(), Value::String(d.to_string()));
            Value::Object(m)
        }
        DeValue::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, item)| {
                    let p = format!("{ptr}/{i}");
                    let val = value(item.get_ref(), &p, places);
                    places.insert(
                        p,
                        Place {
                            key: None,
                            value: item.span(),
                            kind: kind(item.get_ref()),
                        },
                    );
                    val
                })
                .collect(),
        ),
        DeValue::Table(t) => table(t, ptr, places),
    }
}

fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "string",
        DeValue::Integer(_) => "integer",
        DeValue::Float(_) => "float",
        DeValue::Boolean(_) => "boolean",
        DeValue::Datetime(_) => "datetime",
        DeValue::Array(_) => "array",
        DeValue::Table(_) => "table",
    }
}

/// JSON pointer escaping of one segment.
pub fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as users read a field: `/nodes/1/host` -> `nodes[1].host`.
pub fn field_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            if seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                out.push_str(&seg);
            } else {
                out.push_str(&format!("\"{seg}\""));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_beyond_i64_stay_numbers() {
        let doc = Doc::parse("f.toml", "a = 9223372036854775807\nb = 99999999999999999999\n").expect("toml");
        assert!(doc.value["a"].is_i64());
        assert!(doc.value["b"].is_number(), "{:?}", doc.value["b"]);
        assert_eq!(doc.source("/b"), Some("99999999999999999999"));
    }

    #[test]
    fn a_span_names_its_field() {
        let text = "[backup]\nretain = 5\n";
        let doc = Doc::parse("f.toml", text).expect("toml");
        let span = doc.value_span("/backup/retain").expect("span");
        assert_eq!(doc.pointer_at(&span), Some("/backup/retain"));
        assert_eq!(doc.pointer_at(&(0..1)), None);
    }
}
