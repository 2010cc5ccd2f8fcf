//! The time the runs loop plans with: the system clock, or — for tests — a fake clock read
//! from a file, so that tests can jump over days, downtime and DST changes without sleeping.
//!
//! `nagare serve --fake-clock FILE`: FILE holds an RFC 3339 instant (`2026-03-29T00:30:00Z`);
//! the loop reads it on every tick and whenever it is nudged. Only *planning* uses it (what is
//! due, catchup); instances keep the system clock, since their timers are real waits.

use jiff::Timestamp;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// A fake clock (tests): the instant written in this file.
    File(PathBuf),
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        let system = || {
            Timestamp::from_millisecond(super::effect::now_ms()).unwrap_or(Timestamp::UNIX_EPOCH)
        };
        match self {
            Clock::System => system(),
            Clock::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => text.trim().parse().unwrap_or_else(|e| {
                    eprintln!(
                        "nagare: the fake clock {} is unreadable: {e}",
                        path.display()
                    );
                    system()
                }),
                Err(e) => {
                    eprintln!("nagare: cannot read the fake clock {}: {e}", path.display());
                    system()
                }
            },
        }
    }

    /// A fake clock does not move by itself: the loop must not sleep until a due time.
    pub fn is_fake(&self) -> bool {
        matches!(self, Clock::File(_))
    }
}
