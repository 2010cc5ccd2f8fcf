//! `run: container` through the real binary: the local backend on this machine's podman (with
//! the image `scripts/podman install` builds, `config/containers.yaml` for podman's flags), and
//! the AWS Batch backend against the moto emulator (`support/moto.rs`) with the real SDK.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/nagare_run.rs"]
mod nagare_run;
#[path = "support/server.rs"]
#[allow(unused_macros)]
mod server;

use aws_sdk_batch::types::JobStatus;
use moto::{Mode, Moto};
use nagare_run::{IMAGE, podman_config, run, scratch, unique, until};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn podman(args: &[&str]) -> String {
    let out = Command::new("podman")
        .args(args)
        .output()
        .expect("podman runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Names of the containers (running or not) labelled with this workflow name.
fn containers_of(workflow: &str) -> Vec<String> {
    let filter = format!("label=io.nagare.workflow=test/{workflow}");
    podman(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])
        .lines()
        .map(String::from)
        .collect()
}

/// The spec's own example: stdin from an expression, arguments as `$1 $2`, the environment,
/// stdout as the output; the container keeps the spec's name convention and its labels.
#[test]
fn the_spec_example_runs_on_podman() {
    let name = unique("spec-example");
    let workflow = format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - setInput:
      set: {{message: Hello World}}
  - runContainer:
      input: {{from: '${{ .message }}'}}
      run:
        container:
          image: IMAGE
          pullPolicy: never
          stdin: '${{ . }}'
          command: |
            input=$(cat)
            echo "STDIN was: $input"
            echo "ARGS are $1 $2, greeting $GREETING"
          arguments: [Foo, Bar]
          environment: {{GREETING: '${{ "hi " + . }}'}}
"#
    );
    let out = run(&workflow, json!({}), &podman_config(), &[]);
    assert_eq!(
        out.output(),
        json!("STDIN was: Hello World\nARGS are Foo Bar, greeting hi Hello World\n")
    );
    // `lifetime` defaults to `never`: the container is still there, named by the convention.
    let names = containers_of(&name);
    assert_eq!(names.len(), 1, "{names:?}");
    let pattern = regex::Regex::new(&format!(
        r"^{name}-[0-9a-f]{{8}}-[0-9a-f]{{4}}-4[0-9a-f]{{3}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}\.test-runContainer$"
    ))
    .unwrap();
    assert!(pattern.is_match(&names[0]), "{}", names[0]);
    assert_eq!(
        podman(&[
            "inspect",
            &names[0],
            "--format",
            "{{index .Config.Labels \"io.nagare.task\"}}"
        ]),
        "runContainer"
    );
    podman(&["rm", "-f", &names[0]]);
}

fn exits_3(return_: &str) -> String {
    format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: exits, version: '0.1.0'}}
do:
  - fail:
      run:
        container:
          image: IMAGE
          name: '${{ "exits-" + .id }}'
          pullPolicy: never
          lifetime: {{cleanup: always}}
          command: 'echo out; echo broken input >&2; exit 3'
        return: {return_}
"#
    )
}

/// `return` on a failing container: `code` and `all` are data, `stdout` faults the task with
/// an error that says the code, the end of stderr and which container to look at.
#[test]
fn a_failing_container_is_a_code_or_an_error_that_says_where() {
    let id = unique("x");
    let input = json!({"id": id});
    let config = podman_config();
    assert_eq!(
        run(&exits_3("code"), input.clone(), &config, &[]).output(),
        json!(3)
    );
    assert_eq!(
        run(&exits_3("all"), input.clone(), &config, &[]).output(),
        json!({"code": 3, "stdout": "out\n", "stderr": "broken input\n"})
    );
    let out = run(&exits_3("stdout"), input, &config, &[]);
    let error = out.error();
    assert!(
        error.contains("exited with code 3: broken input"),
        "{error}"
    );
    assert!(error.contains(&format!("container exits-{id}")), "{error}");
}

