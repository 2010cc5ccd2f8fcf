//! `run: container` on the Kubernetes backend through the real binary, against the FAKE pod
//! API of `support/fake_kube.rs` (no cluster can run here; README, "Containers", has the manual
//! check against a real one). The kube client in nagare reaches the fake over HTTP with a
//! kubeconfig and a bearer token; the fake's kubelet runs each pod's command on this machine.

#[path = "support/fake_kube.rs"]
mod fake_kube;
#[path = "support/nagare_run.rs"]
mod nagare_run;

use fake_kube::FakeKube;
use nagare_run::{Out, podman_config, run, scratch, unique, until};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const NAMESPACE: &str = "pipelines";

/// A container configuration sending every task to the fake cluster.
fn config(fake: &FakeKube, extra: &str) -> String {
    let kubeconfig = fake.kubeconfig(&scratch(), NAMESPACE, "fake");
    format!("backend: kubernetes\nkubernetes:\n  kubeconfig: {kubeconfig}\n{extra}")
}

fn on(fake: &FakeKube, workflow: &str, input: Value, extra: &str) -> Out {
    run(workflow, input, &config(fake, extra), &[])
}

fn pod_named(fake: &FakeKube, workflow: &str) -> Value {
    let pods: Vec<Value> = fake
        .created()
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["nagare.io/workflow"] == workflow)
        .collect();
    assert_eq!(pods.len(), 1, "{pods:#?}");
    pods[0].clone()
}

fn name_of(pod: &Value) -> &str {
    pod["metadata"]["name"].as_str().unwrap()
}

/// Everything a task asks for reaches the pod; the result is the pod's log; the pod is deleted
/// (lifetime always), and nagare watched it (resuming when the server closed a watch) instead
/// of polling it.
#[test]
fn a_pod_runs_with_everything_the_task_asks_for() {
    let fake = FakeKube::start();
    let name = unique("full");
    let workflow = format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - greet:
      metadata:
        nagare:
          container:
            resources: {{cpu: 0.5, memory: 256, gpu: 1}}
            serviceAccount: scorer
            imagePullSecrets: [task-registry]
            nodeSelector: {{gpu: t4}}
            tolerations: [{{key: spot, operator: Exists, effect: NoSchedule}}]
            tags: {{team: recs}}
      run:
        container:
          image: registry.example/greeter:2
          pullPolicy: always
          lifetime: {{cleanup: always}}
          stdin: '${{ .who }}'
          environment: {{GREETING: hello}}
          ports: {{'8080': '80'}}
          volumes: {{'/tmp': '/tmp'}}
          command: 'sleep 1.3; echo "$GREETING $1 and $NAGARE_STDIN"; echo to-stderr >&2'
          arguments: ['${{ .who + "-arg" }}']
"#
    );
    let extra = "  namespace: pipelines\n  serviceAccount: default-runner\n  \
                 imagePullSecrets: [shared-registry]\n  nodeSelector: {pool: batch, gpu: any}\n  \
                 labels: {owner: data}\n";
    let out = on(&fake, &workflow, json!({"who": "ann"}), extra);
    assert_eq!(
        out.output(),
        json!("hello ann-arg and ann\nto-stderr\n"),
        "{}",
        out.stderr
    );

    let pod = pod_named(&fake, &name);
    let pod_name = name_of(&pod).to_string();
    assert!(
        pod_name.starts_with(&format!("{name}-")) && pod_name.ends_with(".test-greet"),
        "the spec's name convention, lowercased: {pod_name}"
    );
    let labels = &pod["metadata"]["labels"];
    assert_eq!(labels["nagare.io/namespace"], "test");
    assert_eq!(labels["nagare.io/task"], "greet");
    assert_eq!(labels["nagare.io/version"], "0.1.0");
    assert_eq!(labels["owner"], "data");
    assert_eq!(labels["team"], "recs");
    assert_eq!(
        pod["metadata"]["annotations"]["io.nagare.workflow"],
        format!("test/{name}")
    );
    let instance = labels["nagare.io/instance"].as_str().unwrap();
    assert_eq!(
        pod["metadata"]["annotations"]["io.nagare.instance"],
        instance
    );
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(spec["serviceAccountName"], "scorer");
    assert_eq!(
        spec["imagePullSecrets"],
        json!([{"name": "shared-registry"}, {"name": "task-registry"}])
    );
    assert_eq!(spec["nodeSelector"], json!({"gpu": "t4", "pool": "batch"}));
    assert_eq!(
        spec["tolerations"],
        json!([{"effect": "NoSchedule", "key": "spot", "operator": "Exists"}])
    );
    assert_eq!(
        spec["volumes"],
        json!([{"hostPath": {"path": "/tmp", "type": "DirectoryOrCreate"}, "name": "v0"}])
    );
    let c = &spec["containers"][0];
    assert_eq!(c["image"], "registry.example/greeter:2");
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(c["command"][0], "sh");
    assert_eq!(c["args"], json!(["ann-arg"]));
    assert_eq!(c["ports"], json!([{"containerPort": 80, "hostPort": 8080}]));
    assert_eq!(
        c["volumeMounts"],
        json!([{"mountPath": "/tmp", "name": "v0"}])
    );
    let resources = json!({"cpu": "500m", "memory": "256Mi", "nvidia.com/gpu": "1"});
    assert_eq!(
        c["resources"],
        json!({"limits": resources, "requests": resources})
    );
    assert!(
        c["env"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "NAGARE_STDIN", "value": "ann"}))
    );
    assert_eq!(c["terminationMessagePolicy"], "FallbackToLogsOnError");

    assert!(
        fake.deleted()
            .contains(&(NAMESPACE.into(), pod_name.clone()))
    );
    let requests = fake.requests();
    let watches = requests
        .iter()
        .filter(|r| r.contains("watch=true") && r.contains(&pod_name))
        .count();
    assert!(
        watches >= 2,
        "a 1.3 s pod outlives a 1 s watch: {requests:#?}"
    );
    let reads = requests
        .iter()
        .filter(|r| {
            r.starts_with(&format!(
                "GET /api/v1/namespaces/{NAMESPACE}/pods/{pod_name}?"
            ))
        })
        .count();
    assert_eq!(reads, 0, "watched, not polled: {requests:#?}");
    assert!(
        requests
            .iter()
            .any(|r| r.contains(&format!("{pod_name}/log?")) && r.contains("follow=true")),
        "{requests:#?}"
    );
}

