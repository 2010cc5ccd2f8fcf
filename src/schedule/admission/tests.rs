//! Tests of run and task admission: limits, dependsOnPast, and marking a date failed.

use super::*;
use TaskState::{Failed, Pending, Running, Skipped, Succeeded};

const PRE: &str = "/do/0/preprocess";
const INFER: &str = "/do/1/inference";

fn day(d: u8) -> Timestamp {
    format!("2026-11-{d:02}T00:00:00Z").parse().unwrap()
}

fn run(d: u8, state: RunState, tasks: &[(&str, TaskState)]) -> Run {
    Run {
        logical_date: day(d),
        state,
        tasks: tasks.iter().map(|(t, s)| (t.to_string(), *s)).collect(),
    }
}

fn settings(depends_on_past: bool, runs: u32, tasks: Option<u32>) -> Settings {
    Settings {
        depends_on_past,
        max_active_runs: runs,
        max_active_tasks: tasks,
        ..Settings::default()
    }
}

fn task_wait(runs: &[Run], d: u8, task: &str, s: &Settings) -> Result<(), String> {
    may_start_task(runs, day(d), task, s, &Server::default()).map_err(|w| w.to_string())
}

#[test]
fn max_active_runs_admits_the_oldest_queued_runs() {
    use RunState::{Queued, Running as On};
    let runs = [
        run(5, Queued, &[]),
        run(1, On, &[]),
        run(3, Queued, &[]),
        run(2, On, &[]),
        run(4, Queued, &[]),
    ];
    let s = settings(false, 3, None);
    let server = Server::default();
    assert_eq!(startable_runs(&runs, &s, &server), [day(3)]);
    assert_eq!(may_start_run(&runs, day(3), &s, &server), Ok(()));
    let wait = may_start_run(&runs, day(4), &s, &server).unwrap_err();
    assert_eq!(wait, Wait::OlderRuns { ahead: 1 });
    assert_eq!(wait.to_string(), "1 older queued runs start first");
    let s = settings(false, 2, None);
    assert_eq!(startable_runs(&runs, &s, &server), []);
    assert_eq!(
        may_start_run(&runs, day(3), &s, &server)
            .unwrap_err()
            .to_string(),
        "maxActiveRuns: 2 runs of this workflow are running (limit 2)"
    );
    assert_eq!(
        may_start_run(&runs, day(1), &s, &server),
        Err(Wait::RunState(day(1), On))
    );
}

#[test]
fn the_server_run_limit_applies_across_workflows() {
    let runs = [run(1, RunState::Queued, &[]), run(2, RunState::Queued, &[])];
    let s = settings(false, 16, None);
    let busy = Server {
        active_runs: 9,
        max_active_runs: Some(10),
        ..Server::default()
    };
    assert_eq!(startable_runs(&runs, &s, &busy), [day(1)]);
    let full = Server {
        active_runs: 10,
        ..busy
    };
    assert_eq!(startable_runs(&runs, &s, &full), []);
    assert_eq!(
        may_start_run(&runs, day(1), &s, &full)
            .unwrap_err()
            .to_string(),
        "the server runs 10 runs (its limit is 10)"
    );
}

#[test]
fn a_backfill_never_exceeds_max_active_runs() {
    // Ten queued dates, limit 3: at every step at most 3 run, and they start oldest first.
    let mut runs: Vec<Run> = (1..=10).map(|d| run(d, RunState::Queued, &[])).collect();
    let s = settings(false, 3, None);
    let mut started = Vec::new();
    loop {
        for date in startable_runs(&runs, &s, &Server::default()) {
            started.push(date);
            runs.iter_mut()
                .find(|r| r.logical_date == date)
                .unwrap()
                .state = RunState::Running;
        }
        let running: Vec<_> = runs
            .iter_mut()
            .filter(|r| r.state == RunState::Running)
            .collect();
        assert!(running.len() <= 3);
        let Some(oldest) = running.into_iter().min_by_key(|r| r.logical_date) else {
            break;
        };
        oldest.state = RunState::Succeeded;
    }
    assert_eq!(started, (1..=10).map(day).collect::<Vec<_>>());
}