/// A missing image is a task error naming the image and the container, not an exit code.
#[test]
fn a_missing_image_is_a_clear_task_error() {
    let workflow = r#"
document: {dsl: '1.0.3', namespace: test, name: missing, version: '0.1.0'}
do:
  - pull:
      run:
        container: {image: localhost/no-such-image:0, pullPolicy: never}
        return: code
"#;
    let out = run(workflow, json!({}), &podman_config(), &[]);
    let error = out.error();
    assert!(error.contains("could not run container"), "{error}");
    assert!(error.contains("localhost/no-such-image:0"), "{error}");
    assert!(error.contains("test-pull"), "{error}");
}

/// A task timeout stops the container (killing podman's client alone would leave it running).
#[test]
fn a_timeout_stops_the_container() {
    let name = unique("slow");
    let workflow = format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - slow:
      timeout: {{after: {{seconds: 1}}}}
      run:
        container: {{image: IMAGE, pullPolicy: never, command: 'sleep 60'}}
"#
    );
    let started = Instant::now();
    let out = run(&workflow, json!({}), &podman_config(), &[]);
    assert!(out.error().contains("timeout"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(20));
    let names = containers_of(&name);
    assert_eq!(names.len(), 1, "{names:?}");
    until("the container to stop", Duration::from_secs(15), || {
        podman(&["inspect", &names[0], "--format", "{{.State.Running}}"]) == "false"
    });
    podman(&["rm", "-f", &names[0]]);
}

/// `cleanup: eventually` outlives the process that ran the container: the next start of the
/// backend removes what is due, and `cleanup: always` leaves nothing behind.
#[test]
fn lifetimes_always_and_eventually() {
    let name = unique("lifetime");
    let workflow = |cleanup: &str| {
        format!(
            r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - step:
      run:
        container:
          image: IMAGE
          pullPolicy: never
          command: 'echo done'
          lifetime: {cleanup}
"#
        )
    };
    let config = podman_config();
    let out = run(&workflow("{cleanup: always}"), json!({}), &config, &[]);
    assert_eq!(out.output(), json!("done\n"));
    assert!(containers_of(&name).is_empty());
    // Due times are whole seconds, and every other test's process sweeps too: 2 s is at least
    // one second away when checked, and the second container's 60 s outlasts the test.
    let eventually = workflow("{cleanup: eventually, after: {seconds: 2}}");
    run(&eventually, json!({}), &config, &[]).output();
    let first = containers_of(&name);
    assert_eq!(
        first.len(),
        1,
        "the container stays until its time: {first:?}"
    );
    std::thread::sleep(Duration::from_millis(2100));
    // A new process (as after a restart): its backend sweeps the container that is due.
    let later = workflow("{cleanup: eventually, after: {seconds: 60}}");
    run(&later, json!({}), &config, &[]).output();
    let now = containers_of(&name);
    assert!(!now.contains(&first[0]), "{now:?}");
    assert_eq!(
        now.len(),
        1,
        "the second run's container is not due yet: {now:?}"
    );
    podman(&["rm", "-f", &now[0]]);
}

/// `await: false` answers once the container started, with the task's input as output.
#[test]
fn a_container_not_awaited_runs_on_its_own() {
    let name = unique("detached");
    let workflow = format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - background:
      run:
        container: {{image: IMAGE, pullPolicy: never, command: 'sleep 1; echo late'}}
        await: false
"#
    );
    let out = run(&workflow, json!({"keep": 1}), &podman_config(), &[]);
    assert_eq!(out.output(), json!({"keep": 1}));
    let names = containers_of(&name);
    assert_eq!(names.len(), 1);
    until(
        "the detached container to finish",
        Duration::from_secs(15),
        || podman(&["inspect", &names[0], "--format", "{{.State.Running}}"]) == "false",
    );
    assert_eq!(podman(&["logs", &names[0]]), "late");
    podman(&["rm", "-f", &names[0]]);
}

/// Without podman or docker on PATH, the local backend says what to install or configure.
#[test]
fn no_container_engine_is_a_clear_error() {
    let workflow = r#"
document: {dsl: '1.0.3', namespace: test, name: nowhere, version: '0.1.0'}
do:
  - step:
      run:
        container: {image: busybox}
"#;
    let out = run(
        workflow,
        json!({}),
        "backend: local\n",
        &[("PATH", "/nonexistent")],
    );
    let error = out.error();
    assert!(error.contains("no container engine"), "{error}");
    assert!(error.contains("install podman or docker"), "{error}");
}

