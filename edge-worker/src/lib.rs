//! Cascade's edge worker: a Cloudflare Worker that answers flag
//! evaluations for browsers, mobile apps and OpenFeature clients from the
//! newest snapshot the control plane has published.
//!
//! A request flows through these modules:
//!
//! - [`route`] maps the method and the percent-encoded path to a
//!   [`route::Route`], or to a routing error.
//! - [`loader`] holds the snapshot in isolate memory and decides whether a
//!   request waits for a first load, starts a background refresh, or is
//!   answered at once. A refresh never installs an older revision and keeps
//!   the last good snapshot when a fetch fails.
//! - [`app`] answers the route from the snapshot: [`auth`] checks client
//!   keys, [`evaluate`] serves the `/v1/tenants/...` endpoints, [`ofrep`]
//!   the OpenFeature Remote Evaluation Protocol endpoints, and [`reply`]
//!   adds CORS, caching and the revision and age headers.
//! - `entry` is the only module that talks to the Workers runtime: the
//!   fetch handler, the snapshot request with its timeout, and `wait_until`
//!   for background refreshes.
//!
//! [`config`] lists the settings (`[vars]` and secrets in wrangler.toml).
//! Every module but `entry` is plain Rust and tested on the host.

pub mod app;
pub mod auth;
pub mod config;
mod entry;
pub mod evaluate;
pub mod loader;
pub mod ofrep;
pub mod reply;
pub mod route;
