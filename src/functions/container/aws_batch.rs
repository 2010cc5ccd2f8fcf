//! The AWS Batch backend: a container task as a Batch job (the real aws-sdk-batch).
//!
//! The job goes to the task's job queue (`metadata.nagare.container.jobQueue`, else the
//! configuration's) with container overrides: the command (`sh -c COMMAND nagare ARGS...` as
//! locally, or the arguments alone for the image's entrypoint), the environment, and vCPUs,
//! memory and GPUs from `resources`. The image is the task's: unless a job definition is
//! named, nagare registers one per image (`nagare-<image>`, with the task's volumes as host
//! volumes) and reuses it while its image matches. `arraySize` makes an array job (fan-out;
//! each child reads `AWS_BATCH_JOB_ARRAY_INDEX`), `dependsOn` waits for other jobs, and the job
//! is tagged with its workflow, instance and task.
//!
//! nagare then looks at the job with backoff (250 ms doubling to `maxPollMs`) until it is
//! SUCCEEDED or FAILED. A job that ends FAILED with an exit code is that exit code (so
//! `return: code` sees it); without one (never started, terminated) it is a task error with
//! Batch's reason. Either way the error names the job id and its CloudWatch log stream. A
//! dropped wait (cancel, timeout) terminates the job. Batch has no stdin: a task's `stdin`
//! reaches the job as the environment variable `NAGARE_STDIN`. What the job prints is read
//! from its CloudWatch log stream at each look and once more at its end (`cloudwatch.rs`):
//! it is the task's log and the result's `stdout` (stdout and stderr together, as CloudWatch
//! keeps them; an array job's children have streams of their own, which nagare does not
//! read). `pullPolicy` and `lifetime` are the compute environment's business and do not
//! apply.

