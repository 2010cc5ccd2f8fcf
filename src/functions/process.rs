//! Shell commands and scripts as local processes: argv, stdin, environment, and the exit code
//! with the captured stdout and stderr. The child's whole process group is killed when its
//! future is dropped (the task timed out, lost a race, or the instance was cancelled; see
//! `group.rs`). Each of stdout and stderr is kept up to a limit (`--max-output-bytes`): a
//! process that prints more is stopped and its task faults with a `runtime` error naming the
//! limit (a truncated result could be mistaken for a whole one; the task log, where there is
//! one, has what was printed until then).

use super::group::{self, Group};
use super::log::Log;
use crate::error::Error;
use serde_json::{Value, json};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Runs the process described by the engine; answers `{code, stdout, stderr}`. With
/// `await: false` it answers as soon as the process started, and the process keeps running.
/// `limit` is the most kept of each of stdout and stderr.
pub async fn run(process: &Value, log: &Log, limit: usize) -> Result<Value, Error> {
    let text = |k: &str| process.get(k).and_then(Value::as_str);
    let (program, mut argv, script_file) = match text("kind") {
        Some("shell") => {
            let command = text("command")
                .ok_or_else(|| Error::configuration("the shell process has no command"))?;
            // `sh -c COMMAND NAME ARGS...`: the arguments are `$1`, `$2`, ... of the command.
            (
                String::from("sh"),
                vec!["-c".to_string(), command.to_string(), "nagare".to_string()],
                None,
            )
        }
        Some("script") => script(process).await?,
        other => {
            return Err(Error::configuration(format!(
                "process kind {other:?} is not run by the local process backend"
            )));
        }
    };
    argv.extend(
        process
            .get("arguments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|a| {
                a.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| a.to_string())
            }),
    );
    let mut command = Command::new(&program);
    command
        .args(&argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A group of its own, killed whole when this future is dropped; and if nagare itself dies
    // (even by SIGKILL, when no guard runs), the kernel kills the direct child too: a task
    // taken over by another node must not still be running here.
    group::isolate(&mut command);
    if let Some(env) = process.get("environment").and_then(Value::as_object) {
        for (k, v) in env {
            command.env(
                k,
                v.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string()),
            );
        }
    }
    let mut child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::configuration(format!(
            "`{program}` is not installed (not found on PATH); install it to run this process"
        )),
        _ => Error::runtime(format!("cannot start `{program}`: {e}")),
    })?;
    // Declared after `child`, so dropped before it: the group is killed while its leader is
    // not yet reaped.
    let mut group = Group::of(&child);
    let stdin = text("stdin").unwrap_or_default().to_string();
    let mut pipe = child.stdin.take();
    let awaited = process
        .get("await")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !awaited {
        // Detached: feed stdin in the background and let the process run on its own (nagare
        // no longer stops it; it still dies with nagare, through the death signal).
        group.disarm();
        tokio::spawn(async move {
            let _keep = script_file;
            if let Some(p) = &mut pipe {
                let _ = p.write_all(stdin.as_bytes()).await;
            }
            drop(pipe);
            let _ = child.wait().await;
        });
        return Ok(Value::Null);
    }
    child.stdin = pipe;
    let (captured, status) = group::attend(&mut child, &mut group, stdin, log, limit).await;
    drop(script_file);
    let status = status.map_err(|e| Error::runtime(format!("`{program}` failed: {e}")))?;
    let (stdout, stderr) = captured.map_err(|overflow| overflow.error(&format!("`{program}`")))?;
    Ok(json!({
        "code": status.code().unwrap_or(-1),
        "stdout": String::from_utf8_lossy(&stdout),
        "stderr": String::from_utf8_lossy(&stderr),
    }))
}

/// A script: its interpreter and a file holding the code (kept until the process ends).
async fn script(
    process: &Value,
) -> Result<(String, Vec<String>, Option<tempfile_path::Temp>), Error> {
    let language = process
        .get("language")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (program, extension) = match language {
        "js" | "javascript" => ("node", "mjs"),
        "python" => ("python3", "py"),
        other => {
            return Err(Error::configuration(format!(
                "script language `{other}` is not supported (js, javascript, python)"
            )));
        }
    };
    let code = match (
        process.get("code").and_then(Value::as_str),
        process.get("source").and_then(Value::as_str),
    ) {
        (Some(code), _) => code.to_string(),
        (None, Some(uri)) => source(uri).await?,
        (None, None) => {
            return Err(Error::configuration(
                "the script has neither code nor source",
            ));
        }
    };
    let temp = tempfile_path::Temp::write(extension, &code)
        .map_err(|e| Error::runtime(format!("cannot write the script: {e}")))?;
    let path = temp.path.display().to_string();
    Ok((program.to_string(), vec![path], Some(temp)))
}

/// Reads an external script: `file://` paths and plain paths from disk, `http(s)://` over HTTP.
async fn source(uri: &str) -> Result<String, Error> {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        let response = reqwest::get(uri).await.map_err(|e| {
            Error::communication(
                503,
                "Service Unavailable",
                format!("cannot fetch {uri}: {e}"),
            )
        })?;
        if !response.status().is_success() {
            return Err(Error::communication(
                response.status().as_u16(),
                "Script Not Fetched",
                format!("GET {uri} answered {}", response.status()),
            ));
        }
        return response
            .text()
            .await
            .map_err(|e| Error::communication(502, "Bad Gateway", e.to_string()));
    }
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    std::fs::read_to_string(path)
        .map_err(|e| Error::configuration(format!("cannot read the script {path}: {e}")))
}

/// A script file in the temp folder, removed when dropped.
mod tempfile_path {
    pub struct Temp {
        pub path: std::path::PathBuf,
    }
    impl Temp {
        pub fn write(extension: &str, code: &str) -> std::io::Result<Temp> {
            let name = format!("nagare-script-{}.{extension}", uuid::Uuid::new_v4());
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, code)?;
            Ok(Temp { path })
        }
    }
    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
