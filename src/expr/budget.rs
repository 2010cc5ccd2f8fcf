//! The budget of one evaluation: jq is Turing-complete, and every instance of a node is stepped
//! on one engine thread, so an expression must not be able to loop forever, eat the memory,
//! overflow the stack or hold the thread.
//!
//! jaq has no limits of its own. It looks its program up (`HasLut::lut`) at the start of every
//! term it evaluates, so the program's data type ([`super::program`]'s `Metered`) counts a
//! step there and checks the budget: steps, bytes allocated by this thread since the
//! evaluation began (the counting allocator below), stack used, and time. The natives that
//! produce many values without evaluating a term (`range`) count their outputs as steps too.
//! A budget exceeded unwinds out of jaq with a [`Exceeded`] payload, which
//! [`Program::eval`](super::Program::eval) catches: nothing in jaq can catch it (jq's `try`
//! only sees jq errors), and jaq holds no state across evaluations that an unwind could break.
//!
//! Steps, memory and stack are deterministic: the same evaluation of the same binary exceeds
//! them at the same point, so a replayed history takes the same path. Time is not, so an
//! evaluation over its time is reported apart ([`Limit::Time`]) and the engine records it
//! instead of replaying it (see `engine::instance`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// What one evaluation may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Terms evaluated (and values produced by generating natives such as `range`).
    pub steps: u64,
    /// Bytes allocated by the evaluation and not freed again.
    pub memory: usize,
    /// Nesting of the values it returns (arrays and objects), and of JSON text it parses.
    pub depth: usize,
    /// Wall-clock time.
    pub time: Duration,
}

impl Limits {
    /// The server-wide defaults (`--eval-steps`, `--eval-memory`, `--eval-depth`,
    /// `--eval-time`): generous for data transformation, small against a runaway.
    pub const DEFAULT: Limits = Limits {
        steps: 10_000_000,
        memory: 64 << 20,
        depth: 10_000,
        time: Duration::from_secs(1),
    };

