//! Which queued runs may start now, and whether one task may start now (and if not, why).
//!
//! The caller passes the runs of one workflow as plain data (any order) and the server's load;
//! nothing is remembered between calls. Checks, in the order a reason is reported:
//!
//! 1. the run is running (a queued run waits for `maxActiveRuns`; a finished one starts nothing);
//! 2. `dependsOnPast`: task T of logical date D waits until T succeeded (or was skipped) in the
//!    **previous run**: the run with the greatest logical date before D, whatever its state.
//!    No previous run (the first date, or nothing before it was ever run) means no wait. The
//!    previous existing run, not the previous grid date, so that dates never run (catchup off,
//!    a backfill with gaps) cannot block forever, as in Airflow. When T is absent from the
//!    previous run: a succeeded run did not need it (an `if` skipped it), so no wait; a failed
//!    run never got to it, so wait; a running one may still reach it, so wait. Marking the
//!    latest date failed therefore stops every later date, while older dates go on.
//! 3. `maxActiveTasks`: running tasks across all runs of the workflow;
//! 4. the server's own task limit, across workflows.
//!
//! A task is named by its reference (the JSON pointer the task history uses).

use super::Settings;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Created, waiting for a slot (`maxActiveRuns`).
    Queued,
    /// Started: holds a slot until it ends (also while waiting or suspended).
    Running,
    Succeeded,
    /// Faulted, cancelled or marked failed.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Reached and waiting to start: what admission decides about.
    Pending,
    Running,
    Succeeded,
    /// Not run by design (a false `if`): counts as success for `dependsOnPast`, as in Airflow.
    Skipped,
    Failed,
}

/// One run of the workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub logical_date: Timestamp,
    pub state: RunState,
    /// By task reference; tasks not reached yet are absent.
    pub tasks: BTreeMap<String, TaskState>,
}

/// The whole server's load and limits, across workflows. `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Server {
    pub active_runs: usize,
    pub max_active_runs: Option<usize>,
    pub active_tasks: usize,
    pub max_active_tasks: Option<usize>,
}

/// Why a run or a task may not start now. [`fmt::Display`] is the sentence for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    NoRun(Timestamp),
    /// The run is not running; for a task this is the first thing to fix.
    RunState(Timestamp, RunState),
    MaxActiveRuns {
        active: usize,
        limit: u32,
    },
    /// Slots are free, but older queued runs take them first.
    OlderRuns {
        ahead: usize,
    },
    ServerRuns {
        active: usize,
        limit: usize,
    },
    DependsOnPast {
        task: String,
        previous: Timestamp,
        previous_run: RunState,
        state: Option<TaskState>,
    },
    MaxActiveTasks {
        active: usize,
        limit: u32,
    },
    ServerTasks {
        active: usize,
        limit: usize,
    },
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::NoRun(date) => write!(f, "there is no run for {date}"),
            Wait::RunState(date, RunState::Queued) => {
                write!(f, "the run for {date} is queued: it has not started yet")
            }
            Wait::RunState(date, state) => {
                write!(f, "the run for {date} has ended ({})", name(*state))
            }
            Wait::MaxActiveRuns { active, limit } => write!(
                f,
                "maxActiveRuns: {active} runs of this workflow are running (limit {limit})"
            ),
            Wait::OlderRuns { ahead } => {
                write!(f, "{ahead} older queued runs start first")
            }
            Wait::ServerRuns { active, limit } => {
                write!(f, "the server runs {active} runs (its limit is {limit})")
            }
            Wait::DependsOnPast {
                task,
                previous,
                previous_run,
                state,
            } => match (state, previous_run) {
                (Some(TaskState::Failed), _) => write!(
                    f,
                    "dependsOnPast: `{task}` failed in the previous run ({previous}); \
                     it must succeed there first"
                ),
                (Some(state), _) => write!(
                    f,
                    "dependsOnPast: waiting for `{task}` of the previous run ({previous}) to \
                     succeed; it is {}",
                    task_name(*state)
                ),
                (None, RunState::Failed) => write!(
                    f,
                    "dependsOnPast: the previous run ({previous}) failed before `{task}` ran"
                ),
                (None, _) => write!(
                    f,
                    "dependsOnPast: `{task}` has not run yet in the previous run ({previous})"
                ),
            },
            Wait::MaxActiveTasks { active, limit } => write!(
                f,
                "maxActiveTasks: {active} tasks of this workflow are running (limit {limit})"
            ),
            Wait::ServerTasks { active, limit } => {
                write!(f, "the server runs {active} tasks (its limit is {limit})")
            }
        }
    }
}

fn name(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "queued",
        RunState::Running => "running",
        RunState::Succeeded => "succeeded",
        RunState::Failed => "failed",
    }
}

fn task_name(state: TaskState) -> &'static str {
    match state {
        TaskState::Pending => "pending",
        TaskState::Running => "running",
        TaskState::Succeeded => "succeeded",
        TaskState::Skipped => "skipped",
        TaskState::Failed => "failed",
    }
}

