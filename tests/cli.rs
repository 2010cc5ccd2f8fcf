//! The command-line contract of DESIGN.md, checked on the real binary:
//! `nagare validate` (exit 0 / exit 2 with `FILE:LINE:COLUMN: message (at /pointer)`) and
//! `nagare run` (output on stdout and exit 0; error JSON on stderr and exit 1; invalid → exit 2).

#[path = "support/procs.rs"]
mod procs;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn nagare(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(args)
        .output()
        .expect("nagare runs");
    Out {
        code: out
            .status
            .code()
            .expect("exited, not killed by a signal (a panic aborts with 101)"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn spec() -> PathBuf {
    let dir = std::env::var("NAGARE_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec"));
    assert!(
        dir.is_dir(),
        "the spec folder {} is missing (set NAGARE_SPEC_DIR)",
        dir.display()
    );
    dir
}

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

fn write(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("nagare-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Every line is `FILE:LINE:COLUMN: message (at /pointer)` for `file`, with a line > 0.
fn located(stderr: &str, file: &str) -> Vec<(usize, usize, String)> {
    let re = regex::Regex::new(r"^(.+):(\d+):(\d+): (.+) \(at (/[^)]*)\)$").unwrap();
    let lines: Vec<_> = stderr.lines().collect();
    assert!(!lines.is_empty(), "no diagnostic for {file}");
    lines
        .iter()
        .map(|l| {
            let c = re
                .captures(l)
                .unwrap_or_else(|| panic!("not a located diagnostic: {l}"));
            assert_eq!(&c[1], file);
            let (line, col): (usize, usize) = (c[2].parse().unwrap(), c[3].parse().unwrap());
            assert!(line > 0 && col > 0, "{l}");
            (line, col, c[5].to_string())
        })
        .collect()
}

#[test]
fn validate_accepts_every_spec_example() {
    let files = yaml_files(&spec().join("examples"));
    assert!(files.len() > 50);
    let args: Vec<&str> = std::iter::once("validate")
        .chain(files.iter().map(String::as_str))
        .collect();
    let out = nagare(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn validate_rejects_every_invalid_fixture_with_a_location() {
    for file in yaml_files(&spec().join("invalid")) {
        let out = nagare(&["validate", &file]);
        assert_eq!(out.code, 2, "{file} was accepted");
        located(&out.stderr, &file);
    }
}

/// Malformed documents of every kind get a located message and never a panic.
#[test]
fn malformed_documents_are_located() {
    let head = "document: {dsl: 1.0.3, namespace: t, name: bad, version: 1.0.0}\n";
    let cases: &[(&str, String, usize, &str, &str)] = &[
        (
            "broken-yaml.yaml",
            format!("{head}do:\n  - a: {{set: {{x: 1}}\n"),
            4,
            "/do/0/a",
            "YAML",
        ),
        (
            "wrong-type.yaml",
            format!("{head}do:\n  - a:\n      wait: true\n"),
            4,
            "/do/0/a/wait",
            "",
        ),
        (
            "unknown-key.yaml",
            format!("{head}do:\n  - a:\n      set: {{x: 1}}\n      colour: red\n"),
            5,
            "/do/0/a/colour",
            "colour",
        ),
        (
            "bad-expression.yaml",
            format!("{head}do:\n  - a:\n      set:\n        x: ${{ .a + }}\n"),
            5,
            "/do/0/a/set/x",
            "expression",
        ),
        (
            "bad-then.yaml",
            format!("{head}do:\n  - a:\n      set: {{x: 1}}\n      then: nowhere\n"),
            5,
            "/do/0/a/then",
            "nowhere",
        ),
        (
            "twice.yaml",
            format!("{head}do:\n  - a: {{set: {{x: 1}}}}\n  - a: {{set: {{x: 2}}}}\n"),
            4,
            "/do/1/a",
            "twice",
        ),
        (
            "bad-cron.yaml",
            format!("{head}schedule: {{cron: 'every day'}}\ndo:\n  - a: {{set: {{x: 1}}}}\n"),
            2,
            "/schedule/cron",
            "cron",
        ),
        (
            "bad-duration.yaml",
            format!("{head}do:\n  - a: {{wait: P1Y}}\n"),
            3,
            "/do/0/a/wait",
            "",
        ),
        (
            "old-dsl.yaml",
            head.replace("1.0.3", "0.9.0") + "do:\n  - a: {set: {x: 1}}\n",
            1,
            "/document/dsl",
            "1.0.0",
        ),
        (
            "missing-use.yaml",
            format!("{head}do:\n  - a: {{raise: {{error: nope}}}}\n"),
            3,
            "/do/0/a/raise/error",
            "nope",
        ),
        ("not-a-mapping.yaml", "[1, 2, 3]\n".to_string(), 1, "/", ""),
        ("empty.yaml", "".to_string(), 1, "/", "empty"),
        (
            "binary.yaml",
            "\u{0}\u{1}\u{2}garbage: [".to_string(),
            1,
            "/",
            "",
        ),
    ];
    for (name, text, line, pointer, word) in cases {
        let file = write(name, text);
        let out = nagare(&["validate", &file]);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        let found = located(&out.stderr, &file);
        assert!(
            found.iter().any(|(l, _, p)| l == line && p == pointer),
            "{name}: expected line {line} at {pointer}, got:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(word),
            "{name}: `{word}` not in {}",
            out.stderr
        );
    }
}

#[test]
fn validate_reports_a_missing_file() {
    let out = nagare(&["validate", "/nonexistent/flow.yaml"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("/nonexistent/flow.yaml:1:1: cannot read"),
        "{}",
        out.stderr
    );
}

const GREET: &str = "document: {dsl: 1.0.3, namespace: t, name: greet, version: 1.0.0}
input:
  schema:
    document: {type: object, required: [name]}
do:
  - greet:
      set:
        greeting: ${ \"Hello \" + .name }
";

#[test]
fn run_prints_the_output() {
    let file = write("greet.yaml", GREET);
    let out = nagare(&["run", &file, "--input", r#"{"name": "Ada"}"#]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!({"greeting": "Hello Ada"})
    );
    let input = write("input.yaml", "name: Bob\n");
    let out = nagare(&["run", &file, "--input", &format!("@{input}")]);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!({"greeting": "Hello Bob"})
    );
}

#[test]
fn run_faults_with_the_error_on_stderr() {
    let file = write("greet2.yaml", GREET);
    let out = nagare(&["run", &file, "--input", "{}"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    let error: Value = serde_json::from_str(out.stderr.trim()).expect("one JSON line");
    assert_eq!(
        error["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/validation"
    );
    assert_eq!(error["status"], 400);
    assert!(error["title"].is_string() && error["detail"].as_str().unwrap().contains("name"));
    assert_eq!(error["instance"], "/input");
}

#[test]
fn run_rejects_bad_definitions_and_inputs_with_exit_2() {
    let bad = write("bad.yaml", "document: {dsl: 1.0.3}\ndo: []\n");
    let out = nagare(&["run", &bad]);
    assert_eq!(out.code, 2);
    located(&out.stderr, &bad);
    let file = write("greet3.yaml", GREET);
    let out = nagare(&["run", &file, "--input", "{not json"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not JSON"), "{}", out.stderr);
}

#[test]
fn run_events_prints_lifecycle_cloudevents() {
    let file = write("greet4.yaml", GREET);
    let out = nagare(&["run", &file, "--input", r#"{"name": "Ada"}"#, "--events"]);
    assert_eq!(out.code, 0);
    let types: Vec<String> = out
        .stderr
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).expect("a JSON line");
            assert_eq!(e["specversion"], "1.0");
            assert!(e["id"].is_string() && e["source"].is_string() && e["time"].is_string());
            e["type"].as_str().unwrap().to_string()
        })
        .collect();
    let short: Vec<&str> = types
        .iter()
        .map(|t| {
            t.trim_start_matches("io.serverlessworkflow.")
                .trim_end_matches(".v1")
        })
        .collect();
    assert_eq!(
        short,
        [
            "workflow.started",
            "task.created",
            "task.started",
            "task.completed",
            "workflow.completed"
        ]
    );
}

/// The chain of the peer benchmark runs and produces `{x: N}`.
#[test]
fn chain_workflow_runs() {
    let mut text = String::from(
        "document: {dsl: 1.0.3, namespace: bench, name: chain, version: 1.0.0}\ndo:\n",
    );
    for i in 0..100 {
        text.push_str(&format!(
            "  - step{i}:\n      set:\n        x: ${{ .x + 1 }}\n"
        ));
    }
    let file = write("chain.yaml", &text);
    let out = nagare(&["run", &file, "--input", r#"{"x": 0}"#]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!({"x": 100})
    );
}

const HEAD: &str = "document: {dsl: 1.0.3, namespace: t, name: proc, version: 1.0.0}\n";

/// Real processes: `sh`, `node` and `python3` with argv, stdin and environment.
#[test]
fn run_shell_and_scripts() {
    let file = write(
        "processes.yaml",
        &format!(
            "{HEAD}do:
  - shell:
      run:
        shell:
          command: 'read line; echo \"$line $1 $GREETING\"'
          arguments: ['${{ .who }}']
          stdin: '${{ .word }}'
          environment: {{GREETING: hello}}
      output: {{as: '${{ {{shell: .}} }}'}}
  - js:
      run:
        script:
          language: js
          code: 'console.log(JSON.stringify({{argv: process.argv.slice(2), env: process.env.FOO}}))'
          arguments: [a, b]
          environment: {{FOO: bar}}
      output: {{as: '${{ $input + {{js: (. | fromjson)}} }}'}}
  - py:
      run:
        script:
          language: python
          code: 'import sys; print(sys.stdin.read().upper(), file=sys.stderr); sys.exit(4)'
          stdin: quiet
        return: all
      output: {{as: '${{ $input + {{py: .}} }}'}}
"
        ),
    );
    let out = nagare(&["run", &file, "--input", r#"{"who": "ada", "word": "hi"}"#]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["shell"], "hi ada hello\n");
    assert_eq!(v["js"], json!({"argv": ["a", "b"], "env": "bar"}));
    assert_eq!(
        v["py"],
        json!({"code": 4, "stdout": "", "stderr": "QUIET\n"})
    );
}

#[test]
fn run_nonzero_exit_faults_and_missing_interpreter_is_a_configuration_error() {
    let file = write(
        "fails.yaml",
        &format!(
            "{HEAD}do:\n  - f:\n      run:\n        shell: {{command: 'echo oops >&2; exit 7'}}\n"
        ),
    );
    let out = nagare(&["run", &file]);
    assert_eq!(out.code, 1);
    let e: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(e["status"], 500);
    assert_eq!(e["detail"], "the process exited with code 7: oops");
    let file = write(
        "nonode.yaml",
        &format!("{HEAD}do:\n  - f:\n      run:\n        script: {{language: js, code: '1'}}\n"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(["run", &file])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(
        e["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
    );
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("`node` is not installed"),
        "{e}"
    );
}

/// A task timeout kills its process: the run ends at the timeout, not when `sleep` would.
#[test]
fn a_timeout_kills_the_process() {
    let file = write(
        "slow.yaml",
        &format!(
            "{HEAD}do:\n  - slow:\n      timeout: {{after: PT0.3S}}\n      run:\n        shell: {{command: 'sleep 30'}}\n"
        ),
    );
    let started = std::time::Instant::now();
    let out = nagare(&["run", &file]);
    assert_eq!(out.code, 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let e: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(e["status"], 408);
    assert_eq!(e["instance"], "/do/0/slow");
}

/// A timed-out task's whole process group goes, not only its `sh`: the grandchild that `sh`
/// started in the background (`sleep 300 &`) is gone too, though nagare never knew its pid.
#[test]
fn a_timeout_stops_the_grandchildren_too() {
    let pidfile =
        std::env::temp_dir().join(format!("nagare-cli-{}-grandchild.pid", std::process::id()));
    let _ = std::fs::remove_file(&pidfile);
    let file = write(
        "grandchild.yaml",
        &format!(
            "{HEAD}do:\n  - slow:\n      timeout: {{after: PT1S}}\n      run:\n        shell:\n          command: 'sleep 300 & echo $! > {}; wait'\n",
            pidfile.display()
        ),
    );
    let out = nagare(&["run", &file]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let e: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(
        e["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/timeout"
    );
    assert_eq!(e["instance"], "/do/0/slow");
    let grandchild = procs::read_pid(&pidfile, Duration::from_secs(10));
    // The issue asks for "within a second"; the deadline is generous for a loaded machine.
    let took = procs::wait_until(grandchild, "gone", Duration::from_secs(10), procs::gone);
    eprintln!("the grandchild was gone {took:?} after nagare run exited");
    let _ = std::fs::remove_file(&pidfile);
}

/// A process that prints more than `--max-output-bytes` on a stream is stopped (`yes` would
/// never end by itself) and its task faults with a runtime error naming the limit and the
/// flag; output within the limit is the result, whole.
#[test]
fn process_output_past_the_limit_is_a_runtime_error() {
    let workflow = |name: &str, command: &str| {
        write(
            &format!("{name}.yaml"),
            &format!("{HEAD}do:\n  - loud:\n      run:\n        shell: {{command: '{command}'}}\n"),
        )
    };
    for (name, command) in [("endless", "yes"), ("stderr", "yes | head -c 2000 >&2")] {
        let out = nagare(&[
            "run",
            &workflow(name, command),
            "--max-output-bytes",
            "1000",
        ]);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        let e: Value = serde_json::from_str(out.stderr.trim()).unwrap();
        assert_eq!(
            e["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
            "{name}: {e}"
        );
        let detail = e["detail"].as_str().unwrap();
        assert!(
            detail.contains("1000 bytes") && detail.contains("--max-output-bytes"),
            "{name}: {detail}"
        );
        let stream = if name == "stderr" { "stderr" } else { "stdout" };
        assert!(detail.contains(stream), "{name}: {detail}");
    }
    let out = nagare(&[
        "run",
        &workflow("within", "yes | head -c 1000"),
        "--max-output-bytes",
        "1000",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v.as_str().map(str::len), Some(1000), "{v}");
}

/// A workflow file larger than `--max-document-bytes` is a located diagnostic (exit 2), for
/// `validate` and `run` alike, read no further than the limit (an endless file is no
/// different).
#[test]
fn a_document_past_the_limit_is_refused() {
    let file = write(
        "padded.yaml",
        &format!(
            "{HEAD}do:\n  - s: {{set: {{a: 1}}}}\n# {}\n",
            "x".repeat(5000)
        ),
    );
    assert_eq!(nagare(&["validate", &file]).code, 0);
    for args in [
        vec!["validate", &file, "--max-document-bytes", "4096"],
        vec!["run", &file, "--max-document-bytes", "4096"],
        vec!["validate", "/dev/zero", "--max-document-bytes", "4096"],
    ] {
        let out = nagare(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let what = args[1];
        let problems = located(&out.stderr, what);
        assert_eq!(problems.len(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("4096 bytes") && out.stderr.contains("--max-document-bytes"),
            "{}",
            out.stderr
        );
    }
}

/// `run: workflow` resolves namespace/name/version (and `latest`) from `--workflows`; the
/// subflow's output is the task's output and its fault is the task's fault.
#[test]
fn run_subflows_from_a_folder() {
    let dir = std::env::temp_dir().join(format!("nagare-subflows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for v in ["1.0.0", "1.1.0"] {
        std::fs::write(
            dir.join(format!("double-{v}.yaml")),
            format!("document: {{dsl: 1.0.3, namespace: lib, name: double, version: '{v}'}}\ndo:\n  - d: {{set: {{n: '${{ .n * 2 }}', v: '{v}'}}}}\n"),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("fail.yaml"),
        "document: {dsl: 1.0.3, namespace: lib, name: fail, version: '1.0.0'}\ndo:\n  - f: {raise: {error: {type: https://e.x/bad, status: 422}}}\n",
    )
    .unwrap();
    let parent = write(
        "parent.yaml",
        &format!(
            "{HEAD}do:\n  - exact:\n      run:\n        workflow: {{namespace: lib, name: double, version: 1.0.0, input: {{n: '${{ .n }}'}}}}\n  - latest:\n      run:\n        workflow: {{namespace: lib, name: double, version: latest}}\n"
        ),
    );
    let dir_arg = dir.display().to_string();
    let out = nagare(&[
        "run",
        &parent,
        "--input",
        r#"{"n": 3}"#,
        "--workflows",
        &dir_arg,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!({"n": 12, "v": "1.1.0"})
    );
    let failing = write(
        "parent-fail.yaml",
        &format!(
            "{HEAD}do:\n  - call:\n      run:\n        workflow: {{namespace: lib, name: fail, version: 1.0.0}}\n"
        ),
    );
    let out = nagare(&["run", &failing, "--workflows", &dir_arg]);
    assert_eq!(out.code, 1);
    let e: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(e["status"], 422);
    let out = nagare(&["run", &failing]);
    assert!(
        out.stderr.contains("no workflow lib/fail:1.0.0 is known"),
        "{}",
        out.stderr
    );
}

/// `input.schema` and `output.schema` from external resources (a file here); the failing
/// pointer is in the validation error.
#[test]
fn external_schema_resources() {
    let schema = write(
        "person.schema.json",
        r#"{"type": "object", "required": ["name"], "properties": {"age": {"type": "integer", "minimum": 0}}}"#,
    );
    let file = write(
        "schema-resource.yaml",
        &format!(
            "{HEAD}input:\n  schema:\n    resource:\n      endpoint: file://{schema}\ndo:\n  - ok:\n      set: {{fine: true}}\n      output:\n        schema:\n          resource: {{endpoint: {{uri: 'file://{schema}'}}}}\n"
        ),
    );
    let out = nagare(&["run", &file, "--input", r#"{"name": "x", "age": -1}"#]);
    assert_eq!(out.code, 1);
    let e: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(e["status"], 400);
    assert!(e["detail"].as_str().unwrap().contains("at /age"), "{e}");
    let out = nagare(&["run", &file, "--input", r#"{"name": "x"}"#]);
    assert_eq!(out.code, 1, "the output lacks `name`");
    let e: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(e["instance"], "/do/0/ok");
    let missing = write(
        "schema-missing.yaml",
        &format!(
            "{HEAD}input:\n  schema:\n    resource:\n      endpoint: file:///nonexistent.json\ndo:\n  - ok: {{set: {{a: 1}}}}\n"
        ),
    );
    let out = nagare(&["run", &missing]);
    let e: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(
        e["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
    );
    assert!(
        e["detail"].as_str().unwrap().contains("/nonexistent.json"),
        "{e}"
    );
}

/// `emit` and `listen` meet on the in-process bus: one fork branch listens, the other emits;
/// `--event` puts events on the bus before the run; a listen nothing can satisfy fails clearly.
#[test]
fn emit_and_listen_on_the_in_process_bus() {
    let file = write(
        "bus.yaml",
        &format!(
            "{HEAD}do:
  - meet:
      fork:
        branches:
          - waiter:
              listen:
                to:
                  one:
                    with: {{type: com.example.ready, data: '${{ .n > 1 }}'}}
          - teller:
              emit:
                event:
                  with: {{source: https://nagare.test, type: com.example.ready, data: {{n: 2}}}}
  - external:
      listen:
        to:
          one:
            with: {{type: com.example.outside}}
        read: envelope
      output:
        as: '${{ {{first: $input[0][0], outside: .[0].id}} }}'
"
        ),
    );
    let event =
        r#"{"specversion": "1.0", "id": "ext-1", "source": "cli", "type": "com.example.outside"}"#;
    let out = nagare(&["run", &file, "--event", event]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!({"first": {"n": 2}, "outside": "ext-1"})
    );
    let out = nagare(&["run", &file]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("waits for events that nothing in this process will send"),
        "{}",
        out.stderr
    );
}

/// `--journal`: a run killed with SIGKILL in the middle of a wait resumes from its journal:
/// the task before the wait is not run again and the wait ends at its original deadline.
#[test]
fn a_killed_run_resumes_from_its_journal() {
    let dir = std::env::temp_dir().join(format!("nagare-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (journal, marks) = (dir.join("run.journal"), dir.join("marks"));
    let _ = std::fs::remove_file(&journal);
    let _ = std::fs::remove_file(&marks);
    let file = write(
        "durable.yaml",
        &format!(
            "{HEAD}do:\n  - mark:\n      run:\n        shell: {{command: 'echo mark >> \"$1\"', arguments: ['${{ .file }}']}}\n      output: {{as: '${{ $input }}'}}\n  - nap: {{wait: PT3S}}\n  - count:\n      run:\n        shell: {{command: 'echo after >> \"$1\"; wc -l < \"$1\"', arguments: ['${{ .file }}']}}\n"
        ),
    );
    let input = json!({"file": marks.display().to_string()}).to_string();
    let journal_arg = journal.display().to_string();
    let mut first = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(["run", &file, "--input", &input, "--journal", &journal_arg])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until the journal holds the answer of the first task, then kill.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&journal)
        .unwrap_or_default()
        .contains("\"done\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first task never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Half-way through the wait.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    first.kill().unwrap();
    first.wait().unwrap();
    let resumed = std::time::Instant::now();
    let out = nagare(&["run", &file, "--journal", &journal_arg]);
    let took = resumed.elapsed();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&marks).unwrap(),
        "mark\nafter\n",
        "the first task ran again"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!("2\n")
    );
    // About 1.5 s of the wait were left; a restarted wait would take 3 s.
    assert!(
        took < std::time::Duration::from_millis(2700),
        "the wait restarted instead of keeping its deadline: {took:?}"
    );
}

/// The example workflows are valid, and the daily pipeline runs for one date in containers on
/// podman (the local backend), passing data locations from step to step.
#[test]
fn the_example_pipelines_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let files = yaml_files(&dir);
    assert!(files.len() >= 2);
    let args: Vec<&str> = std::iter::once("validate")
        .chain(files.iter().map(String::as_str))
        .collect();
    assert_eq!(nagare(&args).code, 0);
    let data = std::env::temp_dir().join(format!("nagare-daily-{}", std::process::id()));
    let input =
        json!({"logicalDate": "2026-11-24", "shards": 3, "dataDir": data.display().to_string()})
            .to_string();
    let daily = dir.join("daily-recommendation.yaml").display().to_string();
    let containers = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/containers.yaml");
    let containers = containers.display().to_string();
    let out = nagare(&[
        "run",
        &daily,
        "--input",
        &input,
        "--containers",
        &containers,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["predictions"].as_array().map(Vec::len), Some(3));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(v["report"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(report, json!({"files": 3, "scored": 100 + 107 + 114}));
    let orders = dir.join("order-pipeline.yaml").display().to_string();
    let input = format!("@{}", dir.join("inputs/order-pipeline.yaml").display());
    let out = nagare(&["run", &orders, "--input", &input]);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap()["total"],
        json!(85.0)
    );
}