    /// The tighter of two budgets, limit by limit (a workflow may lower the server's).
    pub fn min(self, other: Limits) -> Limits {
        Limits {
            steps: self.steps.min(other.steps),
            memory: self.memory.min(other.memory),
            depth: self.depth.min(other.depth),
            time: self.time.min(other.time),
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// The server-wide budget (`nagare serve|run --eval-*`), which every program starts from.
static DEFAULTS: std::sync::Mutex<Limits> = std::sync::Mutex::new(Limits::DEFAULT);

/// Sets the server-wide budget (before any workflow is loaded).
pub fn set_defaults(limits: Limits) {
    *DEFAULTS.lock().unwrap_or_else(|p| p.into_inner()) = limits;
}

pub fn defaults() -> Limits {
    *DEFAULTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` (a replay) with evaluations not bound by time: the recorded steps did not run out
/// of time when they were taken, and time must not make a replay take another path.
pub fn untimed<T>(f: impl FnOnce() -> T) -> T {
    let before = METER.with(|m| m.untimed.replace(true));
    let out = f();
    METER.with(|m| m.untimed.set(before));
    out
}

/// Runs `f` (one step of an instance) with its evaluations sharing one time budget, which
/// starts now: a step that evaluates many expressions (a `for` over a thousand items) holds
/// the engine thread no longer than one evaluation may.
pub fn step<T>(f: impl FnOnce() -> T) -> T {
    let before = METER.with(|m| m.step_start.replace(Some(Instant::now())));
    let out = f();
    METER.with(|m| m.step_start.set(before));
    out
}

/// Which limit an evaluation exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Steps,
    Memory,
    /// The stack its recursion needs (jq recursion, or values nested too deeply).
    Stack,
    /// The nesting of a value it returned or a JSON text it parsed.
    Depth,
    /// A number too large to compute with (a string repeated, an integer's digits).
    Size,
    Time,
}

/// The payload a budget overrun unwinds with, and the error it becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub limit: Limit,
    pub detail: String,
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// Stack an evaluation may use for its recursion, on top of what the thread had used when it
/// began (checked at every step, so the limit is the same on every thread).
pub const STACK: usize = 32 << 20;
/// Room kept for what runs below the check (natives) and the unwind.
const STACK_MARGIN: usize = 8 << 20;
/// Stack a value needs to be dropped, per byte of memory it holds: jaq drops nested arrays
/// recursively, and a value can be as deep as the memory budget lets it be (about one level
/// per 56 bytes; a debug build's drop frames take about as many bytes as the level holds).
const DROP_STACK_PER_BYTE: usize = 2;
/// The stack of the threads that evaluate (the engine's, the inbound loop's, `nagare run`'s):
/// enough for the default budget, so that an evaluation runs in place rather than on a fresh
/// segment (reserved, not used: only the pages a deep evaluation touches are backed).
pub const THREAD_STACK: usize = 256 << 20;

/// The state of the evaluation running on this thread.
struct Meter {
    active: Cell<bool>,
    steps: Cell<u64>,
    max_steps: Cell<u64>,
    /// The allocation counter when the evaluation began.
    memory_start: Cell<isize>,
    max_memory: Cell<isize>,
    /// The lowest stack address the evaluation may reach (stacks grow down).
    stack_floor: Cell<usize>,
    deadline: Cell<Option<Instant>>,
    limits: Cell<Limits>,
    untimed: Cell<bool>,
    /// When the step of an instance running on this thread began (see [`step`]).
    step_start: Cell<Option<Instant>>,
}

thread_local! {
    static METER: Meter = const {
        Meter {
            active: Cell::new(false),
            steps: Cell::new(0),
            max_steps: Cell::new(0),
            memory_start: Cell::new(0),
            max_memory: Cell::new(0),
            stack_floor: Cell::new(0),
            deadline: Cell::new(None),
            limits: Cell::new(Limits::DEFAULT),
            untimed: Cell::new(false),
            step_start: Cell::new(None),
        }
    };
    /// Bytes this thread allocated minus bytes it freed (frees of other threads' memory make
    /// it go down: only its change during one evaluation is read).
    static ALLOCATED: Cell<isize> = const { Cell::new(0) };
}

/// The global allocator: the system's, counting each thread's bytes (one thread-local add
/// per allocation) so that an evaluation's memory can be bounded.
pub struct Counting;

// SAFETY: every method forwards to `System` unchanged; the counter is a thread-local `Cell`
// initialised without allocating, and `try_with` tolerates threads being torn down.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[inline]
fn count(bytes: isize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get().wrapping_add(bytes)));
}

/// Bytes this thread allocated and has not freed (its frees of other threads' memory count
/// against it).
pub fn allocated() -> isize {
    ALLOCATED.try_with(Cell::get).unwrap_or(0)
}

/// The current stack position (approximately: the address of a local).
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Runs `f` as one metered evaluation; an overrun inside it comes back as `Err`.
pub fn run<T>(limits: Limits, f: impl FnOnce() -> T) -> Result<T, Exceeded> {
    install_quiet_hook();
    // Enough stack for the whole budget, on every thread: a fresh segment when this one has
    // less left (a blocking thread of tokio, a test's thread, a budget above the default).
    let needed = STACK
        + STACK_MARGIN
        + limits
            .memory
            .saturating_mul(DROP_STACK_PER_BYTE)
            .min(isize::MAX as usize / 4);
    stacker::maybe_grow(needed, needed + STACK_MARGIN, || {
        METER.with(|m| {
            if m.active.get() {
                // An evaluation inside an evaluation (a native calling back): the outer budget
                // goes on counting.
                return Ok(f());
            }
            m.active.set(true);
            m.steps.set(0);
            m.max_steps.set(limits.steps);
            m.memory_start.set(allocated());
            m.max_memory
                .set(isize::try_from(limits.memory).unwrap_or(isize::MAX));
            m.stack_floor.set(stack_position().saturating_sub(STACK));
            m.deadline.set(if m.untimed.get() {
                None
            } else {
                m.step_start
                    .get()
                    .unwrap_or_else(Instant::now)
                    .checked_add(limits.time)
            });
            m.limits.set(limits);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            m.active.set(false);
            match outcome {
                Ok(v) => Ok(v),
                Err(payload) => match payload.downcast::<Exceeded>() {
                    Ok(exceeded) => Err(*exceeded),
                    // A bug of ours or of jaq: not ours to swallow.
                    Err(other) => std::panic::resume_unwind(other),
                },
            }
        })
    })
}

/// The limits of the evaluation running on this thread.
pub fn limits() -> Limits {
    METER.with(|m| m.limits.get())
}

/// Counts one step of the running evaluation and checks its budget; unwinds when exceeded.
#[inline]
pub fn tick() {
    METER.with(|m| {
        if !m.active.get() {
            return;
        }
        let steps = m.steps.get() + 1;
        m.steps.set(steps);
        if steps > m.max_steps.get() {
            exceed(
                Limit::Steps,
                format!(
                    "evaluated more than {} steps (the step budget: nagare --eval-steps, or the workflow's metadata nagare.limits.evalSteps)",
                    m.max_steps.get()
                ),
            );
        }
        if stack_position() < m.stack_floor.get() {
            exceed(
                Limit::Stack,
                format!(
                    "recursed deeper than {} MiB of stack allows (an unbounded recursion?)",
                    STACK >> 20
                ),
            );
        }
        // The clock and the allocation counter are read every 256 steps: a step costs tens
        // of nanoseconds, the clock about as much.
        if steps & 0xff == 0 {
            check_memory(m);
            if m.deadline.get().is_some_and(|d| Instant::now() > d) {
                exceed(
                    Limit::Time,
                    format!(
                        "ran longer than {} ms (the time budget: nagare --eval-time, or the workflow's metadata nagare.limits.evalTime)",
                        m.limits.get().time.as_millis()
                    ),
                );
            }
        }
    })
}

fn check_memory(m: &Meter) {
    let used = allocated().wrapping_sub(m.memory_start.get());
    if used > m.max_memory.get() {
        exceed(
            Limit::Memory,
            format!(
                "allocated more than {} MiB (the memory budget: nagare --eval-memory, or the workflow's metadata nagare.limits.evalMemory)",
                m.max_memory.get() >> 20
            ),
        );
    }
}

/// Unwinds out of the running evaluation with `limit` exceeded.
pub fn exceed(limit: Limit, detail: String) -> ! {
    std::panic::panic_any(Exceeded { limit, detail })
}

/// The default panic hook prints every panic; an overrun is an answer, not a crash.
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Exceeded>().is_none() {
                previous(info);
            }
        }));
    });
}

/// The nesting of `v` when it is deeper than `max`, without walking further than `max`.
pub fn too_deep(v: &super::Val, max: usize) -> bool {
    fn walk(v: &super::Val, left: usize) -> bool {
        match v {
            super::Val::Arr(items) => left == 0 || items.iter().any(|i| walk(i, left - 1)),
            super::Val::Obj(map) => left == 0 || map.values().any(|i| walk(i, left - 1)),
            _ => false,
        }
    }
    walk(v, max)
}

/// The nesting of a JSON text (brackets outside strings), up to `max + 1`.
pub fn text_depth(text: &[u8], max: usize) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > max {
                    return deepest;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The longest run of decimal digits in a text (integers are parsed into big integers, which
/// costs time quadratic in their length).
pub fn longest_digits(text: &[u8]) -> usize {
    let (mut run, mut longest) = (0usize, 0usize);
    for &b in text {
        if b.is_ascii_digit() {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_runs_out_of_steps_and_the_next_evaluation_starts_afresh() {
        let small = Limits {
            steps: 1000,
            ..Limits::DEFAULT
        };
        let e = run(small, || {
            loop {
                tick();
            }
        })
        .unwrap_err();
        assert_eq!(e.limit, Limit::Steps);
        assert!(e.detail.contains("1000 steps"), "{e}");
        let fine = run(small, || {
            for _ in 0..999 {
                tick();
            }
            7
        });
        assert_eq!(fine, Ok(7));
    }

    #[test]
    fn memory_counts_what_the_evaluation_keeps() {
        let small = Limits {
            memory: 1 << 20,
            ..Limits::DEFAULT
        };
        let e = run(small, || {
            let mut kept = Vec::new();
            loop {
                kept.push(vec![0u8; 4096]);
                tick();
            }
        })
        .unwrap_err();
        assert_eq!(e.limit, Limit::Memory);
        // Freed memory does not count.
        let fine = run(small, || {
            for _ in 0..10_000 {
                drop(std::hint::black_box(vec![0u8; 4096]));
                tick();
            }
        });
        assert_eq!(fine, Ok(()));
    }

    #[test]
    fn a_deep_recursion_stops_before_the_stack_ends_even_on_a_small_thread() {
        #[allow(unconditional_recursion)]
        fn recurse(n: u64) -> u64 {
            tick();
            let pad = std::hint::black_box([n; 32]);
            recurse(n + 1) + pad[3]
        }
        let outcome = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| run(Limits::DEFAULT, || recurse(0)))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(outcome.unwrap_err().limit, Limit::Stack);
    }

    #[test]
    fn time_is_checked_between_steps() {
        let quick = Limits {
            time: Duration::from_millis(20),
            ..Limits::DEFAULT
        };
        let e = run(quick, || {
            loop {
                tick();
                std::thread::sleep(Duration::from_micros(100));
            }
        })
        .unwrap_err();
        assert_eq!(e.limit, Limit::Time);
    }

    #[test]
    fn other_panics_pass_through() {
        let outcome = std::panic::catch_unwind(|| run(Limits::DEFAULT, || panic!("a bug")));
        assert!(outcome.is_err());
        // The meter is free again.
        assert_eq!(run(Limits::DEFAULT, || 1), Ok(1));
    }

    #[test]
    fn depths() {
        assert_eq!(text_depth(br#"[{"a": "[[[["}, [1]]"#, 10), 2);
        assert_eq!(text_depth(&b"[".repeat(100), 10), 11);
        assert_eq!(longest_digits(b"[12, 12345, \"1\"]"), 5);
    }
}