fn exits_3(name: &str, return_: &str) -> String {
    format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - fail:
      run:
        container:
          image: registry.example/tool:1
          lifetime: {{cleanup: never}}
          command: 'echo out; echo broken input >&2; exit 3'
        return: {return_}
"#
    )
}

/// A failing container is its exit code for `return: code | all`, and otherwise a task error
/// with the log's tail (the termination message) and the pod to look at.
#[test]
fn a_failing_pod_is_a_code_or_an_error_that_says_where() {
    let fake = FakeKube::start();
    let name = unique("exits");
    assert_eq!(
        on(&fake, &exits_3(&name, "all"), json!({}), "").output(),
        json!({"code": 3, "stdout": "out\nbroken input\n", "stderr": "out\nbroken input"})
    );
    let out = on(&fake, &exits_3(&name, "stdout"), json!({}), "");
    let error = out.error();
    assert!(error.contains("exited with code 3"), "{error}");
    assert!(error.contains("broken input"), "{error}");
    let pods = fake.created();
    let last = name_of(pods.last().unwrap());
    assert!(
        error.contains(&format!("pod {last} in namespace {NAMESPACE}"))
            && error.contains(&format!("kubectl -n {NAMESPACE} logs {last}")),
        "{error}"
    );
    // lifetime never: both pods are still there.
    assert!(pods.iter().all(|p| fake.exists(NAMESPACE, name_of(p))));
}

fn failing(name: &str, image: &str, extra_task: &str) -> String {
    format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - step:
      {extra_task}
      run:
        container: {{image: '{image}', command: 'echo never'}}
"#
    )
}

/// What goes wrong around a container is a task error that says what and where.
#[test]
fn image_pull_pending_eviction_and_oom_are_clear_task_errors() {
    let fake = FakeKube::start();
    let cases = [
        (
            "registry.example/missing:1",
            "cannot start its container (image registry.example/missing:1): ImagePullBackOff: Back-off pulling image",
        ),
        (
            "registry.example/unschedulable:1",
            "is still Pending after 1 s (Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.)",
        ),
        (
            "registry.example/evicted:1",
            "was evicted: The node was low on resource: ephemeral-storage.",
        ),
        (
            "registry.example/oom:1",
            "was killed for running out of memory (OOMKilled, exit code 137)",
        ),
    ];
    for (image, expected) in cases {
        let name = unique("broken");
        let out = on(
            &fake,
            &failing(&name, image, ""),
            json!({}),
            "  pendingTimeoutMs: 1000\n",
        );
        let error = out.error();
        assert!(error.contains(expected), "{image}: {error}");
        let pod = name_of(&pod_named(&fake, &name)).to_string();
        assert!(
            error.contains(&format!("pod {pod} in namespace {NAMESPACE}"))
                && error.contains(&format!("kubectl -n {NAMESPACE} describe pod {pod}")),
            "{error}"
        );
    }
}

