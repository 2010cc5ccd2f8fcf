//! Child processes are stopped whole. Each `run: shell|script` process (and the local container
//! backend's podman or docker client) leads a process group of its own, and a [`Group`] guard
//! kills that whole group (`kill(-pgid, SIGKILL)`) when the task's future is dropped
//! unfinished: a cancel, a timeout, a lost race, a node that lost its lease. Killing only the
//! direct child (tokio's `kill_on_drop`) would leave what it started (`sleep 300 &`, a
//! pipeline's other commands, a script's subprocesses) running, holding the pipes and the
//! machine.
//!
//! When nagare itself dies (even by SIGKILL, when no guard can run), the kernel sends the
//! direct child SIGKILL (`PR_SET_PDEATHSIG`), but **only the direct child**: its own children
//! are reparented and go on. Nothing in the process can do better once it is gone; a service
//! that must not leave them should run nagare in a cgroup of its own (a systemd unit, a pod)
//! whose end kills everything in it.

use super::log::{Log, Overflow, Stream, capture};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// Makes `command` start its child as the leader of a new process group, killed on drop
/// (tokio), and killed by the kernel if nagare dies (the direct child only; see the module doc).
pub fn isolate(command: &mut Command) {
    command.kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(target_os = "linux")]
    {
        // Read before the fork: in the child, a different parent means nagare already died
        // between the fork and the prctl, which the death signal would then never report.
        let parent = std::process::id();
        // SAFETY: prctl, getppid and raise are async-signal-safe and touch no memory of the
        // parent.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() as u32 != parent {
                    libc::raise(libc::SIGKILL);
                }
                Ok(())
            });
        }
    }
}

/// Kills a child's whole process group when dropped armed (the child was started with
/// [`isolate`], so its pid is the group's id).
pub struct Group {
    pgid: Option<i32>,
}

impl Group {
    /// Guards the group led by `child`; unarmed if the child has no pid (already reaped).
    pub fn of(child: &Child) -> Group {
        Group {
            pgid: child.id().and_then(|id| i32::try_from(id).ok()),
        }
    }

    /// Kills every process of the group now (once).
    pub fn kill(&mut self) {
        #[cfg(unix)]
        if let Some(pgid) = self.pgid.take() {
            // The id names our group still: Linux does not hand out a pid while a process or
            // a group of that id exists. Until the guard is disarmed, either the leader is not
            // reaped (it is reaped by `wait`, and on drop this guard goes before the `Child`,
            // declared before it) or the task still waits for a member holding its pipes.
            // SAFETY: kill has no memory effects; a group that is gone answers ESRCH.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }

    /// The child ended on its own: what it left behind in the background is its business
    /// (as with any shell), and the group id must not be signalled once the leader is reaped.
    pub fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The `Child` is dropped after this (with `kill_on_drop`), and tokio reaps a dropped
        // child in the background, so no zombie remains either.
        self.kill();
    }
}

/// Feeds `stdin` to a child started with [`isolate`], reads its stdout and stderr into the
/// log and the result (each up to `limit`), and waits for it to end; the group is disarmed
/// once it ended. Past the limit the whole group is killed at once, so that `wait` (and a
/// write to stdin the process no longer reads) ends instead of blocking on a full pipe.
pub async fn attend(
    child: &mut Child,
    group: &mut Group,
    stdin: String,
    log: &Log,
    limit: usize,
) -> (
    Result<(Vec<u8>, Vec<u8>), Overflow>,
    std::io::Result<std::process::ExitStatus>,
) {
    let pipe = child.stdin.take();
    let feed = async move {
        if let Some(mut p) = pipe {
            let _ = p.write_all(stdin.as_bytes()).await;
        }
    };
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let captured = async {
        let captured = tokio::try_join!(
            capture(stdout, Stream::Stdout, log, limit),
            capture(stderr, Stream::Stderr, log, limit)
        );
        if captured.is_err() {
            group.kill();
        }
        captured
    };
    let (_, captured, status) = tokio::join!(feed, captured, child.wait());
    group.disarm();
    (captured, status)
}
