//! The `nagare` command line: `validate`, `run`, `serve`, and the client commands of a server
//! (`workflows`, `start`, `instances`).

use clap::{Parser, Subcommand};
use nagare::runtime::effect::Context;
use nagare::runtime::local::{self, NotifyFn, Options};
use nagare::runtime::registry::Registry;
use nagare::{engine::Status, functions::http, workflow};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "nagare",
    version,
    about = "A runtime for the CNCF Serverless Workflow DSL 1.0"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks workflow files; prints `FILE:LINE:COLUMN: message (at /pointer)` per problem.
    Validate {
        #[arg(required = true)]
        files: Vec<String>,
        #[command(flatten)]
        document: DocumentArgs,
    },
    /// Runs a workflow in-process to its end; prints its output (or its error on stderr).
    Run(RunArgs),
    /// The long-running service: REST API, durable instances, several nodes on PostgreSQL.
    Serve(Box<ServeArgs>),
    /// Workflows on a server: push (upload), list, get.
    Workflows {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        command: WorkflowsCommand,
    },
    /// Starts an instance of NAMESPACE/NAME[:VERSION] on a server (the highest version when
    /// left out); prints `{"id": …}`, or the ended instance with --wait.
    Start {
        #[command(flatten)]
        server: ServerArgs,
        workflow: String,
        /// The input: JSON text, or @FILE to read JSON or YAML from a file.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Wait up to this many seconds for the instance to end, then print it.
        #[arg(long)]
        wait: Option<f64>,
    },
    /// Queues a run for every logical date from FROM to TO (oldest first; dates with a run are
    /// skipped unless --rerun); with --wait, shows progress until they all ended.
    Backfill {
        #[command(flatten)]
        server: ServerArgs,
        /// NAMESPACE/NAME
        workflow: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        rerun: bool,
        #[arg(long)]
        wait: bool,
    },
    /// Queues one run for a logical date, outside the schedule (an ad-hoc run).
    Trigger {
        #[command(flatten)]
        server: ServerArgs,
        workflow: String,
        /// The logical date (e.g. 2026-11-24).
        #[arg(long)]
        date: String,
        #[arg(long)]
        rerun: bool,
    },
    /// Lists the runs of a workflow by logical date.
    Runs {
        #[command(flatten)]
        server: ServerArgs,
        workflow: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Marks a run (or one of its tasks, --task) failed or succeeded for run control; a run's
    /// unfinished instance is cancelled.
    Mark {
        #[command(flatten)]
        server: ServerArgs,
        workflow: String,
        #[arg(long)]
        date: String,
        #[arg(long, value_parser = ["failed", "succeeded"])]
        state: String,
        /// A top-level task's reference, e.g. /do/1/inference.
        #[arg(long)]
        task: Option<String>,
    },
    /// Runs an ended run again: from the start, or (--task) from that task, the tasks before
    /// it keeping their outputs.
    Clear {
        #[command(flatten)]
        server: ServerArgs,
        workflow: String,
        #[arg(long)]
        date: String,
        #[arg(long)]
        task: Option<String>,
    },
    /// Runs a failed run again from its failed task (the tasks before keep their outputs).
    Retry {
        #[command(flatten)]
        server: ServerArgs,
        workflow: String,
        #[arg(long)]
        date: String,
        #[arg(long)]
        task: Option<String>,
    },
    /// No new runs of the workflow (running ones finish).
    Pause {
        #[command(flatten)]
        server: ServerArgs,
        workflow: String,
    },
    Unpause {
        #[command(flatten)]
        server: ServerArgs,
        workflow: String,
    },
    /// Instances on a server: list, get, cancel, suspend, resume.
    Instances {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        command: InstancesCommand,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080", env = "NAGARE_LISTEN")]
    listen: String,
    /// The data directory of the embedded SQLite store.
    #[arg(long, default_value = "nagare-data", env = "NAGARE_DATA")]
    data: std::path::PathBuf,
    /// `postgres://…`: share one PostgreSQL with other nodes instead of the SQLite store.
    #[arg(long, env = "NAGARE_DATABASE")]
    database: Option<String>,
    /// A file of bearer tokens (one per line): every route but /healthz then needs one.
    #[arg(long, env = "NAGARE_TOKEN_FILE")]
    token_file: Option<std::path::PathBuf>,
    /// This node's name on its leases (default: `local` with SQLite, HOST:PORT with PostgreSQL).
    #[arg(long, env = "NAGARE_NODE")]
    node: Option<String>,
    /// How long a node's lease on an instance lasts without renewal: the time another node
    /// waits before it takes over the instances of a dead node.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    lease: std::time::Duration,
    /// Publish the lifecycle and emitted CloudEvents that no --route takes to this HTTP
    /// endpoint (structured mode): the same as a last `--route '*=URL'`.
    #[arg(long, env = "NAGARE_SINK")]
    sink: Option<String>,
    /// Send events whose type matches TYPES (`*` is a wildcard; several patterns separated by
    /// commas) to DEST, `kafka:TOPIC` or an http(s) URL; the first matching route wins, after
    /// the workflow's own `metadata.nagare.routes` (repeatable).
    #[arg(long = "route", value_name = "TYPES=DEST", value_parser = nagare::events::route::Route::parse_flag)]
    routes: Vec<nagare::events::route::Route>,
    /// Kafka brokers (`host:port,...`): consume CloudEvents from --kafka-topic, publish the
    /// events routed to `kafka:TOPIC`.
    #[arg(long, env = "NAGARE_KAFKA")]
    kafka: Option<String>,
    /// A topic to consume CloudEvents from (repeatable, or comma-separated).
    #[arg(
        long = "kafka-topic",
        value_name = "TOPIC",
        value_delimiter = ',',
        env = "NAGARE_KAFKA_TOPICS"
    )]
    kafka_topics: Vec<String>,
    /// The consumer group: nodes in one group split the topics' partitions.
    #[arg(long, default_value = "nagare", env = "NAGARE_KAFKA_GROUP")]
    kafka_group: String,
    /// Where records that are not valid CloudEvents go, with the reason in a header
    /// (without one they are logged and skipped).
    #[arg(long, value_name = "TOPIC", env = "NAGARE_KAFKA_DEAD_LETTER")]
    kafka_dead_letter: Option<String>,
    /// A librdkafka setting for the Kafka clients, e.g. session.timeout.ms=10000 (repeatable).
    #[arg(long = "kafka-option", value_name = "NAME=VALUE", value_parser = nagare::events::kafka::Config::parse_option)]
    kafka_options: Vec<(String, String)>,
    /// Tests only: abort after storing the first batch of Kafka records, before committing.
    /// Compiled only into a test build (the `test-hooks` feature, which `scripts/test` sets).
    #[cfg(feature = "test-hooks")]
    #[arg(long, hide = true)]
    crash_after_kafka_store: bool,
    /// A JSON or YAML file of secrets (an object by secret name) for `$secrets`.
    #[arg(long, env = "NAGARE_SECRETS_FILE")]
    secrets: Option<String>,
    /// The container configuration (YAML or JSON): default backend (local, kubernetes,
    /// awsBatch), per-workflow and per-task overrides, each backend's settings.
    #[arg(long, env = "NAGARE_CONTAINERS")]
    containers: Option<String>,
    /// Map hosts to other base URLs: `host=http://127.0.0.1:8080,...` (also NAGARE_HOST_MAP).
    #[arg(long, env = "NAGARE_HOST_MAP")]
    host_map: Option<String>,
    /// The largest request body accepted, in bytes (workflow uploads among them; CloudEvents
    /// have --max-event-bytes).
    #[arg(long, default_value_t = nagare::api::MAX_BODY)]
    max_body: usize,
    /// The largest incoming CloudEvent, in bytes: a request body of POST /api/v1/events (413
    /// past it) or a Kafka record (a poison record past it).
    #[arg(long, default_value_t = nagare::api::MAX_EVENT, env = "NAGARE_MAX_EVENT_BYTES")]
    max_event_bytes: usize,
    #[command(flatten)]
    caps: CapArgs,
    /// Runs of all workflows running at once (each workflow also has its `maxActiveRuns`).
    #[arg(long, env = "NAGARE_MAX_ACTIVE_RUNS")]
    max_active_runs: Option<usize>,
    /// Tasks of scheduled runs this node runs at once, all workflows together (Airflow's
    /// `parallelism`); each workflow also has its `maxActiveTasks`.
    #[arg(long, env = "NAGARE_MAX_ACTIVE_TASKS")]
    max_active_tasks: Option<usize>,
    /// How long incoming CloudEvents are kept: a node that starts reads this window again
    /// (for `schedule.on`), and a listen can only catch up on events still kept.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    event_retention: std::time::Duration,
    /// A `listen` also consumes matching events stored up to this long before its instance
    /// started (events that arrive before their listener).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    listen_lookback: std::time::Duration,
    /// Tests only: plan runs with the instant written in this file (RFC 3339) as now.
    #[arg(long, hide = true)]
    fake_clock: Option<std::path::PathBuf>,
    #[command(flatten)]
    eval: EvalArgs,
}