/// Such an error is a runtime error that `try` retries: two attempts, two pods.
#[test]
fn an_oom_kill_is_retried_by_try() {
    let fake = FakeKube::start();
    let name = unique("retried");
    let workflow = format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - attempt:
      try:
        - step:
            run:
              container: {{image: registry.example/oom:1, command: 'echo never'}}
      catch:
        errors: {{with: {{type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime}}}}
        as: failure
        retry: {{delay: {{milliseconds: 10}}, limit: {{attempt: {{count: 1}}}}}}
        do:
          - note:
              set: {{caught: '${{ $failure.detail | test("OOMKilled") }}'}}
"#
    );
    let out = on(&fake, &workflow, json!({}), "");
    assert_eq!(out.output(), json!({"caught": true}));
    let pods: Vec<Value> = fake
        .created()
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["nagare.io/workflow"] == name.as_str())
        .collect();
    assert_eq!(pods.len(), 2, "the attempt and its one retry, a pod each");
}

/// A timeout deletes the pod (that is how a pod is stopped) before `nagare run` exits.
#[test]
fn a_timeout_deletes_the_pod() {
    let fake = FakeKube::start();
    let name = unique("slow");
    let workflow = format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - slow:
      timeout: {{after: {{seconds: 1}}}}
      run:
        container: {{image: registry.example/tool:1, command: 'sleep 60', lifetime: {{cleanup: never}}}}
"#
    );
    let started = Instant::now();
    let out = on(&fake, &workflow, json!({}), "");
    assert!(out.error().contains("timeout"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(15));
    let pod = name_of(&pod_named(&fake, &name)).to_string();
    assert!(fake.deleted().contains(&(NAMESPACE.into(), pod.clone())));
    assert!(!fake.exists(NAMESPACE, &pod));
}

/// `eventually` labels the pod with its time; a later start of the backend deletes the pods
/// whose time has passed and keeps the others. `await: false` leaves the pod running.
#[test]
fn eventually_pods_are_swept_and_unawaited_pods_run_on() {
    let fake = FakeKube::start();
    let expired = json!({"metadata": {"name": "old-one",
        "labels": {"nagare.io/remove-after": "1000"}}});
    let later = json!({"metadata": {"name": "not-yet",
        "labels": {"nagare.io/remove-after": "99999999999"}}});
    fake.leave(NAMESPACE, expired);
    fake.leave(NAMESPACE, later);
    let name = unique("eventually");
    let workflow = format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - first:
      run:
        container:
          image: registry.example/tool:1
          command: 'echo done'
          lifetime: {{cleanup: eventually, after: {{minutes: 5}}}}
  - second:
      run:
        await: false
        container: {{image: registry.example/tool:1, command: 'sleep 30'}}
"#
    );
    let started = Instant::now();
    let out = on(&fake, &workflow, json!({}), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "second was not awaited"
    );
    assert!(!fake.exists(NAMESPACE, "old-one"), "swept");
    assert!(fake.exists(NAMESPACE, "not-yet"));
    let pods: Vec<Value> = fake
        .created()
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["nagare.io/workflow"] == name.as_str())
        .collect();
    assert_eq!(pods.len(), 2);
    let at: u64 = pods[0]["metadata"]["labels"]["nagare.io/remove-after"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((now + 250..=now + 300).contains(&at), "{at} vs {now}");
    assert!(fake.exists(NAMESPACE, name_of(&pods[0])));
    let second = name_of(&pods[1]).to_string();
    until("the unawaited pod to run", Duration::from_secs(5), || {
        fake.pod(NAMESPACE, &second)
            .is_some_and(|p| p["status"]["phase"] == "Running")
    });
}

