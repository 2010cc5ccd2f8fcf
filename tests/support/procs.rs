//! Whether a process is still there, for tests that check what nagare leaves behind.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// A process is gone when `/proc/PID` is gone, or when it is a zombie: dead, and waiting for a
/// parent that is not nagare (an orphan is reparented to this machine's init or a subreaper,
/// which may reap it late).
pub fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `PID (COMM) STATE …`: the state follows the last `)` (COMM may hold one).
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Whether `/proc/PID` exists at all (a zombie counts as there: nobody reaped it).
pub fn exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits until `done(pid)` holds, up to `limit`; answers how long that took, or kills the
/// process (so a failed test leaves nothing behind) and panics.
pub fn wait_until(pid: i32, what: &str, limit: Duration, done: impl Fn(i32) -> bool) -> Duration {
    let start = Instant::now();
    while !done(pid) {
        if start.elapsed() > limit {
            // SAFETY: kill has no memory effects.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            panic!("process {pid} was not {what} after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

/// Reads a pid a shell wrote to `file`, waiting up to `limit` for a whole line.
pub fn read_pid(file: &std::path::Path, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && text.ends_with('\n')
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(
            start.elapsed() < limit,
            "no pid in {} after {limit:?}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
