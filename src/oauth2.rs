//! OAuth2 access tokens for the IMAP and SMTP logins (`auth = "oauth2"`), and the SASL
//! strings that carry them (XOAUTH2, and OAUTHBEARER of RFC 7628).
//!
//! A token is fetched from the provider's token endpoint over HTTPS (hyper's HTTP/1.1 client
//! over tokio-rustls: one POST now and then needs no larger client), cached in memory for the
//! process, and fetched again a little before it expires. A login the server refuses with a
//! cached token calls [`rejected`], and the next [`access_token`] fetches a fresh one: one
//! more try, then the caller's usual backoff. With `grant = "refresh_token"`, a refresh token
//! the provider rotates replaces the file's (a new file renamed over it) before the access
//! token is used.
//!
//! A provider that refuses the client or the grant itself (`invalid_client`,
//! `invalid_grant`, …: a secret expired or revoked, consent withdrawn) is a [`Refused`]: like
//! a refused password, only a person can fix it, and the daemon waits on its login backoff and
//! raises the alarm. Anything else (no answer, a 5xx) is a plain error, retried like the
//! network.
//!
//! Secrets (the client secret, the refresh and access tokens) are never logged nor put in an
//! error: they travel as [`Secret`]s, whose `Debug` is a mask.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::config::{Grant, OAuth2, Secret};

/// How long the token endpoint may take, from the connection to the last byte.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read from the token endpoint.
const MAX_ANSWER: usize = 64 * 1024;

/// How long before its expiry a token is replaced (a quarter of a short lifetime).
const EARLY: Duration = Duration::from_secs(60);

/// An access token and its lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// Seconds it lives, as the provider said (`expires_in`).
    pub lifetime: Duration,
    /// Whether it was fetched for this call (rather than taken from the cache).
    pub fresh: bool,
}

