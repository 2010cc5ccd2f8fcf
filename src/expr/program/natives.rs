//! Natives that replace jaq's where jaq's could escape the evaluation's budget or depend on
//! the host, and the ones the prelude builds `localtime` and `strflocaltime` on.
//!
//! - `range/3` counts each value it produces as a step: `[range(1e9)]` collects without
//!   evaluating a term, so without it nothing would stop it before the memory runs out.
//! - `fromjson` (and `tonumber`, which jaq defines on it) refuses text nested deeper than the
//!   depth budget, because jaq's JSON reader recurses once per level, and integers longer than
//!   [`MAX_DIGITS`], because jaq reads them into big integers in time quadratic in their length.
//! - `__zone_offset` and `__strflocal` read the instance's time zone (the workflow's
//!   `metadata.nagare.timezone`, else UTC), never the machine's: a history replays the same on
//!   a node with another `TZ`.

use super::Data;
use crate::expr::Val;
use crate::expr::budget::{self, Limit};
use jaq_core::native::{Fun, v};
use jaq_core::{Error, Exn, RunPtr, ValXs};
use std::cell::RefCell;

/// The longest integer (in decimal digits) `fromjson` and `tonumber` read.
pub const MAX_DIGITS: usize = 10_000;

thread_local! {
    /// The zone of the evaluation running on this thread (set by `Program::eval`).
    pub static ZONE: RefCell<jiff::tz::TimeZone> = const { RefCell::new(jiff::tz::TimeZone::UTC) };
}

/// jaq's own natives that [`funs`] replaces, by name and arity.
pub fn replaces(name: &str, arity: usize) -> bool {
    matches!((name, arity), ("range", 3) | ("fromjson", 0))
}

/// The largest integer (in bits) a multiplication may produce: jq's numbers are doubles,
/// jaq's integers grow without bound, and multiplying huge ones takes minutes.
pub const MAX_BITS: u64 = 1 << 16;

/// Checks what `l * r` would build before it is built (see `rewrite`).
fn check_multiplication(l: &Val, r: &Val) {
    use jaq_json::Num;
    match (l, r) {
        (Val::TStr(s) | Val::BStr(s), Val::Num(n)) | (Val::Num(n), Val::TStr(s) | Val::BStr(s)) => {
            let times = match n {
                Num::Int(i) => (*i).max(0) as u128,
                Num::BigInt(b) if b.sign() == num_bigint::Sign::Plus => u128::MAX,
                _ => 0,
            };
            let bytes = (s.len() as u128).saturating_mul(times);
            let max = budget::limits().memory as u128;
            if bytes > max {
                budget::exceed(
                    Limit::Memory,
                    format!(
                        "would repeat a string of {} bytes {times} times, more than the memory budget of {} MiB (nagare --eval-memory)",
                        s.len(),
                        max >> 20
                    ),
                );
            }
        }
        (Val::Num(a), Val::Num(b)) => {
            let bits = |n: &Num| match n {
                Num::Int(i) => 64 - i.unsigned_abs().leading_zeros() as u64,
                Num::BigInt(b) => b.bits(),
                _ => 0,
            };
            let product = bits(a) + bits(b);
            if product > MAX_BITS {
                budget::exceed(
                    Limit::Size,
                    format!(
                        "would multiply integers into one of about {product} bits, more than {MAX_BITS}"
                    ),
                );
            }
        }
        _ => {}
    }
}