/// The budget of every expression evaluation (a workflow may lower it in its metadata,
/// `nagare.limits`); exceeding it faults the task (or, for time, the instance).
#[derive(clap::Args)]
struct EvalArgs {
    /// Terms an evaluation may evaluate.
    #[arg(long, default_value_t = nagare::expr::budget::Limits::DEFAULT.steps, env = "NAGARE_EVAL_STEPS")]
    eval_steps: u64,
    /// Memory an evaluation may keep (bytes; KiB, MiB and GiB suffixes).
    #[arg(long, default_value = "64MiB", value_parser = parse_bytes, env = "NAGARE_EVAL_MEMORY")]
    eval_memory: usize,
    /// How deeply the values an evaluation returns may nest.
    #[arg(long, default_value_t = nagare::expr::budget::Limits::DEFAULT.depth, env = "NAGARE_EVAL_DEPTH")]
    eval_depth: usize,
    /// How long an evaluation may run (the engine thread is held at most this long by one).
    #[arg(long, default_value = "1s", value_parser = parse_duration, env = "NAGARE_EVAL_TIME")]
    eval_time: std::time::Duration,
}

impl EvalArgs {
    /// Makes these the defaults of every program compiled from now on.
    fn install(&self) {
        nagare::expr::budget::set_defaults(nagare::expr::budget::Limits {
            steps: self.eval_steps.max(1),
            memory: self.eval_memory.max(1),
            depth: self.eval_depth.max(1),
            time: self.eval_time.max(std::time::Duration::from_millis(1)),
        });
    }
}

