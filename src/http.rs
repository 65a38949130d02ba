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
//! - `POST /api/v1/calls`: the phone system's call-back requests;
//! - `GET /api/v1/notice`, `/healthz`, `/metrics` (Prometheus text), `/api/v1/openapi.json`.
//!
//! Owns HTTP parsing, validation and HTML pages. Every change goes through `workflow` in one
//! transaction after the input is validated, so nothing is half-created on error; every HTML
//! value is escaped. The database is a connection of its own behind a mutex, used from
//! blocking tasks.

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
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::auth::{MacKey, constant_time_eq};
use crate::clock::Clock;
use crate::config::{Config, Http};
use crate::ingest::parse::{Attachment, sanitize_filename};
use crate::model::TicketId;
use crate::notify::escape_html as e;
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
];

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../docs/openapi.json");

/// How long a form's CSRF token stays valid.
const FORM_TOKEN_SECONDS: i64 = 4 * 3600;
/// Client addresses remembered by the rate limiter at most (oldest forgotten first).
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// What the daemon's loop tells the HTTP interface (for `/metrics`).
#[derive(Debug, Default)]
pub struct Liveness {
    /// Unix time of the last intake pass that completed.
    pub last_intake: AtomicI64,
    /// Unix time of the last successful IMAP poll (0 without IMAP).
    pub last_imap_poll: AtomicI64,
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
        let store = Store::open(&config.database_path())?;
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
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
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

/// Validates a portal request; every problem is reported by field name.
fn validate_portal(fields: &Fields, http: &Http) -> Result<PortalRequest, BTreeMap<&'static str, String>> {
    let mut errors = BTreeMap::new();
    let mut required = |name: &'static str, min: usize, max: usize, multiline: bool| -> String {
        match fields.get(name) {
            None => {
                errors.insert(name, "obbligatorio".to_string());
                String::new()
            }
            Some(v) if v.chars().count() < min => {
                errors.insert(name, format!("almeno {min} caratteri"));
                v
            }
            Some(v) if v.chars().count() > max => {
                errors.insert(name, format!("al massimo {max} caratteri"));
                v
            }
            Some(v) if !multiline && !one_line(&v) => {
                errors.insert(name, "una sola riga".to_string());
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
        errors.insert("email", "indirizzo e-mail non valido".into());
    }
    if !category.is_empty() && !http.categories.contains(&category) {
        errors.insert("category", format!("una di: {}", http.categories.join(", ")));
    }
    let phone = fields.get("phone");
    if let Some(p) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(6..=15).contains(&digits) || !p.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c)) {
            errors.insert("phone", "numero di telefono non valido".into());
        }
    }
    let pratica = fields.get("pratica");
    if let Some(p) = &pratica
        && (p.len() > 50 || !p.chars().all(|c| c.is_ascii_alphanumeric() || "-/. ".contains(c)))
    {
        errors.insert("pratica", "numero di pratica non valido (lettere, cifre, - / .)".into());
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
        Err(errors) if wants_html(&headers) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(form_html(&state.0, &fields, &errors)),
            )
                .into_response();
        }
        Err(errors) => return unprocessable(errors),
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
        Ok((id, link)) if wants_html(&headers) => (StatusCode::CREATED, Html(created_html(id, &link))).into_response(),
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

async fn healthz(State(state): State<AppState>) -> Response {
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
    Html(form_html(&state.0, &Fields::default(), &BTreeMap::new())).into_response()
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

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "Pagina non trovata",
            "<h1>Pagina non trovata</h1><p>Il collegamento non è valido.</p>",
        )),
    )
        .into_response()
}

async fn status_page(State(state): State<AppState>, Path((id, secret)): Path<(String, String)>) -> Response {
    let found = state
        .db(move |inner, store| {
            let Some(row) = find_by_secret(store, &id, &secret)? else {
                return Ok(None);
            };
            let thread = portal::public_thread(store.conn(), row.id)?;
            let technician = row
                .assignee
                .as_deref()
                .and_then(|a| inner.config.operator(a))
                .map(|o| o.name.clone());
            let token = inner.key.sign("reply", &format!("{}/{}", row.id, row.secret));
            Ok(Some(status_html(&row, technician.as_deref(), &thread, &token)))
        })
        .await;
    match found {
        Ok(Some(html)) => Html(html).into_response(),
        Ok(None) => not_found(),
        Err(response) => response,
    }
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
        Ok(Err(StatusCode::NOT_FOUND)) => not_found(),
        Ok(Err(code)) => (code, Html(page("Risposta non inviata", "<h1>Risposta non inviata</h1><p>Ricarichi la pagina e riprovi (il testo deve avere da 2 a 10000 caratteri).</p>"))).into_response(),
        Err(response) => response,
    }
}

// ---------------------------------------------------------------------------------------------
// Pages (Italian; the look of Italian public-administration sites; no scripts, no external assets)
// ---------------------------------------------------------------------------------------------

