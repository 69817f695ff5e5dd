//! The Workers runtime glue: the fetch handler, snapshot fetches and
//! conversion of [`Reply`] values into runtime responses. Decisions live
//! in the plain modules; this file only moves data to and from the runtime.

use std::cell::{OnceCell, RefCell};
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{Either, select};
use worker::{
    AbortController, Context, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit,
    Response, event,
};

use crate::app::{self, Loaded, RequestHeaders};
use crate::config::{Config, ConfigError, RawConfig};
use crate::loader::{Applied, FetchOutcome, Plan, SnapshotCache};
use crate::ofrep::MAX_BODY_BYTES;
use crate::reply::{self, ProblemKind, Reply};
use crate::route::{self, Route, Routed};

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

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let mut reply = handle(request, &env, &ctx).await;

    // Replies built before the snapshot was consulted, such as preflights
    // and routing errors, still report the snapshot this isolate holds.
    if reply.header(reply::REVISION_HEADER).is_none() {
        let held = CACHE.with_borrow(|cache| {
            let age = cache.age_seconds(now_ms());
            cache.current().map(|snapshot| (snapshot.revision(), age))
        });
        if let Some((revision, age)) = held {
            reply::add_snapshot_headers(&mut reply, revision, age);
        }
    }
    into_response(reply)
}

async fn handle(mut request: Request, env: &Env, ctx: &Context) -> Reply {
    let config = match config(env) {
        Ok(config) => config,
        Err(err) => return reply::problem(ProblemKind::Misconfigured, &err.to_string()),
    };
    let header = |name: &str| request.headers().get(name).ok().flatten();
    let origin = header("origin");
    let path = match request.url() {
        Ok(url) => url.path().to_owned(),
        Err(_) => String::new(),
    };

    let routed = route::route(request.method().as_ref(), &path);
    if let Some(reply) = app::answer_without_snapshot(&routed, &config, origin.as_deref()) {
        return reply;
    }
    let Routed::Endpoint(route) = routed else {
        return reply::problem(ProblemKind::NotFound, "no endpoint at this path");
    };

    ensure_snapshot(&config, ctx).await;
    let (snapshot, age_seconds) =
        CACHE.with_borrow(|cache| (cache.current(), cache.age_seconds(now_ms())));
    let Some(snapshot) = snapshot else {
        return app::unavailable(&route, &config, origin.as_deref());
    };

    let (authorization, api_key) = (header("authorization"), header("x-api-key"));
    let (content_type, if_none_match) = (header("content-type"), header("if-none-match"));
    let body = match route {
        Route::OfrepOne { .. } | Route::OfrepBulk => match read_body(&mut request).await {
            Ok(body) => body,
            Err(reply) => return reply,
        },
        _ => Vec::new(),
    };
    let headers = RequestHeaders {
        origin: origin.as_deref(),
        authorization: authorization.as_deref(),
        api_key: api_key.as_deref(),
        content_type: content_type.as_deref(),
        if_none_match: if_none_match.as_deref(),
    };
    let loaded = Loaded {
        snapshot: &snapshot,
        age_seconds,
    };
    app::answer(&route, &headers, &body, loaded, &config)
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
    Date::now().as_millis() as f64
}

/// Loads the first snapshot (waiting for it) or starts a background
/// refresh, as the cache's plan decides.
async fn ensure_snapshot(config: &Config, ctx: &Context) {
    let plan = CACHE.with_borrow_mut(|cache| {
        cache.plan(now_ms(), config.refresh_interval, config.snapshot_timeout)
    });
    match plan {
        Plan::Serve | Plan::Unavailable => {}
        Plan::LoadFirst => {
            let outcome = fetch_snapshot(config, None).await;
            apply(outcome, false);
        }
        Plan::AwaitFirst => await_first_load(config).await,
        Plan::ServeAndRefresh => {
            let if_none_match = CACHE.with_borrow(|cache| cache.if_none_match());
            let config = config.clone();
            ctx.wait_until(async move {
                let outcome = fetch_snapshot(&config, if_none_match).await;
                apply(outcome, true);
            });
        }
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
    let applied = CACHE.with_borrow_mut(|cache| cache.apply(now_ms(), outcome, background));
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

/// Reads an OFREP request body, rejecting one that declares more than
/// [`MAX_BODY_BYTES`] before reading it.
async fn read_body(request: &mut Request) -> Result<Vec<u8>, Reply> {
    let declared = request
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(ofrep_too_large());
    }
    match request.bytes().await {
        Ok(body) => Ok(body),
        Err(err) => {
            let err = crate::ofrep::OfrepError::Malformed {
                reason: format!("reading the body failed: {err}"),
            };
            Err(crate::ofrep::failure(None, &err))
        }
    }
}

fn ofrep_too_large() -> Reply {
    crate::ofrep::failure(None, &crate::ofrep::OfrepError::BodyTooLarge)
}

fn into_response(reply: Reply) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &reply.headers {
        headers.append(name, value)?;
    }
    let response = if reply.body.is_empty() {
        Response::empty()?
    } else {
        Response::from_bytes(reply.body)?
    };
    Ok(response.with_status(reply.status).with_headers(headers))
}
