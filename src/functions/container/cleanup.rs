//! Stopping what a dropped container task left running (a container to kill, a Batch job to
//! terminate). The work runs on threads of its own, because the future that was dropped may
//! be going away with its runtime, and `settle` waits for it before the process exits, so a
//! timeout in `nagare run` still stops its container.

use std::sync::Mutex;
use std::thread::JoinHandle;

#[derive(Default)]
pub struct Cleanups {
    running: Mutex<Vec<JoinHandle<()>>>,
}

impl Cleanups {
    pub fn spawn(&self, work: impl FnOnce() + Send + 'static) {
        let handle = std::thread::spawn(work);
        if let Ok(mut running) = self.running.lock() {
            running.retain(|h| !h.is_finished());
            running.push(handle);
        }
    }

    /// Waits for every cleanup started so far.
    pub fn settle(&self) {
        let handles = match self.running.lock() {
            Ok(mut running) => std::mem::take(&mut *running),
            Err(_) => return,
        };
        for h in handles {
            let _ = h.join();
        }
    }
}
