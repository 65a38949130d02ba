//! The portal channel: a small HTTP interface on the daemon's runtime (axum), enabled by
//! `[http] listen`.
//!
//! - `POST /api/v1/tickets`: a request from CPortal's form (JSON, `multipart/form-data` with
//!   attachments, or the urlencoded form of `/form`); authenticated by the portal's bearer
//!   token, or — for the public `/form` page — by a signed CSRF token and a rate limit per
//!   client address;
//! - `GET /form`: the ready-made request page; `GET|POST /t/{id}/{secret}`: the requester's
//!   status page and its reply box (the secret is compared in constant time; a wrong one
//!   gets the same 404 as a missing ticket);
//! - `GET /t/{id}/{secret}/vote/{cycle}/{score}`: the closing letter's satisfaction links, each
//!   a confirmation page that records nothing; `POST /t/{id}/{secret}/vote/{cycle}` records
//!   the vote (a token bound to the ticket and the cycle, the Origin or Referer ours when
//!   sent, a bounded comment), as `desk::vote` decides;
//! - `POST /api/v1/calls`: the phone system's call-back requests;
//! - `GET /api/v1/notice`, `/healthz` (503 with the reason while a mail server refuses the
//!   daemon's login, as [`Liveness`] says), `/metrics` (Prometheus text), `/api/v1/openapi.json`.
//!
//! Owns HTTP parsing and validation. Every change goes through `workflow` in one transaction
//! after the input is validated, so nothing is half-created on error; what it reads on its own
//! (the public thread, the gauges) is in `store::portal`. The pages are the templates
//! `templates/pages/{form,created,status,vote,message}.html` in `helpdesk.language`, with times in
//! `calendar.timezone`; they escape every value, and the validation messages are
//! `templates/<lang>/words/field_error.txt` for the form and the JSON answer alike. The
//! database is a connection of its own behind a mutex, used from blocking tasks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::auth::{MacKey, constant_time_eq};
use crate::clock::Clock;
use crate::config::{Config, Http};
use crate::desk::{self, privacy::MAX_COMMENT_CHARS, privacy::Score};
use crate::ingest::parse::{Attachment, sanitize_filename};
use crate::model::{Status, TicketId};
use crate::notify::ServiceNotice;
use crate::notify::templates::Templates;
use crate::store::portal::{self, PublicMessage};
use crate::store::{Store, WriteTurns, suspensions, tickets};
use crate::workflow::{self, PhoneRequest, PortalRequest};

/// Every route, for the OpenAPI document's sync test.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/tickets"),
    ("POST", "/api/v1/calls"),
    ("GET", "/api/v1/notice"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/form"),
    ("GET", "/t/{id}/{secret}"),
    ("POST", "/t/{id}/{secret}"),
    ("GET", "/t/{id}/{secret}/file/{file}"),
    ("GET", "/f/{file}/{expires}/{signature}"),
    ("GET", "/t/{id}/{secret}/vote/{cycle}/{score}"),
    ("POST", "/t/{id}/{secret}/vote/{cycle}"),
];

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../docs/openapi.json");

/// How long a form's CSRF token stays valid.
const FORM_TOKEN_SECONDS: i64 = 4 * 3600;
/// Client addresses remembered by the rate limiter at most (oldest forgotten first).
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// What the daemon's loop tells the HTTP interface (for `/metrics` and `/healthz`).
#[derive(Debug, Default)]
pub struct Liveness {
    /// Unix time of the last intake pass that completed.
    pub last_intake: AtomicI64,
    /// Unix time of the last successful IMAP poll (0 without IMAP).
    pub last_imap_poll: AtomicI64,
    /// The mailbox's login, while the IMAP server refuses it.
    pub mailbox_login: LoginWatch,
    /// The SMTP login, while the server refuses it.
    pub smtp_login: LoginWatch,
    /// Since when the mailbox cannot be read (unreachable, or refusing the login).
    pub mailbox_trouble: TroubleWatch,
    /// Since when the outbox cannot deliver.
    pub outbox_trouble: TroubleWatch,
    /// The alarms raised and not yet over (`/healthz` says degraded, with the reason).
    pub alarms: Mutex<Vec<RaisedAlarm>>,
}

/// An alarm raised and not yet over, as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedAlarm {
    /// `mailbox`, `outbox` or `silence`.
    pub alarm: &'static str,
    /// When the trouble began.
    pub since: chrono::DateTime<chrono::Utc>,
    /// What the daemon last saw of it.
    pub message: String,
}

/// A trouble in course: since when, and its latest words.
#[derive(Debug, Default)]
pub struct TroubleWatch(Mutex<Option<(chrono::DateTime<chrono::Utc>, String)>>);

impl TroubleWatch {
    /// Since when, and what was last seen, while it lasts.
    pub fn current(&self) -> Option<(chrono::DateTime<chrono::Utc>, String)> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// It failed (again) at `now`: the trouble lasts since its first failure.
    pub fn failed(&self, now: chrono::DateTime<chrono::Utc>, words: String) {
        let mut current = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let since = current.as_ref().map_or(now, |(since, _)| *since);
        *current = Some((since, words));
    }

    /// It works: the trouble, if any, is over.
    pub fn works(&self) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}

/// Logins a server keeps refusing: not an outage of the network but one only a person can
/// end, so `/healthz` says so (503) until a login works again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRefusal {
    /// The first refusal in a row.
    pub since: chrono::DateTime<chrono::Utc>,
    /// Refused logins in a row.
    pub attempts: u32,
    /// When the daemon tries again.
    pub next_attempt: chrono::DateTime<chrono::Utc>,
    /// What the server said and what to change, in plain words.
    pub message: String,
}

/// The state of one login, shared by the daemon (which writes it) and `/healthz`.
#[derive(Debug, Default)]
pub struct LoginWatch(Mutex<Option<LoginRefusal>>);

impl LoginWatch {
    /// The refusal in course, if any.
    pub fn refusal(&self) -> Option<LoginRefusal> {
        // A poisoned lock still holds the last value written: report it.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Replaces the state: a refusal, or None once a login worked.
    pub fn set(&self, refusal: Option<LoginRefusal>) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = refusal;
    }
}

struct Inner {
    config: Config,
    http: Http,
    store: Mutex<Store>,
    templates: Templates,
    key: MacKey,
    clock: Clock,
    limiter: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    liveness: Arc<Liveness>,
    /// The daemon's write turns: a portal request is not starved by a backlog's intake.
    turns: WriteTurns,
    /// Woken after a change, so its mail leaves at once.
    courier: Arc<Notify>,
}

