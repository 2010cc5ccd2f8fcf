//! Running a workflow with containers through the real binary (`nagare run --containers`),
//! shared by the container backends' tests.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const IMAGE: &str = "localhost/nagare-example:1";

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn output(&self) -> Value {
        assert_eq!(self.code, 0, "nagare failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
    /// The error a failed run printed.
    pub fn error(&self) -> &str {
        assert_ne!(self.code, 0, "nagare succeeded: {}", self.stdout);
        &self.stderr
    }
}

pub fn scratch() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "nagare-containers-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn podman_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/containers.yaml")
        .display()
        .to_string()
}

/// Runs `workflow` (YAML text; `IMAGE` stands for the test image) with `nagare run`.
pub fn run(workflow: &str, input: Value, config: &str, env: &[(&str, &str)]) -> Out {
    let dir = scratch();
    let file = dir.join("workflow.yaml");
    std::fs::write(&file, workflow.replace("IMAGE", IMAGE)).unwrap();
    let config = if config.ends_with(".yaml") {
        config.to_string()
    } else {
        let path = dir.join("containers.yaml");
        std::fs::write(&path, config).unwrap();
        path.display().to_string()
    };
    let out = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(["run", &file.display().to_string(), "--input"])
        .arg(input.to_string())
        .args(["--containers", &config])
        .envs(env.iter().copied())
        .output()
        .expect("nagare runs");
    Out {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), fastrand::u32(..))
}