const CSS: &str = "*{box-sizing:border-box}body{margin:0;font-family:'Titillium Web',Geneva,Tahoma,sans-serif;color:#191919;\
background:#fff;line-height:1.5;font-size:18px}.it-header{background:#0066cc;color:#fff;padding:12px 24px}\
.it-header a{color:#fff}.it-header .brand{font-size:1.4rem;font-weight:700}main{max-width:800px;margin:0 auto;padding:24px}\
h1{font-size:2rem;margin:.5rem 0 1rem}h2{font-size:1.4rem}label{display:block;font-weight:600;margin-top:16px}\
input,select,textarea{width:100%;font:inherit;padding:8px;border:1px solid #5c6f82;border-radius:4px;margin-top:4px}\
input:focus,select:focus,textarea:focus,button:focus,a:focus{outline:3px solid #ffbf47;outline-offset:2px}\
.hint{color:#455b71;font-size:.9rem}.error{color:#a61919;font-weight:600}[aria-invalid=true]{border:2px solid #a61919}\
button{margin-top:24px;background:#0066cc;color:#fff;border:0;border-radius:4px;padding:12px 24px;font:inherit;font-weight:600;cursor:pointer}\
.callout{border-left:6px solid #0066cc;background:#f0f6fc;padding:12px 16px;margin:16px 0}\
.callout.warning{border-color:#a66300;background:#fff7e6}.thread{list-style:none;padding:0}\
.thread li{border:1px solid #d9dadb;border-radius:4px;padding:12px;margin:12px 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}dt{font-weight:600}dd{margin:0}\
.thread .who{font-weight:600;white-space:normal}.badge{display:inline-block;background:#0066cc;color:#fff;border-radius:4px;padding:2px 8px}\
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;color:#0066cc;padding:8px}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"it\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{} – Assistenza CPortal</title><style>{CSS}</style></head>\
         <body><a class=\"skip\" href=\"#contenuto\">Vai al contenuto</a><header class=\"it-header\"><span class=\"brand\">\
         Comune – Assistenza CPortal</span></header><main id=\"contenuto\">{body}</main></body></html>\n",
        e(title)
    )
}

fn form_html(inner: &Inner, fields: &Fields, errors: &BTreeMap<&'static str, String>) -> String {
    let now = inner.clock.now();
    let token = form_token(&inner.key, now.timestamp());
    let notice = inner
        .store
        .lock()
        .ok()
        .and_then(|store| suspensions::calendar(store.conn(), &inner.config.calendar).ok())
        .map(|cal| crate::notify::service_notice(&cal, now, inner.config.helpdesk.language));
    let value = |name: &str| e(&fields.values.get(name).cloned().unwrap_or_default());
    let field = |name: &'static str, label: &str, hint: &str, input: String| -> String {
        let error = errors
            .get(name)
            .map(|m| format!("<p class=\"error\" id=\"{name}-error\">{}</p>", e(m)))
            .unwrap_or_default();
        let hint_html = if hint.is_empty() {
            String::new()
        } else {
            format!("<p class=\"hint\" id=\"{name}-hint\">{}</p>", e(hint))
        };
        format!(
            "<div><label for=\"{name}\">{}</label>{hint_html}{error}{input}</div>",
            e(label)
        )
    };
    let attrs = |name: &str, required: bool| -> String {
        let mut described = Vec::new();
        if errors.contains_key(name) {
            described.push(format!("{name}-error"));
        }
        format!(
            "id=\"{name}\" name=\"{name}\"{}{}{}",
            if required {
                " required aria-required=\"true\""
            } else {
                ""
            },
            if errors.contains_key(name) {
                " aria-invalid=\"true\""
            } else {
                ""
            },
            if described.is_empty() {
                String::new()
            } else {
                format!(" aria-describedby=\"{}\"", described.join(" "))
            }
        )
    };
    let options: String = inner
        .http
        .categories
        .iter()
        .map(|c| {
            let selected = if fields.values.get("category") == Some(c) {
                " selected"
            } else {
                ""
            };
            format!("<option{selected}>{}</option>", e(c))
        })
        .collect();
    let mut body = String::from("<h1>Richiesta di assistenza tecnica</h1>");
    if let Some(n) = &notice {
        body.push_str(&format!(
            "<div class=\"callout\" role=\"status\"><p>Orari del servizio: {}.</p>",
            e(&n.hours)
        ));
        if !n.message.is_empty() {
            body.push_str(&format!("<p><strong>{}</strong></p>", e(&n.message)));
        }
        body.push_str("</div>");
    }
    body.push_str(
        "<div class=\"callout warning\"><p><strong>Attenzione:</strong> l'assistenza riguarda solo le difficoltà \
         informatiche nell'uso del portale CPortal. Per questioni edilizie, urbanistiche o regolamentari si rivolga \
         agli uffici comunali.</p></div>",
    );
    if !errors.is_empty() {
        body.push_str(
            "<div class=\"callout warning\" role=\"alert\"><p class=\"error\">Controlli i campi segnalati.</p></div>",
        );
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/api/v1/tickets\" enctype=\"multipart/form-data\" novalidate>\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        e(&token)
    ));
    body.push_str(&field(
        "name",
        "Nome e cognome",
        "",
        format!(
            "<input type=\"text\" autocomplete=\"name\" {} value=\"{}\">",
            attrs("name", true),
            value("name")
        ),
    ));
    body.push_str(&field(
        "email",
        "Indirizzo e-mail",
        "Riceverà qui le risposte.",
        format!(
            "<input type=\"email\" autocomplete=\"email\" {} value=\"{}\">",
            attrs("email", true),
            value("email")
        ),
    ));
    body.push_str(&field(
        "phone",
        "Telefono (facoltativo)",
        "",
        format!(
            "<input type=\"tel\" autocomplete=\"tel\" {} value=\"{}\">",
            attrs("phone", false),
            value("phone")
        ),
    ));
    body.push_str(&field(
        "pratica",
        "Numero della pratica (facoltativo)",
        "Ad esempio PE-2026-001234.",
        format!(
            "<input type=\"text\" {} value=\"{}\">",
            attrs("pratica", false),
            value("pratica")
        ),
    ));
    body.push_str(&field(
        "category",
        "Argomento",
        "",
        format!("<select {}>{options}</select>", attrs("category", true)),
    ));
    body.push_str(&field(
        "subject",
        "Oggetto",
        "",
        format!(
            "<input type=\"text\" {} value=\"{}\">",
            attrs("subject", true),
            value("subject")
        ),
    ));
    body.push_str(&field(
        "description",
        "Descrizione del problema",
        "Che cosa stava facendo, che cosa è successo, eventuali messaggi di errore.",
        format!(
            "<textarea rows=\"8\" {}>{}</textarea>",
            attrs("description", true),
            value("description")
        ),
    ));
    body.push_str(&field(
        "files",
        "Allegati (facoltativi)",
        "Ad esempio una schermata dell'errore.",
        "<input type=\"file\" id=\"files\" name=\"files\" multiple>".to_string(),
    ));
    body.push_str("<button type=\"submit\">Invia la richiesta</button></form>");
    page("Richiesta di assistenza", &body)
}

