//! The AWS emulator moto, one server per test (`scripts/moto install` puts it in a venv), with
//! an IAM role, an unmanaged compute environment and a job queue, and the real aws-sdk-batch
//! client to look at what nagare submitted.
//!
//! Modes: `Simple` (moto's Batch without Docker: a job is SUCCEEDED as soon as it is
//! submitted), `Failing` (the same, but every job ends FAILED), `Full` (moto's own Batch
//! scheduler: jobs wait for their dependencies in PENDING, so a termination can be seen; with
//! no Docker engine a job that would start fails instead), `Docker` (moto's full Batch on a
//! Docker engine: podman's Docker-compatible service, started for the test, really runs each
//! job's container, and moto puts what it printed into its CloudWatch Logs as Batch does).

use aws_sdk_batch::Client;
use aws_sdk_batch::types::{CeState, CeType, ComputeEnvironmentOrder, JqState};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const QUEUE: &str = "nagare-queue";
pub const REGION: &str = "us-east-1";

#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    Simple,
    Failing,
    Full,
    Docker,
}

pub struct Moto {
    child: Child,
    /// podman's service in `Docker` mode, and the directory of its socket.
    engine: Option<(Child, PathBuf)>,
    pub endpoint: String,
    pub client: Client,
}

/// Credentials moto accepts (any will do); nagare gets them from its environment.
pub const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

impl Moto {
    pub async fn start(mode: Mode) -> Moto {
        let root = env!("CARGO_MANIFEST_DIR");
        let server = Command::new(format!("{root}/scripts/moto"))
            .arg("server")
            .output()
            .expect("scripts/moto runs");
        let server = String::from_utf8_lossy(&server.stdout).trim().to_string();
        assert!(
            std::path::Path::new(&server).is_file(),
            "moto is not installed ({server}); `scripts/moto install` (the test command does it)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(&server);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if mode == Mode::Failing {
            command.env("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0");
        }
        let engine = (mode == Mode::Docker).then(|| podman_service(port));
        if let Some((_, dir)) = &engine {
            command.env(
                "DOCKER_HOST",
                format!("unix://{}/podman.sock", dir.display()),
            );
        }
        let child = command.spawn().expect("moto_server starts");
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http
            .get(format!("{endpoint}/moto-api/"))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "moto did not answer on {endpoint}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if matches!(mode, Mode::Simple | Mode::Failing) {
            let r = http
                .post(format!("{endpoint}/moto-api/config"))
                .json(&serde_json::json!({"batch": {"use_docker": false}}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
        // A service role for the compute environment (IAM's query protocol; moto does not
        // check the signature).
        let role = http
            .post(format!("{endpoint}/"))
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .form(&[
                ("Action", "CreateRole"),
                ("RoleName", "nagare-batch"),
                ("AssumeRolePolicyDocument", "{}"),
                ("Version", "2010-05-08"),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let arn = role
            .split("<Arn>")
            .nth(1)
            .and_then(|s| s.split("</Arn>").next())
            .unwrap_or_else(|| panic!("no role in {role}"))
            .to_string();
        let client = client(&endpoint);
        let ce = client
            .create_compute_environment()
            .compute_environment_name("nagare-ce")
            .r#type(CeType::Unmanaged)
            .state(CeState::Enabled)
            .service_role(arn)
            .send()
            .await
            .expect("compute environment");
        client
            .create_job_queue()
            .job_queue_name(QUEUE)
            .state(JqState::Enabled)
            .priority(1)
            .compute_environment_order(
                ComputeEnvironmentOrder::builder()
                    .order(1)
                    .compute_environment(ce.compute_environment_arn().unwrap())
                    .build(),
            )
            .send()
            .await
            .expect("job queue");
        Moto {
            child,
            engine,
            endpoint,
            client,
        }
    }

    /// A container configuration for nagare that sends every container to this moto.
    pub fn config(&self) -> String {
        format!(
            "backend: awsBatch\nawsBatch:\n  jobQueue: {QUEUE}\n  region: {REGION}\n  \
             endpoint: {}\n  maxPollMs: 100\n",
            self.endpoint
        )
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((engine, dir)) = &mut self.engine {
            let _ = engine.kill();
            let _ = engine.wait();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// podman's Docker-compatible API on a socket of its own, with the settings this machine's
/// podman needs (runc, and ulimits within the sandbox's; see config/containers.yaml), which
/// moto's Docker client cannot pass.
fn podman_service(port: u16) -> (Child, PathBuf) {
    let dir = std::env::temp_dir().join(format!("nagare-moto-engine-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("containers.conf");
    std::fs::write(
        &conf,
        "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
         [engine]\nruntime = \"runc\"\n",
    )
    .unwrap();
    let socket = dir.join("podman.sock");
    let child = Command::new("podman")
        .args(["system", "service", "--time=0"])
        .arg(format!("unix://{}", socket.display()))
        .env("CONTAINERS_CONF", &conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("podman system service starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "podman's service made no socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, dir)
}

fn client(endpoint: &str) -> Client {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_batch::Config::builder()
        .behavior_version(aws_sdk_batch::config::BehaviorVersion::latest())
        .region(aws_sdk_batch::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_batch::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .http_client(http)
        .build();
    Client::from_conf(config)
}
