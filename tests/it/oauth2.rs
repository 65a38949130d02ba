//! Issue 16, section 1: OAuth2 logins against the real Dovecot (its `oauth2` passdb asks the
//! test's token server, `scripts/oauth2-token.py`, whether a token lives) for IMAP and for SMTP
//! submission, with tokens that expire during the test, a rotated refresh token, and a
//! revoked client.

use std::time::{Duration, Instant};

use crate::support::{MailServer, Sandbox, http, simple_message, stdout};

/// A mailbox and an outbox on the shared Dovecot (IMAP and submission, plain on loopback),
/// both logging in with the OAuth2 client `client`; `extra` goes into [helpdesk]'s end.
fn oauth2_config(
    server: &MailServer,
    helpdesk: &str,
    client: &(String, String),
    sandbox: &Sandbox,
    grant: &str,
) -> String {
    let secret = sandbox.path("client.secret");
    std::fs::write(&secret, format!("{}\n", client.1)).expect("secret");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let table = |section: &str| {
        format!(
            "[{section}.oauth2]\ntoken_url = \"https://127.0.0.1:{port}/token\"\nclient_id = \"{id}\"\n\
             client_secret_file = \"client.secret\"\nscope = \"https://mail.example.test/.default\"\n{grant}\n\
             ca_file = \"{ca}\"\n",
            port = server.token_port,
            id = client.0,
            ca = server.ca_pem.display(),
        )
    };
    format!(
        "[helpdesk]\naddress = \"{helpdesk}\"\n\
         [mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"{helpdesk}\"\n\
         auth = \"oauth2\"\npoll_seconds = 1\nlogin_retry_seconds = 600\n{mailbox}\
         [smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {submission}\ntls = \"none\"\nusername = \"{helpdesk}\"\n\
         auth = \"oauth2\"\n{smtp}",
        imap = server.imap_port,
        submission = server.submission_port,
        mailbox = table("mailbox"),
        smtp = table("smtp"),
    )
}

