//! The `chat-server` binary: parses the command line ([`cli`]) and runs the subcommand.

mod cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cli::run().await
}
