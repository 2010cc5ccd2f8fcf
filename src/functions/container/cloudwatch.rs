//! A Batch job's log, read from CloudWatch Logs (the real aws-sdk-cloudwatchlogs).
//!
//! Batch's `awslogs` driver sends what the container prints, stdout and stderr together, to a
//! log stream the job names once it runs (group `/aws/batch/job` unless the job definition's
//! log configuration says `awslogs-group`). nagare reads that stream forward from its head
//! with `GetLogEvents`, each time it looks at the job, and once more after the job ended: each
//! event is one line of the task's log (as stdout, since CloudWatch keeps the two together)
//! and of the result's `stdout`. A failed read is reported and tried again at the next look;
//! it never fails the task, whose outcome is Batch's.

use crate::functions::log::{Log, Stream};
use aws_sdk_cloudwatchlogs::Client;

/// The log group Batch writes to unless the job definition names another.
pub const DEFAULT_GROUP: &str = "/aws/batch/job";
/// Pages read in one look, so a huge backlog does not hold up the job's status.
const PAGES_PER_LOOK: usize = 20;

/// Where one job's log has been read to.
pub struct Follow {
    group: String,
    stream: String,
    /// The forward token of the last page read; `None` before the first.
    token: Option<String>,
    /// What becomes the result's `stdout`.
    pub text: String,
    truncated: bool,
    /// At most this much of the log becomes the result (the rest stays in CloudWatch).
    limit: usize,
}

impl Follow {
    pub fn new(group: &str, stream: &str, limit: usize) -> Follow {
        Follow {
            group: group.to_string(),
            stream: stream.to_string(),
            token: None,
            text: String::new(),
            truncated: false,
            limit,
        }
    }

    pub fn is(&self, group: &str, stream: &str) -> bool {
        self.group == group && self.stream == stream
    }

    /// Reads what the stream gained since the last read into the log and the text; answers
    /// whether it reached the stream's end.
    pub async fn read(&mut self, client: &Client, log: &Log) -> bool {
        for _ in 0..PAGES_PER_LOOK {
            let page = client
                .get_log_events()
                .log_group_name(&self.group)
                .log_stream_name(&self.stream)
                .start_from_head(true)
                .set_next_token(self.token.clone())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    // A stream Batch named but the driver has not created yet is no error.
                    if !e
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception())
                    {
                        eprintln!(
                            "nagare: cannot read CloudWatch log stream {} in {}: {}",
                            self.stream,
                            self.group,
                            aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e)
                        );
                    }
                    return false;
                }
            };
            let mut lines = String::new();
            for event in page.events() {
                lines.push_str(event.message().unwrap_or_default().trim_end_matches('\n'));
                lines.push('\n');
            }
            log.write(Stream::Stdout, &lines);
            self.keep(&lines);
            // CloudWatch answers the token it was given once there is nothing further; a
            // page may be empty and still move on (a gap in time).
            let next = page.next_forward_token().map(String::from);
            if next.is_none() || next == self.token {
                return true;
            }
            self.token = next;
        }
        false
    }

    fn keep(&mut self, lines: &str) {
        if self.text.len() + lines.len() <= self.limit {
            self.text.push_str(lines);
        } else if !self.truncated {
            self.truncated = true;
            self.text
                .push_str("[nagare: the log goes on; see the job's CloudWatch log stream]\n");
        }
    }
}
