//! Command-line and environment configuration of the binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Cascade control plane: admin API and snapshot publisher.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "cascade-control-plane",
    version,
    about,
    after_help = "The log level follows RUST_LOG, such as RUST_LOG=debug; the default is info."
)]
pub struct Config {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, env = "CASCADE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Path of the redb data file; it and its directory are created on
    /// first start.
    #[arg(long, env = "CASCADE_DATA", default_value = "./data/cascade.redb")]
    pub data: PathBuf,

    /// Log output format, written to standard error.
    #[arg(long, env = "CASCADE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// On first start, write the bootstrap platform-admin token to this
    /// file (mode 0600) instead of printing it to standard output.
    #[arg(long, env = "CASCADE_BOOTSTRAP_TOKEN_FILE")]
    pub bootstrap_token_file: Option<PathBuf>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}
