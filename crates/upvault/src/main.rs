//! The `upvault` binary: parses the command line and hands over to the library.

use anyhow::Context;
use clap::Parser;
use upvault::cli::{Cli, Command};
use upvault::{App, Config};

/// mimalloc rather than glibc's malloc: hyper's read buffers and the small strings of each API
/// answer cost about a tenth of a small request's CPU in glibc's bins (docs/DECISIONS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Dropped last: writes the log lines still pending.
    let _log = upvault::logging::init();
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve(config).await,
        command => upvault::cli::run(config, command).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let app = App::build(config).await?;
    if let Some(admin) = app
        .services
        .accounts
        .bootstrap_admin()
        .await
        .map_err(anyhow::Error::from)?
    {
        println!(
            "First start: created the account \"{}\" (id {}). These are shown only once:\n  password: {}\n  key1:     {}\n  key2:     {}",
            admin.username, admin.account_id, admin.password, admin.key1, admin.key2
        );
    }
    app.serve(listener, upvault::shutdown_signal()).await
}
