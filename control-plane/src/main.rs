//! The `cascade-control-plane` binary: parse the configuration, open the
//! store, create the bootstrap token on first start, and serve until
//! SIGTERM or Ctrl-C, finishing in-flight requests.

use std::io::Write;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use cascade_control_plane::config::{Config, LogFormat};
use cascade_control_plane::{AppState, app};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_logging(config.log_format);

    let data = config.data.clone();
    let state = tokio::task::spawn_blocking(move || AppState::open(&data))
        .await?
        .with_context(|| format!("cannot open data file {}", config.data.display()))?;
    tracing::info!(
        data = %config.data.display(),
        revision = state.store.revision(),
        "store opened"
    );

    let bootstrap_state = state.clone();
    let secret = tokio::task::spawn_blocking(move || bootstrap_state.bootstrap_token())
        .await?
        .context("cannot create the bootstrap token")?;
    if let Some(secret) = secret {
        show_bootstrap_token(&config, &secret)?;
    }

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");

    let shutdown_state = state.clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested; finishing in-flight requests");
            shutdown_state.begin_shutdown();
        })
        .await
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Shows the first platform-admin token once: in the configured file, or
/// on standard output. It is never logged.
fn show_bootstrap_token(config: &Config, secret: &str) -> anyhow::Result<()> {
    match &config.bootstrap_token_file {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options
                .open(path)
                .with_context(|| format!("cannot write bootstrap token file {}", path.display()))?;
            writeln!(file, "{secret}")?;
            tracing::info!(path = %path.display(), "bootstrap platform-admin token written");
        }
        None => {
            println!("Bootstrap platform-admin token (shown once, stored only as a hash):");
            println!("{secret}");
            tracing::info!("bootstrap platform-admin token printed to standard output");
        }
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
