//! `run: container`: picks the backend that runs a container task and hands it the request.
//!
//! The backend is chosen per task, first match wins: the configuration's entry for the task
//! (`workflows.NS/NAME.tasks.TASK`), the task's `metadata.nagare.container.backend`, the
//! configuration's backend for the workflow (`workflows.NS/NAME.backend`), the server-wide
//! `backend`, and `local`. So one configuration file can move a workflow's step from the
//! laptop to Kubernetes or AWS Batch without touching the workflow.

pub mod aws_batch;
mod cleanup;
mod cloudwatch;
pub mod config;
pub mod kubernetes;
pub mod local;
mod request;

pub use config::{Backend, Config};
pub use request::Request;

use crate::error::Error;
use crate::functions::log::Log;
use cleanup::Cleanups;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The container backends of one process; each is set up on first use.
pub struct Containers {
    config: Config,
    local: OnceCell<local::Local>,
    kubernetes: OnceCell<kubernetes::Kubernetes>,
    batch: OnceCell<aws_batch::AwsBatch>,
    cleanups: Arc<Cleanups>,
    /// The most of each stream a result keeps (`--max-output-bytes`).
    max_output: usize,
}

impl Containers {
    pub fn new(config: Config) -> Containers {
        Containers {
            config,
            local: OnceCell::new(),
            kubernetes: OnceCell::new(),
            batch: OnceCell::new(),
            cleanups: Arc::default(),
            max_output: crate::functions::log::MAX_OUTPUT,
        }
    }

    /// Sets the most of each stream a result keeps: past it a local container is stopped and
    /// its task faults; a pod's or Batch job's log is cut with a note (it stays in the
    /// cluster's or CloudWatch's log).
    pub fn with_max_output(mut self, bytes: usize) -> Containers {
        self.max_output = bytes;
        self
    }

    /// Waits until the containers and jobs of dropped tasks are stopped (before exiting).
    pub fn settle(&self) {
        self.cleanups.settle();
    }

    /// Runs the container the engine described; answers `{code, stdout, stderr, where}`. What
    /// it prints goes to `log` as it is printed (Batch: as nagare reads it from CloudWatch).
    pub async fn run(&self, process: &Value, log: &Log) -> Result<Value, Error> {
        let request = Request::from_process(process)?;
        match self.config.backend_for(&request)? {
            Backend::Local => {
                let local = self
                    .local
                    .get_or_try_init(|| async {
                        local::Local::new(&self.config.local, self.cleanups.clone()).await
                    })
                    .await?;
                local.run(&request, log, self.max_output).await
            }
            Backend::AwsBatch => {
                let batch = self
                    .batch
                    .get_or_init(|| {
                        aws_batch::AwsBatch::new(
                            self.config.aws_batch.clone(),
                            self.cleanups.clone(),
                        )
                    })
                    .await;
                batch.run(&request, log, self.max_output).await
            }
            Backend::Kubernetes => {
                let kubernetes = self
                    .kubernetes
                    .get_or_try_init(|| async {
                        kubernetes::Kubernetes::new(&self.config.kubernetes, self.cleanups.clone())
                            .await
                    })
                    .await?;
                kubernetes.run(&request, log, self.max_output).await
            }
        }
    }
}
