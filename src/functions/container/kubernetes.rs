//! The Kubernetes backend: a container task as a Pod (kube + k8s-openapi).
//!
//! One pod per task in the task's namespace (`metadata.nagare.container.namespace`, else the
//! configuration's, else the kubeconfig context's), named after the task's container name
//! (made a DNS-1123 name), `restartPolicy: Never`, labelled `nagare.io/{workflow, namespace,
//! version, instance, task}` (the full values are annotations under `io.nagare.*`). The
//! container runs `sh -c COMMAND nagare ARGUMENTS...` as locally (or the arguments alone for
//! the image's entrypoint), with the environment, ports, hostPath volumes, `pullPolicy` as
//! `imagePullPolicy`, and `resources` as equal requests and limits (cpu, memory in MiB, GPUs as
//! `nvidia.com/gpu`). A pod has no stdin to write to: a task's `stdin` reaches it as the
//! environment variable `NAGARE_STDIN`, as on AWS Batch.
//!
//! nagare then watches the pod (a watch on its name, resumed from the last resource version
//! when the API server closes it; no polling) and follows its log once the container runs:
//! the log (stdout and stderr, as Kubernetes keeps them) is the result's `stdout`; the
//! container's termination message is its `stderr` (`FallbackToLogsOnError`: the log's tail
//! when the container failed). The exit code is the result's code. What is not an exit code is
//! a task error naming the pod and namespace: an image that cannot be pulled, a pod Pending
//! longer than `pendingTimeoutMs` (with the scheduler's reason), an eviction, an OOM kill, a
//! pod deleted by someone else. Lifetime: `always` deletes the pod once its log is read,
//! `never` keeps it, `eventually` labels it with the time after which it may go, deletes it
//! then, and every start of the backend deletes the labelled pods whose time has passed. A
//! dropped task (cancel, timeout) deletes its pod: that is how a pod is stopped.

use super::Request;
use super::cleanup::Cleanups;
use super::config;
use crate::dsl::model::run::{Cleanup, PullPolicy};
use crate::error::Error;
use crate::functions::log::{Log, Stream};
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HostPathVolumeSource, LocalObjectReference, Pod, PodSpec,
    ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The label holding the Unix time (seconds) after which an `eventually` pod may go.
const REMOVE_AFTER: &str = "nagare.io/remove-after";
/// The pod's one container.
const CONTAINER: &str = "task";

pub struct Kubernetes {
    client: kube::Client,
    /// Kept to make a client of its own for a cleanup after the task's runtime is gone.
    kube: kube::Config,
    config: config::Kubernetes,
    cleanups: Arc<Cleanups>,
}