#[test]
fn depends_on_past_blocks_until_the_previous_task_succeeds() {
    let s = settings(true, 16, None);
    let mut runs = vec![
        run(1, RunState::Running, &[(PRE, Running)]),
        run(2, RunState::Running, &[(PRE, Pending)]),
    ];
    assert_eq!(
        task_wait(&runs, 1, PRE, &s),
        Ok(()),
        "the first date does not wait"
    );
    assert_eq!(
        task_wait(&runs, 2, PRE, &s),
        Err(
            "dependsOnPast: waiting for `/do/0/preprocess` of the previous run \
             (2026-11-01T00:00:00Z) to succeed; it is running"
                .into()
        )
    );
    assert_eq!(startable_tasks(&runs, &s, &Server::default()), []);
    runs[0].tasks.insert(PRE.into(), Succeeded);
    assert_eq!(task_wait(&runs, 2, PRE, &s), Ok(()));
    assert_eq!(
        startable_tasks(&runs, &s, &Server::default()),
        [(day(2), PRE.to_string())]
    );
    // Without dependsOnPast nothing waits.
    runs[0].tasks.insert(PRE.into(), Running);
    assert_eq!(task_wait(&runs, 2, PRE, &settings(false, 16, None)), Ok(()));
}

#[test]
fn the_previous_run_is_the_previous_existing_one() {
    // Nothing ran on 11-02 (catchup off): 11-03 looks at 11-01.
    let s = settings(true, 16, None);
    let runs = [
        run(1, RunState::Succeeded, &[(PRE, Skipped)]),
        run(3, RunState::Running, &[(PRE, Pending)]),
    ];
    assert_eq!(
        task_wait(&runs, 3, PRE, &s),
        Ok(()),
        "skipped counts as success"
    );
    let runs = [
        run(1, RunState::Failed, &[(PRE, Failed)]),
        run(3, RunState::Running, &[(PRE, Pending)]),
    ];
    assert_eq!(
        task_wait(&runs, 3, PRE, &s),
        Err(
            "dependsOnPast: `/do/0/preprocess` failed in the previous run \
             (2026-11-01T00:00:00Z); it must succeed there first"
                .into()
        )
    );
}

#[test]
fn a_task_absent_from_the_previous_run_waits_unless_that_run_succeeded() {
    let s = settings(true, 16, None);
    let later = run(2, RunState::Running, &[(INFER, Pending)]);
    let check = |previous: RunState| {
        let runs = [run(1, previous, &[(PRE, Succeeded)]), later.clone()];
        task_wait(&runs, 2, INFER, &s)
    };
    assert_eq!(check(RunState::Succeeded), Ok(()));
    assert_eq!(
        check(RunState::Failed),
        Err(
            "dependsOnPast: the previous run (2026-11-01T00:00:00Z) failed before \
             `/do/1/inference` ran"
                .into()
        )
    );
    assert_eq!(
        check(RunState::Running),
        Err(
            "dependsOnPast: `/do/1/inference` has not run yet in the previous run \
             (2026-11-01T00:00:00Z)"
                .into()
        )
    );
}

