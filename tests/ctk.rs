//! The official Serverless Workflow CTK: runs exactly the feature files of `../shared/spec/ctk`
//! (or `NAGARE_CTK_DIR`). Calls to petstore.swagger.io and httpbin.org go to a local stand-in
//! through the HTTP host map, so the run needs no network.

#[path = "support/standin.rs"]
mod standin;
#[path = "../conformance/steps.rs"]
mod steps;

use cucumber::World as _;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::var("NAGARE_CTK_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec/ctk").to_string());
    assert!(
        std::path::Path::new(&dir).is_dir(),
        "the CTK folder {dir} is missing (set NAGARE_CTK_DIR)"
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