impl Kubernetes {
    /// Connects with the configured kubeconfig and context, or kube's inference (`$KUBECONFIG`,
    /// `~/.kube/config`, the in-cluster service account), and sweeps expired `eventually` pods.
    pub async fn new(
        config: &config::Kubernetes,
        cleanups: Arc<Cleanups>,
    ) -> Result<Kubernetes, Error> {
        let unreachable = |e: String| {
            Error::configuration(format!(
                "cannot set up the Kubernetes backend: {e} (give `kubernetes.kubeconfig` and \
                 `kubernetes.context` in the container configuration, or run nagare in a pod \
                 with a service account)"
            ))
        };
        let options = kube::config::KubeConfigOptions {
            context: config.context.clone(),
            ..Default::default()
        };
        let kube = match (&config.kubeconfig, &config.context) {
            (Some(path), _) => {
                let file = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| unreachable(format!("{path}: {e}")))?;
                kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(|e| unreachable(format!("{path}: {e}")))?
            }
            (None, Some(_)) => kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| unreachable(e.to_string()))?,
            (None, None) => kube::Config::infer()
                .await
                .map_err(|e| unreachable(e.to_string()))?,
        };
        let client =
            kube::Client::try_from(kube.clone()).map_err(|e| unreachable(e.to_string()))?;
        let backend = Kubernetes {
            client,
            kube,
            config: config.clone(),
            cleanups,
        };
        backend.sweep().await;
        Ok(backend)
    }

    fn namespace<'a>(&'a self, request: &'a Request) -> &'a str {
        request
            .settings
            .namespace
            .as_deref()
            .or(self.config.namespace.as_deref())
            .unwrap_or(&self.kube.default_namespace)
    }

    /// At most `limit` bytes of the pod's log become the result (the rest stays in
    /// `kubectl logs`).
    pub async fn run(&self, request: &Request, log: &Log, limit: usize) -> Result<Value, Error> {
        let namespace = self.namespace(request).to_string();
        let name = pod_name(&request.name);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        let pod = self.pod(request, &name)?;
        let place = format!("pod {name} in namespace {namespace}");
        let created = match pods.create(&PostParams::default(), &pod).await {
            Ok(p) => p,
            // The same name again is a retry after a crash: its leftover goes.
            Err(kube::Error::Api(s)) if s.code == 409 => {
                self.remove(&pods, &name).await?;
                pods.create(&PostParams::default(), &pod)
                    .await
                    .map_err(|e| cannot_create(&place, e))?
            }
            Err(e) => return Err(cannot_create(&place, e)),
        };
        if !request.await_ {
            return Ok(json!({"code": 0, "stdout": "", "stderr": "", "where": place}));
        }
        let mut guard = Delete {
            cleanups: self.cleanups.clone(),
            kube: self.kube.clone(),
            namespace: namespace.clone(),
            name: Some(name.clone()),
        };
        let outcome = self.follow(&pods, &name, &place, created, log, limit).await;
        guard.name = None;
        match request.lifetime.cleanup {
            Cleanup::Always => {
                if let Err(e) = pods.delete(&name, &DeleteParams::default()).await {
                    eprintln!("nagare: cannot delete {place}: {e}");
                }
            }
            Cleanup::Eventually => {
                if let Some(after) = request.lifetime.after_ms {
                    let (pods, name) = (pods.clone(), name.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(after)).await;
                        let _ = pods.delete(&name, &DeleteParams::default()).await;
                    });
                }
            }
            Cleanup::Never => {}
        }
        let (code, log, message) = outcome?;
        let kept = request.lifetime.cleanup != Cleanup::Always;
        Ok(json!({
            "code": code,
            "stdout": log,
            "stderr": message,
            "where": if kept {
                format!("{place}; `kubectl -n {namespace} logs {name}`")
            } else {
                format!("{place}, deleted once it ended")
            },
        }))
    }

    /// Watches the pod until its container ended; answers (exit code, log, message).
    async fn follow(
        &self,
        pods: &Api<Pod>,
        name: &str,
        place: &str,
        created: Pod,
        task_log: &Log,
        limit: usize,
    ) -> Result<(i32, String, String), Error> {
        let pending_for = Duration::from_millis(self.config.pending_timeout_ms.unwrap_or(600_000));
        let pending_until = tokio::time::Instant::now() + pending_for;
        let mut version = created
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        let mut pod = created;
        let mut log: Option<tokio::task::JoinHandle<Result<String, kube::Error>>> = None;
        let logged = Arc::new(AtomicUsize::new(0));
        let watch = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(290);
        loop {
            let state = judge(&pod, place)?;
            if let State::Ended(code, message) = state {
                // The API server ends a followed log when the container ends; should it not,
                // the whole log is read once more.
                let followed = match log {
                    Some(mut following) => {
                        let done = tokio::time::timeout(Duration::from_secs(30), &mut following);
                        let text = done.await.ok().and_then(|r| r.ok()).and_then(|r| r.ok());
                        following.abort();
                        text
                    }
                    None => None,
                };
                let log = match followed {
                    Some(text) => text,
                    None => {
                        let text = self.log(pods, name, limit).await;
                        // What the follow did not get to the task's log yet.
                        let logged = logged.load(Ordering::Relaxed);
                        task_log.write(Stream::Stdout, text.get(logged..).unwrap_or_default());
                        text
                    }
                };
                return Ok((code, log, message));
            }
            if state == State::Running && log.is_none() {
                log = Some(tokio::spawn(follow_log(
                    pods.clone(),
                    name.to_string(),
                    task_log.clone(),
                    logged.clone(),
                    limit,
                )));
            }
            let mut events = match pods.watch(&watch, &version).await {
                Ok(events) => events.boxed(),
                Err(e) => {
                    // A lost connection is not a lost pod: look again in a moment.
                    eprintln!("nagare: cannot watch {place}: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    pod = self.get(pods, name, place).await?;
                    continue;
                }
            };
            loop {
                let next = if state == State::Pending {
                    match tokio::time::timeout_at(pending_until, events.try_next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            return Err(Error::runtime(format!(
                                "{place} is still Pending after {} s{}; see `kubectl -n {} \
                                 describe pod {name}`",
                                pending_for.as_secs(),
                                pending_reason(&pod),
                                pods_namespace(&pod)
                            )));
                        }
                    }
                } else {
                    events.try_next().await
                };
                match next {
                    Ok(Some(WatchEvent::Added(p) | WatchEvent::Modified(p))) => {
                        version = p.metadata.resource_version.clone().unwrap_or(version);
                        pod = p;
                        break;
                    }
                    Ok(Some(WatchEvent::Deleted(_))) => {
                        return Err(Error::runtime(format!(
                            "{place} was deleted before its container ended"
                        )));
                    }
                    Ok(Some(WatchEvent::Bookmark(b))) => version = b.metadata.resource_version,
                    // 410 Gone: the version is too old to resume from; start from the pod now.
                    Ok(Some(WatchEvent::Error(_))) | Err(_) => {
                        pod = self.get(pods, name, place).await?;
                        version = pod.metadata.resource_version.clone().unwrap_or_default();
                        break;
                    }
                    // The server ended the watch (its timeout): resume from the last version.
                    Ok(None) => break,
                }
            }
        }
    }

    async fn get(&self, pods: &Api<Pod>, name: &str, place: &str) -> Result<Pod, Error> {
        match pods.get_opt(name).await {
            Ok(Some(pod)) => Ok(pod),
            Ok(None) => Err(Error::runtime(format!(
                "{place} was deleted before its container ended"
            ))),
            Err(e) => Err(Error::communication(
                502,
                "Kubernetes API",
                format!("cannot read {place}: {e}"),
            )),
        }
    }

    /// The whole log of an ended container (when following it did not work out).
    async fn log(&self, pods: &Api<Pod>, name: &str, limit: usize) -> String {
        let params = LogParams {
            container: Some(CONTAINER.into()),
            limit_bytes: Some(limit as i64),
            ..Default::default()
        };
        pods.logs(name, &params).await.unwrap_or_else(|e| {
            eprintln!("nagare: cannot read the log of pod {name}: {e}");
            String::new()
        })
    }

    /// Deletes a leftover pod of the same name and waits until it is gone.
    async fn remove(&self, pods: &Api<Pod>, name: &str) -> Result<(), Error> {
        let now = DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        let _ = pods.delete(name, &now).await;
        for _ in 0..100 {
            match pods.get_opt(name).await {
                Ok(None) => return Ok(()),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Err(Error::runtime(format!(
            "pod {name} is left from an earlier run and does not go away; delete it \
             (`kubectl delete pod {name}`) and retry"
        )))
    }

    /// The pod for a request.
    fn pod(&self, request: &Request, name: &str) -> Result<Pod, Error> {
        let settings = &request.settings;
        let mut labels: BTreeMap<String, String> = self.config.labels.clone();
        labels.extend(settings.tags.clone());
        let wf = &request.workflow;
        for (k, v) in [
            ("workflow", &wf.name),
            ("namespace", &wf.namespace),
            ("version", &wf.version),
            ("instance", &request.instance),
            ("task", &request.task),
        ] {
            labels.insert(format!("nagare.io/{k}"), label_value(v));
        }
        if let (Cleanup::Eventually, Some(after)) =
            (request.lifetime.cleanup, request.lifetime.after_ms)
        {
            labels.insert(
                REMOVE_AFTER.into(),
                (unix_seconds() + after / 1000).to_string(),
            );
        }
        let annotations = request
            .labels()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let mut env: Vec<EnvVar> = request
            .environment
            .iter()
            .map(|(k, v)| EnvVar {
                name: k.clone(),
                value: Some(v.clone()),
                ..Default::default()
            })
            .collect();
        if let Some(stdin) = &request.stdin {
            env.push(EnvVar {
                name: "NAGARE_STDIN".into(),
                value: Some(stdin.clone()),
                ..Default::default()
            });
        }
        let port = |p: &str| {
            p.parse::<i32>().map_err(|_| {
                Error::configuration(format!(
                    "task `{}`: the port `{p}` is not a number",
                    request.task
                ))
            })
        };
        let mut ports = Vec::new();
        for (host, inner) in &request.ports {
            ports.push(ContainerPort {
                container_port: port(inner)?,
                host_port: Some(port(host)?),
                ..Default::default()
            });
        }
        let (volumes, mounts): (Vec<Volume>, Vec<VolumeMount>) = request
            .volumes
            .iter()
            .enumerate()
            .map(|(i, (host, inner))| {
                let v = format!("v{i}");
                (
                    Volume {
                        name: v.clone(),
                        host_path: Some(HostPathVolumeSource {
                            path: host.clone(),
                            type_: Some("DirectoryOrCreate".into()),
                        }),
                        ..Default::default()
                    },
                    VolumeMount {
                        name: v,
                        mount_path: inner.clone(),
                        ..Default::default()
                    },
                )
            })
            .unzip();
        let (command, args) = match &request.command {
            Some(c) => (
                Some(vec!["sh".into(), "-c".into(), c.clone(), "nagare".into()]),
                request.arguments.clone(),
            ),
            None => (None, request.arguments.clone()),
        };
        let container = Container {
            name: CONTAINER.into(),
            image: Some(request.image.clone()),
            image_pull_policy: Some(
                match request.pull_policy {
                    PullPolicy::Always => "Always",
                    PullPolicy::IfNotPresent => "IfNotPresent",
                    PullPolicy::Never => "Never",
                }
                .into(),
            ),
            command,
            args: (!args.is_empty()).then_some(args),
            env: (!env.is_empty()).then_some(env),
            ports: (!ports.is_empty()).then_some(ports),
            volume_mounts: (!mounts.is_empty()).then_some(mounts),
            resources: self.resources(request),
            termination_message_policy: Some("FallbackToLogsOnError".into()),
            ..Default::default()
        };
        let mut node_selector = self.config.node_selector.clone();
        node_selector.extend(settings.node_selector.clone());
        let mut tolerations = self.config.tolerations.clone();
        tolerations.extend(settings.tolerations.iter().cloned());
        let secrets: Vec<LocalObjectReference> = self
            .config
            .image_pull_secrets
            .iter()
            .chain(&settings.image_pull_secrets)
            .map(|s| LocalObjectReference { name: s.clone() })
            .collect();
        Ok(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels),
                annotations: Some(annotations),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![container],
                restart_policy: Some("Never".into()),
                service_account_name: settings
                    .service_account
                    .clone()
                    .or(self.config.service_account.clone()),
                image_pull_secrets: (!secrets.is_empty()).then_some(secrets),
                node_selector: (!node_selector.is_empty()).then_some(node_selector),
                tolerations: (!tolerations.is_empty()).then_some(tolerations),
                volumes: (!volumes.is_empty()).then_some(volumes),
                ..Default::default()
            }),
            status: None,
        })
    }

    /// Equal requests and limits (a Guaranteed pod; GPUs must be given as limits anyway).
    fn resources(&self, request: &Request) -> Option<ResourceRequirements> {
        let r = &request.settings.resources;
        let mut amounts = BTreeMap::new();
        if let Some(cpu) = r.cpu {
            amounts.insert("cpu".to_string(), Quantity(cpu_quantity(cpu)));
        }
        if let Some(memory) = r.memory {
            amounts.insert("memory".to_string(), Quantity(format!("{memory}Mi")));
        }
        if let Some(gpu) = r.gpu.filter(|g| *g > 0) {
            let resource = self
                .config
                .gpu_resource
                .as_deref()
                .unwrap_or("nvidia.com/gpu");
            amounts.insert(resource.to_string(), Quantity(gpu.to_string()));
        }
        (!amounts.is_empty()).then(|| ResourceRequirements {
            limits: Some(amounts.clone()),
            requests: Some(amounts),
            ..Default::default()
        })
    }

    /// Deletes the `eventually` pods whose time has passed (from any earlier process) in the
    /// configured namespace.
    async fn sweep(&self) {
        let namespace = self
            .config
            .namespace
            .as_deref()
            .unwrap_or(&self.kube.default_namespace);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let Ok(list) = pods.list(&ListParams::default().labels(REMOVE_AFTER)).await else {
            return;
        };
        let now = unix_seconds();
        for pod in list {
            let at = pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(REMOVE_AFTER))
                .and_then(|at| at.parse::<u64>().ok());
            if let (Some(at), Some(name)) = (at, &pod.metadata.name)
                && at <= now
            {
                let _ = pods.delete(name, &DeleteParams::default()).await;
            }
        }
    }
}