impl Inner {
    /// Runs one change in one write transaction with a workflow context at the current time;
    /// commits when `work` succeeds, rolls back otherwise. Only inside [`AppState::db_write`],
    /// which holds the daemon's write turn.
    fn change<T>(
        &self,
        store: &mut Store,
        work: impl FnOnce(&rusqlite::Connection, &workflow::Context<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let calendar = suspensions::calendar(store.conn(), &self.config.calendar)?;
        let sender = crate::notify::Sender::of(&self.config);
        let tx = store.write()?;
        let ctx = workflow::Context {
            config: &self.config,
            calendar: &calendar,
            templates: &self.templates,
            sender: &sender,
            key: &self.key,
            now: self.clock.now(),
            quiet: false,
        };
        let value = work(&tx, &ctx)?;
        tx.commit()?;
        self.courier.notify_one();
        Ok(value)
    }
}

/// The shared state of the handlers.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// State over its own database connection, taking the daemon's write `turns` and waking
    /// its `courier` after each change.
    pub fn new(
        config: Config,
        clock: Clock,
        liveness: Arc<Liveness>,
        turns: WriteTurns,
        courier: Arc<Notify>,
    ) -> anyhow::Result<AppState> {
        let http = config
            .http
            .clone()
            .ok_or_else(|| anyhow::anyhow!("[http] listen is not set"))?;
        let store = Store::open(&config.database_path())?.without_automatic_checkpoints()?;
        let templates = Templates::load(config.helpdesk.templates_dir.as_deref())?;
        let key = crate::auth::load_or_create_key(&config.helpdesk.data_dir)?;
        Ok(AppState(Arc::new(Inner {
            config,
            http,
            store: Mutex::new(store),
            templates,
            key,
            clock,
            limiter: Mutex::new(HashMap::new()),
            liveness,
            turns,
            courier,
        })))
    }

    /// Runs `work` on the database in a blocking task.
    async fn db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner, &mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Response> {
        self.on_store(false, work).await
    }

    /// Like [`AppState::db`] for work that writes: it first waits for the daemon's write turn
    /// (before taking this interface's connection, so reads are not held up meanwhile).
    async fn db_write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner, &mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Response> {
        self.on_store(true, work).await
    }

    async fn on_store<T: Send + 'static>(
        &self,
        writes: bool,
        work: impl FnOnce(&Inner, &mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Response> {
        let inner = self.0.clone();
        let joined = tokio::task::spawn_blocking(move || {
            // A blocking thread, where waiting for the turn is allowed.
            let _turn = writes.then(|| inner.turns.blocking_lock());
            let mut store = inner
                .store
                .lock()
                .map_err(|_| anyhow::anyhow!("database lock poisoned"))?;
            work(&inner, &mut store)
        })
        .await;
        match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                tracing::error!("http: {error:#}");
                Err((StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable, try again\n").into_response())
            }
            Err(_) => Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()),
        }
    }
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    let limit = state.0.http.max_body_bytes;
    Router::new()
        .route("/api/v1/tickets", post(create_ticket))
        .route("/api/v1/calls", post(create_call))
        .route("/api/v1/notice", get(notice))
        .route(
            "/api/v1/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/form", get(form_page))
        .route("/t/{id}/{secret}", get(status_page).post(status_reply))
        .route("/t/{id}/{secret}/file/{file}", get(status_file))
        .route("/f/{file}/{expires}/{signature}", get(signed_file))
        .route("/t/{id}/{secret}/vote/{cycle}/{score}", get(vote_page))
        .route("/t/{id}/{secret}/vote/{cycle}", post(vote_post))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::map_response(with_security_headers))
        .with_state(state)
}

/// The headers every answer carries. A status page's URL is its secret: it must never leak
/// in a Referer, be framed by another site, or run anything but its own inline styles. A page
/// may set a stricter-purpose Referrer-Policy of its own (the vote's page: `same-origin`, so
/// its form's POST carries our Origin and can be told from a forged one).
async fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, header::HeaderValue::from_static(value));
        }
    }
    response
}

/// Descriptors kept for everything but HTTP connections: the mailbox connection, the SMTP
/// relay, the database and its WAL files on two connections, outbox files, attachments,
/// templates, logs. HTTP may never take the last of them.
const RESERVED_DESCRIPTORS: u64 = 64;

/// How many connections may be served at once: `[http] max_connections`, lowered when the
/// open-file limit (raised to its hard ceiling first) would not leave
/// [`RESERVED_DESCRIPTORS`] for the rest of the daemon.
pub fn connection_budget(configured: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer.
    let soft = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return configured.min(256);
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    };
    let available = usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
    let budget = configured.min(available.max(1));
    if budget < configured {
        tracing::warn!(
            configured,
            budget,
            open_file_limit = soft,
            "http.max_connections lowered to what the open-file limit leaves (raise LimitNOFILE)"
        );
    }
    budget
}

/// Serves until `shutdown` resolves. Each connection's request headers must arrive within
/// `[http] header_timeout_seconds` and its body within `body_timeout_seconds`; at most
/// [`connection_budget`] connections are open at once, and one more is closed as soon as it
/// is accepted. Slow or idle clients are shed, never allowed to hold the daemon's descriptors:
/// the mailbox, the store and the outbox always have theirs.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use tower::ServiceExt;

    let http = state.0.http.clone();
    let permits = Arc::new(tokio::sync::Semaphore::new(connection_budget(http.max_connections)));
    let app = router(state);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            // Reap finished connections as they end, so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and the like: wait for connections to end rather than spin.
                tracing::warn!("HTTP accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            drop(stream);
            tracing::debug!(%peer, "HTTP connection shed: too many open");
            continue;
        };
        let app = app.clone();
        let (body_timeout, header_timeout, max_body) = (http.body_timeout, http.header_timeout, http.max_body_bytes);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let app = app.clone();
                async move {
                    let (mut parts, body) = request.into_parts();
                    parts.extensions.insert(ConnectInfo(peer));
                    // The whole body within its deadline and its size bound, before any handler
                    // sees it (a body over the bound, or one that broke off, is refused here).
                    let reading = axum::body::to_bytes(axum::body::Body::new(body), max_body);
                    let body = match tokio::time::timeout(body_timeout, reading).await {
                        Ok(Ok(bytes)) => axum::body::Body::from(bytes),
                        Ok(Err(_)) => {
                            return Ok::<_, std::convert::Infallible>(StatusCode::PAYLOAD_TOO_LARGE.into_response());
                        }
                        Err(_) => return Ok(StatusCode::REQUEST_TIMEOUT.into_response()),
                    };
                    app.oneshot(Request::from_parts(parts, body)).await
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "HTTP connection ended: {e}");
            }
            drop(permit);
        });
    }
    // Requests in hand get a moment to finish; idle keep-alive connections are dropped.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

/// The fields of a request, however they were sent.
#[derive(Debug, Default)]
struct Fields {
    values: BTreeMap<String, String>,
    files: Vec<Attachment>,
}