/// The queued runs that may start now, oldest first.
pub fn startable_runs(runs: &[Run], settings: &Settings, server: &Server) -> Vec<Timestamp> {
    let active = count(runs, RunState::Running);
    let own = (settings.max_active_runs as usize).saturating_sub(active);
    let global = server
        .max_active_runs
        .map_or(usize::MAX, |l| l.saturating_sub(server.active_runs));
    let mut queued: Vec<Timestamp> = runs
        .iter()
        .filter(|r| r.state == RunState::Queued)
        .map(|r| r.logical_date)
        .collect();
    queued.sort();
    queued.truncate(own.min(global));
    queued
}

/// Whether the queued run for `logical_date` may start now.
pub fn may_start_run(
    runs: &[Run],
    logical_date: Timestamp,
    settings: &Settings,
    server: &Server,
) -> Result<(), Wait> {
    let run = find(runs, logical_date)?;
    if run.state != RunState::Queued {
        // Already started or ended: there is nothing to admit.
        return Err(Wait::RunState(logical_date, run.state));
    }
    if startable_runs(runs, settings, server).contains(&logical_date) {
        return Ok(());
    }
    let active = count(runs, RunState::Running);
    if active >= settings.max_active_runs as usize {
        return Err(Wait::MaxActiveRuns {
            active,
            limit: settings.max_active_runs,
        });
    }
    if let Some(limit) = server.max_active_runs
        && server.active_runs >= limit
    {
        return Err(Wait::ServerRuns {
            active: server.active_runs,
            limit,
        });
    }
    let ahead = runs
        .iter()
        .filter(|r| r.state == RunState::Queued && r.logical_date < logical_date)
        .count();
    Err(Wait::OlderRuns { ahead })
}

/// Whether task `task` of the run for `logical_date` may start now.
pub fn may_start_task(
    runs: &[Run],
    logical_date: Timestamp,
    task: &str,
    settings: &Settings,
    server: &Server,
) -> Result<(), Wait> {
    let active = runs.iter().map(running_tasks).sum();
    check_task(runs, logical_date, task, settings, server, active)
}

/// The pending tasks that may start now, oldest run first (tasks of a run in reference order),
/// with the limits applied as if each admitted task had started.
pub fn startable_tasks(
    runs: &[Run],
    settings: &Settings,
    server: &Server,
) -> Vec<(Timestamp, String)> {
    let mut active: usize = runs.iter().map(running_tasks).sum();
    let mut server = *server;
    let mut order: Vec<&Run> = runs
        .iter()
        .filter(|r| r.state == RunState::Running)
        .collect();
    order.sort_by_key(|r| r.logical_date);
    let mut admitted = Vec::new();
    for run in order {
        for (task, state) in &run.tasks {
            if *state != TaskState::Pending {
                continue;
            }
            if check_task(runs, run.logical_date, task, settings, &server, active).is_ok() {
                active += 1;
                server.active_tasks += 1;
                admitted.push((run.logical_date, task.clone()));
            }
        }
    }
    admitted
}

fn check_task(
    runs: &[Run],
    logical_date: Timestamp,
    task: &str,
    settings: &Settings,
    server: &Server,
    active: usize,
) -> Result<(), Wait> {
    let run = find(runs, logical_date)?;
    if run.state != RunState::Running {
        return Err(Wait::RunState(logical_date, run.state));
    }
    if settings.depends_on_past {
        depends_on_past(runs, run, task)?;
    }
    if let Some(limit) = settings.max_active_tasks
        && active >= limit as usize
    {
        return Err(Wait::MaxActiveTasks { active, limit });
    }
    if let Some(limit) = server.max_active_tasks
        && server.active_tasks >= limit
    {
        return Err(Wait::ServerTasks {
            active: server.active_tasks,
            limit,
        });
    }
    Ok(())
}

fn depends_on_past(runs: &[Run], run: &Run, task: &str) -> Result<(), Wait> {
    let Some(previous) = runs
        .iter()
        .filter(|r| r.logical_date < run.logical_date)
        .max_by_key(|r| r.logical_date)
    else {
        return Ok(());
    };
    let state = previous.tasks.get(task).copied();
    match state {
        Some(TaskState::Succeeded | TaskState::Skipped) => Ok(()),
        None if previous.state == RunState::Succeeded => Ok(()),
        _ => Err(Wait::DependsOnPast {
            task: task.to_string(),
            previous: previous.logical_date,
            previous_run: previous.state,
            state,
        }),
    }
}

fn find(runs: &[Run], logical_date: Timestamp) -> Result<&Run, Wait> {
    runs.iter()
        .find(|r| r.logical_date == logical_date)
        .ok_or(Wait::NoRun(logical_date))
}

fn count(runs: &[Run], state: RunState) -> usize {
    runs.iter().filter(|r| r.state == state).count()
}

fn running_tasks(run: &Run) -> usize {
    run.tasks
        .values()
        .filter(|s| **s == TaskState::Running)
        .count()
}

#[cfg(test)]
mod tests;