/// Where a pod is, as far as its task is concerned.
#[derive(Debug, PartialEq)]
enum State {
    Pending,
    Running,
    /// The container ended: its exit code and termination message.
    Ended(i32, String),
}

/// Reads the pod's status; what cannot end well is an error.
fn judge(pod: &Pod, place: &str) -> Result<State, Error> {
    let Some(status) = &pod.status else {
        return Ok(State::Pending);
    };
    let describe = format!(
        "see `kubectl -n {} describe pod {}`",
        pods_namespace(pod),
        pod.metadata.name.as_deref().unwrap_or_default()
    );
    if status.reason.as_deref() == Some("Evicted") {
        return Err(Error::runtime(format!(
            "{place} was evicted: {} ({describe})",
            status.message.as_deref().unwrap_or("no message")
        )));
    }
    let container = status
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == CONTAINER);
    let state = container.and_then(|c| c.state.as_ref());
    if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
        let reason = waiting.reason.as_deref().unwrap_or_default();
        // ErrImagePull alone may pass (kubelet retries); its back-off means it failed again.
        if matches!(
            reason,
            "ImagePullBackOff"
                | "InvalidImageName"
                | "ErrImageNeverPull"
                | "CreateContainerConfigError"
                | "CreateContainerError"
        ) {
            let image = container
                .map(|c| c.image.as_str())
                .filter(|i| !i.is_empty())
                .unwrap_or("?");
            return Err(Error::runtime(format!(
                "{place} cannot start its container (image {image}): {reason}: {} ({describe})",
                waiting.message.as_deref().unwrap_or("no message")
            )));
        }
    }
    if let Some(ended) = state.and_then(|s| s.terminated.as_ref()) {
        if ended.reason.as_deref() == Some("OOMKilled") {
            return Err(Error::runtime(format!(
                "the container of {place} was killed for running out of memory (OOMKilled, \
                 exit code {}): raise `resources.memory` of the task ({describe})",
                ended.exit_code
            )));
        }
        if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            return Ok(State::Ended(
                ended.exit_code,
                ended.message.clone().unwrap_or_default(),
            ));
        }
    }
    match status.phase.as_deref() {
        Some("Running") => Ok(State::Running),
        Some("Failed") => Err(Error::runtime(format!(
            "{place} failed before its container ended: {}: {} ({describe})",
            status.reason.as_deref().unwrap_or("no reason"),
            status.message.as_deref().unwrap_or("no message")
        ))),
        // Succeeded without a terminated container status: the kubelet has not said more.
        Some("Succeeded") => Ok(State::Ended(0, String::new())),
        _ => Ok(State::Pending),
    }
}

