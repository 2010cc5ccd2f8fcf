//! The container configuration (`--containers FILE`, YAML or JSON): the default backend, the
//! per-workflow and per-task overrides, and each backend's settings.
//!
//! ```yaml
//! backend: local                      # the server-wide default
//! local:
//!   engine: podman                    # or docker; default: the first one on PATH
//!   args: [--runtime, runc]           # put before the image on every `run`
//! kubernetes:
//!   namespace: pipelines              # default: the kubeconfig context's, else `default`
//!   kubeconfig: /etc/nagare/kubeconfig  # default: $KUBECONFIG, ~/.kube/config, in-cluster
//!   context: prod
//!   serviceAccount: pipeline-runner
//!   imagePullSecrets: [registry]
//!   nodeSelector: {pool: batch}
//!   tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]
//!   pendingTimeoutMs: 600000          # a pod not started after this is a task error
//! awsBatch:
//!   jobQueue: gpu-spot
//!   region: eu-west-1
//!   endpoint: http://127.0.0.1:5000   # an endpoint override (an emulator, a VPC endpoint)
//! workflows:
//!   examples/daily-recommendation:
//!     backend: local                  # this workflow's default
//!     tasks: {score: awsBatch}        # this task, whatever its metadata says
//! ```

use super::Request;
use crate::error::Error;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Backend {
    Local,
    Kubernetes,
    AwsBatch,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    pub backend: Option<Backend>,
    #[serde(default)]
    pub local: Local,
    #[serde(default)]
    pub kubernetes: Kubernetes,
    #[serde(default)]
    pub aws_batch: AwsBatch,
    #[serde(default)]
    pub workflows: BTreeMap<String, WorkflowOverride>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Local {
    /// `podman` or `docker` (or a path to either).
    pub engine: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kubernetes {
    pub namespace: Option<String>,
    /// A kubeconfig file; without it (and without `context`) the standard inference:
    /// `$KUBECONFIG`, `~/.kube/config`, then the in-cluster service account.
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
    pub service_account: Option<String>,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub tolerations: Vec<k8s_openapi::api::core::v1::Toleration>,
    /// Labels put on every pod (besides nagare's own).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// How long a pod may stay Pending (unschedulable, pulling) before the task fails (10 min).
    pub pending_timeout_ms: Option<u64>,
    /// The extended resource that counts GPUs (`nvidia.com/gpu`).
    pub gpu_resource: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsBatch {
    pub job_queue: Option<String>,
    /// A registered job definition to use for every job; without one nagare registers (and
    /// reuses) a definition per image, `nagare-<image>`.
    pub job_definition: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    /// The longest pause between two looks at a job's state, in milliseconds (default 30 s;
    /// the first look is after 250 ms and the pause doubles).
    pub max_poll_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowOverride {
    pub backend: Option<Backend>,
    #[serde(default)]
    pub tasks: BTreeMap<String, Backend>,
}

impl Config {
    /// Reads a configuration file; an error names the file, line, column and field.
    pub fn load(path: &str) -> Result<Config, String> {
        use serde_path_to_error::Segment;
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let document = crate::dsl::load::parse(path, &text).map_err(|d| d.to_string())?;
        serde_path_to_error::deserialize(&document.value).map_err(|e| {
            let pointer: String = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    Segment::Seq { index } => Some(format!("/{index}")),
                    Segment::Map { key } => {
                        Some(format!("/{}", key.replace('~', "~0").replace('/', "~1")))
                    }
                    _ => None,
                })
                .collect();
            document
                .diagnostic(path, &pointer, e.into_inner().to_string())
                .to_string()
        })
    }

    /// The backend for one task (see the module's order).
    pub fn backend_for(&self, request: &Request) -> Result<Backend, Error> {
        let key = format!("{}/{}", request.workflow.namespace, request.workflow.name);
        let workflow = self.workflows.get(&key);
        Ok(workflow
            .and_then(|w| w.tasks.get(&request.task).copied())
            .or(request.settings.backend)
            .or(workflow.and_then(|w| w.backend))
            .or(self.backend)
            .unwrap_or(Backend::Local))
    }
}