/// A bad configuration file is refused with its line and field.
#[test]
fn a_bad_configuration_names_the_line() {
    let out = run(
        "document: {dsl: '1.0.3', namespace: t, name: t, version: '0.1.0'}\ndo: []\n",
        json!({}),
        "backend: local\nawsBatch:\n  jobQeue: q\n",
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("containers.yaml:3:3") && out.stderr.contains("jobQeue"),
        "{}",
        out.stderr
    );
}

fn batch_workflow(name: &str, extra: &str) -> String {
    format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - train:
      metadata:
        nagare:
          container:
            resources: {{cpu: 4, memory: 16384, gpu: 1}}
            tags: {{team: ml}}
{extra}
      run:
        container:
          image: IMAGE
          command: 'python train.py "$1"'
          arguments: ['${{ .day }}']
          environment: {{DAY: '${{ .day }}'}}
        return: code
"#
    )
}

async fn jobs(moto: &Moto, status: JobStatus) -> Vec<aws_sdk_batch::types::JobSummary> {
    moto.client
        .list_jobs()
        .job_queue(moto::QUEUE)
        .job_status(status)
        .send()
        .await
        .unwrap()
        .job_summary_list()
        .to_vec()
}

/// A job submitted with the task's image (nagare's job definition), command, environment,
/// resources and tags; SUCCEEDED is exit code 0.
#[tokio::test]
async fn a_batch_job_is_submitted_and_succeeds() {
    let moto = Moto::start(Mode::Simple).await;
    let out = run(
        &batch_workflow("batch-ok", ""),
        json!({"day": "2026-11-24"}),
        &moto.config(),
        &moto::CREDENTIALS,
    );
    assert_eq!(out.output(), json!(0));
    let done = jobs(&moto, JobStatus::Succeeded).await;
    assert_eq!(done.len(), 1);
    let id = done[0].job_id().unwrap();
    let described = moto.client.describe_jobs().jobs(id).send().await.unwrap();
    let job = &described.jobs()[0];
    assert!(job.job_name().unwrap().starts_with("batch-ok-"), "{job:?}");
    assert!(
        job.job_definition()
            .unwrap()
            .contains("job-definition/nagare-localhost-nagare-example-1"),
        "{job:?}"
    );
    let container = job.container().unwrap();
    assert_eq!(
        container.command(),
        ["sh", "-c", "python train.py \"$1\"", "nagare", "2026-11-24"]
    );
    assert!(
        container
            .environment()
            .iter()
            .any(|e| e.name() == Some("DAY") && e.value() == Some("2026-11-24")),
        "{container:?}"
    );
    let definition = moto
        .client
        .describe_job_definitions()
        .job_definitions(job.job_definition().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        definition.job_definitions()[0]
            .container_properties()
            .and_then(|c| c.image()),
        Some(IMAGE)
    );
    // Tagged with its workflow, instance and task, plus the task's own tags. (moto does not
    // report a submission's resource overrides; `aws_batch.rs` tests their mapping.)
    let tags = job.tags().unwrap();
    assert_eq!(tags["io.nagare.workflow"], "test/batch-ok");
    assert_eq!(tags["io.nagare.task"], "train");
    assert_eq!(tags["team"], "ml");
}

/// `arraySize` from an expression fans the task out into an array job.
#[tokio::test]
async fn an_array_job_fans_out() {
    let moto = Moto::start(Mode::Simple).await;
    let extra = "            arraySize: '${ .shards }'";
    let out = run(
        &batch_workflow("batch-array", extra),
        json!({"day": "2026-11-24", "shards": 3}),
        &moto.config(),
        &moto::CREDENTIALS,
    );
    assert_eq!(out.output(), json!(0));
    // The parent and its three children, `PARENT:0` to `PARENT:2`.
    let mut ids: Vec<String> = jobs(&moto, JobStatus::Succeeded)
        .await
        .iter()
        .map(|j| j.job_id().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids.len(), 4, "{ids:?}");
    let parent = &ids[0];
    assert_eq!(
        ids[1..],
        [0, 1, 2].map(|i| format!("{parent}:{i}")),
        "{ids:?}"
    );
}

