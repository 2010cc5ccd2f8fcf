//! A poll-driven executor for task code: effects as futures, and the two combinators tasks need.
//!
//! Every event re-polls the root future with a no-op waker; the combinators poll all their
//! unfinished children each time, so no wake-up bookkeeping is needed. Dropping an unfinished
//! effect (a lost race, a timeout, a cancellation) emits [`Command::Cancel`] for it.

use super::command::{Command, Effect, EffectId};
use crate::error::Error;
use crate::expr::Val;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Mutable state of one instance, shared by all its running tasks.
pub(crate) struct Shared {
    next: EffectId,
    pending: HashMap<EffectId, Option<Result<Value, Error>>>,
    pub outbox: Vec<Command>,
    /// Milliseconds since the Unix epoch, as given by the last event.
    pub now: i64,
    pub rng: fastrand::Rng,
    /// CloudEvents received and not yet consumed by a `listen`, in arrival order.
    pub inbox: Vec<Val>,
    /// The CloudEvents received, by `source` and `id`: a redelivered event is ignored, so the
    /// runtime may deliver at least once.
    pub received: std::collections::HashSet<(String, String)>,
    /// Correlation values fixed by the first matching event (`correlate` without `expect`).
    pub correlations: HashMap<String, Val>,
    /// How many `listen` and `wait` tasks are pausing right now (the instance is `waiting`).
    pub waiting: usize,
    /// A task said `then: end`: the workflow is ending.
    pub ended: bool,
    /// `$context`, set by `export.as`.
    pub context: Val,
    /// An evaluation of this step ran out of time: the step must not stand (see
    /// `Instance::take_poison`).
    pub poison: Option<Error>,
}

pub(crate) type SharedRef = Rc<RefCell<Shared>>;

impl Shared {
    pub fn new(now: i64, seed: u64) -> SharedRef {
        Rc::new(RefCell::new(Shared {
            next: 1,
            pending: HashMap::new(),
            outbox: Vec::new(),
            now,
            rng: fastrand::Rng::with_seed(seed),
            ended: false,
            inbox: Vec::new(),
            received: Default::default(),
            correlations: HashMap::new(),
            waiting: 0,
            context: Val::obj(Default::default()),
            poison: None,
        }))
    }

    /// Records the result of an effect; a result for an effect nobody waits for is dropped.
    pub fn resolve(&mut self, id: EffectId, result: Result<Value, Error>) -> bool {
        match self.pending.get_mut(&id) {
            Some(slot @ None) => {
                *slot = Some(result);
                true
            }
            _ => false,
        }
    }

    pub fn notify(&mut self, notice: super::notice::Notice) {
        self.outbox.push(Command::Notify(notice));
    }
}

/// Asks the runtime to perform `effect`; resolves with its result.
pub(crate) fn perform(shared: &SharedRef, effect: Effect) -> EffectFuture {
    let mut s = shared.borrow_mut();
    let id = s.next;
    s.next += 1;
    s.pending.insert(id, None);
    s.outbox.push(Command::Perform { id, effect });
    EffectFuture {
        id,
        shared: shared.clone(),
        done: false,
    }
}

pub(crate) struct EffectFuture {
    id: EffectId,
    shared: SharedRef,
    done: bool,
}

impl Future for EffectFuture {
    type Output = Result<Value, Error>;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.shared.borrow_mut();
        if let Some(Some(_)) = s.pending.get(&self.id) {
            let result = s.pending.remove(&self.id).flatten().expect("checked above");
            drop(s);
            self.done = true;
            Poll::Ready(result)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for EffectFuture {
    fn drop(&mut self) {
        if !self.done {
            let mut s = self.shared.borrow_mut();
            s.pending.remove(&self.id);
            s.outbox.push(Command::Cancel { id: self.id });
        }
    }
}

pub(crate) type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Runs all futures; the first error wins and the others are dropped (cancelled).
/// Futures are polled in order, so effect-free branches complete in declaration order.
pub(crate) async fn join_all<'a, T>(
    futures: Vec<Boxed<'a, Result<T, Error>>>,
) -> Result<Vec<T>, Error> {
    let mut slots: Vec<Option<Boxed<'a, Result<T, Error>>>> =
        futures.into_iter().map(Some).collect();
    let mut results: Vec<Option<T>> = slots.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        for (slot, result) in slots.iter_mut().zip(results.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(Ok(v)) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    Poll::Ready(Err(e)) => {
                        slots.clear();
                        return Poll::Ready(Err(e));
                    }
                    Poll::Pending => {}
                }
            }
        }
        if slots.iter().all(Option::is_none) {
            Poll::Ready(Ok(results
                .iter_mut()
                .map(|r| r.take().expect("all done"))
                .collect()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Runs futures until the first succeeds (its index and value); the rest are dropped.
/// When all fail, the first failure (in declaration order) is returned.
pub(crate) async fn first_ok<'a, T>(
    futures: Vec<Boxed<'a, Result<T, Error>>>,
) -> Result<(usize, T), Error> {
    let mut slots: Vec<Option<Boxed<'a, Result<T, Error>>>> =
        futures.into_iter().map(Some).collect();
    let mut errors: Vec<Option<Error>> = slots.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        for i in 0..slots.len() {
            if let Some(f) = &mut slots[i] {
                match f.as_mut().poll(cx) {
                    Poll::Ready(Ok(v)) => {
                        slots.clear();
                        return Poll::Ready(Ok((i, v)));
                    }
                    Poll::Ready(Err(e)) => {
                        errors[i] = Some(e);
                        slots[i] = None;
                    }
                    Poll::Pending => {}
                }
            }
        }
        if slots.iter().all(Option::is_none) {
            let first = errors.iter_mut().find_map(Option::take);
            Poll::Ready(Err(
                first.unwrap_or_else(|| Error::runtime("nothing to run"))
            ))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Runs `work` unless `deadline` (a timer effect) fires first; then `work` is dropped.
pub(crate) async fn before<T>(
    work: Boxed<'_, Result<T, Error>>,
    deadline: EffectFuture,
    on_timeout: Error,
) -> Result<T, Error> {
    let mut work = Some(work);
    let mut deadline = deadline;
    std::future::poll_fn(move |cx| {
        if let Some(w) = &mut work
            && let Poll::Ready(v) = w.as_mut().poll(cx)
        {
            return Poll::Ready(v);
        }
        if Pin::new(&mut deadline).poll(cx).is_ready() {
            work = None;
            return Poll::Ready(Err(on_timeout.clone()));
        }
        Poll::Pending
    })
    .await
}

/// Polls `root` once with a no-op waker.
pub(crate) fn poll_once<T>(root: &mut Boxed<'static, T>) -> Poll<T> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    root.as_mut().poll(&mut cx)
}

/// Counts a `listen` or `wait` task as pausing while it lives (dropped unfinished too: a lost
/// race, a timeout, a cancel).
pub(crate) struct Pausing<'a>(&'a std::cell::RefCell<Shared>);

impl<'a> Pausing<'a> {
    pub fn new(shared: &'a std::cell::RefCell<Shared>) -> Self {
        shared.borrow_mut().waiting += 1;
        Pausing(shared)
    }
}

impl Drop for Pausing<'_> {
    fn drop(&mut self) {
        self.0.borrow_mut().waiting -= 1;
    }
}
