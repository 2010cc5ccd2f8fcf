//! Task logs in the service: every run and container task's [`Log`] feeds one writer per node,
//! which stores what arrived since its last write in one statement (the same group commit as
//! the history's, for the same reason: one transaction per piece would be the cost).
//!
//! A task's answer waits until what it printed is stored ([`TaskLog::stored`]), so whoever
//! sees a task ended also finds its whole log.
//!
//! Best effort, by design: the task's result (in its history) is the durable record; a log
//! piece that cannot be stored after a few tries is dropped, with a line on stderr, rather
//! than slowing the task. Each attempt keeps at most [`MAX_PER_EFFECT`] bytes, so a chatty
//! process cannot fill the store or this process's memory.

use super::effect::now_ms;
use crate::functions::log::{Log, Sink, Stream};
use crate::store::{LogChunk, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most of one attempt's output that is stored (what follows is counted, not kept).
pub const MAX_PER_EFFECT: usize = 8 << 20;

/// The handle the node's effects get their logs from; cheap to clone.
#[derive(Clone)]
pub struct Logs {
    tx: mpsc::UnboundedSender<Piece>,
}

enum Piece {
    Chunk(LogChunk),
    /// Answered once every chunk sent before it is stored (or given up on).
    Flush(oneshot::Sender<()>),
}

impl Logs {
    /// Starts the writer on the current tokio runtime.
    pub fn spawn(store: Arc<dyn Store>) -> Logs {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write(store, rx));
        Logs { tx }
    }

    /// The log of one attempt of `task` in `instance`.
    pub fn open(&self, instance: &str, task: &str, effect: u64) -> Arc<TaskLog> {
        Arc::new(TaskLog {
            tx: self.tx.clone(),
            instance: instance.to_string(),
            task: task.to_string(),
            effect,
            written: AtomicUsize::new(0),
        })
    }
}

pub struct TaskLog {
    tx: mpsc::UnboundedSender<Piece>,
    instance: String,
    task: String,
    effect: u64,
    written: AtomicUsize,
}

impl TaskLog {
    /// What the task's backend writes to.
    pub fn log(self: &Arc<Self>) -> Log {
        Log::to(self.clone())
    }

    /// Resolves once everything written so far is stored (at once if nothing was).
    pub async fn stored(&self) {
        if self.written.load(Ordering::Relaxed) == 0 {
            return;
        }
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Piece::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

impl Sink for TaskLog {
    fn write(&self, stream: Stream, text: String) {
        let before = self.written.fetch_add(text.len(), Ordering::Relaxed);
        let room = MAX_PER_EFFECT.saturating_sub(before);
        if room == 0 {
            return;
        }
        let text = if text.len() <= room {
            text
        } else {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            format!(
                "{}\n[nagare: this attempt printed more than {} MiB; the rest is not kept]\n",
                &text[..cut],
                MAX_PER_EFFECT >> 20
            )
        };
        let _ = self.tx.send(Piece::Chunk(LogChunk {
            instance: self.instance.clone(),
            task: self.task.clone(),
            effect: self.effect,
            stream,
            at: now_ms(),
            text,
        }));
    }
}

/// Writes whatever arrived while the previous write was in flight, in one call.
async fn write(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<Piece>) {
    let mut pieces = Vec::new();
    let mut batch = Vec::new();
    let mut flushes = Vec::new();
    while rx.recv_many(&mut pieces, 4096).await > 0 {
        for piece in pieces.drain(..) {
            match piece {
                Piece::Chunk(chunk) => batch.push(chunk),
                Piece::Flush(done) => flushes.push(done),
            }
        }
        for attempt in 1..=3 {
            if batch.is_empty() {
                break;
            }
            match store.append_logs(&batch).await {
                Ok(()) => break,
                Err(e) if attempt == 3 => {
                    eprintln!("nagare: {} task log pieces are lost: {e}", batch.len());
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100 * attempt)).await,
            }
        }
        batch.clear();
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_keeps_at_most_its_cap_then_says_so() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let log = TaskLog {
            tx,
            instance: "i".into(),
            task: "/do/0/t".into(),
            effect: 1,
            written: AtomicUsize::new(0),
        };
        let five = "é".repeat(5 << 19); // 5 MiB of two-byte characters
        log.write(Stream::Stdout, five.clone());
        log.write(Stream::Stderr, five.clone());
        log.write(Stream::Stdout, "dropped".into());
        let mut kept = Vec::new();
        while let Ok(Piece::Chunk(c)) = rx.try_recv() {
            kept.push(c);
        }
        assert_eq!(kept.len(), 2, "the third write is past the cap");
        assert_eq!(kept[0].text, five);
        let second = &kept[1].text;
        assert_eq!(kept[1].stream, Stream::Stderr);
        let note = "\n[nagare: this attempt printed more than 8 MiB; the rest is not kept]\n";
        assert!(second.ends_with(note), "{}", &second[second.len() - 100..]);
        assert_eq!(five.len() + second.len() - note.len(), MAX_PER_EFFECT);
    }
}