/// Why the scheduler (or kubelet) keeps a pod Pending, for the error.
fn pending_reason(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let condition = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.status == "False"))
        .map(|c| {
            format!(
                "{}: {}",
                c.reason.as_deref().unwrap_or(&c.type_),
                c.message.as_deref().unwrap_or_default()
            )
        });
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.waiting.as_ref())
        .map(|w| {
            format!(
                "{}: {}",
                w.reason.as_deref().unwrap_or_default(),
                w.message.as_deref().unwrap_or_default()
            )
        });
    match condition.or(waiting) {
        Some(why) => format!(" ({})", why.trim_end_matches(": ")),
        None => String::new(),
    }
}

fn pods_namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("default")
}

/// Follows the container's log to its end (the API server closes it when the container ends),
/// line by line into the task's log; `logged` counts the bytes written there.
async fn follow_log(
    pods: Api<Pod>,
    name: String,
    task_log: Log,
    logged: Arc<AtomicUsize>,
    limit: usize,
) -> Result<String, kube::Error> {
    let params = LogParams {
        container: Some(CONTAINER.into()),
        follow: true,
        ..Default::default()
    };
    let mut lines = pods.log_stream(&name, &params).await?.lines();
    let mut out = String::new();
    while let Some(line) = lines.try_next().await.map_err(kube::Error::ReadEvents)? {
        let line = format!("{line}\n");
        task_log.write(Stream::Stdout, &line);
        logged.fetch_add(line.len(), Ordering::Relaxed);
        if out.len() < limit {
            out.push_str(&line);
        }
    }
    if out.len() >= limit {
        out.push_str("[nagare: the log goes on; see `kubectl logs`]\n");
    }
    Ok(out)
}