/// The provider refused the client or the grant: a secret expired or revoked, a withdrawn
/// consent, a scope not granted. Retrying soon cannot help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The token endpoint.
    pub token_url: String,
    /// The client id.
    pub client_id: String,
    /// The HTTP status.
    pub status: u16,
    /// The OAuth2 error code (`invalid_client`, `invalid_grant`, …).
    pub error: String,
    /// The provider's `error_description`, if any.
    pub description: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the token endpoint {} refused client {} ({}): {}",
            self.token_url, self.client_id, self.status, self.error
        )?;
        if !self.description.is_empty() {
            write!(f, " ({})", self.description)?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// The OAuth2 error codes that say the client or the grant is at fault (RFC 6749 §5.2).
const REFUSALS: [&str; 6] = [
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
];

/// What the cache holds for one client.
#[derive(Default)]
struct Slot {
    /// The current token and when to replace it.
    token: Option<(Secret, Instant, Duration)>,
    /// The refresh token in use (rotated ones replace the configured one).
    refresh: Option<Secret>,
}

/// One slot per client (endpoint, id, scope, grant), shared by the IMAP and SMTP logins.
type Slots = Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>;

static CACHE: LazyLock<Slots> = LazyLock::new(Slots::default);

fn slot(settings: &OAuth2) -> Arc<tokio::sync::Mutex<Slot>> {
    let refresh_file = match &settings.grant {
        Grant::RefreshToken { file, .. } => file.display().to_string(),
        Grant::ClientCredentials => String::new(),
    };
    let key = format!(
        "{}\n{}\n{}\n{refresh_file}",
        settings.token_url,
        settings.client_id,
        settings.scope.as_deref().unwrap_or("")
    );
    let mut slots = CACHE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    slots.entry(key).or_default().clone()
}

/// A token for `settings`: the cached one while it is not about to expire, else a new one
/// from the token endpoint.
pub async fn access_token(settings: &OAuth2) -> anyhow::Result<AccessToken> {
    let slot = slot(settings);
    let mut slot = slot.lock().await;
    if let Some((token, replace_at, lifetime)) = &slot.token
        && Instant::now() < *replace_at
    {
        return Ok(AccessToken {
            token: token.clone(),
            lifetime: *lifetime,
            fresh: false,
        });
    }
    slot.token = None;
    let refresh = match &settings.grant {
        Grant::ClientCredentials => None,
        Grant::RefreshToken { token, .. } => Some(slot.refresh.clone().unwrap_or_else(|| token.clone())),
    };
    let fetched = tokio::time::timeout(TIMEOUT, fetch(settings, refresh.as_ref()))
        .await
        .map_err(|_| {
            anyhow!(
                "the token endpoint {} did not answer within {} s",
                settings.token_url,
                TIMEOUT.as_secs()
            )
        })??;
    if let (Grant::RefreshToken { file, .. }, Some(rotated)) = (&settings.grant, &fetched.refresh)
        && Some(rotated) != refresh.as_ref()
    {
        // The provider has spent the old one: the new one is used from now on, saved or not.
        slot.refresh = Some(rotated.clone());
        match save_refresh_token(file, rotated) {
            Ok(()) => tracing::info!(file = %file.display(), "the provider rotated the refresh token: saved"),
            Err(e) => tracing::error!(
                "{e:#}: the new refresh token works until sportello stops, the file holds a spent one; \
                 fix the folder's permissions now"
            ),
        }
    }
    let early = EARLY.min(fetched.lifetime / 4);
    slot.token = Some((
        fetched.token.clone(),
        Instant::now() + fetched.lifetime.saturating_sub(early),
        fetched.lifetime,
    ));
    tracing::debug!(token_url = %settings.token_url, lifetime_s = fetched.lifetime.as_secs(), "OAuth2 access token fetched");
    Ok(AccessToken {
        token: fetched.token,
        lifetime: fetched.lifetime,
        fresh: true,
    })
}

/// The server refused `token`: it is not offered again (the next [`access_token`] fetches
/// a new one).
pub async fn rejected(settings: &OAuth2, token: &Secret) {
    let slot = slot(settings);
    let mut slot = slot.lock().await;
    if slot.token.as_ref().is_some_and(|(t, _, _)| t == token) {
        slot.token = None;
    }
}

/// What the token endpoint gave.
struct Fetched {
    token: Secret,
    lifetime: Duration,
    refresh: Option<Secret>,
}

/// The request body of `settings`' grant.
fn request_body(settings: &OAuth2, refresh: Option<&Secret>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    match refresh {
        Some(refresh) => {
            form.append_pair("grant_type", "refresh_token");
            form.append_pair("refresh_token", refresh.expose());
        }
        None => {
            form.append_pair("grant_type", "client_credentials");
        }
    }
    form.append_pair("client_id", &settings.client_id);
    if let Some(secret) = &settings.client_secret {
        form.append_pair("client_secret", secret.expose());
    }
    if let Some(scope) = &settings.scope {
        form.append_pair("scope", scope);
    }
    form.finish()
}

/// Reads the token endpoint's answer: a token, a [`Refused`], or an error.
fn read_answer(settings: &OAuth2, status: u16, body: &[u8]) -> anyhow::Result<Fetched> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let text = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    if !(200..300).contains(&status) {
        let error = text("error").unwrap_or_default();
        let description: String = text("error_description")
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        if REFUSALS.contains(&error.as_str()) || (status == 401 && error.is_empty()) {
            return Err(Refused {
                token_url: settings.token_url.clone(),
                client_id: settings.client_id.clone(),
                status,
                error: if error.is_empty() { "unauthorized".into() } else { error },
                description,
            }
            .into());
        }
        anyhow::bail!(
            "the token endpoint {} answered {status}{}",
            settings.token_url,
            if error.is_empty() {
                String::new()
            } else {
                format!(": {error} {description}")
            }
        );
    }
    let token = text("access_token")
        .filter(|t| !t.is_empty() && t.is_ascii() && !t.chars().any(|c| c.is_ascii_control()))
        .ok_or_else(|| {
            anyhow!(
                "the token endpoint {} answered without an access_token",
                settings.token_url
            )
        })?;
    let expires_in = json
        .as_ref()
        .and_then(|j| j.get("expires_in"))
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(3600);
    Ok(Fetched {
        token: Secret::new(token),
        lifetime: Duration::from_secs(expires_in.clamp(1, 24 * 3600)),
        refresh: text("refresh_token").filter(|t| !t.is_empty()).map(Secret::new),
    })
}

