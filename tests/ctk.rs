//! The official Serverless Workflow CTK: runs exactly the feature files of `../shared/spec/ctk`
//! (or `NAGARE_CTK_DIR`). Calls to petstore.swagger.io and httpbin.org go to a local stand-in
//! through the HTTP host map, so the run needs no network.

#[path = "support/standin.rs"]
mod standin;
#[path = "../conformance/steps.rs"]
mod steps;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::var("NAGARE_CTK_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec/ctk").to_string());
    let standin = standin::start().await;
    steps::run_features(&dir, standin.host_map()).await;
}
