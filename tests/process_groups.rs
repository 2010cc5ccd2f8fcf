//! `run: shell` processes are stopped whole through `nagare serve`: cancelling an instance
//! ends its task's process group (the grandchild `sh` started in the background included),
//! and the `sh` nagare started is reaped, not left a zombie.

#[path = "support/procs.rs"]
mod procs;
#[path = "support/server.rs"]
mod server;

use serde_json::json;
use server::{Backing, Http, Server, TempDir};
use std::time::Duration;

#[test]
fn cancelling_an_instance_stops_its_process_group() {
    let dir = TempDir::new("process-groups");
    let server = Server::start(&Backing::Sqlite(dir.path().join("data")), &[]);
    let http = Http::default();
    let (sh_file, grandchild_file) = (dir.path().join("sh.pid"), dir.path().join("sleep.pid"));
    http.push(
        &server,
        &format!(
            "document: {{dsl: '1.0.3', namespace: test, name: group, version: '1.0.0'}}
do:
  - busy:
      run:
        shell:
          command: 'echo $$ > {}; sleep 300 & echo $! > {}; wait'
",
            sh_file.display(),
            grandchild_file.display()
        ),
    );
    let id = http.start(&server, "test/group/1.0.0", &json!({}));
    let grandchild = procs::read_pid(&grandchild_file, Duration::from_secs(30));
    let sh = procs::read_pid(&sh_file, Duration::from_secs(30));
    assert!(
        !procs::gone(grandchild),
        "the grandchild runs before the cancel"
    );
    let (s, v) = http.post_json(
        &server.api(&format!("/instances/{id}/cancel")),
        &json!(null),
    );
    assert_eq!(s, 202, "{v}");
    let ended = http.wait(&server, &id, 30);
    assert_eq!(ended["status"], "cancelled", "{ended}");
    let took = procs::wait_until(grandchild, "gone", Duration::from_secs(10), procs::gone);
    eprintln!("the grandchild was gone {took:?} after the instance was cancelled");
    // `sh`'s parent is the server, which must reap it: a zombie still has its /proc entry.
    procs::wait_until(sh, "reaped", Duration::from_secs(10), |pid| {
        !procs::exists(pid)
    });
}
