//! The local backend: a container on this machine, run by podman or docker.
//!
//! `ENGINE run` attached, with the task's stdin on its stdin; the container's stdout, stderr
//! and exit code are the process result. With `command`, the container runs
//! `sh -c COMMAND nagare ARGUMENTS...` (as `run: shell` does: the arguments are `$1`, `$2`, ...);
//! without it, the arguments go to the image's own entrypoint or CMD. The engine's own
//! failures (image not found, a bad flag: exit 125 with podman and docker) are task errors, not
//! exit codes of the container.
//!
//! Lifetime: `always` runs with `--rm`; `never` keeps the container; `eventually` labels it
//! with the time after which it may go, removes it then, and every start of the backend
//! removes the labelled containers whose time has passed (so a restart forgets nothing). A
//! dropped run (cancel, timeout, a lost race) kills the container: killing the attached client
//! alone would leave it running. The engine's client is started as `run: shell` processes are
//! (`group.rs`): a process group of its own, killed whole on drop, and the death signal if
//! nagare dies. That stops the client and whatever it keeps in its group (rootless podman
//! re-executes itself in a user namespace: the death signal alone would reach only the outer
//! one); the container itself is not in that group (podman starts its monitor conmon with a
//! group of its own, docker's daemon runs it), so `ENGINE kill` stops it, and if nagare dies
//! the container goes on until its retry on another node replaces it (same name,
//! `--replace`). `resources` are not applied: they size Kubernetes pods and Batch
//! jobs, and a laptop run shares the machine it is on.
//!
//! A container that prints more than the limit on stdout or stderr (`--max-output-bytes`) is
//! killed and its task faults with a `runtime` error, as for `run: shell`.

use super::Request;
use super::cleanup::Cleanups;
use super::config;
use crate::dsl::model::run::{Cleanup, PullPolicy};
use crate::error::Error;
use crate::functions::group::{self, Group};
use crate::functions::log::Log;
use serde_json::{Value, json};
use std::process::Stdio;
use std::sync::Arc;
use tokio::process::Command;

/// The label holding the Unix time (seconds) after which an `eventually` container may go.
const REMOVE_AFTER: &str = "io.nagare.remove-after";

pub struct Local {
    engine: String,
    podman: bool,
    args: Vec<String>,
    cleanups: Arc<Cleanups>,
}

