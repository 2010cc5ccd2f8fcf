//! A task's log as it is written. The process and container backends copy what a process
//! prints into a [`Log`] while they collect it for the task's result, so a server can keep
//! the whole log and show it while the task runs, whatever the task's `return` keeps.
//! Where the log goes is the runtime's business (the service stores it; a local run has
//! none): a backend only writes.

use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    pub fn parse(s: &str) -> Option<Stream> {
        match s {
            "stdout" => Some(Stream::Stdout),
            "stderr" => Some(Stream::Stderr),
            _ => None,
        }
    }
}

/// Where one task's log goes.
pub trait Sink: Send + Sync {
    /// `text` is valid UTF-8 without NUL characters (PostgreSQL's text cannot hold them).
    fn write(&self, stream: Stream, text: String);
}

/// A handle on a task's log; cheap to clone. [`Log::none`] writes nowhere.
#[derive(Clone, Default)]
pub struct Log {
    sink: Option<Arc<dyn Sink>>,
}

impl Log {
    pub fn none() -> Log {
        Log::default()
    }

    pub fn to(sink: Arc<dyn Sink>) -> Log {
        Log { sink: Some(sink) }
    }

    pub fn write(&self, stream: Stream, text: &str) {
        if let Some(sink) = &self.sink
            && !text.is_empty()
        {
            sink.write(stream, text.replace('\0', "\u{FFFD}"));
        }
    }
}

/// The default cap on what one process or container result keeps of each stream, and on an
/// HTTP response body (`--max-output-bytes`, `--max-response-bytes`).
pub const MAX_OUTPUT: usize = 16 << 20;

/// A stream printed more than the result may keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    pub stream: Stream,
    pub limit: usize,
}

impl Overflow {
    /// The task's error: `runtime`, naming the limit and the flag that sets it. `what` names
    /// the process (`` `sh` ``, `container NAME`).
    pub fn error(&self, what: &str) -> crate::error::Error {
        crate::error::Error::runtime(format!(
            "{what} printed more than {} bytes on {} and was stopped: that is the most a result keeps (--max-output-bytes); write large outputs to a file or a store and pass their location",
            self.limit,
            self.stream.as_str()
        ))
    }
}

/// Reads a pipe to its end, copying each read into the log as it arrives; answers every byte
/// read, or [`Overflow`] as soon as there are more than `limit` (the rest is left unread, so
/// memory stays bounded; the caller stops the process). A character split across two reads is
/// written whole with the second.
pub async fn capture<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    stream: Stream,
    log: &Log,
    limit: usize,
) -> Result<Vec<u8>, Overflow> {
    let Some(mut pipe) = pipe else {
        return Ok(Vec::new());
    };
    let mut all = Vec::new();
    let mut buffer = [0u8; 8192];
    // Where the bytes not yet written to the log begin.
    let mut pending = 0;
    loop {
        let n = match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        all.extend_from_slice(&buffer[..n]);
        pending += write_valid(log, stream, &all[pending..]);
        if all.len() > limit {
            return Err(Overflow { stream, limit });
        }
    }
    if pending < all.len() {
        log.write(stream, &String::from_utf8_lossy(&all[pending..]));
    }
    Ok(all)
}

/// Writes the longest prefix of `bytes` that does not end inside a character (invalid bytes
/// become U+FFFD); answers how many bytes it consumed.
fn write_valid(log: &Log, stream: Stream, bytes: &[u8]) -> usize {
    let whole = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        // An incomplete character at the end: keep it for the next read.
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => bytes.len() - incomplete_tail(bytes),
    };
    log.write(stream, &String::from_utf8_lossy(&bytes[..whole]));
    whole
}

/// How many bytes at the end of `bytes` start a character that is not complete yet.
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=3.min(bytes.len()) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 != 0x80 {
            let width = match b {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if width > back { back } else { 0 };
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Kept(Mutex<Vec<(Stream, String)>>);
    impl Sink for Kept {
        fn write(&self, stream: Stream, text: String) {
            self.0.lock().unwrap().push((stream, text));
        }
    }

    /// A reader that hands out the given pieces one read at a time.
    struct Pieces(Vec<Vec<u8>>);
    impl AsyncRead for Pieces {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if !self.0.is_empty() {
                let piece = self.0.remove(0);
                buf.put_slice(&piece);
            }
            std::task::Poll::Ready(Ok(()))
        }
    }

    async fn logged(pieces: Vec<Vec<u8>>) -> (Vec<u8>, Vec<String>) {
        let kept = Arc::new(Kept::default());
        let log = Log::to(kept.clone());
        let all = capture(Some(Pieces(pieces)), Stream::Stderr, &log, MAX_OUTPUT)
            .await
            .unwrap();
        let texts = kept
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.clone())
            .collect();
        (all, texts)
    }

    #[tokio::test]
    async fn a_character_split_between_reads_is_written_whole() {
        let e = "é".as_bytes(); // two bytes
        let (all, texts) = logged(vec![vec![b'a', e[0]], vec![e[1], b'b']]).await;
        assert_eq!(all, "aéb".as_bytes());
        assert_eq!(texts, ["a", "éb"]);
    }

    #[tokio::test]
    async fn invalid_bytes_and_nul_become_replacement_characters() {
        let (all, texts) = logged(vec![vec![b'x', 0xFF, b'y', 0, b'z']]).await;
        assert_eq!(all.len(), 5, "the result keeps the bytes as printed");
        assert_eq!(texts, ["x\u{FFFD}y\u{FFFD}z"]);
    }

    #[tokio::test]
    async fn more_than_the_limit_is_an_overflow_and_is_not_read_further() {
        let kept = Arc::new(Kept::default());
        let log = Log::to(kept.clone());
        let mut pieces = Pieces(vec![vec![b'a'; 6], vec![b'b'; 6], vec![b'c'; 6]]);
        let got = capture(Some(&mut pieces), Stream::Stdout, &log, 10).await;
        assert_eq!(
            got,
            Err(Overflow {
                stream: Stream::Stdout,
                limit: 10
            })
        );
        assert_eq!(pieces.0.len(), 1, "the read past the limit is the last");
        let exactly = capture(Some(Pieces(vec![vec![b'x'; 10]])), Stream::Stdout, &log, 10).await;
        assert_eq!(
            exactly.map(|all| all.len()),
            Ok(10),
            "the limit itself is kept"
        );
    }

    #[tokio::test]
    async fn an_incomplete_character_at_the_end_is_still_written() {
        let (_, texts) = logged(vec![vec![b'a', 0xE2, 0x82]]).await;
        assert_eq!(texts, ["a", "\u{FFFD}"]);
    }
}
