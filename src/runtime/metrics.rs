//! The service's Prometheus metrics. The node and the API update them; `GET /metrics` renders
//! them (after refreshing the gauges that come from the store).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub struct Metrics {
    registry: Registry,
    /// Instances by status, across the store (set at each scrape).
    pub instances: Family<Vec<(String, String)>, Gauge>,
    /// Task durations, from task.started to its end.
    pub task_seconds: Histogram,
    /// Instances this node drives right now.
    pub live: Gauge,
    /// Messages waiting for this node's engine thread.
    pub engine_queue: Gauge,
    /// Effects (calls, timers, processes) in flight on this node.
    pub effects: Gauge,
    /// CloudEvents queued for publishing (set at each scrape).
    pub outbox: Gauge,
    /// Group commits, and how many instance appends they carried.
    pub commits: Counter,
    pub commit_size: Histogram,
    pub started: Counter,
    /// Passes of the runs loop (scheduling and admission) on this node.
    pub run_ticks: Counter,
    /// Kafka records this node consumed, by outcome (`stored`, `duplicate`, `dead_letter`).
    pub kafka_records: Family<Vec<(String, String)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nagare");
        let instances = Family::<Vec<(String, String)>, Gauge>::default();
        registry.register("instances", "Instances by status", instances.clone());
        let task_seconds = Histogram::new(exponential_buckets(0.0005, 4.0, 12));
        registry.register(
            "task_duration_seconds",
            "Task latency, from start to end",
            task_seconds.clone(),
        );
        let live = Gauge::default();
        registry.register(
            "live_instances",
            "Instances driven by this node",
            live.clone(),
        );
        let engine_queue = Gauge::default();
        registry.register(
            "engine_queue_depth",
            "Messages waiting for this node's engine",
            engine_queue.clone(),
        );
        let effects = Gauge::default();
        registry.register(
            "effects_in_flight",
            "Effects running on this node",
            effects.clone(),
        );
        let outbox = Gauge::default();
        registry.register(
            "outbox_depth",
            "CloudEvents queued for publishing (HTTP sinks, Kafka topics)",
            outbox.clone(),
        );
        let commits = Counter::default();
        registry.register("commits", "Group commits of this node", commits.clone());
        let commit_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "commit_instances",
            "Instances written per group commit",
            commit_size.clone(),
        );
        let started = Counter::default();
        registry.register(
            "instances_started",
            "Instances started on this node",
            started.clone(),
        );
        let run_ticks = Counter::default();
        registry.register(
            "run_ticks",
            "Passes of this node's runs loop (schedules and run admission)",
            run_ticks.clone(),
        );
        let kafka_records = Family::<Vec<(String, String)>, Counter>::default();
        registry.register(
            "kafka_records",
            "Kafka records consumed by this node, by outcome",
            kafka_records.clone(),
        );
        Metrics {
            kafka_records,
            run_ticks,
            registry,
            instances,
            task_seconds,
            live,
            engine_queue,
            effects,
            outbox,
            commits,
            commit_size,
            started,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