impl Fields {
    fn get(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

fn unprocessable(errors: BTreeMap<&'static str, String>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({ "errors": errors })),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "errors": { "body": message } })),
    )
        .into_response()
}

/// Reads JSON, urlencoded or multipart bodies into fields.
async fn read_fields(request: Request) -> Result<Fields, Response> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut fields = Fields::default();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| e.into_response())?;
        while let Some(field) = multipart.next_field().await.map_err(|e| bad_request(&e.body_text()))? {
            let name = field.name().unwrap_or_default().to_string();
            match field.file_name().map(str::to_string) {
                Some(file_name) if !file_name.is_empty() => {
                    let content_type = field
                        .content_type()
                        .unwrap_or("application/octet-stream")
                        .to_ascii_lowercase();
                    let bytes = field.bytes().await.map_err(|e| bad_request(&e.body_text()))?;
                    fields.files.push(Attachment {
                        filename: sanitize_filename(&file_name, "allegato"),
                        content_type,
                        bytes: bytes.to_vec(),
                    });
                }
                Some(_) => {
                    // An empty file input: the browser sends it when nothing was chosen.
                    let _ = field.bytes().await;
                }
                None => {
                    let text = field.text().await.map_err(|e| bad_request(&e.body_text()))?;
                    fields.values.insert(name, text);
                }
            }
        }
    } else {
        let body: Bytes = Bytes::from_request(request, &()).await.map_err(|e| e.into_response())?;
        if content_type.starts_with("application/json") {
            let value: Value = serde_json::from_slice(&body).map_err(|e| bad_request(&format!("invalid JSON: {e}")))?;
            let Value::Object(map) = value else {
                return Err(bad_request("expected a JSON object"));
            };
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s,
                    Value::Null => continue,
                    other => other.to_string(),
                };
                fields.values.insert(k, text);
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            for (k, v) in urlencoded_pairs(&body) {
                fields.values.insert(k, v);
            }
        } else {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send JSON, multipart/form-data or a form\n",
            )
                .into_response());
        }
    }
    Ok(fields)
}

/// Decodes `a=1&b=x+y%21` (an invalid escape stays as it is, invalid UTF-8 is replaced).
fn urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn one_line(value: &str) -> bool {
    !value.chars().any(|c| c.is_control())
}

/// Why a field of a portal request was refused. The words are the template
/// `<lang>/words/field_error.txt`, by [`FieldError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldError {
    Required,
    TooShort(usize),
    TooLong(usize),
    OneLine,
    Email,
    Category,
    Phone,
    Pratica,
}

impl FieldError {
    fn code(self) -> &'static str {
        match self {
            FieldError::Required => "required",
            FieldError::TooShort(_) => "too_short",
            FieldError::TooLong(_) => "too_long",
            FieldError::OneLine => "one_line",
            FieldError::Email => "email",
            FieldError::Category => "category",
            FieldError::Phone => "phone",
            FieldError::Pratica => "pratica",
        }
    }

    /// The number of characters a length limit names (0 for the others).
    fn limit(self) -> usize {
        match self {
            FieldError::TooShort(n) | FieldError::TooLong(n) => n,
            _ => 0,
        }
    }
}

/// Validates a portal request; every problem is reported by field name.
fn validate_portal(fields: &Fields, http: &Http) -> Result<PortalRequest, BTreeMap<&'static str, FieldError>> {
    let mut errors = BTreeMap::new();
    let mut required = |name: &'static str, min: usize, max: usize, multiline: bool| -> String {
        match fields.get(name) {
            None => {
                errors.insert(name, FieldError::Required);
                String::new()
            }
            Some(v) if v.chars().count() < min => {
                errors.insert(name, FieldError::TooShort(min));
                v
            }
            Some(v) if v.chars().count() > max => {
                errors.insert(name, FieldError::TooLong(max));
                v
            }
            Some(v) if !multiline && !one_line(&v) => {
                errors.insert(name, FieldError::OneLine);
                v
            }
            Some(v) => v,
        }
    };
    let name = required("name", 2, 200, false);
    let email = required("email", 3, 254, false).to_ascii_lowercase();
    let subject = required("subject", 3, 200, false);
    let category = required("category", 1, 200, false);
    let description = required("description", 10, 10_000, true);
    if !email.is_empty() && !errors.contains_key("email") && !crate::config::is_plain_address(&email) {
        errors.insert("email", FieldError::Email);
    }
    if !category.is_empty() && !http.categories.contains(&category) {
        errors.insert("category", FieldError::Category);
    }
    let phone = fields.get("phone");
    if let Some(p) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(6..=15).contains(&digits) || !p.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c)) {
            errors.insert("phone", FieldError::Phone);
        }
    }
    let pratica = fields.get("pratica");
    if let Some(p) = &pratica
        && (p.len() > 50 || !p.chars().all(|c| c.is_ascii_alphanumeric() || "-/. ".contains(c)))
    {
        errors.insert("pratica", FieldError::Pratica);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(PortalRequest {
        name,
        email,
        phone,
        pratica,
        category,
        subject,
        description,
        attachments: fields.files.clone(),
    })
}

/// The messages of `errors` in the help desk's language, by field name (for the form and for
/// the JSON answer alike).
fn field_messages(
    inner: &Inner,
    errors: &BTreeMap<&'static str, FieldError>,
) -> anyhow::Result<BTreeMap<&'static str, String>> {
    errors
        .iter()
        .map(|(name, error)| {
            let message = inner.templates.words(
                inner.config.helpdesk.language,
                "field_error",
                context! { code => error.code(), limit => error.limit(), choices => inner.http.categories.clone() },
            )?;
            // A blank would leave the requester guessing: an override missing a code is a bug.
            anyhow::ensure!(
                !message.is_empty(),
                "field_error.txt has no message for {}",
                error.code()
            );
            Ok((*name, message))
        })
        .collect()
}

fn bearer_ok(headers: &HeaderMap, http: &Http) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    !presented.is_empty() && constant_time_eq(presented.trim().as_bytes(), http.api_token.expose().as_bytes())
}

fn form_token(key: &MacKey, now: i64) -> String {
    format!("{now:x}.{}", key.sign("form", &now.to_string()))
}

fn form_token_ok(key: &MacKey, token: &str, now: i64) -> bool {
    let Some((stamp, signature)) = token.split_once('.') else {
        return false;
    };
    let Ok(issued) = i64::from_str_radix(stamp, 16) else {
        return false;
    };
    (0..=FORM_TOKEN_SECONDS).contains(&(now - issued)) && key.verify_signature("form", &issued.to_string(), signature)
}

