use anyhow::Context;

use super::args::SchemaArgs;
use super::exit;
use crate::schema;

pub fn run(a: &SchemaArgs) -> anyhow::Result<u8> {
    let all = schema::all();
    let chosen: Vec<_> = match &a.which {
        Some(w) => all
            .into_iter()
            .filter(|(f, _)| f.starts_with(w.as_str()))
            .collect(),
        None => all,
    };
    if let Some(dir) = &a.write {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (file, value) in &chosen {
            let path = dir.join(file);
            std::fs::write(&path, schema::to_text(value))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(exit::OK);
    }
    let out = match chosen.as_slice() {
        [(_, one)] => schema::to_text(one),
        many => {
            let map: serde_json::Map<String, serde_json::Value> =
                many.iter().map(|(f, v)| (f.to_string(), v.clone())).collect();
            schema::to_text(&serde_json::Value::Object(map))
        }
    };
    print!("{out}");
    Ok(exit::OK)
}