/// Credentials: `$KUBECONFIG` (kube's inference) with its current context and namespace, and a
/// named context of a kubeconfig file; a cluster that is not there is an error naming the pod.
#[test]
fn kubeconfig_credentials_and_contexts() {
    let fake = FakeKube::start();
    let name = unique("creds");
    let workflow = format!(
        r#"
document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '0.1.0'}}
do:
  - hello:
      run:
        container: {{image: registry.example/tool:1, command: 'echo hi'}}
"#
    );
    let inferred = fake.kubeconfig(&scratch(), "from-context", "fake");
    let out = run(
        &workflow,
        json!({}),
        "backend: kubernetes\n",
        &[("KUBECONFIG", &inferred)],
    );
    assert_eq!(out.output(), json!("hi\n"));
    let created = fake.created();
    assert_eq!(created.len(), 1);
    assert!(
        fake.exists("from-context", name_of(&created[0])),
        "in the context's namespace"
    );

    let elsewhere = fake.kubeconfig(&scratch(), "ctx", "elsewhere");
    let chosen =
        format!("backend: kubernetes\nkubernetes: {{kubeconfig: {elsewhere}, context: fake}}\n");
    assert_eq!(
        run(&workflow, json!({}), &chosen, &[]).output(),
        json!("hi\n")
    );
    assert_eq!(fake.created().len(), 2);

    let current = format!("backend: kubernetes\nkubernetes: {{kubeconfig: {elsewhere}}}\n");
    let out = run(&workflow, json!({}), &current, &[]);
    let error = out.error();
    assert!(
        error.contains("cannot create pod") && error.contains("in namespace default"),
        "{error}"
    );
}

/// The example pipeline's inference step moves from podman to Kubernetes by configuration
/// alone: preprocess and postprocess stay local, each shard is a pod with the step's resources.
#[test]
fn the_example_inference_step_moves_to_kubernetes_by_configuration() {
    let fake = FakeKube::start();
    let local = std::fs::read_to_string(podman_config()).unwrap();
    let kubeconfig = fake.kubeconfig(&scratch(), NAMESPACE, "fake");
    let config = format!(
        "{local}kubernetes:\n  kubeconfig: {kubeconfig}\n\
         workflows:\n  examples/daily-recommendation:\n    tasks: {{score: kubernetes}}\n"
    );
    let data = scratch();
    let daily = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/daily-recommendation.yaml");
    let workflow = std::fs::read_to_string(daily).unwrap();
    let out = run(
        &workflow,
        json!({"shards": 3, "dataDir": data.display().to_string()}),
        &config,
        &[],
    );
    let output = out.output();
    let pods = fake.created();
    assert_eq!(pods.len(), 3, "{pods:#?}");
    for pod in &pods {
        assert!(
            name_of(pod).ends_with(".examples-score"),
            "{}",
            name_of(pod)
        );
        let resources = json!({"cpu": "4", "memory": "16384Mi", "nvidia.com/gpu": "1"});
        assert_eq!(
            pod["spec"]["containers"][0]["resources"]["limits"],
            resources
        );
    }
    // The fake kubelet ran the scores on this machine, so postprocess found them all.
    let report = std::fs::read_to_string(data.join("2026-11-24/report.json")).unwrap();
    assert_eq!(report.trim(), r#"{"files": 3, "scored": 321}"#);
    assert_eq!(output["predictions"].as_array().unwrap().len(), 3);
}

/// In the service, a pod's log is the task's log: followed line by line into the store as the
/// pod prints, readable through `GET /instances/{id}/logs` (stdout and stderr interleaved,
/// as Kubernetes keeps them).
#[test]
fn a_pods_log_is_the_tasks_log_in_the_service() {
    #[path = "support/server.rs"]
    #[allow(unused_macros)]
    mod server;
    let fake = FakeKube::start();
    let dir = server::TempDir::new("kube-logs");
    let file = dir.path().join("containers.yaml");
    std::fs::write(&file, config(&fake, "")).unwrap();
    let service = server::Server::start(
        &server::Backing::Sqlite(dir.path().join("data")),
        &["--containers", file.to_str().unwrap()],
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
          image: busybox
          command: 'echo first; sleep 0.3; echo oops >&2; sleep 0.3; echo last'
        return: code
"#
        ),
    );
    let id = http.start(&service, &format!("test/{name}/0.1.0"), &json!({}));
    let done = http.wait(&service, &id, 60);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", service.log());
    let page = http.logs(&service, &id, "?task=/do/0/print");
    let texts: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first\n", "oops\n", "last\n"], "{page:#}");
}
