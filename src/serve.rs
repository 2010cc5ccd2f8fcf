//! `nagare serve`: the long-running service. Opens the store, starts this node's engine thread,
//! its lease loop and (with `--sink`) the lifecycle CloudEvents publisher, then serves the REST
//! API until SIGINT/SIGTERM, when it gives its leases back so another node takes over at once.

use crate::api::{self, App};
use crate::events::ingest::Ingest;
use crate::events::kafka;
use crate::events::route::{Route, Routes};
use crate::events::sink::Sink;
use crate::functions::http;
use crate::runtime::clock::Clock;
use crate::runtime::effect::Context;
use crate::runtime::gates::Gates;
use crate::runtime::lease::Lease;
use crate::runtime::metrics::Metrics;
use crate::runtime::node::{Config, Node};
use crate::runtime::plan::Plans;
use crate::runtime::registry::Registry;
use crate::store;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct Options {
    pub listen: String,
    pub data: PathBuf,
    pub database: Option<String>,
    pub token_file: Option<PathBuf>,
    pub node: Option<String>,
    pub lease: Duration,
    /// The default HTTP sink: a last route `*=URL`.
    pub sink: Option<String>,
    pub routes: Vec<Route>,
    pub kafka: Option<kafka::Config>,
    pub kafka_topics: Vec<String>,
    pub kafka_group: String,
    pub kafka_dead_letter: Option<String>,
    /// Tests: abort after storing the first Kafka batch, before its commit (the crash test of
    /// `tests/kafka.rs`); compiled only with the `test-hooks` feature.
    #[cfg(feature = "test-hooks")]
    pub crash_after_kafka_store: bool,
    pub secrets: Value,
    pub http: http::Config,
    /// The container backends (`run: container`).
    pub containers: std::sync::Arc<crate::functions::container::Containers>,
    pub max_body: usize,
    /// The largest incoming CloudEvent: an HTTP request to /events, a Kafka record.
    pub max_event: usize,
    /// The most of each of stdout and stderr a process result keeps.
    pub max_output: usize,
    pub max_active_runs: Option<usize>,
    pub max_active_tasks: Option<usize>,
    /// How long incoming CloudEvents are kept (and read again when a node starts).
    pub event_retention: Duration,
    /// A listen also gets the events stored this long before its instance started.
    pub listen_lookback: Duration,
    /// Plan runs with a fake clock read from this file (tests).
    pub fake_clock: Option<PathBuf>,
}