fn cannot_create(place: &str, e: kube::Error) -> Error {
    Error::communication(502, "Kubernetes API", format!("cannot create {place}: {e}"))
}

/// Deletes the pod when its task is dropped before the container ended.
struct Delete {
    cleanups: Arc<Cleanups>,
    kube: kube::Config,
    namespace: String,
    name: Option<String>,
}

impl Drop for Delete {
    fn drop(&mut self) {
        let Some(name) = self.name.take() else { return };
        let (kube, namespace) = (self.kube.clone(), self.namespace.clone());
        self.cleanups.spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(client) = kube::Client::try_from(kube) else {
                    return;
                };
                let pods: Api<Pod> = Api::namespaced(client, &namespace);
                let now = DeleteParams {
                    grace_period_seconds: Some(0),
                    ..Default::default()
                };
                if let Err(e) = pods.delete(&name, &now).await {
                    eprintln!("nagare: cannot delete pod {name} in namespace {namespace}: {e}");
                }
            });
        });
    }
}

/// A pod name Kubernetes accepts (a DNS-1123 subdomain): up to 253 lowercase letters, digits,
/// `-` and `.`, beginning and ending with a letter or digit.
fn pod_name(name: &str) -> String {
    let out: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(253)
        .collect();
    let out = out.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if out.is_empty() {
        "nagare-task".into()
    } else {
        out.into()
    }
}