/// A job AWS marks FAILED is a task error with Batch's reason, the job id and its log stream.
#[tokio::test]
async fn a_failed_batch_job_says_why_and_where() {
    let moto = Moto::start(Mode::Failing).await;
    let out = run(
        &batch_workflow("batch-failed", ""),
        json!({"day": "2026-11-24"}),
        &moto.config(),
        &moto::CREDENTIALS,
    );
    let error = out.error().to_string();
    let failed = jobs(&moto, JobStatus::Failed).await;
    assert_eq!(failed.len(), 1);
    let id = failed[0].job_id().unwrap();
    assert!(error.contains("AWS Batch marked the job FAILED"), "{error}");
    assert!(error.contains(id), "{error}");
    assert!(error.contains("log stream"), "{error}");
}

/// A timeout terminates the job: it waits on a dependency that never ends (moto's full
/// scheduler keeps it PENDING), nagare gives up after a second and AWS records the reason.
#[tokio::test]
async fn a_timeout_terminates_the_batch_job() {
    let moto = Moto::start(Mode::Full).await;
    let workflow = batch_workflow("batch-timeout", "            dependsOn: [never-there]").replace(
        "  - train:\n",
        "  - train:\n      timeout: {after: {seconds: 1}}\n",
    );
    let out = run(
        &workflow,
        json!({"day": "2026-11-24"}),
        &moto.config(),
        &moto::CREDENTIALS,
    );
    assert!(out.error().contains("timeout"), "{}", out.stderr);
    let mut terminated = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while terminated.is_empty() {
        assert!(Instant::now() < deadline, "the job was not terminated");
        tokio::time::sleep(Duration::from_millis(200)).await;
        terminated = jobs(&moto, JobStatus::Failed).await;
    }
    let id = terminated[0].job_id().unwrap();
    let described = moto.client.describe_jobs().jobs(id).send().await.unwrap();
    assert_eq!(
        described.jobs()[0].status_reason(),
        Some("nagare: the task was cancelled or timed out")
    );
}

