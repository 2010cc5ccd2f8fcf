//! nagare's schema verdicts agree with the official schema on every workflow the spec ships.
//!
//! The spec directory is `../shared/spec` next to the crate, or `NAGARE_SPEC_DIR`. Its
//! examples must be accepted, its invalid fixtures rejected with located diagnostics, and every
//! workflow (the CTK features' included) must get the verdict the official schema gives, the
//! latter read from the spec at test time, loaded by yaml-rust2's own loader and checked with
//! jsonschema's plain `is_valid`.

use std::path::{Path, PathBuf};
use std::{env, fs};

use nagare::dsl::{load, schema};
use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Where a workflow comes from, and what the spec says of it.
struct Workflow {
    name: String,
    text: String,
    expected: Expected,
}

#[derive(PartialEq)]
enum Expected {
    Valid,
    Invalid,
    /// CTK workflows are compared with the official verdict only.
    Unstated,
}

fn spec_dir() -> PathBuf {
    let dir = env::var_os("NAGARE_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec"));
    assert!(
        dir.join("schema/workflow.yaml").is_file(),
        "the Serverless Workflow spec is not at {} (expected schema/, examples/, invalid/, ctk/); \
         set NAGARE_SPEC_DIR to its directory",
        dir.display()
    );
    dir
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The files of `dir` ending in `extension`, sorted.
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

fn workflows(spec: &Path) -> Vec<Workflow> {
    let mut workflows = Vec::new();
    for (dir, expected) in [
        ("examples", Expected::Valid),
        ("invalid", Expected::Invalid),
    ] {
        for path in files(&spec.join(dir), "yaml") {
            workflows.push(Workflow {
                name: format!(
                    "{dir}/{}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ),
                text: read(&path),
                expected: if expected == Expected::Valid {
                    Expected::Valid
                } else {
                    Expected::Invalid
                },
            });
        }
    }
    for path in files(&spec.join("ctk"), "feature") {
        let feature = format!(
            "ctk/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        for (line, text) in definitions(&read(&path)) {
            workflows.push(Workflow {
                name: format!("{feature}:{line}"),
                text,
                expected: Expected::Unstated,
            });
        }
    }
    workflows
}

/// The docstrings after `Given a workflow with definition:`, with their 1-based line, their
/// common indentation stripped.
fn definitions(feature: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = feature.lines().collect();
    let mut definitions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let opens = lines[i].trim_end().ends_with("a workflow with definition:")
            && lines
                .get(i + 1)
                .is_some_and(|l| l.trim_start().starts_with("\"\"\""));
        if !opens {
            i += 1;
            continue;
        }
        let start = i + 2;
        let end = (start..lines.len())
            .find(|&j| lines[j].trim() == "\"\"\"")
            .unwrap_or_else(|| panic!("unterminated docstring at line {}", i + 2));
        let body = &lines[start..end];
        let indent = body
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let text: String = body
            .iter()
            .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
            .collect();
        definitions.push((start + 1, text));
        i = end + 1;
    }
    definitions
}

/// yaml-rust2's own loader, independent of nagare's; `None` when the text does not load as
/// one YAML document of JSON-compatible values.
fn official_instance(text: &str) -> Option<Value> {
    let mut documents = YamlLoader::load_from_str(text).ok()?;
    if documents.len() != 1 {
        return None;
    }
    json(documents.pop()?)
}

fn json(yaml: Yaml) -> Option<Value> {
    Some(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(text) => Value::Number(Number::from_f64(text.parse().ok()?)?),
        Yaml::String(s) => Value::String(s),
        Yaml::Array(items) => Value::Array(items.into_iter().map(json).collect::<Option<_>>()?),
        Yaml::Hash(entries) => {
            let mut object = Map::new();
            for (key, value) in entries {
                let key = match key {
                    Yaml::String(s) | Yaml::Real(s) => s,
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    _ => return None,
                };
                object.insert(key, json(value)?);
            }
            Value::Object(object)
        }
        Yaml::Alias(_) | Yaml::BadValue => return None,
    })
}

