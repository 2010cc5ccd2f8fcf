//! The container a task asks for, as the engine resolved it (see `engine/task/run/container.rs`),
//! plus the per-task settings from `metadata.nagare.container`.

use crate::dsl::model::run::{Cleanup, PullPolicy};
use crate::error::Error;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub image: String,
    pub name: String,
    pub command: Option<String>,
    #[serde(default)]
    pub arguments: Vec<String>,
    pub stdin: Option<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub ports: BTreeMap<String, String>,
    #[serde(default)]
    pub volumes: BTreeMap<String, String>,
    pub pull_policy: PullPolicy,
    pub lifetime: Lifetime,
    #[serde(rename = "await", default = "yes")]
    pub await_: bool,
    pub workflow: Workflow,
    pub instance: String,
    pub task: String,
    #[serde(default)]
    pub settings: Settings,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifetime {
    pub cleanup: Cleanup,
    pub after_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Workflow {
    pub namespace: String,
    pub name: String,
    pub version: String,
}

/// `metadata.nagare.container` of the task: where and how big.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub backend: Option<super::Backend>,
    #[serde(default)]
    pub resources: Resources,
    /// AWS Batch: an array job of this many children (2..=10000); each gets its index in
    /// `AWS_BATCH_JOB_ARRAY_INDEX`.
    pub array_size: Option<u32>,
    pub job_queue: Option<String>,
    pub job_definition: Option<String>,
    /// AWS Batch job ids this job waits for.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Batch job tags; extra labels of a Kubernetes pod.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Kubernetes: the pod's namespace, service account, pull secrets, node selector and
    /// tolerations (added to the configuration's; the task's win where both set one).
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub tolerations: Vec<k8s_openapi::api::core::v1::Toleration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPUs (fractions allowed).
    pub cpu: Option<f64>,
    /// Memory in MiB.
    pub memory: Option<u64>,
    pub gpu: Option<u32>,
}

impl Request {
    pub fn from_process(process: &Value) -> Result<Request, Error> {
        serde_path_to_error::deserialize(process).map_err(|e| {
            let at = e.path().to_string();
            Error::configuration(format!(
                "the container of task `{}` is not valid at `{at}`: {}",
                process.get("task").and_then(Value::as_str).unwrap_or("?"),
                e.into_inner()
            ))
        })
    }

    /// Labels (and tags) that link a container to its workflow, instance and task.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "io.nagare.workflow",
                format!("{}/{}", self.workflow.namespace, self.workflow.name),
            ),
            ("io.nagare.version", self.workflow.version.clone()),
            ("io.nagare.instance", self.instance.clone()),
            ("io.nagare.task", self.task.clone()),
        ]
    }
}
