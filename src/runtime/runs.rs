//! Runs: executions of a workflow for one logical date each — queued by the schedule, by a
//! backfill or by hand — and started when run control lets them (`maxActiveRuns`, pause).
//!
//! The decisions are `schedule`'s (pure); this file feeds it what the store knows and acts on
//! its answers. Runs are unique per workflow and logical date in the store, so several nodes
//! may plan the same dates: each date is queued once, and `start_run` lets one node start it.
//!
//! The loop sleeps until the next due time of any schedule (no polling for due runs), or until
//! nudged (a run was queued, an instance ended on this node); a one-second tick covers what
//! other nodes changed.
//!
//! A run's instance gets as input `{logicalDate: "YYYY-MM-DD" (the date in the workflow's
//! time zone, Airflow's `ds`), logicalTime, dataInterval: {start, end}, runKind}` (RFC 3339).

mod error;

pub use error::Error;

use super::clock::Clock;
use super::effect::now_ms;
use super::gates::{Gates, run_state};
use super::history::rfc3339;
use super::journal::new_instance;
use super::node::{Message, Node};
use super::plan::{Plan, Plans};
use crate::schedule::admission::{self, Run};
use crate::schedule::{Interval, Settings, planner};
use crate::store::{NewRun, Store, WorkflowKey};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Runs {
    pub store: Arc<dyn Store>,
    pub node: Node,
    /// This node's name and lease (a started run's instance is this node's).
    pub name: String,
    pub lease: Duration,
    /// Nudges the loop: runs were queued, or an instance ended.
    pub wake: Arc<Notify>,
    pub plans: Plans,
    pub gates: Arc<Gates>,
    /// What planning takes as now (a fake clock in tests).
    pub clock: Clock,
    /// Runs of all workflows running at once (`--max-active-runs`); none: no limit.
    pub max_active_runs: Option<usize>,
    pub metrics: Arc<super::metrics::Metrics>,
}

impl Runs {
    /// Queues the runs of every logical date in `[from, to]` (dates as users write them, in
    /// the workflow's zone). Answers `{queued: [dates], skipped, notDue}`.
    pub async fn backfill(
        &self,
        namespace: &str,
        name: &str,
        from: &str,
        to: &str,
        rerun: bool,
    ) -> Result<Value, Error> {
        let plan = self.plans.plan(namespace, name).await?;
        let date = |field: &str, text: &str| {
            plan.settings
                .parse_date(text)
                .map_err(|message| Error::BadDate {
                    field: field.into(),
                    message,
                })
        };
        let (from, to) = (date("from", from)?, date("to", to)?);
        let existing = self.existing(namespace, name, Some(from), Some(to)).await?;
        let planned = planner::backfill(
            &plan.timetable,
            from,
            to,
            rerun,
            &existing,
            self.clock.now(),
        )?;
        let intervals: Vec<Interval> = planned.runs.iter().map(|p| p.interval).collect();
        let queued = self.queue(&plan, &intervals, "backfill", rerun).await?;
        Ok(json!({
            "queued": queued.iter().map(|d| day(&plan.settings, *d)).collect::<Vec<_>>(),
            "skipped": planned.skipped,
            "notDue": planned.not_due,
        }))
    }

    /// Queues one run for `date` outside the schedule (an ad-hoc run).
    pub async fn trigger(
        &self,
        namespace: &str,
        name: &str,
        date: &str,
        rerun: bool,
    ) -> Result<Value, Error> {
        let plan = self.plans.plan(namespace, name).await?;
        let at = plan
            .settings
            .parse_date(date)
            .map_err(|message| Error::BadDate {
                field: "logicalDate".into(),
                message,
            })?;
        let interval = plan.timetable.interval_for(at)?;
        let queued = self.queue(&plan, &[interval], "manual", rerun).await?;
        if queued.is_empty() {
            return Err(Error::RunExists { date: date.into() });
        }
        Ok(json!({"queued": [day(&plan.settings, queued[0])]}))
    }

    async fn queue(
        &self,
        plan: &Plan,
        intervals: &[Interval],
        kind: &str,
        rerun: bool,
    ) -> Result<Vec<i64>, Error> {
        let now = now_ms();
        let runs: Vec<NewRun> = intervals
            .iter()
            .map(|i| NewRun {
                namespace: plan.key.namespace.clone(),
                name: plan.key.name.clone(),
                version: plan.key.version.clone(),
                logical_date: i.logical_date.as_millisecond(),
                interval_start: i.start.as_millisecond(),
                interval_end: i.end.as_millisecond(),
                kind: kind.into(),
                created_at: now,
            })
            .collect();
        let queued = self.store.add_runs(&runs, rerun).await?;
        self.wake.notify_one();
        Ok(queued)
    }

    async fn existing(
        &self,
        namespace: &str,
        name: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<BTreeSet<Timestamp>, Error> {
        let rows = self
            .store
            .runs(
                namespace,
                name,
                from.map(|t| t.as_millisecond()),
                to.map(|t| t.as_millisecond()),
                0,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| Timestamp::from_millisecond(r.logical_date).ok())
            .collect())
    }

