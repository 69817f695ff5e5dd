//! The Workers runtime glue: the fetch handler, snapshot fetches and
//! conversion of [`Reply`] values into runtime responses. Decisions live
//! in the plain modules; this file only moves data to and from the runtime.
//!
//! The handler is a plain wasm-bindgen export rather than workers-rs's
//! `#[event(fetch)]`: that macro converts every request into a
//! `worker::Request`, which reads the `cf` object and parses the URL, and
//! wraps every response in a future. Here a request that the held snapshot
//! answers is answered synchronously, with one call into `glue.js` to read
//! it and one to build the response; only a first load and an OFREP body
//! read go through a promise.

use std::cell::{OnceCell, RefCell};
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{Either, select};
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen::{self, JsCast, JsValue, prelude::wasm_bindgen};
use worker::wasm_bindgen_futures::future_to_promise;
use worker::{
    AbortController, Context, Delay, Env, Fetch, Headers, Method, Request, RequestInit, event,
    web_sys, worker_sys,
};

use crate::app::{self, Loaded};
use crate::boundary::{self, RequestParts};
use crate::config::{Config, ConfigError, RawConfig};
use crate::loader::{self, Applied, FetchOutcome, Plan, SnapshotCache};
use crate::ofrep::OfrepError;
use crate::reply::{self, ProblemKind, Reply};
use crate::route::{self, Route, Routed};

#[wasm_bindgen(module = "/src/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestParts)]
    fn request_parts(request: &web_sys::Request, reads_keys: bool) -> String;
    #[wasm_bindgen(js_name = buildResponse)]
    fn build_response(status: u16, head: &str, body: &[u8]) -> web_sys::Response;
}

thread_local! {
    /// The snapshot of this isolate. Workers run one request at a time per
    /// thread and never hold the borrow across an await, so a RefCell is
    /// enough.
    static CACHE: RefCell<SnapshotCache> = RefCell::new(SnapshotCache::default());
    /// The configuration, parsed on the first request of the isolate:
    /// vars and secrets only change with a new deployment, which starts
    /// new isolates.
    static CONFIG: OnceCell<Result<Rc<Config>, ConfigError>> = const { OnceCell::new() };
}

/// How often a request waiting for another request's first load checks
/// whether it finished.
const FIRST_LOAD_POLL: Duration = Duration::from_millis(10);

#[event(start)]
fn start() {
    use tracing_subscriber::prelude::*;

    let json = tracing_subscriber::fmt::layer()
        .json()
        .without_time()
        .with_writer(tracing_web::MakeConsoleWriter)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::registry().with(json).init();
}

/// Handles a request: returns a `Response`, or a promise of one when the
/// request has to wait for the first snapshot. `body` is what `shim.js`
/// read from a POST request: the bytes, `null` for a body over the limit,
/// a string with the reason reading failed, or `undefined` for other methods.
#[wasm_bindgen(js_name = fetch)]
pub fn fetch(
    request: web_sys::Request,
    env: Env,
    ctx: worker_sys::Context,
    body: JsValue,
) -> JsValue {
    let config = match config(&env) {
        Ok(config) => config,
        Err(err) => return respond(reply::problem(ProblemKind::Misconfigured, &err.to_string())),
    };
    let parts = RequestParts::parse(&request_parts(&request, config.client_keys.required()));
    let origin = parts.origin.as_deref();
    let routed = route::route(&parts.method, route::path_of_url(&parts.url));
    if let Some(reply) = app::answer_without_snapshot(&routed, &config, origin) {
        return respond(reply);
    }
    let Routed::Endpoint(route) = routed else {
        return respond(reply::problem(
            ProblemKind::NotFound,
            "no endpoint at this path",
        ));
    };

    let reads_body = matches!(route, Route::OfrepOne { .. } | Route::OfrepBulk);
    if reads_body && body.is_undefined() {
        // worker-build's default entry calls the handler without a body.
        tracing::error!("OFREP request arrived without its body: the bundle lacks shim.js");
        let detail = "the worker was bundled without edge-worker/shim.js, which reads request \
                      bodies; build it with `bash edge-worker/build.sh`";
        return respond(reply::problem(ProblemKind::Misconfigured, detail));
    }
    let body = match body_bytes(&body) {
        Ok(body) => body,
        Err(err) => {
            let key = match &route {
                Route::OfrepOne { key } => Some(key.as_str()),
                _ => None,
            };
            let mut reply = crate::ofrep::failure(key, &err);
            reply::add_cors(&mut reply, &config, origin);
            return respond(reply);
        }
    };
    let plan = plan_snapshot(&config, &Context::new(ctx));
    if matches!(plan, Plan::Serve | Plan::Unavailable) {
        return respond(answer(&route, &parts, &body, &config));
    }
    let promise = future_to_promise(async move {
        wait_for_first_snapshot(plan, &config).await;
        Ok(respond(answer(&route, &parts, &body, &config)))
    });
    promise.into()
}