use super::cleanup::Cleanups;
use super::cloudwatch::{self, Follow};
use super::{Request, config};
use crate::error::Error;
use crate::functions::log::Log;
use aws_sdk_batch::Client;
use aws_sdk_batch::types::{
    ArrayProperties, ContainerOverrides, ContainerProperties, Host, JobDefinitionType,
    JobDependency, JobStatus, KeyValuePair, MountPoint, ResourceRequirement, ResourceType, Volume,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

pub struct AwsBatch {
    client: Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    config: config::AwsBatch,
    /// Job definitions nagare registered, by name: (image, arn).
    definitions: Mutex<HashMap<String, (String, String)>>,
    cleanups: Arc<Cleanups>,
}

impl AwsBatch {
    /// The client, with the standard credential and region chain (environment, profile,
    /// instance role) plus the configured region and endpoint.
    pub async fn new(config: config::AwsBatch, cleanups: Arc<Cleanups>) -> AwsBatch {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        AwsBatch {
            client: Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            config,
            definitions: Mutex::new(HashMap::new()),
            cleanups,
        }
    }

    /// At most `limit` bytes of the job's log become the result's `stdout`.
    pub async fn run(&self, request: &Request, log: &Log, limit: usize) -> Result<Value, Error> {
        let settings = &request.settings;
        let queue = settings
            .job_queue
            .as_ref()
            .or(self.config.job_queue.as_ref())
            .ok_or_else(|| {
                Error::configuration(format!(
                    "task `{}` runs on AWS Batch but no job queue is set: give \
                     `awsBatch.jobQueue` in the container configuration or \
                     `metadata.nagare.container.jobQueue` on the task",
                    request.task
                ))
            })?;
        let definition = match settings
            .job_definition
            .as_ref()
            .or(self.config.job_definition.as_ref())
        {
            Some(d) if !request.volumes.is_empty() => {
                return Err(Error::configuration(format!(
                    "task `{}` has volumes, which AWS Batch takes from the job definition: \
                     put them in `{d}`, or name no job definition so nagare registers one",
                    request.task
                )));
            }
            Some(d) => d.clone(),
            None => self.definition_for(request).await?,
        };
        let name = job_name(&request.name);
        let mut command: Vec<String> = Vec::new();
        if let Some(c) = &request.command {
            command.extend(["sh".into(), "-c".into(), c.clone(), "nagare".into()]);
        }
        command.extend(request.arguments.iter().cloned());
        let mut environment: Vec<KeyValuePair> = request
            .environment
            .iter()
            .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
            .collect();
        if let Some(stdin) = &request.stdin {
            environment.push(
                KeyValuePair::builder()
                    .name("NAGARE_STDIN")
                    .value(stdin)
                    .build(),
            );
        }
        let overrides = ContainerOverrides::builder()
            .set_command((!command.is_empty()).then_some(command))
            .set_environment(Some(environment))
            .set_resource_requirements(Some(resources(request)))
            .build();
        let mut tags: HashMap<String, String> = request
            .labels()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        tags.extend(settings.tags.clone());
        let mut submit = self
            .client
            .submit_job()
            .job_name(&name)
            .job_queue(queue)
            .job_definition(&definition)
            .container_overrides(overrides)
            .set_tags(Some(tags))
            .propagate_tags(true);
        if let Some(size) = settings.array_size {
            if !(2..=10_000).contains(&size) {
                return Err(Error::configuration(format!(
                    "`arraySize` of task `{}` is {size}; AWS Batch array jobs have 2 to 10000 children",
                    request.task
                )));
            }
            submit = submit.array_properties(ArrayProperties::builder().size(size as i32).build());
        }
        for id in &settings.depends_on {
            submit = submit.depends_on(JobDependency::builder().job_id(id).build());
        }
        let submitted = submit.send().await.map_err(|e| {
            Error::communication(
                502,
                "AWS Batch Submit Failed",
                format!(
                    "cannot submit job {name} to queue {queue}: {}",
                    aws_sdk_batch::error::DisplayErrorContext(&e)
                ),
            )
        })?;
        let id = submitted.job_id().unwrap_or_default().to_string();
        let guard = Terminate {
            cleanups: self.cleanups.clone(),
            client: self.client.clone(),
            id: Some(id.clone()),
        };
        let outcome = self.wait(&id, &name, log, limit).await;
        let mut guard = guard;
        guard.id = None;
        outcome
    }

    /// Looks at the job with backoff until it ends, reading its log at each look.
    async fn wait(&self, id: &str, name: &str, log: &Log, limit: usize) -> Result<Value, Error> {
        let max = Duration::from_millis(self.config.max_poll_ms.unwrap_or(30_000).max(10));
        let mut pause = Duration::from_millis(250).min(max);
        let mut follow: Option<Follow> = None;
        loop {
            let described = self.client.describe_jobs().jobs(id).send().await;
            match described {
                Err(e) => {
                    // A lost answer is not a lost job: look again.
                    eprintln!(
                        "nagare: cannot describe AWS Batch job {id}: {}",
                        aws_sdk_batch::error::DisplayErrorContext(&e)
                    );
                }
                Ok(out) => {
                    let Some(job) = out.jobs().first() else {
                        return Err(Error::runtime(format!(
                            "AWS Batch no longer knows job {name} ({id})"
                        )));
                    };
                    let stream = job
                        .container()
                        .and_then(|c| c.log_stream_name())
                        .map(String::from);
                    let place = match &stream {
                        Some(s) => format!("AWS Batch job {name} ({id}), log stream {s}"),
                        None => format!("AWS Batch job {name} ({id})"),
                    };
                    let ended =
                        matches!(job.status(), Some(JobStatus::Succeeded | JobStatus::Failed));
                    if let Some(stream) = &stream {
                        let group = log_group(job);
                        let follow = match &mut follow {
                            Some(f) if f.is(group, stream) => f,
                            // A retried job's new attempt writes a new stream.
                            _ => follow.insert(Follow::new(group, stream, limit)),
                        };
                        // After the end, read to the stream's end: a few reads, so a long
                        // backlog or one failed read does not cut the log short.
                        let mut tries = if ended { 3 } else { 1 };
                        while !follow.read(&self.logs, log).await && tries > 1 {
                            tries -= 1;
                        }
                    }
                    let stdout = follow.as_ref().map(|f| f.text.as_str()).unwrap_or("");
                    match job.status() {
                        Some(JobStatus::Succeeded) => {
                            let code = job.container().and_then(|c| c.exit_code()).unwrap_or(0);
                            return Ok(json!({
                                "code": code, "stdout": stdout, "stderr": "",
                                "where": place, "jobId": id, "logStream": stream,
                            }));
                        }
                        Some(JobStatus::Failed) => {
                            let reason = job
                                .status_reason()
                                .or_else(|| job.container().and_then(|c| c.reason()))
                                .unwrap_or("no reason given");
                            return match job.container().and_then(|c| c.exit_code()) {
                                Some(code) if code != 0 => Ok(json!({
                                    "code": code, "stdout": stdout, "stderr": reason,
                                    "where": place, "jobId": id, "logStream": stream,
                                })),
                                _ => Err(Error::runtime(format!(
                                    "AWS Batch marked the job FAILED: {reason} ({place})"
                                ))),
                            };
                        }
                        _ => {}
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(max);
        }
    }

    /// The job definition nagare keeps for the task's image (and volumes).
    async fn definition_for(&self, request: &Request) -> Result<String, Error> {
        let name = job_name(&format!("nagare-{}", request.image));
        let mut known = self.definitions.lock().await;
        if let Some((image, arn)) = known.get(&name)
            && image == &request.image
            && request.volumes.is_empty()
        {
            return Ok(arn.clone());
        }
        let problem = |e: String| {
            Error::communication(
                502,
                "AWS Batch Job Definition",
                format!("cannot register job definition {name}: {e}"),
            )
        };
        if request.volumes.is_empty()
            && let Ok(found) = self
                .client
                .describe_job_definitions()
                .job_definition_name(&name)
                .status("ACTIVE")
                .send()
                .await
            && let Some(d) = found
                .job_definitions()
                .iter()
                .filter(|d| {
                    d.container_properties().and_then(|c| c.image()) == Some(&request.image)
                })
                .max_by_key(|d| d.revision())
            && let Some(arn) = d.job_definition_arn()
        {
            known.insert(name, (request.image.clone(), arn.to_string()));
            return Ok(arn.to_string());
        }
        let (volumes, mounts): (Vec<Volume>, Vec<MountPoint>) = request
            .volumes
            .iter()
            .enumerate()
            .map(|(i, (host, inner))| {
                let v = format!("v{i}");
                (
                    Volume::builder()
                        .name(&v)
                        .host(Host::builder().source_path(host).build())
                        .build(),
                    MountPoint::builder()
                        .source_volume(v)
                        .container_path(inner)
                        .build(),
                )
            })
            .unzip();
        let properties = ContainerProperties::builder()
            .image(&request.image)
            .resource_requirements(requirement(ResourceType::Vcpu, "1"))
            .resource_requirements(requirement(ResourceType::Memory, "2048"))
            .set_volumes(Some(volumes))
            .set_mount_points(Some(mounts))
            .build();
        let registered = self
            .client
            .register_job_definition()
            .job_definition_name(&name)
            .r#type(JobDefinitionType::Container)
            .container_properties(properties)
            .send()
            .await
            .map_err(|e| problem(aws_sdk_batch::error::DisplayErrorContext(&e).to_string()))?;
        let arn = registered.job_definition_arn().unwrap_or(&name).to_string();
        if request.volumes.is_empty() {
            known.insert(name, (request.image.clone(), arn.clone()));
        }
        Ok(arn)
    }
}

/// The job's log group: its log configuration's `awslogs-group`, else Batch's default.
fn log_group(job: &aws_sdk_batch::types::JobDetail) -> &str {
    job.container()
        .and_then(|c| c.log_configuration())
        .and_then(|l| l.options())
        .and_then(|o| o.get("awslogs-group"))
        .map(String::as_str)
        .unwrap_or(cloudwatch::DEFAULT_GROUP)
}

fn requirement(kind: ResourceType, value: &str) -> ResourceRequirement {
    ResourceRequirement::builder()
        .r#type(kind)
        .value(value)
        .build()
}

/// vCPUs, memory (MiB) and GPUs from the task's `resources`.
fn resources(request: &Request) -> Vec<ResourceRequirement> {
    let r = &request.settings.resources;
    let mut out = Vec::new();
    if let Some(cpu) = r.cpu {
        out.push(requirement(ResourceType::Vcpu, &cpu.to_string()));
    }
    if let Some(memory) = r.memory {
        out.push(requirement(ResourceType::Memory, &memory.to_string()));
    }
    if let Some(gpu) = r.gpu.filter(|g| *g > 0) {
        out.push(requirement(ResourceType::Gpu, &gpu.to_string()));
    }
    out
}

/// Terminates the job when its wait is dropped before it ended.
struct Terminate {
    cleanups: Arc<Cleanups>,
    client: Client,
    id: Option<String>,
}

impl Drop for Terminate {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let client = self.client.clone();
        self.cleanups.spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let terminate = client
                .terminate_job()
                .job_id(&id)
                .reason("nagare: the task was cancelled or timed out")
                .send();
            if let Err(e) = runtime.block_on(terminate) {
                eprintln!(
                    "nagare: cannot terminate AWS Batch job {id}: {}",
                    aws_sdk_batch::error::DisplayErrorContext(&e)
                );
            }
        });
    }
}

/// A job name Batch accepts: up to 128 letters, digits, hyphens and underscores, starting
/// with a letter or digit.
fn job_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.replace_range(..1.min(out.len()), "x");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(settings: Value) -> Request {
        Request::from_process(&json!({
            "image": "i", "name": "daily-recommendation-1234.examples-score", "pullPolicy": "never",
            "lifetime": {"cleanup": "never"},
            "workflow": {"namespace": "n", "name": "w", "version": "1"},
            "instance": "id", "task": "score", "settings": settings,
        }))
        .unwrap()
    }

    #[test]
    fn resources_become_batch_requirements() {
        let r = resources(&request(
            json!({"resources": {"cpu": 4, "memory": 16384, "gpu": 1}}),
        ));
        let pairs: Vec<(String, String)> = r
            .iter()
            .map(|r| {
                (
                    r.r#type().unwrap().as_str().to_string(),
                    r.value().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [("VCPU", "4"), ("MEMORY", "16384"), ("GPU", "1")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(resources(&request(json!({}))).is_empty());
    }

    #[test]
    fn job_names_are_what_batch_accepts() {
        assert_eq!(
            job_name("daily-recommendation-1234.examples-score"),
            "daily-recommendation-1234-examples-score"
        );
        assert_eq!(job_name(".x"), "xx");
        assert_eq!(job_name(&"a".repeat(200)).len(), 128);
    }
}