/// Asks the token endpoint for a token.
async fn fetch(settings: &OAuth2, refresh: Option<&Secret>) -> anyhow::Result<Fetched> {
    let (status, body) = post_form(settings, request_body(settings, refresh))
        .await
        .with_context(|| format!("asking {} for an access token", settings.token_url))?;
    read_answer(settings, status, &body)
}

fn tls_config(ca_file: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    crate::tls::client_config(ca_file)
}

/// POSTs a urlencoded `body` to the token endpoint over HTTPS; the status and the body.
async fn post_form(settings: &OAuth2, body: String) -> anyhow::Result<(u16, Vec<u8>)> {
    let host = settings.token_host.as_str();
    let tcp = TcpStream::connect((host, settings.token_port))
        .await
        .with_context(|| format!("connecting to {host}:{}", settings.token_port))?;
    let name = ServerName::try_from(host.to_string()).map_err(|e| anyhow!("bad TLS name {host}: {e}"))?;
    let tls = TlsConnector::from(tls_config(settings.ca_file.as_deref())?)
        .connect(name, tcp)
        .await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await?;
    let driver = tokio::spawn(connection);
    let authority = if settings.token_port == 443 {
        host.to_string()
    } else {
        format!("{host}:{}", settings.token_port)
    };
    let request = hyper::Request::post(settings.token_path.as_str())
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(hyper::header::ACCEPT, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("sportello/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(Bytes::from(body)))?;
    let answer = sender.send_request(request).await;
    let result = async {
        let answer = answer?;
        let status = answer.status().as_u16();
        let body = Limited::new(answer.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| anyhow!("reading the answer: {e}"))?
            .to_bytes();
        Ok((status, body.to_vec()))
    }
    .await;
    driver.abort();
    result
}

/// Replaces `file` with `token` atomically: a new file in the same folder, synced, renamed
/// over it, with the old file's permissions (0600 when it had none).
fn save_refresh_token(file: &Path, token: &Secret) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let folder = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let mode = std::fs::metadata(file)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o600);
    let written = (|| -> std::io::Result<()> {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        out.write_all(token.expose().as_bytes())?;
        out.write_all(b"\n")?;
        out.set_permissions(std::fs::Permissions::from_mode(mode))?;
        out.sync_all()?;
        std::fs::rename(&tmp, file)?;
        std::fs::File::open(folder)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| {
        format!(
            "saving the rotated refresh token in {} (the folder must be writable by the user running sportello)",
            file.display()
        )
    })
}

/// The SASL mechanisms that carry a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// RFC 7628, the standard one.
    OAuthBearer,
    /// Google's and Microsoft's older one.
    XOAuth2,
}

impl Mechanism {
    /// The SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// The one to use among the server's `AUTH=` mechanisms (any case): OAUTHBEARER when
    /// offered, else XOAUTH2; `None` when it offers neither.
    pub fn choose<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Mechanism> {
        let offered: Vec<String> = offered.into_iter().map(str::to_ascii_uppercase).collect();
        [Mechanism::OAuthBearer, Mechanism::XOAuth2]
            .into_iter()
            .find(|m| offered.iter().any(|o| o == m.name()))
    }

    /// The client's first message (before base64): the user and the token.
    pub fn initial_response(self, user: &str, token: &Secret, host: &str, port: u16) -> Secret {
        let token = token.expose();
        Secret::new(match self {
            Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01"),
            Mechanism::OAuthBearer => {
                // RFC 7628 §3.1: the GS2 header names the user, with ',' and '=' escaped.
                let user = user.replace('=', "=3D").replace(',', "=2C");
                format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01")
            }
        })
    }

