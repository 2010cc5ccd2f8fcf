//! `try`: runs its list; a fault that the catch filter accepts (`errors.with`, `when`,
//! `exceptWhen`) is retried per `retry`, then handled by `catch.do` (whose output is the try's
//! output; without `do` the output is the try's input). A fault the filter rejects, or one that
//! exhausts its retries when there is no `catch.do`, faults the try task.
//!
//! The caught error is bound as `$error` (or the name in `catch.as`); `when` and `exceptWhen`
//! are evaluated on the error.

use super::{At, Env};
use crate::dsl::model::error::{ErrorFilter, RetryPolicy};
use crate::dsl::model::task::{Catch, RetryRef, TryTask};
use crate::engine::executor::before;
use crate::engine::flow;
use crate::engine::notice::{Lifecycle, Notice};
use crate::engine::retry::{Plan, backoff};
use crate::error::{Error, TYPE_BASE};
use crate::expr::{Args, Val, from_json};

pub(super) async fn run(
    env: &Env,
    task: &TryTask,
    at: &At<'_>,
    input: Val,
    args: &Args,
) -> Result<Val, Error> {
    let catch = &task.catch;
    let name: std::rc::Rc<str> = catch
        .as_
        .as_deref()
        .unwrap_or("error")
        .trim_start_matches('$')
        .into();
    let policy = retry_policy(env, catch)?;
    let plan = policy.map(|p| plan(env, p, &input, args)).transpose()?;
    let list = format!("{}/try", at.pointer);
    let first_start = env.now();
    let mut retry = 0u32;
    loop {
        let attempt =
            Box::pin(async { flow::run(env, &task.try_, &list, input.clone(), at.locals).await });
        let result = match plan.as_ref().and_then(|p| p.per_attempt) {
            Some(limit) => {
                let timer = env.timer(limit, at.pointer);
                before(
                    attempt,
                    timer,
                    Error::timeout(format!("the attempt did not end within {limit:?}")),
                )
                .await
            }
            None => attempt.await,
        };
        let error = match result {
            Ok((output, _)) => return Ok(output),
            Err(e) => e,
        };
        let error_val = from_json(&serde_json::to_value(&error).unwrap_or_default());
        let mut args = args.clone();
        args.locals.push((name.clone(), error_val.clone()));
        if !caught(env, catch, &error, &error_val, &args)? {
            return Err(error);
        }
        if let (Some(policy), Some(plan)) = (policy, &plan) {
            let elapsed = std::time::Duration::from_millis(
                env.now().saturating_sub(first_start).max(0) as u64,
            );
            if retries(env, policy, &error_val, &args)? && plan.allows(retry, elapsed) {
                let unit = env.shared.borrow_mut().rng.f64();
                let wait = plan.wait(retry, unit);
                let mut notice = Notice::new(Lifecycle::TaskRetried, env.now());
                notice.task = Some(at.pointer.into());
                notice.attempt = Some(retry + 1);
                env.shared.borrow_mut().notify(notice);
                if !wait.is_zero() {
                    env.timer(wait, at.pointer).await?;
                }
                retry += 1;
                continue;
            }
            if catch.do_.is_none() {
                return Err(error);
            }
        }
        let Some(handler) = &catch.do_ else {
            return Ok(input);
        };
        let mut locals = at.locals.clone();
        locals.push((name.clone(), error_val));
        let (output, _) = flow::run(
            env,
            handler,
            &format!("{}/catch/do", at.pointer),
            input.clone(),
            &locals,
        )
        .await?;
        return Ok(output);
    }
}

fn retry_policy<'a>(env: &'a Env, catch: &'a Catch) -> Result<Option<&'a RetryPolicy>, Error> {
    match &catch.retry {
        None => Ok(None),
        Some(RetryRef::Inline(p)) => Ok(Some(p)),
        Some(RetryRef::Named(n)) => env
            .def
            .workflow
            .use_
            .as_ref()
            .and_then(|u| u.retries.get(n))
            .map(Some)
            .ok_or_else(|| {
                Error::configuration(format!("no retry policy named `{n}` in use.retries"))
            }),
    }
}