#[test]
fn marking_the_latest_date_failed_stops_later_dates_while_older_ones_go_on() {
    use RunState::{Queued, Running as On};
    let s = settings(true, 4, None);
    let server = Server::default();
    let mut runs = vec![
        run(1, On, &[(PRE, Succeeded), (INFER, Running)]),
        run(2, On, &[(PRE, Succeeded), (INFER, Pending)]),
        run(3, On, &[(PRE, Running)]),
        run(4, Queued, &[]),
        run(5, Queued, &[]),
    ];
    // The operator marks 11-03 failed: the run and its unfinished task.
    runs[2].state = RunState::Failed;
    runs[2].tasks.insert(PRE.into(), Failed);
    // Slots are free again: 11-04 and 11-05 start, and reach their first task.
    assert_eq!(startable_runs(&runs, &s, &server), [day(4), day(5)]);
    for r in &mut runs[3..] {
        r.state = On;
        r.tasks.insert(PRE.into(), Pending);
    }
    // Older dates go on: 11-01's inference finishes, so 11-02's may start.
    runs[0].tasks.insert(INFER.into(), Succeeded);
    assert_eq!(
        startable_tasks(&runs, &s, &server),
        [(day(2), INFER.to_string())]
    );
    // Later dates are stopped, 11-04 by the failure itself, 11-05 by 11-04.
    assert_eq!(
        task_wait(&runs, 4, PRE, &s),
        Err(
            "dependsOnPast: `/do/0/preprocess` failed in the previous run \
             (2026-11-03T00:00:00Z); it must succeed there first"
                .into()
        )
    );
    assert_eq!(
        task_wait(&runs, 5, PRE, &s),
        Err(
            "dependsOnPast: waiting for `/do/0/preprocess` of the previous run \
             (2026-11-04T00:00:00Z) to succeed; it is pending"
                .into()
        )
    );
    // Clearing 11-03 and running it again unblocks 11-04 once its task succeeds.
    runs[2].state = On;
    runs[2].tasks.insert(PRE.into(), Succeeded);
    assert_eq!(
        startable_tasks(&runs, &s, &server),
        [(day(2), INFER.to_string()), (day(4), PRE.to_string())]
    );
}

#[test]
fn max_active_tasks_counts_across_the_workflows_runs() {
    let s = settings(false, 16, Some(3));
    let runs = [
        run(1, RunState::Running, &[(PRE, Succeeded), (INFER, Running)]),
        run(2, RunState::Running, &[(PRE, Running), (INFER, Pending)]),
        run(3, RunState::Running, &[(PRE, Pending)]),
    ];
    // Two are running, one slot: the oldest run's pending task takes it.
    assert_eq!(
        startable_tasks(&runs, &s, &Server::default()),
        [(day(2), INFER.to_string())]
    );
    let s = settings(false, 16, Some(2));
    assert_eq!(
        task_wait(&runs, 3, PRE, &s),
        Err("maxActiveTasks: 2 tasks of this workflow are running (limit 2)".into())
    );
}

#[test]
fn the_server_task_limit_applies_after_the_workflows() {
    let s = settings(false, 16, None);
    let runs = [run(
        1,
        RunState::Running,
        &[(PRE, Pending), (INFER, Pending)],
    )];
    let server = Server {
        active_tasks: 7,
        max_active_tasks: Some(8),
        ..Server::default()
    };
    assert_eq!(
        startable_tasks(&runs, &s, &server),
        [(day(1), PRE.to_string())]
    );
    let full = Server {
        active_tasks: 8,
        ..server
    };
    assert_eq!(
        may_start_task(&runs, day(1), PRE, &s, &full)
            .unwrap_err()
            .to_string(),
        "the server runs 8 tasks (its limit is 8)"
    );
}

#[test]
fn tasks_of_runs_that_are_not_running_do_not_start() {
    let s = settings(false, 16, None);
    let runs = [
        run(1, RunState::Queued, &[(PRE, Pending)]),
        run(2, RunState::Succeeded, &[(PRE, Succeeded)]),
    ];
    assert_eq!(
        task_wait(&runs, 1, PRE, &s),
        Err("the run for 2026-11-01T00:00:00Z is queued: it has not started yet".into())
    );
    assert_eq!(
        task_wait(&runs, 2, PRE, &s),
        Err("the run for 2026-11-02T00:00:00Z has ended (succeeded)".into())
    );
    assert_eq!(
        task_wait(&runs, 9, PRE, &s),
        Err("there is no run for 2026-11-09T00:00:00Z".into())
    );
    assert_eq!(startable_tasks(&runs, &s, &Server::default()), []);
}
