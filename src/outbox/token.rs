//! SMTP logins with an OAuth2 access token (`[smtp] auth = "oauth2"`): SASL XOAUTH2, the one
//! token mechanism lettre speaks (and the one Microsoft 365 and Gmail offer for SMTP).
//!
//! Each session (`outbox::smtp`) logs in with the current token (`crate::oauth2` caches it);
//! a session once logged in stays so while it is reused. A login the server refuses gives the
//! token up and tries once more with a fresh one; a second refusal is the usual
//! [`LoginRefused`](super::LoginRefused), and the courier waits on its login backoff. Kept
//! apart from the sessions so the two change independently.

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

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

/// Logs in on an open session (`outbox::smtp`) with a current token, by XOAUTH2; on a
/// refusal, once more on the same session with a fresh token.
pub(super) async fn authenticate(
    conn: &mut AsyncSmtpConnection,
    user: Option<&str>,
    settings: &OAuth2,
) -> anyhow::Result<()> {
    let mut tried_fresh = false;
    loop {
        let token = oauth2::access_token(settings).await?;
        let credentials = Credentials::new(user.unwrap_or_default().to_string(), token.token.expose().to_string());
        match conn
            .auth(&[Mechanism::Xoauth2], &credentials)
            .await
            .map_err(|e| smtp_error(e, user))
        {
            Err(e) if e.downcast_ref::<LoginRefused>().is_some() && !tried_fresh => {
                tracing::info!(
                    user = user.unwrap_or(""),
                    "SMTP refused the OAuth2 token: fetching a new one"
                );
                oauth2::rejected(settings, &token.token).await;
                tried_fresh = true;
            }
            other => return other.map(|_| ()),
        }
    }
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