fn created_html(id: TicketId, link: &str) -> String {
    page(
        "Richiesta registrata",
        &format!(
            "<h1>Richiesta registrata</h1><p>La sua richiesta è registrata con il numero <span class=\"badge\">{}</span>. \
             Ha ricevuto una conferma per e-mail.</p><p><a href=\"{}\">Segua lo stato della richiesta</a></p>",
            e(&id.to_string()),
            e(link)
        ),
    )
}

fn status_html(row: &tickets::TicketRow, technician: Option<&str>, thread: &[PublicMessage], token: &str) -> String {
    let state = match row.status {
        crate::model::Status::New => "ricevuta, in attesa di presa in carico",
        crate::model::Status::Assigned => "presa in carico",
        crate::model::Status::Resolved => "risolta",
        crate::model::Status::Archived => "risolta e archiviata",
    };
    let mut body = format!(
        "<h1>Richiesta {}</h1><p><strong>{}</strong></p><dl><dt>Stato</dt><dd>{}</dd><dt>Tecnico</dt><dd>{}</dd>\
         <dt>Livello di assistenza</dt><dd>{}</dd></dl><h2>Messaggi</h2><ol class=\"thread\">",
        e(&row.id.to_string()),
        e(&row.subject),
        e(state),
        e(technician.unwrap_or("non ancora assegnato")),
        if row.level == crate::model::Level::Second {
            "secondo livello"
        } else {
            "primo livello"
        }
    );
    for m in thread {
        let who = if m.incoming { "Lei" } else { "Assistenza CPortal" };
        let when =
            m.at.with_timezone(&chrono_tz::Europe::Rome)
                .format("%d/%m/%Y %H:%M")
                .to_string();
        // Letters are wrapped for mail clients: show their paragraphs, not their line breaks.
        let paragraphs: String = m
            .text
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{}</p>", e(&p)))
            .collect();
        body.push_str(&format!(
            "<li><p class=\"who\">{} – {}</p>{paragraphs}</li>",
            e(who),
            e(&when)
        ));
    }
    body.push_str("</ol>");
    let action = format!("/t/{}/{}", row.id, row.secret);
    let note = if matches!(
        row.status,
        crate::model::Status::Resolved | crate::model::Status::Archived
    ) {
        "<p class=\"hint\" id=\"text-hint\">Se il problema si ripresenta, scriva qui: la richiesta verrà riaperta.</p>"
    } else {
        "<p class=\"hint\" id=\"text-hint\">Aggiunga informazioni o risponda alle domande del tecnico.</p>"
    };
    body.push_str(&format!(
        "<h2>Rispondi</h2><form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"text\">Il suo messaggio</label>{note}<textarea id=\"text\" name=\"text\" rows=\"6\" required \
         aria-describedby=\"text-hint\"></textarea><button type=\"submit\">Invia</button></form>",
        e(&action),
        e(token)
    ));
    page(&format!("Richiesta {}", row.id), &body)
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