/// True when `ip` may submit one more form this hour (and records it).
fn rate_ok(inner: &Inner, ip: IpAddr) -> bool {
    let Ok(mut map) = inner.limiter.lock() else {
        return false;
    };
    let now = Instant::now();
    let hour = Duration::from_secs(3600);
    if map.len() >= MAX_TRACKED_CLIENTS && !map.contains_key(&ip) {
        map.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < hour));
        if map.len() >= MAX_TRACKED_CLIENTS {
            return false;
        }
    }
    let times = map.entry(ip).or_default();
    while times.front().is_some_and(|t| now.duration_since(*t) >= hour) {
        times.pop_front();
    }
    if times.len() as u32 >= inner.http.form_rate_per_hour {
        return false;
    }
    times.push_back(now);
    true
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

async fn create_ticket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let by_portal_server = bearer_ok(&headers, &state.0.http);
    let fields = match read_fields(request).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    if !by_portal_server {
        // The public form: a valid, fresh CSRF token from /form, and a bounded rate per client.
        let now = state.0.clock.now().timestamp();
        let token = fields.get("csrf").unwrap_or_default();
        if token.is_empty() && headers.get(header::AUTHORIZATION).is_some() {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"errors": {"authorization": "invalid token"}})),
            )
                .into_response();
        }
        if !form_token_ok(&state.0.key, &token, now) {
            return (
                StatusCode::FORBIDDEN,
                axum::Json(json!({"errors": {"csrf": "missing or expired form token: reload the form"}})),
            )
                .into_response();
        }
        if !rate_ok(&state.0, peer.ip()) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"errors": {"rate": "too many requests from this address, try later"}})),
            )
                .into_response();
        }
    }
    let portal_request = match validate_portal(&fields, &state.0.http) {
        Ok(r) => r,
        Err(errors) => {
            let messages = match field_messages(&state.0, &errors) {
                Ok(m) => m,
                Err(error) => return internal_error(&error),
            };
            if !wants_html(&headers) {
                return unprocessable(messages);
            }
            let notice = state.form_notice().await;
            return html(
                StatusCode::UNPROCESSABLE_ENTITY,
                form_html(&state.0, notice.as_ref(), &fields, &messages),
            );
        }
    };
    let created = state
        .db_write(move |inner, store| {
            inner.change(store, |tx, ctx| {
                let row = workflow::open_portal_ticket(tx, ctx, &portal_request)?;
                tracing::info!(ticket = %row.id, "portal request");
                Ok((row.id, ctx.status_link(&row)))
            })
        })
        .await;
    match created {
        Ok((id, link)) if wants_html(&headers) => html(StatusCode::CREATED, created_html(&state.0, id, &link)),
        Ok((id, link)) => (
            StatusCode::CREATED,
            axum::Json(json!({"id": id.to_string(), "status_url": link})),
        )
            .into_response(),
        Err(response) => response,
    }
}

async fn create_call(State(state): State<AppState>, request: Request) -> Response {
    if !bearer_ok(request.headers(), &state.0.http) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"errors": {"authorization": "invalid token"}})),
        )
            .into_response();
    }
    let fields = match read_fields(request).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let mut errors = BTreeMap::new();
    let number = fields.get("number").unwrap_or_default();
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if !(6..=15).contains(&digits) || !number.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c)) {
        errors.insert("number", "a phone number (digits, spaces, + and - only)".to_string());
    }
    let summary = fields.get("summary").unwrap_or_default();
    if summary.chars().count() < 3 || summary.chars().count() > 10_000 {
        errors.insert("summary", "what the caller asked, 3 to 10000 characters".to_string());
    }
    let email = fields.get("email").map(|e| e.to_ascii_lowercase());
    if email.as_deref().is_some_and(|e| !crate::config::is_plain_address(e)) {
        errors.insert("email", "a plain e-mail address".to_string());
    }
    let name = fields.get("name");
    if name.as_deref().is_some_and(|n| n.chars().count() > 200 || !one_line(n)) {
        errors.insert("name", "one line, at most 200 characters".to_string());
    }
    if !errors.is_empty() {
        return unprocessable(errors);
    }
    let phone = PhoneRequest {
        number,
        name,
        email,
        subject: String::new(),
        summary,
    };
    let created = state
        .db_write(move |inner, store| {
            inner.change(store, |tx, ctx| {
                workflow::open_phone_ticket(tx, ctx, "phone-system", &phone)
            })
        })
        .await;
    match created {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({"id": id.to_string()}))).into_response(),
        Err(response) => response,
    }
}

fn notice_json(inner: &Inner, store: &Store) -> anyhow::Result<Value> {
    let calendar = suspensions::calendar(store.conn(), &inner.config.calendar)?;
    let now = inner.clock.now();
    let n = crate::notify::service_notice(&calendar, now, inner.config.helpdesk.language);
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&calendar.timezone())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    Ok(json!({
        "open_now": n.open_now,
        "next_opening": local(n.next_opening),
        "hours": n.hours,
        "suspensions": n.suspensions.iter().map(|(from, to, reason, current)| json!({
            "from": from.to_string(), "to": to.to_string(), "reason": reason, "current": current
        })).collect::<Vec<_>>(),
        "message": n.message,
    }))
}

async fn notice(State(state): State<AppState>) -> Response {
    match state.db(|inner, store| notice_json(inner, store)).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(response) => response,
    }
}