fn tickets(sandbox: &Sandbox) -> usize {
    let out = sandbox.run(&["tickets", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    list.as_array().map_or(0, Vec::len)
}

/// Waits (up to 60 s) until `done` holds.
fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Tokens living one second expire between waves of mail (and the IMAP session is ended by
/// the server between them, so the next login needs a new token): every message becomes a
/// ticket, every acknowledgment leaves through submission, and the token server issued many
/// tokens. IMAP logs in with OAUTHBEARER (the standard one, offered next to XOAUTH2), SMTP
/// with XOAUTH2.
#[test]
fn imap_and_submission_log_in_with_tokens_that_expire_during_the_intake() {
    let Some(server) = MailServer::from_env("oauth2_expiring_tokens") else {
        return;
    };
    let (helpdesk, _) = server.add_user("oauth-helpdesk");
    let client = server.add_oauth2_client(&helpdesk, 1, None);
    let sandbox = Sandbox::new();
    let config = oauth2_config(&server, &helpdesk, &client, &sandbox, "grant = \"client_credentials\"");
    std::fs::write(sandbox.path("config.toml"), config).expect("config");

    let test = sandbox.run(&["oauth2", "test"]);
    let said = stdout(&test);
    assert_eq!(
        crate::support::code(&test),
        0,
        "{said}{}",
        crate::support::stderr(&test)
    );
    assert!(said.contains("token: fetched: ******** ("), "{said}");
    assert!(said.contains("logged in with the token"), "{said}");
    assert!(!said.contains("at-"), "no token in the output: {said}");

    let mut daemon = sandbox.spawn_daemon(&["run"]);
    let imap_login = format!("imap-login: Info: Login: user=<{helpdesk}>, method=OAUTHBEARER");
    until("the first IMAP login", || !server.log_lines(&imap_login).is_empty());
    let requesters: Vec<String> = (0..6).map(|i| server.add_user(&format!("citizen{i}")).0).collect();
    for (wave, pair) in requesters.chunks(2).enumerate() {
        // Past the tokens' lifetime: the daemon's token has expired.
        std::thread::sleep(Duration::from_millis(1500));
        server.kick(&helpdesk);
        for (i, requester) in pair.iter().enumerate() {
            server.deliver(
                &helpdesk,
                &simple_message(
                    requester,
                    &format!("Richiesta {wave}-{i}"),
                    &format!("oauth-{wave}-{i}@example.org"),
                    "Non riesco ad accedere.",
                ),
            );
        }
        let expected = 2 * (wave + 1);
        until("the wave's tickets", || tickets(&sandbox) == expected);
    }
    until("every acknowledgment delivered", || {
        requesters.iter().all(|r| server.count(r, "INBOX", &["all"]) == 1)
    });
    assert!(daemon.is_running());
    assert_eq!(daemon.terminate(), Some(0));

    let issued = server.oauth2_client(&client.0)["issued"].as_u64().expect("issued");
    assert!(
        issued >= 4,
        "a token per wave at least (tokens expired and were fetched again): {issued}"
    );
    let imap_logins = server.log_lines(&imap_login).len();
    assert!(imap_logins >= 4, "logged in again after each kick: {imap_logins}");
    let smtp_login = format!("submission-login: Info: Login: user=<{helpdesk}>, method=XOAUTH2");
    // Sessions are reused while they live; the kicks end them, so each wave logs in again.
    let smtp_logins = server.log_lines(&smtp_login).len();
    assert!(smtp_logins >= 3, "a submission login per wave at least: {smtp_logins}");
}

/// `grant = "refresh_token"`: the provider rotates the refresh token at each use, and the new
/// one is written back to refresh_token_file (the old one is spent), so a second run still
/// logs in.
#[test]
fn a_rotated_refresh_token_is_saved_and_works_at_the_next_start() {
    let Some(server) = MailServer::from_env("oauth2_refresh_token") else {
        return;
    };
    let (helpdesk, _) = server.add_user("oauth-refresh");
    let client = server.add_oauth2_client(&helpdesk, 60, Some("r-initial"));
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("refresh.token"), "r-initial\n").expect("refresh token");
    std::fs::set_permissions(
        sandbox.path("refresh.token"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    let config = oauth2_config(
        &server,
        &helpdesk,
        &client,
        &sandbox,
        "grant = \"refresh_token\"\nrefresh_token_file = \"refresh.token\"",
    );
    std::fs::write(sandbox.path("config.toml"), config).expect("config");
    for run in 1..=2 {
        let test = sandbox.run(&["oauth2", "test"]);
        let said = stdout(&test);
        assert_eq!(
            crate::support::code(&test),
            0,
            "run {run}: {said}{}",
            crate::support::stderr(&test)
        );
        let saved = std::fs::read_to_string(sandbox.path("refresh.token")).expect("read");
        let current = server.oauth2_client(&client.0)["refresh"]
            .as_str()
            .expect("refresh")
            .to_string();
        assert_eq!(saved.trim(), current, "run {run}: the rotated token is in the file");
        assert!(
            !said.contains(&current),
            "run {run}: no refresh token in the output: {said}"
        );
    }
    assert_eq!(server.oauth2_client(&client.0)["refreshed"], 2);
}

/// A revoked client (its secret withdrawn): the server refuses its token, the token endpoint
/// refuses a new one with `invalid_client`. That is a refused login, named with the fix, on
/// the long login backoff with /healthz saying so, and an alarm (`mailbox_minutes = 0`, in
/// service hours: at once; the outbox logs in with the same client, so the alarm is in the
/// log and /healthz) — not a crash and not a loop.
#[test]
fn a_revoked_client_is_a_clear_refusal_not_a_crash_loop() {
    let Some(server) = MailServer::from_env("oauth2_revoked") else {
        return;
    };
    let (helpdesk, _) = server.add_user("oauth-revoked");
    let client = server.add_oauth2_client(&helpdesk, 3600, None);
    let sandbox = Sandbox::new();
    let port = crate::support::free_port();
    let config = oauth2_config(&server, &helpdesk, &client, &sandbox, "grant = \"client_credentials\"")
        + &format!(
            "[alarms]\nmailbox_minutes = 0\n[http]\nlisten = \"127.0.0.1:{port}\"\napi_token = \"portal-token-0123456789\"\n"
        );
    std::fs::write(sandbox.path("config.toml"), config).expect("config");
    let log = sandbox.path("daemon.log");
    // A Tuesday at 10:00: the office is open.
    let mut daemon = sandbox.spawn_daemon_logging_to(&["--now=2026-12-01T10:00:00+01:00", "run"], &log);
    let healthz = |daemon: &mut crate::support::Daemon| {
        assert!(daemon.is_running(), "the daemon ended");
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()
            .then(|| http(port, "GET", "/healthz", &[], b""))
    };
    let imap_login = format!("imap-login: Info: Login: user=<{helpdesk}>");
    until("the first IMAP login", || !server.log_lines(&imap_login).is_empty());
    assert_eq!(healthz(&mut daemon).map(|a| a.status), Some(200));
    server.revoke_oauth2_client(&client.0);
    server.kick(&helpdesk);
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        if let Some(answer) = healthz(&mut daemon).filter(|a| a.status != 200) {
            break answer;
        }
        assert!(Instant::now() < deadline, "/healthz never said the refusal");
        std::thread::sleep(Duration::from_millis(100));
    };
    let body = answer.json();
    let problem = &body["problems"][0];
    assert_eq!(problem["section"], "mailbox", "{body}");
    assert_eq!(problem["problem"], "login_refused", "{body}");
    let message = problem["message"].as_str().expect("message");
    assert!(
        message.contains("invalid_client") && message.contains("client_secret_file") && message.contains(&client.0),
        "{message}"
    );
    // A few seconds in which a crash loop would have restarted and a retry loop tried again.
    std::thread::sleep(Duration::from_secs(3));
    let again = healthz(&mut daemon).expect("healthz").json();
    assert_eq!(again["problems"][0]["attempts"], 1, "{again}");
    let alarm = &again["alarms"][0];
    assert_eq!(alarm["alarm"], "mailbox", "{again}");
    assert!(
        alarm["message"].as_str().is_some_and(|m| m.contains("invalid_client")),
        "{again}"
    );
    assert_eq!(daemon.terminate(), Some(0));
    let said = std::fs::read_to_string(&log).expect("log");
    assert!(
        said.contains("refused client") && said.contains("Next attempt in 10 min"),
        "{said}"
    );
    assert!(said.contains("ALARM: the mailbox cannot be read"), "{said}");
    assert!(!said.contains("at-"), "no token in the log");
}
