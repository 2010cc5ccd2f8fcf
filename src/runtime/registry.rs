//! The workflows nagare knows, by namespace, name and version: what `run: workflow` resolves.
//! `nagare run --workflows DIR` fills it from a folder (later, the service's registry).

use crate::dsl::diagnostic::Diagnostic;
use std::cmp::Ordering;
use std::path::Path;

/// One known workflow: where it came from and its text (compiled when it runs).
#[derive(Debug, Clone)]
pub struct Entry {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub file: String,
    pub text: String,
}

/// Shared by every instance of a process; the service adds workflows as they are uploaded.
#[derive(Debug, Default)]
pub struct Registry {
    entries: std::sync::RwLock<Vec<Entry>>,
}

impl Registry {
    /// Reads every `.yaml`, `.yml` and `.json` file of `dir`; each must be a valid workflow.
    pub fn load_dir(dir: &Path) -> Result<Registry, Vec<String>> {
        let listing = std::fs::read_dir(dir).map_err(|e| {
            vec![format!(
                "{}:1:1: cannot read the folder: {e} (at /)",
                dir.display()
            )]
        })?;
        let mut files: Vec<_> = listing
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
            })
            .collect();
        files.sort();
        let registry = Registry::default();
        let mut problems = Vec::new();
        for path in files {
            let file = path.display().to_string();
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("{file}:1:1: cannot read the file: {e} (at /)"));
                    continue;
                }
            };
            match registry.add(&file, text) {
                Ok(()) => {}
                Err(ds) => problems.extend(ds.iter().map(ToString::to_string)),
            }
        }
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(problems)
        }
    }

    /// Adds a workflow after validating it.
    pub fn add(&self, file: &str, text: String) -> Result<(), Vec<Diagnostic>> {
        let definition = crate::workflow::load(file, &text)?;
        let d = &definition.workflow.document;
        let Ok(mut entries) = self.entries.write() else {
            return Ok(());
        };
        if entries
            .iter()
            .any(|e| e.namespace == d.namespace && e.name == d.name && e.version == d.version)
        {
            return Ok(());
        }
        entries.push(Entry {
            namespace: d.namespace.clone(),
            name: d.name.clone(),
            version: d.version.clone(),
            file: file.to_string(),
            text,
        });
        Ok(())
    }

    /// The workflow `namespace/name` at `version`, or its highest version for `latest`.
    pub fn find(&self, namespace: &str, name: &str, version: &str) -> Option<Entry> {
        let entries = self.entries.read().ok()?;
        let mut candidates = entries
            .iter()
            .filter(|e| e.namespace == namespace && e.name == name);
        if version == "latest" {
            candidates
                .max_by(|a, b| precedence(&a.version, &b.version))
                .cloned()
        } else {
            candidates.find(|e| e.version == version).cloned()
        }
    }
}

/// Semantic version precedence (semver.org §11): the numbers of the core numerically, a
/// pre-release below its release, pre-release identifiers numerically or as text (numbers
/// first), build metadata ignored. Versions that are not semver compare as text, below any
/// that is.
pub fn precedence(a: &str, b: &str) -> Ordering {
    fn parse(v: &str) -> Option<([u64; 3], Option<Vec<&str>>)> {
        let v = v.split('+').next()?;
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p.split('.').collect())),
            None => (v, None),
        };
        let mut numbers = [0u64; 3];
        let mut parts = core.split('.');
        for n in &mut numbers {
            *n = parts.next()?.parse().ok()?;
        }
        parts.next().is_none().then_some((numbers, pre))
    }
    fn identifier(a: &str, b: &str) -> Ordering {
        match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => a.cmp(b),
        }
    }
    match (parse(a), parse(b)) {
        (Some((x, px)), Some((y, py))) => x.cmp(&y).then_with(|| match (px, py) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(p), Some(q)) => p
                .iter()
                .zip(&q)
                .map(|(i, j)| identifier(i, j))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| p.len().cmp(&q.len())),
        }),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(version: &str) -> String {
        format!(
            "document: {{dsl: 1.0.3, namespace: ns, name: sub, version: '{version}'}}\ndo:\n  - a: {{set: {{v: '{version}'}}}}\n"
        )
    }

    #[test]
    fn finds_exact_and_latest_versions() {
        let r = Registry::default();
        for v in ["1.2.0", "1.10.0", "1.10.0-rc.1", "0.9.9"] {
            r.add("mem", doc(v)).unwrap();
        }
        assert_eq!(
            r.find("ns", "sub", "1.2.0").map(|e| e.version),
            Some("1.2.0".to_string())
        );
        assert_eq!(
            r.find("ns", "sub", "latest").map(|e| e.version),
            Some("1.10.0".to_string())
        );
        assert!(r.find("ns", "sub", "2.0.0").is_none());
        assert!(r.find("other", "sub", "latest").is_none());
    }
}