/// 200 `ok` while the database answers and both servers take our logins; 503 with a JSON
/// body naming each refused login (its section, since when, how many attempts, the next one,
/// and what to change), so that a wrong or expired password is an alarm, not a silent outage.
async fn healthz(State(state): State<AppState>) -> Response {
    let liveness = &state.0.liveness;
    let refused: Vec<Value> = [("mailbox", &liveness.mailbox_login), ("smtp", &liveness.smtp_login)]
        .into_iter()
        .filter_map(|(section, watch)| {
            let r = watch.refusal()?;
            Some(json!({
                "section": section,
                "problem": "login_refused",
                "since": crate::store::ts(r.since),
                "attempts": r.attempts,
                "next_attempt": crate::store::ts(r.next_attempt),
                "message": r.message,
            }))
        })
        .collect();
    let alarms: Vec<Value> = liveness
        .alarms
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .map(|a| json!({ "alarm": a.alarm, "since": crate::store::ts(a.since), "message": a.message }))
        .collect();
    if !refused.is_empty() || !alarms.is_empty() {
        let status = if refused.is_empty() { "degraded" } else { "unavailable" };
        let mut body = json!({ "status": status, "problems": refused });
        if !alarms.is_empty() {
            body["alarms"] = Value::from(alarms);
        }
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    match state.db(|_, store| Ok(portal::ping(store.conn())?)).await {
        Ok(_) => "ok\n".into_response(),
        Err(response) => response,
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = state
        .db(|inner, store| {
            let conn = store.conn();
            let mut out = String::new();
            out.push_str("# HELP sportello_tickets Tickets by state.\n# TYPE sportello_tickets gauge\n");
            for (status, n) in portal::tickets_by_status(conn)? {
                out.push_str(&format!("sportello_tickets{{status=\"{status}\"}} {n}\n"));
            }
            let calendar = suspensions::calendar(conn, &inner.config.calendar)?;
            let standings = crate::monitor::open_standings(
                conn,
                &calendar,
                &inner.config.sla,
                inner.clock.now(),
                inner.config.sla_warn_percent,
            )?;
            out.push_str("# HELP sportello_sla_open Open tickets by SLA state.\n# TYPE sportello_sla_open gauge\n");
            for state in [
                crate::monitor::State::Ok,
                crate::monitor::State::AtRisk,
                crate::monitor::State::Breached,
            ] {
                let n = standings.iter().filter(|s| s.assessment.state == state).count();
                out.push_str(&format!("sportello_sla_open{{state=\"{}\"}} {n}\n", state.as_str()));
            }
            let pending = portal::outbox_pending(conn)?;
            out.push_str(
                "# HELP sportello_outbox_pending Mails waiting to be sent.\n# TYPE sportello_outbox_pending gauge\n",
            );
            out.push_str(&format!("sportello_outbox_pending {pending}\n"));
            let now = inner.clock.now().timestamp();
            let last_intake = inner.liveness.last_intake.load(Ordering::Relaxed);
            out.push_str("# HELP sportello_intake_lag_seconds Seconds since the last completed intake pass.\n");
            out.push_str("# TYPE sportello_intake_lag_seconds gauge\n");
            out.push_str(&format!(
                "sportello_intake_lag_seconds {}\n",
                if last_intake > 0 { now - last_intake } else { -1 }
            ));
            out.push_str("# HELP sportello_imap_last_poll_timestamp_seconds Last successful IMAP poll (0: none).\n");
            out.push_str("# TYPE sportello_imap_last_poll_timestamp_seconds gauge\n");
            out.push_str(&format!(
                "sportello_imap_last_poll_timestamp_seconds {}\n",
                inner.liveness.last_imap_poll.load(Ordering::Relaxed)
            ));
            Ok(out)
        })
        .await;
    match text {
        Ok(t) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], t).into_response(),
        Err(response) => response,
    }
}

async fn form_page(State(state): State<AppState>) -> Response {
    let notice = state.form_notice().await;
    html(
        StatusCode::OK,
        form_html(&state.0, notice.as_ref(), &Fields::default(), &BTreeMap::new()),
    )
}

/// Looks a ticket up by id and secret; None for a missing ticket and a wrong secret alike.
fn find_by_secret(store: &Store, id: &str, secret: &str) -> anyhow::Result<Option<tickets::TicketRow>> {
    let Ok(id) = id.parse::<TicketId>() else {
        return Ok(None);
    };
    let Some(row) = tickets::find_ticket(store.conn(), id)? else {
        // Compare anyway, so a missing ticket costs the same as a wrong secret.
        let _ = constant_time_eq(secret.as_bytes(), "0".repeat(32).as_bytes());
        return Ok(None);
    };
    Ok(constant_time_eq(secret.as_bytes(), row.secret.as_bytes()).then_some(row))
}

/// The answer to a missing ticket and to a wrong secret alike.
fn not_found(inner: &Inner) -> Response {
    html(StatusCode::NOT_FOUND, message_html(inner, "not_found"))
}

async fn status_page(State(state): State<AppState>, Path((id, secret)): Path<(String, String)>) -> Response {
    let found = state
        .db(move |inner, store| {
            let Some(row) = find_by_secret(store, &id, &secret)? else {
                return Ok(None);
            };
            let thread = portal::public_thread(store.conn(), row.id)?;
            let files = portal::public_files(store.conn(), row.id)?;
            let technician = row
                .assignee
                .as_deref()
                .and_then(|a| inner.config.operator(a))
                .map(|o| o.name.clone());
            let token = inner.key.sign("reply", &format!("{}/{}", row.id, row.secret));
            let vote = status_vote(inner, store.conn(), &row)?;
            Ok(Some((row, technician, thread, files, token, vote)))
        })
        .await;
    match found {
        Ok(Some((row, technician, thread, files, token, vote))) => html(
            StatusCode::OK,
            status_html(&state.0, &row, technician.as_deref(), &thread, &files, &token, vote),
        ),
        Ok(None) => not_found(&state.0),
        Err(response) => response,
    }
}

/// A file the requester's side sent, from the status page: the ticket's secret is the key, and
/// the file must be one of that ticket's public files. Always a download (`octet-stream`,
/// `attachment`), so an uploaded page can never run as ours.
async fn status_file(
    State(state): State<AppState>,
    Path((id, secret, file)): Path<(String, String, String)>,
) -> Response {
    let found = state
        .db(move |inner, store| {
            let Some(row) = find_by_secret(store, &id, &secret)? else {
                return Ok(None);
            };
            let Ok(file) = file.parse::<i64>() else {
                return Ok(None);
            };
            let Some(stored) = portal::public_files(store.conn(), row.id)?
                .into_iter()
                .find(|f| f.id == file)
            else {
                return Ok(None);
            };
            file_content(inner, stored)
        })
        .await;
    match found {
        Ok(Some((name, bytes))) => download(&name, bytes),
        Ok(None) => not_found(&state.0),
        Err(response) => response,
    }
}

/// A file too large for the notice that named it: the link is signed with the help desk's key
/// and expires (`workflow::FILE_LINK_DAYS`); anything else is a 404 like a missing file.
async fn signed_file(
    State(state): State<AppState>,
    Path((file, expires, signature)): Path<(String, String, String)>,
) -> Response {
    let found = state
        .db(move |inner, store| {
            let data = format!("{file}/{expires}");
            let fresh = expires.parse::<i64>().is_ok_and(|e| e >= inner.clock.now().timestamp());
            if !fresh || !inner.key.verify_signature("file", &data, &signature) {
                return Ok(None);
            }
            let Ok(id) = file.parse::<i64>() else { return Ok(None) };
            let Some(stored) = crate::store::attachments::find(store.conn(), id)? else {
                return Ok(None);
            };
            file_content(inner, stored)
        })
        .await;
    match found {
        Ok(Some((name, bytes))) => download(&name, bytes),
        Ok(None) => not_found(&state.0),
        Err(response) => response,
    }
}

/// A stored file's name and bytes; none when it was dropped on arrival.
fn file_content(
    inner: &Inner,
    stored: crate::store::attachments::StoredFile,
) -> anyhow::Result<Option<(String, Vec<u8>)>> {
    let Some(sha) = stored.sha256.as_deref() else {
        return Ok(None);
    };
    let bytes = crate::store::attachments::read(&inner.config.helpdesk.data_dir, sha)?;
    Ok(Some((stored.filename, bytes)))
}

