//! nagare's own conformance suite: runs every feature file of `conformance/features`, written
//! only with the official CTK's step sentences and run by the same steps as `tests/ctk.rs`.
//! Calls to petstore.swagger.io and httpbin.org go to the local stand-in through the HTTP host
//! map, so the run needs no network. Scenarios waiting on a decision sit in
//! `conformance/pending` (not run).

#[path = "support/standin.rs"]
mod standin;
#[path = "../conformance/steps.rs"]
mod steps;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let standin = standin::start().await;
    steps::run_features(
        concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/features"),
        standin.host_map(),
    )
    .await;
}