/// A size in bytes: a whole number with an optional KiB, MiB or GiB suffix.
fn parse_bytes(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown unit `{other}` (use KiB, MiB or GiB)")),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("`{text}` is not a size such as 64MiB"))
}

/// Caps on what one task brings into memory (`nagare run` and `nagare serve`).
#[derive(clap::Args)]
struct CapArgs {
    /// The largest HTTP response body a call reads (call: http, call: openapi, OpenAPI
    /// documents, tokens), in bytes; past it the call fails with a communication error.
    #[arg(long, default_value_t = http::MAX_RESPONSE, env = "NAGARE_MAX_RESPONSE_BYTES")]
    max_response_bytes: usize,
    /// The most of each of stdout and stderr a run task's result keeps, in bytes: a shell,
    /// script or local container printing more is stopped (a runtime error); a pod's or
    /// Batch job's log is cut with a note.
    #[arg(long, default_value_t = nagare::functions::log::MAX_OUTPUT, env = "NAGARE_MAX_OUTPUT_BYTES")]
    max_output_bytes: usize,
}

/// The cap on a workflow file read from disk (`validate`, `run`; uploads have --max-body).
#[derive(clap::Args)]
struct DocumentArgs {
    /// The largest workflow file read, in bytes.
    #[arg(long, default_value_t = nagare::api::MAX_BODY)]
    max_document_bytes: usize,
}

