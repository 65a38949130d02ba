//! SMTP logins with an OAuth2 access token (`[smtp] auth = "oauth2"`): SASL XOAUTH2, the one
//! token mechanism lettre speaks (and the one Microsoft 365 and Gmail offer for SMTP).
//!
//! Each message logs in with the current token (`crate::oauth2` caches it). A login the
//! server refuses gives the token up and tries once more with a fresh one; a second refusal
//! is the usual [`LoginRefused`](super::LoginRefused), and the courier waits on its login
//! backoff. Kept apart from the sending loop so the two change independently.

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{LoginRefused, smtp_error, smtp_transport_with};
use crate::config::{OAuth2, Server};
use crate::oauth2::{self, AccessToken};

/// `server`'s transport logging in with `token`.
fn transport(server: &Server, token: &AccessToken) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let user = server.username.clone().unwrap_or_default();
    let credentials = Credentials::new(user, token.token.expose().to_string());
    smtp_transport_with(server, Some((credentials, Some(vec![Mechanism::Xoauth2]))))
}

/// Runs `step` with a current token; on a refused login, once more with a fresh one.
async fn with_token<T, F, Fut>(server: &Server, settings: &OAuth2, step: F) -> anyhow::Result<T>
where
    F: Fn(AsyncSmtpTransport<Tokio1Executor>) -> Fut,
    Fut: std::future::Future<Output = Result<T, lettre::transport::smtp::Error>>,
{
    let user = server.username.as_deref();
    let mut tried_fresh = false;
    loop {
        let token = oauth2::access_token(settings).await?;
        let result = step(transport(server, &token)?).await.map_err(|e| smtp_error(e, user));
        match result {
            Err(e) if e.downcast_ref::<LoginRefused>().is_some() && !tried_fresh => {
                tracing::info!(
                    user = user.unwrap_or(""),
                    "SMTP refused the OAuth2 token: fetching a new one"
                );
                oauth2::rejected(settings, &token.token).await;
                tried_fresh = true;
            }
            other => return other,
        }
    }
}

/// Sends `raw` to `envelope`'s recipients, logging in with a token.
pub(super) async fn send_raw(server: &Server, envelope: &Envelope, raw: &[u8]) -> anyhow::Result<()> {
    let settings = server
        .oauth2
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("[smtp] has no oauth2 settings"))?;
    with_token(server, settings, |client| async move {
        client.send_raw(envelope, raw).await.map(|_| ())
    })
    .await
}

/// Logs in with a token and says goodbye, for `check-config --connect` and `oauth2 test`.
pub(super) async fn probe(server: &Server) -> anyhow::Result<()> {
    let settings = server
        .oauth2
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("[smtp] has no oauth2 settings"))?;
    let answered = with_token(server, settings, |client| async move { client.test_connection().await }).await?;
    anyhow::ensure!(answered, "the server did not answer NOOP after the login");
    Ok(())
}