impl Local {
    /// Finds the engine (configured, or podman then docker on PATH) and sweeps expired
    /// `eventually` containers.
    pub async fn new(config: &config::Local, cleanups: Arc<Cleanups>) -> Result<Local, Error> {
        let engine = match &config.engine {
            Some(e) => e.clone(),
            None => ["podman", "docker"]
                .into_iter()
                .find(|e| on_path(e))
                .map(String::from)
                .ok_or_else(|| {
                    Error::configuration(
                        "no container engine for the local backend: install podman or docker, \
                         or run this task elsewhere (`backend: awsBatch` in the container \
                         configuration given with --containers; see README, \"Containers\")",
                    )
                })?,
        };
        let podman = std::path::Path::new(&engine)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("podman"));
        let local = Local {
            engine,
            podman,
            args: config.args.clone(),
            cleanups,
        };
        local.sweep().await;
        Ok(local)
    }

    pub async fn run(&self, request: &Request, log: &Log, limit: usize) -> Result<Value, Error> {
        let name = container_name(&request.name);
        let mut argv: Vec<String> = vec!["run".into(), "--name".into(), name.clone()];
        if self.podman {
            // The same name again is a retry after a crash: its leftover goes.
            argv.push("--replace".into());
        } else {
            let _ = self.engine(["rm", "-f", &name]).output().await;
        }
        argv.push(if request.await_ { "-i" } else { "-d" }.into());
        if request.lifetime.cleanup == Cleanup::Always {
            argv.push("--rm".into());
        }
        argv.push(format!(
            "--pull={}",
            match request.pull_policy {
                PullPolicy::Always => "always",
                PullPolicy::IfNotPresent => "missing",
                PullPolicy::Never => "never",
            }
        ));
        for (k, v) in request.labels() {
            argv.extend(["--label".into(), format!("{k}={v}")]);
        }
        if let (Cleanup::Eventually, Some(after)) =
            (request.lifetime.cleanup, request.lifetime.after_ms)
        {
            let at = unix_seconds() + after / 1000;
            argv.extend(["--label".into(), format!("{REMOVE_AFTER}={at}")]);
        }
        for (k, v) in &request.environment {
            argv.extend(["-e".into(), format!("{k}={v}")]);
        }
        for (host, inner) in &request.ports {
            argv.extend(["-p".into(), format!("{host}:{inner}")]);
        }
        for (host, inner) in &request.volumes {
            // As docker does (podman refuses): a missing host folder is created.
            if host.starts_with('/') && !std::path::Path::new(host).exists() {
                std::fs::create_dir_all(host).map_err(|e| {
                    Error::runtime(format!("cannot create the volume folder {host}: {e}"))
                })?;
            }
            argv.extend(["-v".into(), format!("{host}:{inner}")]);
        }
        // `resources` size pods and Batch jobs; here the container shares this machine.
        argv.extend(self.args.iter().cloned());
        if request.command.is_some() {
            argv.extend(["--entrypoint".into(), "sh".into()]);
        }
        argv.push(request.image.clone());
        if let Some(command) = &request.command {
            argv.extend(["-c".into(), command.clone(), "nagare".into()]);
        }
        argv.extend(request.arguments.iter().cloned());

        let mut command = self.engine(&argv);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        group::isolate(&mut command);
        let mut child = command
            .spawn()
            .map_err(|e| Error::configuration(format!("cannot start `{}`: {e}", self.engine)))?;
        // Dropped before `child`: the client's group is killed before it is reaped.
        let mut group = Group::of(&child);
        let mut guard = Kill {
            cleanups: self.cleanups.clone(),
            engine: self.engine.clone(),
            name: Some(name.clone()),
        };
        let stdin = request.stdin.clone().unwrap_or_default();
        let (captured, status) = group::attend(&mut child, &mut group, stdin, log, limit).await;
        let (stdout, stderr) =
            captured.map_err(|overflow| overflow.error(&format!("container {name}")))?;
        let status =
            status.map_err(|e| Error::runtime(format!("`{}` failed: {e}", self.engine)))?;
        guard.name = None;
        let code = status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        let engine = self.engine_name();
        if code == 125 {
            return Err(Error::runtime(format!(
                "{engine} could not run container {name} (image {}): {}",
                request.image,
                stderr.trim()
            )));
        }
        if let (Cleanup::Eventually, Some(after)) =
            (request.lifetime.cleanup, request.lifetime.after_ms)
        {
            let (engine, name) = (self.engine.clone(), name.clone());
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(after)).await;
                let _ = Command::new(engine)
                    .args(["rm", "-f", &name])
                    .output()
                    .await;
            });
        }
        if !request.await_ {
            return Ok(
                json!({"code": 0, "stdout": "", "stderr": "", "where": format!("container {name}")}),
            );
        }
        let kept = request.lifetime.cleanup != Cleanup::Always;
        Ok(json!({
            "code": code,
            "stdout": String::from_utf8_lossy(&stdout),
            "stderr": stderr,
            "where": if kept {
                format!("container {name}; `{engine} logs {name}`")
            } else {
                format!("container {name}, removed on exit")
            },
        }))
    }

    fn engine_name(&self) -> &str {
        if self.podman { "podman" } else { "docker" }
    }

    fn engine<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = Command::new(&self.engine);
        c.args(args);
        c
    }

    /// Removes the `eventually` containers whose time has passed (from any earlier process).
    async fn sweep(&self) {
        let filter = format!("label={REMOVE_AFTER}");
        // podman's `.Labels` is a map, docker's a string with a `.Label` method.
        let format = if self.podman {
            format!("{{{{.Names}}}}\t{{{{index .Labels \"{REMOVE_AFTER}\"}}}}")
        } else {
            format!("{{{{.Names}}}}\t{{{{.Label \"{REMOVE_AFTER}\"}}}}")
        };
        let Ok(out) = self
            .engine(["ps", "-a", "--filter", &filter, "--format", &format])
            .output()
            .await
        else {
            return;
        };
        let now = unix_seconds();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut parts = line.split('\t');
            let (Some(name), Some(at)) = (parts.next(), parts.next()) else {
                continue;
            };
            if at.trim().parse::<u64>().is_ok_and(|at| at <= now) {
                let _ = self.engine(["rm", "-f", name.trim()]).output().await;
            }
        }
    }
}

/// Kills the container when its run is dropped before it ended.
struct Kill {
    cleanups: Arc<Cleanups>,
    engine: String,
    name: Option<String>,
}

impl Drop for Kill {
    fn drop(&mut self) {
        let Some(name) = self.name.take() else { return };
        let engine = self.engine.clone();
        // Tried again for a moment: the engine may still be creating the container.
        self.cleanups.spawn(move || {
            for _ in 0..8 {
                let killed = std::process::Command::new(&engine)
                    .args(["kill", &name])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if killed {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        });
    }
}

/// A container name podman and docker accept: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn container_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.insert(0, 'x');
    }
    out
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