/// The example pipeline's inference step moves from podman to AWS Batch by configuration
/// alone: preprocess and postprocess stay local, each shard becomes a Batch job.
#[tokio::test]
async fn the_example_inference_step_moves_to_batch_by_configuration() {
    let moto = Moto::start(Mode::Simple).await;
    let local = std::fs::read_to_string(podman_config()).unwrap();
    let config = format!(
        "{local}awsBatch:\n  jobQueue: {}\n  region: {}\n  endpoint: {}\n  maxPollMs: 100\n\
         workflows:\n  examples/daily-recommendation:\n    tasks: {{score: awsBatch}}\n",
        moto::QUEUE,
        moto::REGION,
        moto.endpoint
    );
    let data = scratch();
    let dir = scratch();
    let path = dir.join("containers.yaml");
    std::fs::write(&path, config).unwrap();
    let daily = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/daily-recommendation.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(["run", &daily.display().to_string(), "--input"])
        .arg(json!({"shards": 3, "dataDir": data.display().to_string()}).to_string())
        .args(["--containers", &path.display().to_string()])
        .envs(moto::CREDENTIALS)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Preprocess ran locally (its files are here); the three scores are Batch jobs with the
    // step's resources, and since moto runs nothing, postprocess found no predictions.
    assert!(data.join("2026-11-24/features/shard-2.json").is_file());
    let done = jobs(&moto, JobStatus::Succeeded).await;
    assert_eq!(done.len(), 3, "{done:?}");
    assert!(
        done.iter()
            .all(|j| j.job_name().unwrap().ends_with("-examples-score"))
    );
    let report = std::fs::read_to_string(data.join("2026-11-24/report.json")).unwrap();
    assert_eq!(report.trim(), r#"{"files": 0, "scored": 0}"#);
}

/// In the service, what a podman container prints is the task's log, as printed: stdout and
/// stderr apart, whatever `return` keeps.
#[test]
fn a_containers_output_is_the_tasks_log_in_the_service() {
    let dir = server::TempDir::new("container-logs");
    let config = podman_config();
    let service = server::Server::start(
        &server::Backing::Sqlite(dir.path().join("data")),
        &["--containers", &config],
    );
    let http = server::Http::default();
    let name = unique("logs");
    http.push(
        &service,
        &format!(
            r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - print:
      run:
        container:
          image: {IMAGE}
          command: 'echo first; echo oops >&2; echo last'
        return: code
"#
        ),
    );
    let id = http.start(&service, &format!("test/{name}/0.1.0"), &json!({}));
    let done = http.wait(&service, &id, 120);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", service.log());
    assert_eq!(
        done["tasks"][0]["output"], 0,
        "the record keeps the code only"
    );
    let page = http.logs(&service, &id, "?task=/do/0/print");
    assert_eq!(stream(&page, "stdout"), "first\nlast\n", "{page:#}");
    assert_eq!(stream(&page, "stderr"), "oops\n", "{page:#}");
}

/// The text of one stream in a page of a task's log.
fn stream(page: &serde_json::Value, which: &str) -> String {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stream"] == which)
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

/// An AWS Batch job really runs (moto on podman's Docker-compatible service), and what it
/// printed, which Batch keeps in CloudWatch Logs, is the task's log in the service and the
/// result's `stdout`; a failed job's log is kept as well.
#[test]
fn a_batch_jobs_cloudwatch_log_is_the_tasks_log_in_the_service() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = runtime.block_on(Moto::start(Mode::Docker));
    let dir = server::TempDir::new("batch-logs");
    let config = dir.path().join("containers.yaml");
    std::fs::write(&config, moto.config()).unwrap();
    let service = server::Server::start_with(
        &server::Backing::Sqlite(dir.path().join("data")),
        &["--containers", &config.display().to_string()],
        &moto::CREDENTIALS,
    );
    let http = server::Http::default();
    let name = unique("batch-logs");
    // The sleeps order the lines: CloudWatch orders a stream by time.
    http.push(
        &service,
        &format!(
            r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - print:
      run:
        container:
          image: {IMAGE}
          command: 'echo "first $DAY"; sleep 1; echo oops >&2; sleep 1; echo last'
          environment: {{DAY: '${{ .day }}'}}
        return: all
  - fail:
      run:
        container:
          image: {IMAGE}
          command: 'echo before; exit 3'
        return: all
"#
        ),
    );
    let id = http.start(
        &service,
        &format!("test/{name}/0.1.0"),
        &json!({"day": "2026-12-07"}),
    );
    let done = http.wait(&service, &id, 180);
    // moto's DescribeJobs leaves out a failed job's exit code, so `fail` is a task error
    // (Batch's "FAILED without exit code") rather than code 3.
    assert_eq!(done["status"], "faulted", "{done:#}\n{}", service.log());
    assert_eq!(done["error"]["instance"], "/do/1/fail", "{done:#}");
    let printed = "first 2026-12-07\noops\nlast\n";
    assert_eq!(
        done["tasks"][0]["output"],
        json!({"code": 0, "stdout": printed, "stderr": ""}),
        "{done:#}"
    );
    // The job ran in a container and named its log stream, as Batch does.
    let job = runtime
        .block_on(jobs(&moto, JobStatus::Succeeded))
        .pop()
        .expect("a succeeded job");
    let described = runtime
        .block_on(
            moto.client
                .describe_jobs()
                .jobs(job.job_id().unwrap())
                .send(),
        )
        .unwrap();
    let container = described.jobs()[0].container().unwrap();
    assert!(container.log_stream_name().is_some(), "{container:?}");
    let page = http.logs(&service, &id, "?task=/do/0/print");
    assert_eq!(stream(&page, "stdout"), printed, "{page:#}");
    assert_eq!(stream(&page, "stderr"), "", "{page:#}");
    // A failed job's log is kept too.
    let page = http.logs(&service, &id, "?task=/do/1/fail");
    assert_eq!(stream(&page, "stdout"), "before\n", "{page:#}");
}