#[derive(clap::Args)]
struct ServerArgs {
    /// The server's base URL.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8080",
        env = "NAGARE_SERVER"
    )]
    server: String,
    /// A bearer token for the server.
    #[arg(long, global = true, env = "NAGARE_TOKEN")]
    token: Option<String>,
}

#[derive(Subcommand)]
enum WorkflowsCommand {
    /// Uploads workflow files (YAML or JSON); versions are immutable.
    Push {
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Lists every workflow version.
    List,
}

#[derive(Subcommand)]
enum InstancesCommand {
    /// Lists instances, newest first (one JSON line each).
    List {
        /// NAMESPACE/NAME[:VERSION]
        #[arg(long)]
        workflow: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Prints an instance with its task history.
    Get {
        id: String,
        /// Wait up to this many seconds for the instance to end.
        #[arg(long)]
        wait: Option<f64>,
    },
    Cancel {
        id: String,
    },
    Suspend {
        id: String,
    },
    Resume {
        id: String,
    },
    /// Runs a faulted instance again from the task that failed it; the tasks before it keep
    /// their outputs and are not run again.
    Retry {
        id: String,
    },
    /// Prints what the instance's run and container tasks printed: their stdout on stdout,
    /// their stderr on stderr.
    Logs {
        id: String,
        /// Only this task's log (a reference such as /do/1/load).
        #[arg(long)]
        task: Option<String>,
        /// Keep printing as the tasks print, until the instance ends.
        #[arg(long)]
        follow: bool,
    },
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 500ms, 10s or 1m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "`{s}` is not a duration like 500ms, 10s, 1m or 24h"
            ));
        }
    };
    if secs <= 0.0 {
        return Err(format!("`{s}`: a duration must be positive"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[derive(clap::Args)]
struct RunArgs {
    file: String,
    /// The input: JSON text, or @FILE to read JSON or YAML from a file.
    #[arg(long, default_value = "{}")]
    input: String,
    /// Print the lifecycle CloudEvents as JSON lines on stderr.
    #[arg(long)]
    events: bool,
    /// A JSON or YAML file of secrets (an object by secret name) for `$secrets`.
    #[arg(long, env = "NAGARE_SECRETS_FILE")]
    secrets: Option<String>,
    /// Map hosts to other base URLs: `host=http://127.0.0.1:8080,...` (also NAGARE_HOST_MAP).
    #[arg(long, env = "NAGARE_HOST_MAP")]
    host_map: Option<String>,
    /// A CloudEvent (JSON, or @FILE with one event or an array) put on the in-process bus
    /// before the run starts; repeatable. `listen` tasks consume them.
    #[arg(long = "event")]
    bus: Vec<String>,
    /// A folder of workflows that `run: workflow` tasks may start (by namespace/name/version).
    #[arg(long)]
    workflows: Option<String>,
    /// Keep the instance's history in this file; when it already holds one, resume that
    /// instance where it stopped (completed tasks are not run again).
    #[arg(long)]
    journal: Option<std::path::PathBuf>,
    /// The container configuration (YAML or JSON): default backend (local, kubernetes,
    /// awsBatch), per-workflow and per-task overrides, each backend's settings.
    #[arg(long, env = "NAGARE_CONTAINERS")]
    containers: Option<String>,
    #[command(flatten)]
    eval: EvalArgs,
    #[command(flatten)]
    caps: CapArgs,
    #[command(flatten)]
    document: DocumentArgs,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Validate { files, document } => validate(&files, document.max_document_bytes),
        // The run's expressions evaluate on this thread: a stack as large as the engine's.
        Command::Run(args) => std::thread::Builder::new()
            .name("nagare-run".into())
            .stack_size(nagare::expr::budget::THREAD_STACK)
            .spawn(move || run(args))
            .ok()
            .and_then(|t| t.join().ok())
            .unwrap_or(ExitCode::FAILURE),
        Command::Serve(args) => serve(*args),
        Command::Workflows { server, command } => client(server, |c| async move {
            match command {
                WorkflowsCommand::Push { files } => c.push(&files).await,
                WorkflowsCommand::List => c.list_workflows().await,
            }
        }),
        Command::Start {
            server,
            workflow,
            input,
            wait,
        } => {
            let input = match data_argument(&input, "--input") {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            client(
                server,
                |c| async move { c.start(&workflow, &input, wait).await },
            )
        }
        Command::Backfill {
            server,
            workflow,
            from,
            to,
            rerun,
            wait,
        } => client(server, |c| async move {
            c.backfill(&workflow, &from, &to, rerun, wait).await
        }),
        Command::Trigger {
            server,
            workflow,
            date,
            rerun,
        } => client(server, |c| async move {
            let body = json!({"logicalDate": date, "rerun": rerun});
            c.workflow_action(&workflow, "runs", Some(body)).await
        }),
        Command::Runs {
            server,
            workflow,
            from,
            to,
        } => client(server, |c| async move {
            c.runs(&workflow, from.as_deref(), to.as_deref()).await
        }),
        Command::Mark {
            server,
            workflow,
            date,
            state,
            task,
        } => client(server, |c| async move {
            let action = format!("mark-{state}");
            c.run_action(&workflow, &date, &action, task).await
        }),
        Command::Clear {
            server,
            workflow,
            date,
            task,
        } => client(server, |c| async move {
            c.run_action(&workflow, &date, "clear", task).await
        }),
        Command::Retry {
            server,
            workflow,
            date,
            task,
        } => client(server, |c| async move {
            c.run_action(&workflow, &date, "retry", task).await
        }),
        Command::Pause { server, workflow } => client(server, |c| async move {
            c.workflow_action(&workflow, "pause", None).await
        }),
        Command::Unpause { server, workflow } => client(server, |c| async move {
            c.workflow_action(&workflow, "unpause", None).await
        }),
        Command::Instances { server, command } => client(server, |c| async move {
            match command {
                InstancesCommand::List {
                    workflow,
                    status,
                    limit,
                } => {
                    let (path, version) = match workflow.as_deref().map(|w| w.split_once(':')) {
                        Some(Some((p, v))) => (Some(p.to_string()), Some(v.to_string())),
                        Some(None) => (workflow.clone(), None),
                        None => (None, None),
                    };
                    let (namespace, name) = match path.as_deref().map(|p| p.split_once('/')) {
                        Some(Some((n, m))) => (Some(n.to_string()), Some(m.to_string())),
                        Some(None) => (path.clone(), None),
                        None => (None, None),
                    };
                    let query = [
                        ("namespace", namespace),
                        ("name", name),
                        ("version", version),
                        ("status", status),
                    ];
                    c.list(&query, limit).await
                }
                InstancesCommand::Get { id, wait } => c.get(&id, wait).await,
                InstancesCommand::Cancel { id } => c.control(&id, "cancel").await,
                InstancesCommand::Suspend { id } => c.control(&id, "suspend").await,
                InstancesCommand::Resume { id } => c.control(&id, "resume").await,
                InstancesCommand::Retry { id } => c.control(&id, "retry").await,
                InstancesCommand::Logs { id, task, follow } => {
                    c.logs(&id, task.as_deref(), follow).await
                }
            }
        }),
    }
}

/// A tokio runtime (multi-threaded for the service), or the exit code of a failure to start one.
fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(|e| {
        eprintln!("cannot start the runtime: {e}");
        ExitCode::from(1)
    })
}

/// The container backends from `--containers` (the local backend alone without it).
fn load_containers(
    file: Option<&str>,
    max_output: usize,
) -> Result<Arc<nagare::functions::container::Containers>, ExitCode> {
    use nagare::functions::container::{Config, Containers};
    let config = match file {
        None => Config::default(),
        Some(f) => Config::load(f).map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(2)
        })?,
    };
    Ok(Arc::new(
        Containers::new(config).with_max_output(max_output),
    ))
}