/// A label value Kubernetes accepts: up to 63 letters, digits, `-`, `_` and `.`, beginning and
/// ending with a letter or digit (or empty).
fn label_value(value: &str) -> String {
    let out: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    out.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// `2` for whole CPUs, `500m` for fractions.
fn cpu_quantity(cpu: f64) -> String {
    if cpu.fract() == 0.0 {
        format!("{cpu:.0}")
    } else {
        format!("{}m", (cpu * 1000.0).round() as i64)
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_are_what_kubernetes_accepts() {
        assert_eq!(
            pod_name("Daily-Recommendation-1234.examples-score"),
            "daily-recommendation-1234.examples-score"
        );
        assert_eq!(pod_name("-x_y-"), "x-y");
        assert_eq!(pod_name("___"), "nagare-task");
        assert_eq!(pod_name(&"a".repeat(300)).len(), 253);
        assert_eq!(label_value("examples/daily"), "examples-daily");
        assert_eq!(label_value(&format!("{}-", "b".repeat(62))), "b".repeat(62));
        assert_eq!(label_value("1.0.0"), "1.0.0");
    }

    #[test]
    fn cpus_are_quantities() {
        assert_eq!(cpu_quantity(4.0), "4");
        assert_eq!(cpu_quantity(0.5), "500m");
        assert_eq!(cpu_quantity(1.25), "1250m");
    }

    fn pod(status: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn pod_states_are_judged() {
        let j = |s: Value| judge(&pod(s), "pod p in namespace ns");
        assert_eq!(j(json!({"phase": "Pending"})).unwrap(), State::Pending);
        assert_eq!(
            j(
                json!({"phase": "Pending", "containerStatuses": [{"name": "task", "image": "i",
                "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ErrImagePull"}}}]})
            )
            .unwrap(),
            State::Pending
        );
        let e = j(
            json!({"phase": "Pending", "containerStatuses": [{"name": "task",
            "image": "nope:1", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}}]}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("ImagePullBackOff") && e.contains("nope:1") && e.contains("describe pod p"),
            "{e}"
        );
        assert_eq!(
            j(
                json!({"phase": "Failed", "containerStatuses": [{"name": "task", "image": "i",
                "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 3, "message": "tail"}}}]})
            )
            .unwrap(),
            State::Ended(3, "tail".into())
        );
        let e = j(
            json!({"phase": "Failed", "containerStatuses": [{"name": "task", "image": "i",
            "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("OOMKilled") && e.contains("resources.memory"),
            "{e}"
        );
        let e = j(json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("evicted: low on memory"), "{e}");
    }
}
