//! nagare's own conformance suite: runs every feature file of `conformance/features`, written
//! only with the official CTK's step sentences and run by the same steps as `tests/ctk.rs`.
//! Calls to petstore.swagger.io and httpbin.org go to the local stand-in through the HTTP host
//! map, so the run needs no network. Scenarios that show an engine bug wait in
//! `conformance/pending` (not run).

#[path = "support/standin.rs"]
mod standin;
#[path = "../conformance/steps.rs"]
mod steps;

use cucumber::World as _;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/features");
    assert!(
        std::path::Path::new(dir).is_dir(),
        "the conformance folder {dir} is missing"
    );
    let standin = standin::start().await;
    let host_map = standin.host_map();
    steps::Scenario::cucumber()
        .before(move |_, _, _, scenario| {
            scenario.host_map = host_map.clone();
            Box::pin(async {})
        })
        .fail_on_skipped()
        .with_default_cli()
        .run_and_exit(dir)
        .await;
}