/// Turns the body that `shim.js` read into bytes or the OFREP error for it.
fn body_bytes(body: &JsValue) -> Result<Vec<u8>, OfrepError> {
    if body.is_undefined() {
        return Ok(Vec::new());
    }
    if body.is_null() {
        return Err(OfrepError::BodyTooLarge);
    }
    if let Some(cause) = body.as_string() {
        tracing::warn!(%cause, "OFREP request body could not be read");
        return Err(OfrepError::Malformed {
            reason: format!("reading the body failed: {cause}"),
        });
    }
    // `Uint8Array::new` would copy the bytes once more inside JavaScript.
    match body.dyn_ref::<Uint8Array>() {
        Some(bytes) => Ok(bytes.to_vec()),
        None => {
            tracing::error!("OFREP request body arrived as neither bytes nor a reason");
            Err(OfrepError::Malformed {
                reason: "reading the body failed: the worker's entry passed no bytes".to_owned(),
            })
        }
    }
}

/// Evaluates an endpoint's request from the held snapshot, or returns 503
/// before the first one.
fn answer(route: &Route, parts: &RequestParts, body: &[u8], config: &Config) -> Reply {
    let (snapshot, age_seconds) =
        CACHE.with_borrow(|cache| (cache.current(), cache.age_seconds(now_ms())));
    let Some(snapshot) = snapshot else {
        return app::unavailable(route, config, parts.origin.as_deref());
    };
    let loaded = Loaded {
        snapshot: &snapshot,
        age_seconds,
    };
    app::answer(route, &parts.headers(), body, loaded, config)
}

/// Turns a reply into a runtime response. Replies built before the
/// snapshot was consulted, such as preflights and routing errors, still
/// report the snapshot this isolate holds.
fn respond(mut reply: Reply) -> JsValue {
    if reply.header(reply::REVISION_HEADER).is_none() {
        let held = CACHE.with_borrow(|cache| {
            let age = cache.age_seconds(now_ms());
            cache.current().map(|snapshot| (snapshot.revision(), age))
        });
        if let Some((revision, age)) = held {
            reply::add_snapshot_headers(&mut reply, revision, age);
        }
    }
    build_response(reply.status, &boundary::header_lines(&reply), &reply.body).into()
}

/// Returns the isolate's configuration, parsing it on first use. An
/// invalid configuration is logged once per isolate.
fn config(env: &Env) -> Result<Rc<Config>, ConfigError> {
    CONFIG.with(|cell| {
        cell.get_or_init(|| {
            let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
            let secret = |name: &str| env.secret(name).ok().map(|v| v.to_string());
            let (url, token) = (var("CONTROL_PLANE_URL"), secret("EDGE_TOKEN"));
            let (interval, timeout) = (
                var("REFRESH_INTERVAL_SECONDS"),
                var("SNAPSHOT_TIMEOUT_SECONDS"),
            );
            let (max_age, origins) = (var("CACHE_MAX_AGE_SECONDS"), var("ALLOWED_ORIGINS"));
            let keys = secret("CLIENT_KEYS");
            let parsed = Config::parse(RawConfig {
                control_plane_url: url.as_deref(),
                edge_token: token.as_deref(),
                refresh_interval_seconds: interval.as_deref(),
                snapshot_timeout_seconds: timeout.as_deref(),
                cache_max_age_seconds: max_age.as_deref(),
                allowed_origins: origins.as_deref(),
                client_keys: keys.as_deref(),
            });
            if let Err(err) = &parsed {
                tracing::error!(cause = %err, "worker configuration is invalid");
            }
            parsed.map(Rc::new)
        })
        .clone()
    })
}

