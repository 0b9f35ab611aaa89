//! The TOML a user would write for a field, from its JSON Schema: shown in
//! the help of a "missing required field" error (`[[nodes]]` rather than
//! `nodes = ...`).

use serde_json::Value;

use super::structure::resolve;

/// TOML for field `name` whose schema is `prop` (inside `root`): a key and a
/// placeholder value, or a table / array-of-tables header with the table's
/// required fields under it.
pub fn toml_for(root: &Value, name: &str, prop: &Value) -> String {
    let prop = deref(root, prop);
    if is_type(prop, "array") {
        if let Some(item) = prop.get("items").map(|i| deref(root, i)) {
            if is_type(item, "object") {
                return table(root, &format!("[[{name}]]"), item);
            }
        }
    }
    if is_type(prop, "object") && prop.get("properties").is_some() {
        return table(root, &format!("[{name}]"), prop);
    }
    format!("{name} = {}", placeholder(root, prop))
}

/// A header and the required fields of the table under it.
fn table(root: &Value, header: &str, schema: &Value) -> String {
    let mut lines = vec![header.to_string()];
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for field in required {
        if let Some(p) = schema.get("properties").and_then(|ps| ps.get(field)) {
            let p = deref(root, p);
            lines.push(format!("{field} = {}", placeholder(root, p)));
        }
    }
    lines.join("\n")
}

/// A value of the right kind; for a fixed set of values, the first one and
/// the others in a comment.
fn placeholder(root: &Value, schema: &Value) -> String {
    let values = fixed_values(root, schema);
    if let Some((first, rest)) = values.split_first() {
        return match rest.is_empty() {
            true => format!("\"{first}\""),
            false => format!("\"{first}\"  # or {}", rest.join(", ")),
        };
    }
    let kind = |t: &str| is_type(schema, t);
    match () {
        _ if kind("string") => "\"...\"".into(),
        _ if kind("integer") => "1".into(),
        _ if kind("number") => "1.0".into(),
        _ if kind("boolean") => "true".into(),
        _ if kind("array") => "[...]".into(),
        _ if kind("object") => "{ ... }".into(),
        _ => "...".into(),
    }
}

/// The values of an enum, or of a `oneOf` whose alternatives are enums and consts.
fn fixed_values(root: &Value, schema: &Value) -> Vec<String> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    if let Some(e) = schema.get("enum") {
        return strings(e);
    }
    if let Some(c) = schema.get("const").and_then(Value::as_str) {
        return vec![c.to_string()];
    }
    let Some(alts) = schema.get("oneOf").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for alt in alts {
        let vs = fixed_values(root, deref(root, alt));
        if vs.is_empty() {
            return Vec::new();
        }
        out.extend(vs);
    }
    out
}

fn is_type(schema: &Value, t: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(t)),
        _ => false,
    }
}

/// Follow `$ref` (to `#/$defs/...`), as often as it takes.
fn deref<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match target.strip_prefix('#').and_then(|t| resolve(root, t)) {
            Some(s) => schema = s,
            None => break,
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster_prop(name: &str) -> String {
        let root = crate::schema::cluster();
        let prop = root["properties"][name].clone();
        toml_for(&root, name, &prop)
    }

    #[test]
    fn arrays_of_tables_are_written_as_tables() {
        assert_eq!(cluster_prop("nodes"), "[[nodes]]\nhost = \"...\"");
    }

    #[test]
    fn keys_get_a_value_of_their_kind() {
        assert_eq!(cluster_prop("name"), "name = \"...\"");
        assert_eq!(
            cluster_prop("topology"),
            "topology = \"single\"  # or primary-replica, multi-master"
        );
        assert!(cluster_prop("engine").starts_with("engine = \"mysql\"  # or mariadb, postgresql,"));
    }
}
