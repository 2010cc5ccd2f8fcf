//! Retry policies: whether another attempt is allowed, and how long to wait before it.
//!
//! Attempt `n` (0 for the first retry) waits `delay` (constant), `delay × (n + 1)` (linear) or
//! `delay × 2ⁿ` (exponential), plus a uniformly random jitter in `[from, to]`.

use crate::dsl::model::error::RetryPolicy;
use std::time::Duration;

/// The resolved numbers of a policy (durations already evaluated).
pub(crate) struct Plan {
    pub delay: Duration,
    pub backoff: Backoff,
    pub jitter: Option<(Duration, Duration)>,
    /// Maximum number of retries (not counting the first attempt).
    pub max_retries: Option<u32>,
    /// Total time allowed for all attempts, from the first attempt's start.
    pub total: Option<Duration>,
    /// Time allowed for one attempt.
    pub per_attempt: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backoff {
    Constant,
    Linear,
    Exponential,
}

pub(crate) fn backoff(policy: &RetryPolicy) -> Backoff {
    match &policy.backoff {
        Some(b) if b.exponential.is_some() => Backoff::Exponential,
        Some(b) if b.linear.is_some() => Backoff::Linear,
        _ => Backoff::Constant,
    }
}

impl Plan {
    /// May retry number `retry` (0-based) start, `elapsed` after the first attempt started?
    pub fn allows(&self, retry: u32, elapsed: Duration) -> bool {
        self.max_retries.is_none_or(|max| retry < max) && self.total.is_none_or(|t| elapsed < t)
    }

    /// The wait before retry number `retry` (0-based); `unit` is a uniform sample in [0, 1).
    pub fn wait(&self, retry: u32, unit: f64) -> Duration {
        let base = match self.backoff {
            Backoff::Constant => self.delay,
            Backoff::Linear => self.delay.saturating_mul(retry.saturating_add(1)),
            Backoff::Exponential => self
                .delay
                .saturating_mul(2u32.saturating_pow(retry.min(31))),
        };
        let jitter = match self.jitter {
            Some((from, to)) if to > from => from + (to - from).mul_f64(unit.clamp(0.0, 1.0)),
            Some((from, _)) => from,
            None => Duration::ZERO,
        };
        base.saturating_add(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(backoff: Backoff) -> Plan {
        Plan {
            delay: Duration::from_secs(2),
            backoff,
            jitter: None,
            max_retries: Some(3),
            total: None,
            per_attempt: None,
        }
    }

    #[test]
    fn backoffs() {
        let secs = |p: &Plan| (0..4).map(|n| p.wait(n, 0.0).as_secs()).collect::<Vec<_>>();
        assert_eq!(secs(&plan(Backoff::Constant)), vec![2, 2, 2, 2]);
        assert_eq!(secs(&plan(Backoff::Linear)), vec![2, 4, 6, 8]);
        assert_eq!(secs(&plan(Backoff::Exponential)), vec![2, 4, 8, 16]);
    }

    #[test]
    fn jitter_stays_in_bounds() {
        let mut p = plan(Backoff::Constant);
        p.jitter = Some((Duration::from_millis(100), Duration::from_millis(300)));
        assert_eq!(p.wait(0, 0.0), Duration::from_millis(2100));
        assert_eq!(p.wait(0, 0.5), Duration::from_millis(2200));
        assert!(p.wait(0, 0.999) < Duration::from_millis(2300));
    }

    #[test]
    fn limits() {
        let mut p = plan(Backoff::Constant);
        assert!(p.allows(2, Duration::ZERO) && !p.allows(3, Duration::ZERO));
        p.total = Some(Duration::from_secs(10));
        assert!(!p.allows(0, Duration::from_secs(10)));
    }
}
