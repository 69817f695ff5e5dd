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
//!   for background refreshes. It reads requests and builds responses
//!   through `glue.js`, one call each, in the encodings of [`boundary`].
//!   The bundle's entry, `shim.js`, passes every request to it.
//!
//! [`config`] lists the settings (`[vars]` and secrets in wrangler.toml).
//! Every module but `entry` is plain Rust and tested on the host.
//!
//! # Endpoints
//!
//! | Route | Method | Response |
//! |---|---|---|
//! | `/v1/tenants/{tenant}/users/{user}/flags` | GET | every flag: value, type, level, reason |
//! | `/v1/tenants/{tenant}/users/{user}/flags/{key}` | GET | one flag |
//! | `/v1/tenants/{tenant}/flags[/{key}]` | GET | the same, stopping at the tenant level |
//! | `/ofrep/v1/evaluate/flags/{key}` | POST | OFREP single evaluation |
//! | `/ofrep/v1/evaluate/flags` | POST | OFREP bulk evaluation, ETag and 304 |
//! | `/healthz` | GET | loaded revision and snapshot age |
//!
//! OFREP requests carry `{"context": {"targetingKey": USER, "tenantId":
//! TENANT}}`. Every response with a snapshot has `X-Cascade-Revision` and
//! `X-Cascade-Snapshot-Age` (seconds since the control plane last confirmed
//! the snapshot). Before the first snapshot the worker answers 503 with
//! `Retry-After`. Errors outside OFREP are RFC 9457 problem documents whose
//! `type` is `urn:cascade:problem:<kind>`.

pub mod app;
pub mod auth;
pub mod boundary;
pub mod config;
mod entry;
pub mod evaluate;
mod json;
pub mod loader;
pub mod ofrep;
pub mod reply;
pub mod route;