/// A file as a download: `octet-stream` and `attachment`, so it never runs as one of our pages.
fn download(name: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            let plain = c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\');
            if plain { c } else { '_' }
        })
        .collect();
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        encoded.replace('+', "%20")
    );
    (
        StatusCode::OK,
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

async fn status_reply(
    State(state): State<AppState>,
    Path((id, secret)): Path<(String, String)>,
    request: Request,
) -> Response {
    let fields = match read_fields(request).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let text = fields.get("text").unwrap_or_default();
    let token = fields.get("csrf").unwrap_or_default();
    let result = state
        .db_write(move |inner, store| {
            let Some(row) = find_by_secret(store, &id, &secret)? else {
                return Ok(Err(StatusCode::NOT_FOUND));
            };
            if !inner
                .key
                .verify_signature("reply", &format!("{}/{}", row.id, row.secret), &token)
            {
                return Ok(Err(StatusCode::FORBIDDEN));
            }
            if text.chars().count() < 2 || text.chars().count() > 10_000 {
                return Ok(Err(StatusCode::UNPROCESSABLE_ENTITY));
            }
            inner.change(store, |tx, ctx| workflow::portal_reply(tx, ctx, &row, &text))?;
            Ok(Ok(format!("/t/{}/{}", row.id, row.secret)))
        })
        .await;
    match result {
        Ok(Ok(location)) => Redirect::to(&location).into_response(),
        Ok(Err(StatusCode::NOT_FOUND)) => not_found(&state.0),
        Ok(Err(code)) => html(code, message_html(&state.0, "reply_failed")),
        Err(response) => response,
    }
}

// ---------------------------------------------------------------------------------------------
// The satisfaction vote
// ---------------------------------------------------------------------------------------------

/// What the vote's rule says of a ticket's cycle now, as its pages show it.
#[derive(Debug, Clone)]
struct VoteView {
    /// Why it cannot be voted (`superseded`, `not_closed`, `expired`), or none.
    refusal: Option<&'static str>,
    /// Until when it can change, or when it closed (local time; "" when neither applies).
    until: String,
    /// The face already recorded, if any (for the latest cycle).
    current: Option<&'static str>,
}

/// An instant as the pages write it: local time, the help desk's language.
fn local(inner: &Inner, t: chrono::DateTime<chrono::Utc>) -> String {
    crate::notify::format_local(t, inner.config.calendar.timezone, inner.config.helpdesk.language)
}

/// The vote's setting now (the roster matters only for its effects, computed by `workflow`).
fn vote_setting(inner: &Inner) -> desk::vote::Setting<'static> {
    desk::vote::Setting {
        roster: &[],
        now: inner.clock.now(),
        days: inner.config.survey.days,
    }
}

/// Whether cycle `cycle` of `row` may be voted now, as [`VoteView`].
fn vote_view(
    inner: &Inner,
    conn: &rusqlite::Connection,
    row: &tickets::TicketRow,
    cycle: u32,
) -> anyhow::Result<VoteView> {
    let state = workflow::VoteState::load(conn, row.id)?;
    let standing = desk::vote::open_for(&state.facts(row), cycle, &vote_setting(inner));
    let current = state
        .vote
        .as_ref()
        .filter(|_| cycle == state.latest)
        .and_then(|v| Score::from_number(v.score))
        .map(Score::code);
    Ok(match standing {
        Ok(until) => VoteView {
            refusal: None,
            until: local(inner, until),
            current,
        },
        Err(desk::vote::Refusal::Expired { until }) => VoteView {
            refusal: Some("expired"),
            until: local(inner, until),
            current,
        },
        Err(desk::vote::Refusal::Superseded) => VoteView {
            refusal: Some("superseded"),
            until: String::new(),
            current: None,
        },
        Err(desk::vote::Refusal::NotClosed) => VoteView {
            refusal: Some("not_closed"),
            until: String::new(),
            current: None,
        },
    })
}

/// The status page's vote section, for a ticket whose latest cycle a closing letter closed:
/// the face recorded, until when it can change and the three confirmation pages.
fn status_vote(
    inner: &Inner,
    conn: &rusqlite::Connection,
    row: &tickets::TicketRow,
) -> anyhow::Result<Option<minijinja::Value>> {
    if !matches!(row.status, Status::Resolved | Status::Archived) {
        return Ok(None);
    }
    let state = workflow::VoteState::load(conn, row.id)?;
    if state.closed.is_none() {
        return Ok(None);
    }
    let view = vote_view(inner, conn, row, state.latest)?;
    let links: BTreeMap<&str, String> = Score::ALL
        .iter()
        .map(|s| (s.code(), vote_path(row, state.latest, Some(*s))))
        .collect();
    Ok(Some(context! {
        current => view.current,
        until => view.refusal.is_none().then_some(view.until),
        links,
    }))
}

/// The path of a cycle's vote: its confirmation page for `score`, or (none) where it is posted.
fn vote_path(row: &tickets::TicketRow, cycle: u32, score: Option<Score>) -> String {
    match score {
        Some(score) => format!("/t/{}/{}/vote/{cycle}/{}", row.id, row.secret, score.code()),
        None => format!("/t/{}/{}/vote/{cycle}", row.id, row.secret),
    }
}

/// What the vote's form token signs: the ticket, its secret and the cycle.
fn vote_token_data(row: &tickets::TicketRow, cycle: u32) -> String {
    format!("{}/{}/{cycle}", row.id, row.secret)
}

/// The origins this interface answers as: `[http] public_url`'s, and the Host the request
/// was sent to (behind a proxy that keeps it), over either scheme.
fn own_origins(headers: &HeaderMap, public_url: &str) -> Vec<String> {
    let mut origins = Vec::new();
    if let Some((scheme, rest)) = public_url.split_once("://") {
        let host = rest.split('/').next().unwrap_or_default();
        origins.push(format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        ));
    }
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        let host = host.trim().to_ascii_lowercase();
        origins.push(format!("http://{host}"));
        origins.push(format!("https://{host}"));
    }
    origins
}

/// False when a browser says the form was sent from another site: an `Origin` that is not
/// ours (`null` included: our page's policy sends the real one), else a `Referer` that is not
/// ours. A request with neither (not a browser's form) is judged by its token alone.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let own = own_origins(headers, public_url);
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default().trim().to_ascii_lowercase();
        return own.contains(&origin);
    }
    if let Some(referer) = headers.get(header::REFERER) {
        let referer = referer.to_str().unwrap_or_default().trim().to_ascii_lowercase();
        return own
            .iter()
            .any(|o| referer == *o || referer.starts_with(&format!("{o}/")));
    }
    true
}