    /// The answer to the server's error challenge, which ends the exchange (RFC 7628 §3.2.3
    /// asks for a lone `\x01`; XOAUTH2 for an empty line).
    pub fn after_error(self) -> &'static str {
        match self {
            Mechanism::OAuthBearer => "\x01",
            Mechanism::XOAuth2 => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn settings(grant: Grant) -> OAuth2 {
        OAuth2 {
            token_url: "https://login.example.test/tenant/token".into(),
            token_host: "login.example.test".into(),
            token_port: 443,
            token_path: "/tenant/token".into(),
            client_id: "app-1".into(),
            client_secret: Some(Secret::new("s3cr3t&=".into())),
            client_secret_file: None,
            scope: Some("https://outlook.office365.com/.default".into()),
            grant,
            ca_file: None,
        }
    }

    #[test]
    fn the_wire_forms_of_both_mechanisms() {
        let token = Secret::new("ya29.tok".into());
        assert_eq!(
            Mechanism::XOAuth2
                .initial_response("helpdesk@example.test", &token, "imap.example.test", 993)
                .expose(),
            "user=helpdesk@example.test\x01auth=Bearer ya29.tok\x01\x01"
        );
        assert_eq!(
            Mechanism::OAuthBearer
                .initial_response("a,b=c@example.test", &token, "imap.example.test", 993)
                .expose(),
            "n,a=a=2Cb=3Dc@example.test,\x01host=imap.example.test\x01port=993\x01auth=Bearer ya29.tok\x01\x01"
        );
    }

    #[test]
    fn the_standard_mechanism_is_chosen_when_offered() {
        assert_eq!(Mechanism::choose(["PLAIN", "xoauth2"]), Some(Mechanism::XOAuth2));
        assert_eq!(
            Mechanism::choose(["XOAUTH2", "OAUTHBEARER"]),
            Some(Mechanism::OAuthBearer)
        );
        assert_eq!(Mechanism::choose(["PLAIN", "LOGIN"]), None);
    }

    #[test]
    fn the_request_carries_the_grant_and_the_secret_encoded() {
        let cc = settings(Grant::ClientCredentials);
        let body = request_body(&cc, None);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("grant_type", "client_credentials"),
                ("client_id", "app-1"),
                ("client_secret", "s3cr3t&="),
                ("scope", "https://outlook.office365.com/.default"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let rt = settings(Grant::RefreshToken {
            file: PathBuf::from("/x"),
            token: Secret::new("r1".into()),
        });
        let body = request_body(&rt, Some(&Secret::new("r2".into())));
        assert!(
            body.starts_with("grant_type=refresh_token&refresh_token=r2&client_id=app-1"),
            "{body}"
        );
    }

    #[test]
    fn a_refused_client_is_told_apart_from_trouble_and_a_token_is_read() {
        let s = settings(Grant::ClientCredentials);
        let revoked = read_answer(
            &s,
            401,
            br#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired."}"#,
        )
        .err()
        .expect("refused");
        let refused = revoked.downcast_ref::<Refused>().expect("a Refused");
        assert_eq!(refused.error, "invalid_client");
        assert!(refused.description.starts_with("AADSTS7000222"), "{refused}");
        let busy = read_answer(&s, 503, b"<html>busy</html>").err().expect("error");
        assert!(busy.downcast_ref::<Refused>().is_none(), "{busy}");
        let ok = read_answer(
            &s,
            200,
            br#"{"access_token":"t-1","token_type":"Bearer","expires_in":"5","refresh_token":"r-9"}"#,
        )
        .expect("token");
        assert_eq!(ok.token.expose(), "t-1");
        assert_eq!(ok.lifetime, Duration::from_secs(5));
        assert_eq!(ok.refresh.as_ref().map(Secret::expose), Some("r-9"));
        assert!(read_answer(&s, 200, br#"{"token_type":"Bearer"}"#).is_err());
    }

    #[test]
    fn a_rotated_refresh_token_replaces_the_file_keeping_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("google.refresh");
        std::fs::write(&file, "old\n").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        save_refresh_token(&file, &Secret::new("new-token".into())).expect("saved");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "new-token\n");
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(left.len(), 1, "no temporary file left");
    }
}