/// Runs the service; returns only on a start-up error or after a signal.
pub async fn serve(options: Options) -> Result<(), String> {
    let mut routes = Routes(options.routes.clone());
    if let Some(url) = &options.sink {
        routes.0.push(Route::parse_flag(&format!("*={url}"))?);
    }
    if options.kafka.is_none() {
        if let Some(topic) = routes.topics().next() {
            return Err(format!(
                "a route sends events to kafka:{topic}, but no --kafka brokers are given"
            ));
        }
        if !options.kafka_topics.is_empty() {
            return Err("--kafka-topic needs --kafka brokers".into());
        }
    }
    let tokens = match &options.token_file {
        Some(path) => api::auth::read_tokens(path)?,
        None => Default::default(),
    };
    // One process per data directory: SQLite is the store of one node.
    let _lock = match &options.database {
        Some(_) => None,
        None => Some(lock(&options.data)?),
    };
    let store = store::open(options.database.as_deref(), &options.data)
        .await
        .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(&options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    // A stable default name: a restarted node gets its own instances back at once.
    let name = options
        .node
        .clone()
        .unwrap_or_else(|| match &options.database {
            None => "local".to_string(),
            Some(_) => format!("{}:{}", hostname(), address.port()),
        });
    // What `run: workflow` tasks may start: the stored workflows. Uploads to this node are
    // added as they come; the engine reloads from the store when a subflow is unknown (an
    // upload to another node).
    let registry = Arc::new(Registry::default());
    for w in store.workflows().await.map_err(|e| e.to_string())? {
        let file = format!("{}/{}:{}", w.key.namespace, w.key.name, w.key.version);
        let _ = registry.add(&file, w.source);
    }
    let metrics = Arc::new(Metrics::default());
    let plans = Plans::new(store.clone());
    let gates = Arc::new(Gates::new(
        store.clone(),
        plans.clone(),
        options.max_active_tasks,
    ));
    tokio::spawn(gates.clone().run());
    let http_client = http::Client::new(options.http);
    let events = Arc::new(tokio::sync::Notify::new());
    let node = Node::spawn(
        store.clone(),
        Config {
            node: name.clone(),
            lease: options.lease,
            routes: routes.clone(),
            context: Context {
                http: http_client,
                containers: options.containers.clone(),
                workflows: registry.clone(),
                secrets: options.secrets.clone(),
                max_output: options.max_output,
            },
            secrets: options.secrets,
            gates: Some(gates.clone()),
            lookback: options.listen_lookback,
            events: events.clone(),
            logs: crate::runtime::logs::Logs::spawn(store.clone()),
        },
        metrics.clone(),
    );
    let requests = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(
        Lease {
            store: store.clone(),
            node: node.clone(),
            name: name.clone(),
            lease: options.lease,
            requests: requests.clone(),
        }
        .run(),
    );
    // Workflows may route their events even when the server has no routes of its own.
    let producer = match &options.kafka {
        Some(config) => Some(Arc::new(kafka::producer::Producer::new(config)?)),
        None => None,
    };
    tokio::spawn(
        Sink {
            store: store.clone(),
            node: name.clone(),
            default: options.sink.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| format!("cannot build the sink's HTTP client: {e}"))?,
            kafka: producer,
            wake: node.outbox.clone(),
        }
        .run(),
    );
    let ingest = Ingest::spawn(store.clone(), events.clone());
    let consumer = match (&options.kafka, options.kafka_topics.is_empty()) {
        (Some(config), false) => Some(
            kafka::consumer::Consumer {
                config: config.clone(),
                topics: options.kafka_topics.clone(),
                group: options.kafka_group.clone(),
                dead_letter: options.kafka_dead_letter.clone(),
                ingest: ingest.clone(),
                metrics: metrics.clone(),
                max_record: options.max_event,
                #[cfg(feature = "test-hooks")]
                crash_after_store: options.crash_after_kafka_store,
            }
            .start(tokio::runtime::Handle::current())?,
        ),
        _ => None,
    };
    let runs = crate::runtime::runs::Runs {
        store: store.clone(),
        node: node.clone(),
        name: name.clone(),
        lease: options.lease,
        wake: node.ended.clone(),
        plans,
        gates,
        clock: options.fake_clock.map_or(Clock::System, Clock::File),
        max_active_runs: options.max_active_runs,
        metrics: metrics.clone(),
    };
    tokio::spawn(runs.clone().run());
    crate::runtime::inbound::Inbound {
        store: store.clone(),
        node: node.clone(),
        plans: runs.plans.clone(),
        name: name.clone(),
        wake: events.clone(),
        retention: options.event_retention,
    }
    .spawn();
    let app = Arc::new(App {
        runs,
        store: store.clone(),
        node,
        name: name.clone(),
        lease: options.lease,
        metrics,
        tokens,
        requests,
        known: Default::default(),
        registry,
        ingest,
    });
    let kind = if options.database.is_some() {
        "postgres".to_string()
    } else {
        format!("sqlite in {}", options.data.display())
    };
    eprintln!("nagare: serving on http://{address} (node {name}, store {kind})");
    // On a signal, stop accepting and give open requests (long polls among them) 3 s.
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signalled = stopping.clone();
    let server = axum::serve(
        listener,
        api::router(app, options.max_body, options.max_event),
    )
    .with_graceful_shutdown(async move {
        shutdown().await;
        signalled.notify_one();
    });
    tokio::select! {
        r = server => r.map_err(|e| format!("the server stopped: {e}"))?,
        _ = async {
            stopping.notified().await;
            tokio::time::sleep(Duration::from_secs(3)).await;
        } => {}
    }
    if let Some(consumer) = consumer {
        // Leave the consumer group before the leases go: the partitions move at once.
        let _ = tokio::task::spawn_blocking(move || consumer.stop()).await;
    }
    if let Err(e) = store.release_all(&name).await {
        eprintln!("nagare: cannot release the leases of {name}: {e}");
    }
    eprintln!("nagare: stopped");
    Ok(())
}

async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Locks the data directory for this process (released when the process ends, even by kill).
fn lock(data: &std::path::Path) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(data)
        .map_err(|e| format!("cannot create the data directory {}: {e}", data.display()))?;
    let path = data.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.try_lock().map_err(|_| {
        format!(
            "another nagare serve uses the data directory {} (give another --data, or --database postgres://… to share work)",
            data.display()
        )
    })?;
    Ok(file)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "nagare".into())
}