/// A vote page as the answer: its own Referrer-Policy (`same-origin`: the form's POST carries
/// our Origin, and the secret in its URL still never leaves for another site) and no caching.
fn vote_response(code: StatusCode, page: anyhow::Result<String>) -> Response {
    let mut response = html(code, page);
    let headers = response.headers_mut();
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// The confirmation page of the closing letter's link: shows the chosen face, a comment box
/// and the button; records nothing (mail scanners and link previews follow links).
async fn vote_page(
    State(state): State<AppState>,
    Path((id, secret, cycle, score)): Path<(String, String, String, String)>,
) -> Response {
    let (Ok(cycle), Some(score)) = (cycle.parse::<u32>(), Score::from_code(&score)) else {
        return not_found(&state.0);
    };
    let found = state
        .db(move |inner, store| {
            let Some(row) = find_by_secret(store, &id, &secret)? else {
                return Ok(None);
            };
            let view = vote_view(inner, store.conn(), &row, cycle)?;
            Ok(Some((row, view)))
        })
        .await;
    match found {
        Ok(Some((row, view))) => {
            vote_response(StatusCode::OK, vote_html(&state.0, &row, cycle, score, &view, "", None))
        }
        Ok(None) => not_found(&state.0),
        Err(response) => response,
    }
}

/// What a vote's POST came to.
enum VotePosted {
    /// Recorded (or the same again): back to the status page.
    Done(String),
    /// No such ticket, or a wrong secret.
    NotFound,
    /// The token or the origin is not the page's.
    Forbidden,
    /// The page again, with a refusal or a comment too long.
    Page(StatusCode, anyhow::Result<String>),
}

/// The confirmation page's form: the vote is recorded here, as `desk::vote` decides, and the
/// requester goes back to the status page, which shows it.
async fn vote_post(
    State(state): State<AppState>,
    Path((id, secret, cycle)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let Ok(cycle) = cycle.parse::<u32>() else {
        return not_found(&state.0);
    };
    let from_here = same_origin(request.headers(), &state.0.http.public_url);
    let fields = match read_fields(request).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let token = fields.get("csrf").unwrap_or_default();
    let score = fields.get("score").as_deref().and_then(Score::from_code);
    let comment = fields.values.get("comment").cloned().unwrap_or_default();
    let result = state
        .db_write(move |inner, store| {
            let Some(row) = find_by_secret(store, &id, &secret)? else {
                return Ok(VotePosted::NotFound);
            };
            if !from_here
                || !inner
                    .key
                    .verify_signature("vote", &vote_token_data(&row, cycle), &token)
            {
                return Ok(VotePosted::Forbidden);
            }
            let view = vote_view(inner, store.conn(), &row, cycle)?;
            let Some(score) = score else {
                return Ok(VotePosted::Page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    vote_html(inner, &row, cycle, Score::Neutral, &view, &comment, None),
                ));
            };
            if comment.trim().chars().count() > MAX_COMMENT_CHARS {
                let error = inner.templates.words(
                    inner.config.helpdesk.language,
                    "field_error",
                    context! { code => "too_long", limit => MAX_COMMENT_CHARS, choices => Vec::<String>::new() },
                )?;
                return Ok(VotePosted::Page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    vote_html(inner, &row, cycle, score, &view, &comment, Some(&error)),
                ));
            }
            let verdict = inner.change(store, |tx, ctx| {
                workflow::cast_vote(tx, ctx, &row, cycle, score, &comment)
            })?;
            if let desk::vote::Verdict::Refused(_) = verdict {
                let view = vote_view(inner, store.conn(), &row, cycle)?;
                return Ok(VotePosted::Page(
                    StatusCode::CONFLICT,
                    vote_html(inner, &row, cycle, score, &view, &comment, None),
                ));
            }
            tracing::info!(ticket = %row.id, cycle, score = score.code(), "vote");
            Ok(VotePosted::Done(format!("/t/{}/{}#giudizio", row.id, row.secret)))
        })
        .await;
    match result {
        Ok(VotePosted::Done(location)) => Redirect::to(&location).into_response(),
        Ok(VotePosted::NotFound) => not_found(&state.0),
        Ok(VotePosted::Forbidden) => html(StatusCode::FORBIDDEN, message_html(&state.0, "vote_failed")),
        Ok(VotePosted::Page(code, page)) => vote_response(code, page),
        Err(response) => response,
    }
}