/// Runs one client command on a current-thread runtime.
fn client<F, Fut>(server: ServerArgs, f: F) -> ExitCode
where
    F: FnOnce(nagare::client::Client) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let runtime = match runtime(false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(f(nagare::client::Client::new(&server.server, server.token)))
}

fn serve(args: ServeArgs) -> ExitCode {
    args.eval.install();
    let secrets = match &args.secrets {
        Some(f) => match data_argument(&format!("@{f}"), "the secrets file") {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
        None => json!({}),
    };
    let mut http_config = http::Config::from_env();
    if let Some(map) = &args.host_map {
        http_config.host_map = http::Config::parse_host_map(map);
    }
    http_config.max_response = args.caps.max_response_bytes;
    let options = nagare::serve::Options {
        listen: args.listen,
        data: args.data,
        database: args.database,
        token_file: args.token_file,
        node: args.node,
        lease: args.lease,
        sink: args.sink,
        routes: args.routes,
        kafka: args.kafka.map(|brokers| nagare::events::kafka::Config {
            brokers,
            options: args.kafka_options,
        }),
        kafka_topics: args.kafka_topics,
        kafka_group: args.kafka_group,
        kafka_dead_letter: args.kafka_dead_letter,
        #[cfg(feature = "test-hooks")]
        crash_after_kafka_store: args.crash_after_kafka_store,
        secrets,
        http: http_config,
        containers: match load_containers(args.containers.as_deref(), args.caps.max_output_bytes) {
            Ok(c) => c,
            Err(code) => return code,
        },
        max_body: args.max_body,
        max_event: args.max_event_bytes,
        max_output: args.caps.max_output_bytes,
        max_active_runs: args.max_active_runs,
        max_active_tasks: args.max_active_tasks,
        fake_clock: args.fake_clock,
        event_retention: args.event_retention,
        listen_lookback: args.listen_lookback,
    };
    let runtime = match runtime(true) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(nagare::serve::serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nagare serve: {e}");
            ExitCode::from(1)
        }
    }
}