#[test]
fn verdicts_match_the_official_schema() {
    let spec = spec_dir();
    let official_schema = official_instance(&read(&spec.join("schema/workflow.yaml")))
        .expect("the official schema loads");
    let official =
        jsonschema::validator_for(&official_schema).expect("the official schema compiles");
    let workflows = workflows(&spec);
    let count = |expected: Expected| workflows.iter().filter(|w| w.expected == expected).count();
    assert!(
        count(Expected::Valid) >= 60,
        "too few examples found in {}",
        spec.display()
    );
    assert!(
        count(Expected::Invalid) >= 3,
        "too few invalid fixtures found in {}",
        spec.display()
    );
    assert!(
        count(Expected::Unstated) >= 20,
        "too few CTK workflows found in {}",
        spec.display()
    );

    let mut failures = Vec::new();
    for workflow in &workflows {
        let loaded = load::parse(&workflow.name, &workflow.text);
        let instance = official_instance(&workflow.text);
        // Both loaders must read the same data, or the verdicts would compare different things.
        if let (Ok(document), Some(instance)) = (&loaded, &instance)
            && &document.value != instance
        {
            failures.push(format!(
                "{}: nagare and yaml-rust2 load different values",
                workflow.name
            ));
        }
        let diagnostics = match &loaded {
            Ok(document) => schema::validate(&workflow.name, document),
            Err(diagnostic) => vec![diagnostic.clone()],
        };
        let accepted = diagnostics.is_empty();
        let official_accepts = instance.is_some_and(|v| official.is_valid(&v));
        let shown = diagnostics
            .iter()
            .map(|d| format!("\n    {d}"))
            .collect::<String>();
        if accepted != official_accepts {
            failures.push(format!(
                "{}: nagare {}, the official schema {}{shown}",
                workflow.name,
                verdict(accepted),
                verdict(official_accepts)
            ));
        }
        match workflow.expected {
            Expected::Valid if !accepted => {
                failures.push(format!("{}: an example is rejected{shown}", workflow.name))
            }
            Expected::Invalid if accepted => {
                failures.push(format!("{}: an invalid fixture is accepted", workflow.name))
            }
            _ => {}
        }
        for diagnostic in &diagnostics {
            // The last-resort message means a rejection went unexplained.
            let unexplained = diagnostic.message.contains("does not match the DSL schema");
            if diagnostic.line == 0
                || diagnostic.column == 0
                || diagnostic.file != workflow.name
                || unexplained
            {
                failures.push(format!(
                    "{}: diagnostic not located or not explained: {diagnostic:?}",
                    workflow.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn verdict(accepted: bool) -> &'static str {
    if accepted { "accepts" } else { "rejects" }
}

/// `spec-schemas/workflow.yaml` is the official schema; deviations would be listed in
/// `spec-schemas/README.md` and applied here before comparing (there are none).
#[test]
fn the_accepted_schema_is_the_official_one() {
    let official = read(&spec_dir().join("schema/workflow.yaml"));
    let ours = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("spec-schemas/workflow.yaml"));
    assert!(
        ours == official,
        "spec-schemas/workflow.yaml differs from the spec's schema/workflow.yaml; copy it again, \
         or document the deviation in spec-schemas/README.md and in this test"
    );
}

/// The model keeps the schema's properties: every valid workflow the spec ships reads into
/// `dsl::model::Workflow` and writes back with every property it had (the model may add the
/// defaults it fills in, never drop or change what the document says).
#[test]
fn the_model_keeps_every_property() {
    use nagare::dsl::model::{Workflow as Model, from_value::from_value};
    use serde_json::Value;
    fn covers(original: &Value, written: &Value, at: &str) -> Result<(), String> {
        match (original, written) {
            (Value::Object(o), Value::Object(w)) => o.iter().try_for_each(|(k, v)| {
                let at = format!("{at}/{k}");
                w.get(k)
                    .ok_or_else(|| format!("{at} is dropped"))
                    .and_then(|x| covers(v, x, &at))
            }),
            (Value::Array(o), Value::Array(w)) if o.len() == w.len() => o
                .iter()
                .zip(w)
                .enumerate()
                .try_for_each(|(i, (a, b))| covers(a, b, &format!("{at}/{i}"))),
            (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => Ok(()),
            _ if original == written => Ok(()),
            _ => Err(format!("{at}: {original} became {written}")),
        }
    }
    let spec = spec_dir();
    let mut checked = 0;
    for w in workflows(&spec)
        .into_iter()
        .filter(|w| !matches!(w.expected, Expected::Invalid))
    {
        let document = nagare::dsl::load::parse(&w.name, &w.text).expect("loads");
        let model: Model =
            from_value(&document.value).unwrap_or_else(|(p, m)| panic!("{}: {p}: {m}", w.name));
        let written = serde_json::to_value(&model).expect("writes");
        if let Err(e) = covers(&document.value, &written, "") {
            panic!("{}: {e}", w.name);
        }
        checked += 1;
    }
    assert!(checked >= 80, "only {checked} workflows checked");
}