    /// Queues what the schedule says is due, then starts the queued runs run control allows.
    /// Returns when the next schedule is due.
    async fn tick(&self) -> Option<Timestamp> {
        let mut next: Option<Timestamp> = None;
        let latest = match self.plans.latest().await {
            Ok(latest) => latest,
            // The store is down or busy: the loop tries again at its next tick.
            Err(e) => {
                eprintln!("nagare: reading the workflows to schedule: {e}");
                return None;
            }
        };
        let mut open = Vec::new();
        let mut server = admission::Server {
            max_active_runs: self.max_active_runs,
            ..admission::Server::default()
        };
        for w in latest {
            let Ok(plan) = self.plans.plan_of(w, None).await else {
                continue;
            };
            let (namespace, name) = (plan.key.namespace.clone(), plan.key.name.clone());
            if plan.timetable.has_grid() && !plan.stored.paused {
                if let Err(e) = self.schedule(&plan).await {
                    eprintln!("nagare: scheduling {namespace}/{name}: {e}");
                }
                if let Some(due) = plan.timetable.next_due(self.clock.now()).map(|i| i.due) {
                    next = Some(next.map_or(due, |n| n.min(due)));
                }
            }
            match self.store.open_runs(&namespace, &name).await {
                Ok(rows) => {
                    server.active_runs += rows.iter().filter(|r| r.instance.is_some()).count();
                    if !plan.stored.paused && rows.iter().any(|r| r.instance.is_none()) {
                        open.push((plan, rows));
                    }
                }
                Err(e) => eprintln!("nagare: reading the runs of {namespace}/{name}: {e}"),
            }
        }
        for (plan, rows) in open {
            if let Err(e) = self.admit(&plan, &rows, &mut server).await {
                let key = &plan.key;
                eprintln!(
                    "nagare: starting runs of {}/{}: {e}",
                    key.namespace, key.name
                );
            }
        }
        next
    }

    /// Queues the due runs of a schedule (one, or every missed one with catchup).
    async fn schedule(&self, plan: &Plan) -> Result<(), Error> {
        let last = plan
            .stored
            .last_scheduled
            .and_then(|ms| Timestamp::from_millisecond(ms).ok());
        let existing = self
            .existing(&plan.key.namespace, &plan.key.name, last, None)
            .await?;
        let due = planner::catchup(
            &plan.timetable,
            &plan.settings,
            self.clock.now(),
            last,
            &existing,
            1000,
        )?;
        let Some(latest) = due.last().map(|i| i.logical_date.as_millisecond()) else {
            return Ok(());
        };
        self.queue(plan, &due, "scheduled", false).await?;
        let mut stored = self
            .store
            .settings(&plan.key.namespace, &plan.key.name)
            .await?;
        if stored.last_scheduled.is_none_or(|l| l < latest) {
            stored.last_scheduled = Some(latest);
            self.store
                .put_settings(&plan.key.namespace, &plan.key.name, &stored)
                .await?;
        }
        Ok(())
    }

    /// Starts the queued runs (of `rows`, the workflow's open runs) that `maxActiveRuns` and
    /// the server's limit allow, oldest first.
    async fn admit(
        &self,
        plan: &Plan,
        rows: &[crate::store::RunRow],
        server: &mut admission::Server,
    ) -> Result<(), Error> {
        let (namespace, name) = (&plan.key.namespace, &plan.key.name);
        let runs: Vec<Run> = rows
            .iter()
            .filter_map(|r| {
                Some(Run {
                    logical_date: Timestamp::from_millisecond(r.logical_date).ok()?,
                    state: run_state(r),
                    tasks: BTreeMap::new(),
                })
            })
            .collect();
        let gate = self.gates.gated(&plan.settings);
        for date in admission::startable_runs(&runs, &plan.settings, server) {
            let ms = date.as_millisecond();
            let Some(row) = rows.iter().find(|r| r.logical_date == ms) else {
                continue;
            };
            let input = run_input(
                &plan.settings,
                row.logical_date,
                row.interval_start,
                row.interval_end,
                &row.kind,
            );
            let workflow = WorkflowKey {
                namespace: namespace.clone(),
                name: name.clone(),
                version: row.version.clone(),
            };
            let new = new_instance(workflow, input, &self.name, gate);
            // Another node may have started it meanwhile: then this one does nothing.
            if self
                .store
                .start_run(
                    namespace,
                    name,
                    ms,
                    &new,
                    self.lease,
                    Some(plan.settings.max_active_runs),
                )
                .await?
            {
                server.active_runs += 1;
                self.node.send(Message::Stored { new });
            }
        }
        Ok(())
    }

    /// The loop of this node: schedules and admission, until the process ends.
    pub async fn run(self) {
        loop {
            let next = self.tick().await;
            self.metrics.run_ticks.inc();
            let mut wait = Duration::from_secs(1);
            if self.clock.is_fake() {
                // A fake clock jumps when a test writes it: look often.
                wait = Duration::from_millis(50);
            } else if let Some(due) = next {
                let ms = due.as_millisecond() - now_ms();
                wait = wait.min(Duration::from_millis(ms.max(0) as u64));
            }
            let _ = tokio::time::timeout(wait, self.wake.notified()).await;
        }
    }
}

/// The input of a run's instance (see the module documentation).
fn run_input(settings: &Settings, date: i64, start: i64, end: i64, kind: &str) -> Value {
    json!({
        "logicalDate": day(settings, date),
        "logicalTime": rfc3339(date),
        "dataInterval": {"start": rfc3339(start), "end": rfc3339(end)},
        "runKind": kind,
    })
}

/// A logical date as the day it is in the workflow's zone.
pub fn day(settings: &Settings, ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(settings.timezone.clone())
                .date()
                .to_string()
        })
        .unwrap_or_default()
}
