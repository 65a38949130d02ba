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

use super::{LoginRefused, smtp_error};
use crate::config::OAuth2;
use crate::oauth2;

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