pub fn funs() -> impl Iterator<Item = Fun<Data>> {
    let natives: Box<[jaq_core::native::Filter<RunPtr<Data>>]> = Box::new([
        ("__mul", v(2), |mut cv| {
            let r = cv.0.pop_var();
            let l = cv.0.pop_var();
            check_multiplication(&l, &r);
            Box::new(std::iter::once((l * r).map_err(Exn::from)))
        }),
        ("range", v(3), |mut cv| {
            let by = cv.0.pop_var();
            let to = cv.0.pop_var();
            let from = cv.0.pop_var();
            Box::new(range(from, to, by).inspect(|_| budget::tick()))
        }),
        ("fromjson", v(0), |cv| {
            let (Val::TStr(text) | Val::BStr(text)) = &cv.1 else {
                return error(format!("cannot parse {} as JSON: not a string", cv.1));
            };
            {
                let max = budget::limits().depth;
                if budget::text_depth(text, max) > max {
                    budget::exceed(
                        Limit::Depth,
                        format!(
                            "parsed JSON text nested more than {max} levels deep (nagare --eval-depth)"
                        ),
                    );
                }
                if budget::longest_digits(text) > MAX_DIGITS {
                    return error(format!(
                        "cannot parse a number of more than {MAX_DIGITS} digits"
                    ));
                }
            }
            let input = &cv.1;
            // Read up to the first error: the reader does not advance past one (jaq's own
            // `fromjson` is lazy for that reason).
            let mut values = Vec::new();
            for r in jaq_json::read::parse_many(text) {
                budget::tick();
                let failed = r.is_err();
                values.push(r.map_err(|e| {
                    Exn::from(Error::str(format!("cannot parse {input} as JSON: {e}")))
                }));
                if failed {
                    break;
                }
            }
            Box::new(values.into_iter())
        }),
        ("__zone_offset", v(0), |cv| {
            let offset = seconds(&cv.1).map(|ts| ZONE.with(|z| z.borrow().to_offset(ts).seconds()));
            match offset {
                Some(s) => Box::new(std::iter::once(Ok(Val::from(s as isize)))),
                None => error(format!("cannot convert {} to time", cv.1)),
            }
        }),
        ("__strflocal", v(1), |mut cv| {
            let format = cv.0.pop_var();
            let (Some(ts), Some(format)) = (seconds(&cv.1), crate::expr::value::as_str(&format))
            else {
                return error(format!("cannot format {} as a local time", cv.1));
            };
            let zoned = ZONE.with(|z| ts.to_zoned_datetime(z.borrow().clone()));
            match jiff::fmt::strtime::format(format.as_bytes(), &zoned) {
                Ok(text) => Box::new(std::iter::once(Ok(crate::expr::value::string(&text)))),
                Err(e) => error(format!("cannot format a time with `{format}`: {e}")),
            }
        }),
    ]);
    natives
        .into_vec()
        .into_iter()
        .chain(test_hooks())
        .map(jaq_core::native::run::<Data>)
}

/// Test builds only (`--features test-hooks`): `__test_panic` panics, standing for a bug in a
/// step, so that the tests can check a crashing step faults its instance, not the node.
#[cfg(feature = "test-hooks")]
fn test_hooks() -> Vec<jaq_core::native::Filter<RunPtr<Data>>> {
    vec![("__test_panic", v(0), |_| {
        panic!("the test hook __test_panic")
    })]
}

#[cfg(not(feature = "test-hooks"))]
fn test_hooks() -> Vec<jaq_core::native::Filter<RunPtr<Data>>> {
    Vec::new()
}

/// jaq's `range/3` (`$from`, `$from + $by`, ... while before `$to`).
fn range<'a>(from: Val, to: Val, by: Val) -> impl Iterator<Item = jaq_core::ValX<'a, Val>> + 'a {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let direction = by.partial_cmp(&Val::from(0isize)).unwrap_or(Equal);
    let mut next: Option<jaq_core::ValR<Val>> = Some(Ok(from));
    std::iter::from_fn(move || match next.take()? {
        Ok(x) => {
            let more = match direction {
                Greater => x < to,
                Less => x > to,
                Equal => x != to,
            };
            if !more {
                return None;
            }
            next = Some(x.clone() + by.clone());
            Some(Ok(x))
        }
        Err(e) => Some(Err(Exn::from(e))),
    })
}

/// Seconds since the Unix epoch (a number) as a timestamp.
fn seconds(v: &Val) -> Option<jiff::Timestamp> {
    let secs = match v {
        Val::Num(jaq_json::Num::Int(i)) => *i as f64,
        Val::Num(jaq_json::Num::Float(f)) => *f,
        Val::Num(n) => n.to_string().parse().ok()?,
        _ => return None,
    };
    if !secs.is_finite() {
        return None;
    }
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9) as i32;
    jiff::Timestamp::new(whole as i64, nanos).ok()
}

fn error<'a>(message: String) -> ValXs<'a, Val> {
    Box::new(std::iter::once(Err(Exn::from(Error::str(message)))))
}