/// The vote's confirmation page for cycle `cycle` of `row`, with `score` chosen.
fn vote_html(
    inner: &Inner,
    row: &tickets::TicketRow,
    cycle: u32,
    score: Score,
    view: &VoteView,
    comment: &str,
    error: Option<&str>,
) -> anyhow::Result<String> {
    inner.templates.page(
        inner.config.helpdesk.language,
        "vote",
        context! {
            brand => inner.config.helpdesk.name.as_str(),
            id => row.id.to_string(),
            subject => row.subject.as_str(),
            score => score.code(),
            refusal => view.refusal,
            until => view.until.as_str(),
            current => view.current,
            action => vote_path(row, cycle, None),
            csrf => inner.key.sign("vote", &vote_token_data(row, cycle)),
            comment,
            error,
            max => MAX_COMMENT_CHARS,
            status_link => format!("/t/{}/{}", row.id, row.secret),
            privacy => workflow::privacy_vars(&inner.config),
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Pages: the templates `templates/pages/*.html` in the help desk's language
// ---------------------------------------------------------------------------------------------

/// A rendered page as the answer, or a 500 when its template fails (an override's mistake).
fn html(code: StatusCode, page: anyhow::Result<String>) -> Response {
    match page {
        Ok(page) => (code, Html(page)).into_response(),
        Err(error) => internal_error(&error),
    }
}

fn internal_error(error: &anyhow::Error) -> Response {
    tracing::error!("http: {error:#}");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
}

impl AppState {
    /// The service notice the form shows. Without it (the calendar cannot be read, which is
    /// logged) the form is still served: a request can be sent all the same.
    async fn form_notice(&self) -> Option<ServiceNotice> {
        self.db(|inner, store| {
            let calendar = suspensions::calendar(store.conn(), &inner.config.calendar)?;
            Ok(crate::notify::service_notice(
                &calendar,
                inner.clock.now(),
                inner.config.helpdesk.language,
            ))
        })
        .await
        .ok()
    }
}

/// The request form, with what was typed and the messages of a refused submission.
fn form_html(
    inner: &Inner,
    notice: Option<&ServiceNotice>,
    fields: &Fields,
    errors: &BTreeMap<&'static str, String>,
) -> anyhow::Result<String> {
    let token = form_token(&inner.key, inner.clock.now().timestamp());
    // Every field the form shows, as typed (not trimmed: the requester's text, as it was).
    let values: BTreeMap<&str, String> = [
        "name",
        "email",
        "phone",
        "pratica",
        "category",
        "subject",
        "description",
    ]
    .into_iter()
    .map(|name| (name, fields.values.get(name).cloned().unwrap_or_default()))
    .collect();
    inner.templates.page(
        inner.config.helpdesk.language,
        "form",
        context! {
            brand => inner.config.helpdesk.name.as_str(),
            csrf => token,
            categories => inner.http.categories.clone(),
            values,
            errors => errors.clone(),
            notice => notice.map(|n| context! { hours => n.hours.as_str(), message => n.message.as_str() }),
            privacy => workflow::privacy_vars(&inner.config),
        },
    )
}

/// The answer to the form when the request is registered.
fn created_html(inner: &Inner, id: TicketId, link: &str) -> anyhow::Result<String> {
    inner.templates.page(
        inner.config.helpdesk.language,
        "created",
        context! { brand => inner.config.helpdesk.name.as_str(), id => id.to_string(), link },
    )
}

/// A short message page (`not_found`, `reply_failed`).
fn message_html(inner: &Inner, message: &str) -> anyhow::Result<String> {
    inner.templates.page(
        inner.config.helpdesk.language,
        "message",
        context! { brand => inner.config.helpdesk.name.as_str(), message },
    )
}

/// A requester's status page: the ticket, its public thread (times in the calendar's time
/// zone) and the reply box with its `token`.
fn status_html(
    inner: &Inner,
    row: &tickets::TicketRow,
    technician: Option<&str>,
    thread: &[PublicMessage],
    files: &[crate::store::attachments::StoredFile],
    token: &str,
    vote: Option<minijinja::Value>,
) -> anyhow::Result<String> {
    let timezone = inner.config.calendar.timezone;
    let own_path = format!("/t/{}/{}", row.id, row.secret);
    let thread: Vec<minijinja::Value> = thread
        .iter()
        .map(|m| {
            // Letters are wrapped for mail clients: show their paragraphs, not their line breaks;
            // and not the acknowledgment's link to this very page (with the sentence leading to it).
            let paragraphs: Vec<String> = m
                .text
                .split("\n\n")
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|p| !p.is_empty() && !p.contains(&own_path))
                .collect();
            context! {
                incoming => m.incoming,
                when => m.at.with_timezone(&timezone).format("%d/%m/%Y %H:%M").to_string(),
                paragraphs,
            }
        })
        .collect();
    inner.templates.page(
        inner.config.helpdesk.language,
        "status",
        context! {
            brand => inner.config.helpdesk.name.as_str(),
            id => row.id.to_string(),
            subject => row.subject.as_str(),
            status => row.status.as_str(),
            level => row.level.number(),
            technician,
            thread,
            action => format!("/t/{}/{}", row.id, row.secret),
            files => files
                .iter()
                .map(|f| context! { name => f.filename.as_str(), size => f.size,
                link => format!("/t/{}/{}/file/{}", row.id, row.secret, f.id) })
                .collect::<Vec<_>>(),
            csrf => token,
            vote,
            privacy => workflow::privacy_vars(&inner.config),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_forms_decode() {
        let pairs = urlencoded_pairs(b"name=Anna+Ferrari&email=a%40example.org&x=%ZZ&empty");
        assert_eq!(pairs[0], ("name".into(), "Anna Ferrari".into()));
        assert_eq!(pairs[1], ("email".into(), "a@example.org".into()));
        assert_eq!(pairs[2], ("x".into(), "%ZZ".into()));
        assert_eq!(pairs[3], ("empty".into(), String::new()));
    }

    #[test]
    fn every_field_error_has_words_in_both_languages() {
        let templates = Templates::load(None).expect("templates");
        let errors = [
            FieldError::Required,
            FieldError::TooShort(10),
            FieldError::TooLong(200),
            FieldError::OneLine,
            FieldError::Email,
            FieldError::Category,
            FieldError::Phone,
            FieldError::Pratica,
        ];
        for language in [crate::config::Language::It, crate::config::Language::En] {
            let mut seen = std::collections::BTreeSet::new();
            for error in errors {
                let text = templates
                    .words(
                        language,
                        "field_error",
                        context! { code => error.code(), limit => error.limit(), choices => vec!["A & B", "C"] },
                    )
                    .expect("words");
                assert!(!text.is_empty(), "{} has no words in {language:?}", error.code());
                assert!(seen.insert(text.clone()), "{text:?} says two things");
                if error.limit() > 0 {
                    assert!(text.contains(&error.limit().to_string()), "{text}");
                }
                if error == FieldError::Category {
                    assert!(text.ends_with("A & B, C"), "plain text, never escaped: {text}");
                }
            }
        }
    }

    #[test]
    fn a_vote_is_posted_only_from_our_own_pages_when_a_browser_says_where_from() {
        let public = "https://assistenza.comune.example.it/";
        let with = |pairs: &[(header::HeaderName, &str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(name.clone(), header::HeaderValue::from_str(value).expect("value"));
            }
            headers
        };
        assert!(
            same_origin(&with(&[]), public),
            "no Origin, no Referer: the token decides"
        );
        assert!(same_origin(
            &with(&[(header::ORIGIN, "https://assistenza.comune.example.it")]),
            public
        ));
        assert!(same_origin(
            &with(&[(header::ORIGIN, "HTTPS://Assistenza.Comune.Example.it")]),
            public
        ));
        assert!(same_origin(
            &with(&[
                (header::HOST, "127.0.0.1:8080"),
                (header::ORIGIN, "http://127.0.0.1:8080")
            ]),
            public
        ));
        assert!(!same_origin(
            &with(&[(header::ORIGIN, "https://evil.example.net")]),
            public
        ));
        assert!(
            !same_origin(&with(&[(header::ORIGIN, "null")]), public),
            "an opaque origin is refused"
        );
        assert!(!same_origin(
            &with(&[(header::ORIGIN, "https://assistenza.comune.example.it.evil.example.net")]),
            public
        ));
        assert!(same_origin(
            &with(&[(
                header::REFERER,
                "https://assistenza.comune.example.it/t/TCK-2026-00001/x/vote/1/neutro"
            )]),
            public
        ));
        assert!(!same_origin(
            &with(&[(
                header::REFERER,
                "https://assistenza.comune.example.it.evil.example.net/x"
            )]),
            public
        ));
    }

    #[test]
    fn form_tokens_expire_and_cannot_be_forged() {
        let key = MacKey::from_bytes([5; 32]);
        let token = form_token(&key, 1_000_000);
        assert!(form_token_ok(&key, &token, 1_000_000 + 60));
        assert!(!form_token_ok(&key, &token, 1_000_000 + FORM_TOKEN_SECONDS + 1));
        assert!(!form_token_ok(&key, &token, 999_000), "not from the future");
        assert!(!form_token_ok(&MacKey::from_bytes([6; 32]), &token, 1_000_060));
        assert!(!form_token_ok(&key, "f4240.00", 1_000_060));
    }
}