fn plan(env: &Env, p: &RetryPolicy, input: &Val, args: &Args) -> Result<Plan, Error> {
    let d = |d: &Option<crate::dsl::model::Duration>| {
        d.as_ref().map(|d| env.duration(d, input, args)).transpose()
    };
    let limit = p.limit.clone().unwrap_or_default();
    let attempt = limit.attempt.unwrap_or_default();
    Ok(Plan {
        delay: d(&p.delay)?.unwrap_or_default(),
        backoff: backoff(p),
        jitter: match &p.jitter {
            Some(j) => Some((
                env.duration(&j.from, input, args)?,
                env.duration(&j.to, input, args)?,
            )),
            None => None,
        },
        max_retries: attempt.count,
        total: d(&limit.duration)?,
        per_attempt: d(&attempt.duration)?,
    })
}

/// Does the catch accept this error?
fn caught(
    env: &Env,
    catch: &Catch,
    error: &Error,
    error_val: &Val,
    args: &Args,
) -> Result<bool, Error> {
    if let Some(filter) = catch.errors.as_ref().and_then(|e| e.with.as_ref())
        && !matches(filter, error)
    {
        return Ok(false);
    }
    guarded(env, &catch.when, &catch.except_when, error_val, args)
}

fn retries(env: &Env, p: &RetryPolicy, error_val: &Val, args: &Args) -> Result<bool, Error> {
    guarded(env, &p.when, &p.except_when, error_val, args)
}

/// `when` holds (or is absent) and `exceptWhen` does not hold (or is absent), on the error.
fn guarded(
    env: &Env,
    when: &Option<String>,
    except: &Option<String>,
    error_val: &Val,
    args: &Args,
) -> Result<bool, Error> {
    if let Some(when) = when
        && !env.condition(when, error_val, args)?
    {
        return Ok(false);
    }
    if let Some(except) = except
        && env.condition(except, error_val, args)?
    {
        return Ok(false);
    }
    Ok(true)
}

/// Every field the filter sets must equal the error's.
pub(crate) fn matches(filter: &ErrorFilter, error: &Error) -> bool {
    filter
        .kind
        .as_ref()
        .is_none_or(|t| same_type(t, &error.kind))
        && filter.status.is_none_or(|s| s == error.status)
        && filter
            .instance
            .as_ref()
            .is_none_or(|i| error.instance.as_deref() == Some(i))
        && filter
            .title
            .as_ref()
            .is_none_or(|t| error.title.as_deref() == Some(t))
        && filter
            .details
            .as_ref()
            .is_none_or(|d| error.detail.as_deref() == Some(d))
}

/// The CTK writes the standard types as `https://serverlessworkflow.io/dsl/errors/types/NAME`
/// where the spec says `https://serverlessworkflow.io/spec/1.0.0/errors/NAME`: both match.
fn same_type(filter: &str, actual: &str) -> bool {
    const CTK: &str = "https://serverlessworkflow.io/dsl/errors/types/";
    let canon = |t: &str| match t.strip_prefix(CTK) {
        Some(name) => format!("{TYPE_BASE}{name}"),
        None => t.to_string(),
    };
    canon(filter) == canon(actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctk_and_spec_type_uris_match() {
        let e = Error::communication(404, "Not Found", "");
        let f = |t: &str| ErrorFilter {
            kind: Some(t.into()),
            status: Some(404),
            ..Default::default()
        };
        assert!(matches(
            &f("https://serverlessworkflow.io/dsl/errors/types/communication"),
            &e
        ));
        assert!(matches(
            &f("https://serverlessworkflow.io/spec/1.0.0/errors/communication"),
            &e
        ));
        assert!(!matches(
            &f("https://serverlessworkflow.io/spec/1.0.0/errors/timeout"),
            &e
        ));
    }
}