/// A workflow file's text, read up to `limit` bytes: a larger file (or an endless one, such as
/// a device or a pipe) is a diagnostic, not a process that fills its memory.
fn read(file: &str, limit: usize) -> Result<String, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("{file}:1:1: cannot read the file: {e} (at /)");
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .map_err(cannot)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > limit {
        return Err(format!(
            "{file}:1:1: the file is larger than {limit} bytes, the most nagare reads of a \
             workflow (--max-document-bytes) (at /)"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        cannot(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e.utf8_error(),
        ))
    })
}

fn validate(files: &[String], max_document: usize) -> ExitCode {
    let mut failed = false;
    for file in files {
        let problems = match read(file, max_document) {
            Err(e) => vec![e],
            Ok(text) => match workflow::load(file, &text) {
                Ok(_) => Vec::new(),
                Err(ds) => ds.iter().map(ToString::to_string).collect(),
            },
        };
        for p in &problems {
            eprintln!("{p}");
        }
        failed |= !problems.is_empty();
    }
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn run(args: RunArgs) -> ExitCode {
    args.eval.install();
    let RunArgs {
        file,
        input,
        events,
        secrets,
        host_map,
        bus,
        workflows,
        journal,
        containers,
        eval: _,
        caps,
        document,
    } = args;
    let (file, input) = (file.as_str(), input.as_str());
    let definition = match read(file, document.max_document_bytes)
        .map_err(|e| vec![e])
        .and_then(|text| {
            workflow::load(file, &text).map_err(|ds| ds.iter().map(ToString::to_string).collect())
        }) {
        Ok(d) => Rc::new(d),
        Err(problems) => {
            problems.iter().for_each(|p| eprintln!("{p}"));
            return ExitCode::from(2);
        }
    };
    let input = match data_argument(input, "--input") {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let declared = definition
        .workflow
        .use_
        .as_ref()
        .map(|u| u.secrets.clone())
        .unwrap_or_default();
    let secrets = match secrets_for(&declared, secrets.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut config = http::Config::from_env();
    if let Some(map) = host_map {
        config.host_map = http::Config::parse_host_map(&map);
    }
    config.max_response = caps.max_response_bytes;
    let source = format!("nagare/{}", definition.qualified_name());
    let on_notify: Option<NotifyFn> = events.then(|| {
        Box::new(move |kind: &str, data: &Value| {
            let event = json!({
                "specversion": "1.0",
                "id": uuid::Uuid::new_v4().to_string(),
                "source": source,
                "type": kind,
                "time": jiff::Timestamp::now().to_string(),
                "datacontenttype": "application/json",
                "data": data,
            });
            eprintln!("{event}");
        }) as NotifyFn
    });
    let registry = match workflows.map(|dir| Registry::load_dir(std::path::Path::new(&dir))) {
        None => Registry::default(),
        Some(Ok(r)) => r,
        Some(Err(problems)) => {
            problems.iter().for_each(|p| eprintln!("{p}"));
            return ExitCode::from(2);
        }
    };
    let context = Context {
        http: http::Client::new(config),
        containers: match load_containers(containers.as_deref(), caps.max_output_bytes) {
            Ok(c) => c,
            Err(code) => return code,
        },
        workflows: Arc::new(registry),
        secrets,
        max_output: caps.max_output_bytes,
    };
    let mut events = Vec::new();
    for arg in &bus {
        match data_argument(arg, "--event") {
            Ok(Value::Array(many)) => events.extend(many),
            Ok(one) => events.push(one),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    let options = Options {
        context,
        events,
        journal,
        on_notify,
    };
    let runtime = match runtime(false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let outcome = runtime.block_on(local::run(definition, &id, input, &options));
    // A task that timed out may have left a container or a Batch job to stop: dropping the
    // runtime drops its effects, whose guards start stopping them, and `settle` waits for that.
    drop(runtime);
    options.context.containers.settle();
    match outcome.status {
        Status::Completed => {
            println!("{}", outcome.output.unwrap_or(Value::Null));
            ExitCode::SUCCESS
        }
        _ => {
            let error = outcome
                .error
                .map(|e| json!(e))
                .unwrap_or(json!({"status": outcome.status}));
            eprintln!("{error}");
            ExitCode::from(1)
        }
    }
}

/// JSON text, or `@FILE` holding JSON or YAML.
fn data_argument(arg: &str, what: &str) -> Result<Value, String> {
    match arg.strip_prefix('@') {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{path}:1:1: cannot read {what}: {e} (at /)"))?;
            nagare::dsl::load::parse(path, &text)
                .map(|d| d.value)
                .map_err(|d| d.to_string())
        }
        None => serde_json::from_str(arg)
            .map_err(|e| format!("{what}:{}:{}: not JSON: {e} (at /)", e.line(), e.column())),
    }
}

/// `$secrets`: the declared secrets, from the secrets file or else the environment
/// (`NAGARE_SECRET_<NAME>`, JSON or plain text). Undeclared secrets are never exposed.
fn secrets_for(declared: &[String], file: Option<&str>) -> Result<Value, String> {
    let from_file = match file {
        Some(f) => data_argument(&format!("@{f}"), "the secrets file")?,
        None => json!({}),
    };
    let mut out = serde_json::Map::new();
    for name in declared {
        if let Some(v) = from_file.get(name) {
            out.insert(name.clone(), v.clone());
        } else if let Ok(text) = std::env::var(format!(
            "NAGARE_SECRET_{}",
            name.to_uppercase().replace('-', "_")
        )) {
            out.insert(
                name.clone(),
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            );
        }
    }
    Ok(Value::Object(out))
}