fn now_ms() -> f64 {
    // The static Date.now(): worker::Date::now() constructs a Date object.
    worker::js_sys::Date::now()
}

/// Asks the cache what this request does about the snapshot, and starts
/// a background refresh when one is due.
fn plan_snapshot(config: &Rc<Config>, ctx: &Context) -> Plan {
    let plan = CACHE.with_borrow_mut(|cache| {
        cache.plan(now_ms(), config.refresh_interval, config.snapshot_timeout)
    });
    if plan == Plan::ServeAndRefresh {
        let if_none_match = CACHE.with_borrow(|cache| cache.if_none_match());
        let config = Rc::clone(config);
        ctx.wait_until(async move {
            let outcome = fetch_snapshot(&config, if_none_match).await;
            apply(outcome, true);
        });
    }
    plan
}

/// Loads the first snapshot or waits for another request's first load,
/// as the plan decides. Returns at once for the other plans.
async fn wait_for_first_snapshot(plan: Plan, config: &Config) {
    match plan {
        Plan::LoadFirst => {
            let outcome = fetch_snapshot(config, None).await;
            apply(outcome, false);
        }
        Plan::AwaitFirst => await_first_load(config).await,
        Plan::Serve | Plan::ServeAndRefresh | Plan::Unavailable => {}
    }
}

/// Waits, up to the snapshot timeout, while another request of this
/// isolate fetches the first snapshot.
async fn await_first_load(config: &Config) {
    let deadline = now_ms() + config.snapshot_timeout.as_secs_f64() * 1000.0;
    loop {
        let running =
            CACHE.with_borrow(|cache| cache.first_load_running(now_ms(), config.snapshot_timeout));
        if !running || now_ms() >= deadline {
            return;
        }
        Delay::from(FIRST_LOAD_POLL).await;
    }
}

fn apply(outcome: FetchOutcome, background: bool) {
    // Decoding allocates the most; it runs with the cache released.
    let checked = loader::check(CACHE.with_borrow(SnapshotCache::held_revision), outcome);
    let applied = CACHE.with_borrow_mut(|cache| cache.install(now_ms(), checked, background));
    match applied {
        Applied::Replaced {
            from: Some(from),
            to,
            recovered_after,
        } => tracing::info!(
            from,
            to,
            recovered_after,
            "replaced snapshot with a newer revision"
        ),
        Applied::Replaced {
            from: None,
            to,
            recovered_after,
        } => tracing::info!(revision = to, recovered_after, "loaded first snapshot"),
        Applied::Confirmed { recovered_after } if recovered_after > 0 => {
            tracing::info!(recovered_after, "snapshot refresh recovered");
        }
        Applied::Confirmed { .. } => tracing::debug!("snapshot is current"),
        Applied::Failed {
            error,
            first_in_streak: true,
        } => tracing::error!(
            cause = %error,
            "snapshot refresh failed; serving the last good snapshot, if any, until a refresh succeeds"
        ),
        Applied::Failed { error, .. } => {
            tracing::debug!(cause = %error, "snapshot refresh failed again")
        }
    }
}

/// Requests the newest snapshot, bounded by the configured timeout.
async fn fetch_snapshot(config: &Config, if_none_match: Option<String>) -> FetchOutcome {
    let controller = AbortController::default();
    let signal = controller.signal();
    let request = async {
        let headers = Headers::new();
        headers.set("authorization", &format!("Bearer {}", config.edge_token))?;
        if let Some(tag) = &if_none_match {
            headers.set("if-none-match", tag)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers);
        let request = Request::new_with_init(&config.snapshot_url(), &init)?;
        let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
        let outcome = match response.status_code() {
            200 => FetchOutcome::Body(response.bytes().await?),
            304 => FetchOutcome::NotModified,
            status => FetchOutcome::Status(status),
        };
        worker::Result::Ok(outcome)
    };
    let timeout = Delay::from(config.snapshot_timeout);

    match select(pin!(request), pin!(timeout)).await {
        Either::Left((Ok(outcome), _)) => outcome,
        Either::Left((Err(err), _)) => {
            let err: worker::Error = err;
            FetchOutcome::Network(err.to_string())
        }
        Either::Right(_) => {
            controller.abort();
            FetchOutcome::TimedOut(config.snapshot_timeout)
        }
    }
}
