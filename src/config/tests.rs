use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(
        text,
        Path::new("/srv/helpdesk"),
        Origin::File(PathBuf::from("/srv/helpdesk/config.toml")),
    )
}

/// The problems of an invalid configuration, as (key, full message) pairs.
fn problems(text: &str) -> Vec<(String, String)> {
    match parse(text) {
        Ok(_) => panic!("configuration should have been refused:\n{text}"),
        Err(e) => e.problems.iter().map(|p| (p.key.clone(), p.to_string())).collect(),
    }
}

#[test]
fn embedded_defaults_are_valid_and_local() {
    let config = parse(EMBEDDED_DEFAULTS).expect("embedded defaults must be valid");
    assert_eq!(config.helpdesk.address, "assistenza@comune.example.it");
    assert_eq!(config.helpdesk.data_dir, PathBuf::from("/srv/helpdesk/var"));
    assert!(matches!(&config.mailbox, Mailbox::Maildir { path } if path == Path::new("/srv/helpdesk/var/inbox")));
    assert!(matches!(&config.smtp, Smtp::File { path } if path == Path::new("/srv/helpdesk/var/outbox")));
    assert_eq!(config.sla.take_in_minutes(Channel::Phone), 90);
    assert_eq!(config.sla.resolution_minutes(Level::Second), 480);
    // The trial allows unauthenticated operators, and must say so at every start.
    assert_eq!(config.warnings().len(), 1);
}

#[test]
fn example_documents_a_valid_production_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("imap.password"), "imap-secret\n").expect("write");
    std::fs::write(dir.path().join("smtp.password"), "smtp-secret\n").expect("write");
    std::fs::write(dir.path().join("http.token"), "portal-token-0123456789abcdef\n").expect("write");
    // As the deployment guide creates them: readable by the daemon's group only.
    for secret in ["imap.password", "smtp.password", "http.token"] {
        private(&dir.path().join(secret));
    }
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml.example"))
        .expect("config.toml.example exists")
        .replace("/etc/sportello/", &format!("{}/", dir.path().display()));
    let config = parse(&text).unwrap_or_else(|e| panic!("example must be valid: {e}"));
    match &config.mailbox {
        Mailbox::Imap {
            server, poll_seconds, ..
        } => {
            assert_eq!(server.password.as_ref().map(Secret::expose), Some("imap-secret"));
            assert_eq!(*poll_seconds, 60);
        }
        other => panic!("example should use IMAP, got {other:?}"),
    }
    assert_eq!(config.operators.len(), 2);
    assert_eq!(config.calendar.local_holidays[0].name, "Santi Pietro e Paolo");
    assert!(config.warnings().is_empty());
    let http = config.http.as_ref().expect("the example enables the portal channel");
    assert_eq!(http.api_token.expose(), "portal-token-0123456789abcdef");
    assert_eq!(http.categories.len(), 6);
}

#[test]
fn an_empty_file_gets_every_default_but_operators() {
    let config = parse("").expect("empty is valid");
    assert!(config.operators.is_empty());
    assert_eq!(config.intake.ack_rate_per_hour, 5);
    assert_eq!(config.intake.spam_days, 30);
    assert!(config.operators_settings.copy_requester_cc);
    assert_eq!(config.helpdesk.archive_after_days, 30);
    assert_eq!(config.calendar.windows.len(), 2);
}

#[test]
fn bad_window_names_its_key_value_and_expected_form() {
    let found = problems("[calendar]\nwindows = [\"8-13\", \"14:00-17:00\"]\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "calendar.windows[0]");
    assert!(
        found[0].1.contains("\"8-13\"") && found[0].1.contains("HH:MM-HH:MM"),
        "{}",
        found[0].1
    );
}

#[test]
fn overlapping_or_reversed_windows_are_refused() {
    assert_eq!(
        problems("[calendar]\nwindows = [\"08:00-13:00\", \"12:00-17:00\"]\n")[0].0,
        "calendar.windows"
    );
    assert_eq!(
        problems("[calendar]\nwindows = [\"13:00-08:00\"]\n")[0].0,
        "calendar.windows[0]"
    );
}

#[test]
fn operator_level_three_is_refused() {
    let found = problems(
        "[security]\ntrusted_authserv_id = \"mx.example.it\"\n\
         [[operator]]\nname = \"A B\"\nemail = \"a@example.it\"\nlevel = 3\n",
    );
    assert_eq!(
        found,
        vec![(
            "operator[0].level".to_string(),
            "operator[0].level = 3: expected 1 or 2".to_string()
        )]
    );
}

#[test]
fn unknown_key_is_named() {
    let found = problems("[helpdesk]\nnmae = \"typo\"\n");
    assert_eq!(found[0].0, "nmae", "{found:?}");
    let found = problems("[sla]\ntake_in_minutes = { portal = 30, fax = 10 }\n");
    assert_eq!(found[0].0, "fax", "{found:?}");
}

#[test]
fn wrong_type_names_the_line() {
    let found = problems("[mailbox]\nkind = \"imap\"\nport = \"993\"\n");
    assert_eq!(found[0].0, "mailbox.port", "{found:?}");
    assert!(found[0].1.contains("line 3"), "{found:?}");
    let found = problems("[[operator]]\nname = \"A\"\nlevel = \"uno\"\n");
    assert_eq!(found[0].0, "operator.level", "{found:?}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let found = problems(
        "[helpdesk]\nlanguage = \"fr\"\naddress = \"not-an-address\"\n\
         [calendar]\ntimezone = \"Europe/Roma\"\nclosed_day_start = \"9\"\nextra_closed_days = [\"2026-13-01\"]\n\
         local_holidays = [\"02-30\"]\n\
         [sla]\ntake_in_minutes = { email = 0 }\n",
    );
    let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "helpdesk.address",
            "helpdesk.language",
            "calendar.timezone",
            "calendar.closed_day_start",
            "calendar.local_holidays[0]",
            "calendar.extra_closed_days[0]",
            "sla.take_in_minutes.email",
        ]
    );
}

#[test]
fn operators_need_authentication_or_an_explicit_trial_switch() {
    let ops = "[[operator]]\nname = \"Giulia Bianchi\"\nemail = \"giulia.bianchi@comune.example.it\"\n";
    assert_eq!(problems(ops)[0].0, "security.trusted_authserv_id");
    let trial = format!("[security]\nallow_unauthenticated_operators = true\n{ops}");
    assert_eq!(parse(&trial).expect("trial is allowed").warnings().len(), 1);
    let prod = format!("[security]\ntrusted_authserv_id = \"mx.comune.example.it\"\n{ops}");
    assert!(parse(&prod).expect("valid").warnings().is_empty());
}

#[test]
fn duplicate_operator_addresses_are_refused() {
    let found = problems(
        "[security]\ntrusted_authserv_id = \"mx\"\n\
         [[operator]]\nname = \"A\"\nemail = \"a@example.it\"\n\
         [[operator]]\nname = \"B\"\nemail = \"A@Example.it\"\n",
    );
    assert_eq!(found[0].0, "operator[1].email");
}

#[test]
fn plain_text_to_a_remote_server_is_refused_but_loopback_is_fine() {
    let remote =
        "[mailbox]\nkind = \"imap\"\nhost = \"imap.example.it\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\n";
    assert_eq!(problems(remote)[0].0, "mailbox.tls");
    let loopback = remote.replace("imap.example.it", "127.0.0.1");
    let config = parse(&loopback).expect("loopback plain is allowed");
    assert!(matches!(config.mailbox, Mailbox::Imap { ref server, .. } if server.port == 143));
    let explicit = format!("{remote}allow_plain_remote = true\n");
    parse(&explicit).expect("explicitly allowed");
}

#[test]
fn password_and_password_file_exclude_each_other_and_a_missing_file_is_named() {
    let both =
        "[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\npassword = \"x\"\npassword_file = \"p\"\n";
    assert_eq!(problems(both)[0].0, "smtp.password_file");
    let missing = "[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\npassword_file = \"no-such-file\"\n";
    let found = problems(missing);
    assert_eq!(found[0].0, "smtp.password_file");
    assert!(found[0].1.contains("no-such-file"));
}

/// Mode 0640, as the deployment guide asks for secrets.
fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
}

/// A `[smtp]` section with these extra keys, parsed against `dir`.
fn smtp_in(dir: &Path, extra: &str) -> Result<Config, ConfigError> {
    let text = format!("[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"u\"\n{extra}");
    Config::parse(&text, dir, Origin::File(dir.join("config.toml")))
}

fn keys_of(result: Result<Config, ConfigError>) -> Vec<(String, String)> {
    match result {
        Ok(_) => panic!("should have been refused"),
        Err(e) => e.problems.iter().map(|p| (p.key.clone(), p.to_string())).collect(),
    }
}

#[test]
fn an_empty_password_file_is_refused_and_one_everybody_reads_is_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty"), "\n").expect("write");
    let found = keys_of(smtp_in(dir.path(), "password_file = \"empty\"\n"));
    assert_eq!(found[0].0, "smtp.password_file");
    assert!(found[0].1.contains("empty"), "{}", found[0].1);

    let secret = dir.path().join("smtp.password");
    std::fs::write(&secret, "s3cret\n").expect("write");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let config = smtp_in(dir.path(), "password_file = \"smtp.password\"\n").expect("valid, with a warning");
    let warnings = config.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("smtp.password_file") && warnings[0].contains("0644") && warnings[0].contains("chmod"),
        "{}",
        warnings[0]
    );
    private(&secret);
    let config = smtp_in(dir.path(), "password_file = \"smtp.password\"\n").expect("valid");
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    match &config.smtp {
        Smtp::Server { server, .. } => assert_eq!(server.password.as_ref().map(Secret::expose), Some("s3cret")),
        other => panic!("{other:?}"),
    }

    // The portal's token file follows the same rules; an inline empty token is no token.
    let http = "[http]\nlisten = \"127.0.0.1:8080\"\n";
    let found = keys_of(smtp_in(dir.path(), &format!("{http}api_token_file = \"empty\"\n")));
    assert_eq!(
        found.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["http.api_token_file"]
    );
    let found = keys_of(smtp_in(dir.path(), &format!("{http}api_token = \"\"\n")));
    assert_eq!(found[0].0, "http.api_token");
}

/// A self-signed CA certificate (P-256) made for this test alone.
const TEST_CA: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBjzCCATWgAwIBAgIUMcChL2fLAfr+J/+CkiIVL8PF0DIwCgYIKoZIzj0EAwIw\n\
HDEaMBgGA1UEAwwRU3BvcnRlbGxvIHRlc3QgQ0EwIBcNMjYxMjAxMTExMTMyWhgP\n\
MjEyNjExMDcxMTExMzJaMBwxGjAYBgNVBAMMEVNwb3J0ZWxsbyB0ZXN0IENBMFkw\n\
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHhc3FQGxOm8HG1Yvm3rKTkgzSFv2eRkE\n\
fHK75miqZtAayWz4uAJI13/zKKBMII5WF+ZXV+8xKQX8vVeXkn5+gqNTMFEwHQYD\n\
VR0OBBYEFHBFZvVSFLD/waHmN9z/HstxzLnAMB8GA1UdIwQYMBaAFHBFZvVSFLD/\n\
waHmN9z/HstxzLnAMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIh\n\
AJKMEYafS9nQucFNeZ9fMCLW5hviZ7otC6nMI9RJLNFKAiAR9Z1/tm/PBgFPBI5G\n\
p1wV0ZrMBzjtR/ykoxi7S5McWg==\n\
-----END CERTIFICATE-----\n\
";

#[test]
fn a_ca_file_must_exist_and_hold_pem_certificates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let found = keys_of(smtp_in(dir.path(), "ca_file = \"no-such.pem\"\n"));
    assert_eq!(found[0].0, "smtp.ca_file");
    assert!(
        found[0].1.contains("no-such.pem") && found[0].1.contains("PEM"),
        "{}",
        found[0].1
    );
    std::fs::write(dir.path().join("key.pem"), "this is not a certificate\n").expect("write");
    let found = keys_of(smtp_in(dir.path(), "ca_file = \"key.pem\"\n"));
    assert_eq!(found[0].0, "smtp.ca_file");
    assert!(found[0].1.contains("holds none"), "{}", found[0].1);
    // A block that is base64 but no certificate is refused too.
    std::fs::write(
        dir.path().join("bogus.pem"),
        "-----BEGIN CERTIFICATE-----\nMAo=\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let found = keys_of(smtp_in(dir.path(), "ca_file = \"bogus.pem\"\n"));
    assert_eq!(found[0].0, "smtp.ca_file");
    std::fs::write(dir.path().join("ca.pem"), TEST_CA).expect("write");
    let config = smtp_in(dir.path(), "ca_file = \"ca.pem\"\n").expect("a PEM certificate block");
    match &config.smtp {
        Smtp::Server { server, .. } => assert_eq!(server.ca_file.as_deref(), Some(dir.path().join("ca.pem").as_path())),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_wait_after_a_refused_login_is_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = smtp_in(dir.path(), "").expect("valid");
    match &config.smtp {
        Smtp::Server { server, .. } => assert_eq!(server.login_retry, std::time::Duration::from_secs(300)),
        other => panic!("{other:?}"),
    }
    for bad in ["0", "14401"] {
        let found = keys_of(smtp_in(dir.path(), &format!("login_retry_seconds = {bad}\n")));
        assert_eq!(found[0].0, "smtp.login_retry_seconds", "{bad}");
        assert!(found[0].1.contains("4 hours"), "{}", found[0].1);
    }
}

#[test]
fn smtp_sessions_default_to_four_and_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = smtp_in(dir.path(), "").expect("valid");
    match &config.smtp {
        Smtp::Server { sessions, .. } => assert_eq!(
            (sessions.connections, sessions.messages_per_session),
            (4, 100),
            "the documented defaults"
        ),
        other => panic!("{other:?}"),
    }
    let config = smtp_in(dir.path(), "connections = 1\nmessages_per_session = 20\n").expect("valid");
    match &config.smtp {
        Smtp::Server { sessions, .. } => {
            assert_eq!((sessions.connections, sessions.messages_per_session), (1, 20));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        config.effective_toml().contains("connections = 1")
            && config.effective_toml().contains("messages_per_session = 20"),
        "{}",
        config.effective_toml()
    );
    for (extra, key) in [
        ("connections = 0\n", "smtp.connections"),
        ("connections = 33\n", "smtp.connections"),
        ("messages_per_session = 0\n", "smtp.messages_per_session"),
    ] {
        let found = keys_of(smtp_in(dir.path(), extra));
        assert_eq!(found.len(), 1, "{extra}: {found:?}");
        assert_eq!(found[0].0, key, "{extra}");
    }
}

#[test]
fn effective_configuration_masks_secrets_and_parses_back_the_same() {
    let text = "[mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"u\"\npassword = \"hunter2\"\n\
                [calendar]\nlocal_holidays = [\"06-29 Santi Pietro e Paolo\"]\nextra_closed_days = [\"2026-12-24\"]\n";
    let config = parse(text).expect("valid");
    let printed = config.effective_toml();
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains(MASK));
    assert!(
        printed.contains("Santi Pietro e Paolo") && printed.contains("2026-12-24"),
        "{printed}"
    );
    // Put the secret back and the printed configuration means the same thing.
    let again = parse(&printed.replace(MASK, "hunter2")).expect("printed config parses");
    assert_eq!(again.effective_toml(), printed);
    assert_eq!(again.calendar.extra_closed_days, config.calendar.extra_closed_days);
}

#[test]
fn load_falls_back_to_defaults_only_when_the_file_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("config.toml");
    let config = Config::load(&missing).expect("defaults");
    assert_eq!(config.origin, Origin::EmbeddedDefaults(missing.clone()));
    std::fs::write(&missing, "[helpdesk]\nlanguage = \"de\"\n").expect("write");
    let err = Config::load(&missing).expect_err("bad language");
    assert!(err.to_string().contains("helpdesk.language"), "{err}");
    assert!(err.to_string().contains(&missing.display().to_string()));
}

#[test]
fn the_provider_decides_whether_an_authserv_id_is_needed() {
    let operator = "[[operator]]\nname = \"Giulia Bianchi\"\nemail = \"giulia.bianchi@comune.example.it\"\n";
    let google = parse(&format!("[security]\nprovider = \"google\"\n{operator}")).expect("google needs no id");
    assert_eq!(google.security.provider, Provider::Google);
    assert_eq!(google.security.trusted_authserv_id, GOOGLE_AUTHSERV_ID);
    let m365 = parse(&format!("[security]\nprovider = \"microsoft365\"\n{operator}")).expect("nor Microsoft 365");
    assert!(m365.security.checks_authentication());
    assert!(m365.security.trusted_authserv_id.is_empty());
    let keys: Vec<String> = problems(&format!("[security]\nprovider = \"generic\"\n{operator}"))
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        keys,
        ["security.trusted_authserv_id"],
        "the generic provider needs its MX's id"
    );
    let keys: Vec<String> = problems("[security]\nprovider = \"exchange\"\n")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(keys, ["security.provider"]);
}

#[test]
fn https_endpoints_are_split_and_anything_else_refused() {
    assert_eq!(
        https_endpoint("https://login.microsoftonline.com/contoso/oauth2/v2.0/token"),
        Some((
            "login.microsoftonline.com".into(),
            443,
            "/contoso/oauth2/v2.0/token".into()
        ))
    );
    assert_eq!(
        https_endpoint("https://127.0.0.1:8443/token?x=1"),
        Some(("127.0.0.1".into(), 8443, "/token?x=1".into()))
    );
    assert_eq!(
        https_endpoint("https://[::1]:9/t"),
        Some(("::1".into(), 9, "/t".into()))
    );
    assert_eq!(
        https_endpoint("https://oauth2.googleapis.com"),
        Some(("oauth2.googleapis.com".into(), 443, "/".into()))
    );
    for bad in [
        "http://login.example/token",
        "https://",
        "https://user:pw@login.example/token",
        "https://login.example:0/token",
        "https://login.example:x/token",
        "https://login.example/token#frag",
        "login.example/token",
    ] {
        assert_eq!(https_endpoint(bad), None, "{bad}");
    }
}

#[test]
fn oauth2_logins_are_validated_key_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("client.secret"), "s3cr3t\n").expect("write");
    std::fs::write(dir.path().join("refresh.token"), "1//r-token\n").expect("write");
    private(&dir.path().join("client.secret"));
    private(&dir.path().join("refresh.token"));
    let imap = |extra: &str| {
        format!(
            "[mailbox]\nkind = \"imap\"\nhost = \"outlook.office365.com\"\nusername = \"assistenza@comune.example.it\"\n\
             auth = \"oauth2\"\n[mailbox.oauth2]\n{extra}\n"
        )
    };
    let good = imap(
        "token_url = \"https://login.microsoftonline.com/contoso/oauth2/v2.0/token\"\nclient_id = \"app\"\n\
         client_secret_file = \"client.secret\"\nscope = \"https://outlook.office365.com/.default\"",
    );
    let config = Config::parse(&good, dir.path(), Origin::File(dir.path().join("config.toml"))).expect("valid");
    let Mailbox::Imap { server, .. } = &config.mailbox else {
        panic!("imap")
    };
    let oauth2 = server.oauth2.as_ref().expect("oauth2");
    assert_eq!(oauth2.grant, Grant::ClientCredentials);
    assert_eq!(oauth2.client_secret.as_ref().map(Secret::expose), Some("s3cr3t"));
    assert_eq!(server.password, None);
    let printed = config.effective_toml();
    assert!(
        printed.contains("auth = \"oauth2\"") && printed.contains("[mailbox.oauth2]"),
        "{printed}"
    );
    assert!(!printed.contains("s3cr3t"), "{printed}");
    // What it prints is a configuration that reads back the same.
    let again = Config::parse(&printed, dir.path(), Origin::File(dir.path().join("config.toml"))).expect("reads back");
    let Mailbox::Imap { server: again, .. } = &again.mailbox else {
        panic!("imap")
    };
    assert_eq!(again.oauth2.as_ref(), Some(oauth2));

    let keys = |text: &str| -> Vec<String> {
        match Config::parse(text, dir.path(), Origin::File(dir.path().join("config.toml"))) {
            Ok(_) => panic!("should be refused:\n{text}"),
            Err(e) => e.problems.iter().map(|p| p.key.clone()).collect(),
        }
    };
    assert_eq!(
        keys(&imap(
            "token_url = \"http://login.example/token\"\nclient_id = \"\"\ngrant = \"password\""
        )),
        [
            "mailbox.oauth2.token_url",
            "mailbox.oauth2.client_id",
            "mailbox.oauth2.grant"
        ]
    );
    assert_eq!(
        keys(&imap(
            "token_url = \"https://login.example/token\"\nclient_id = \"app\""
        )),
        ["mailbox.oauth2.client_secret_file", "mailbox.oauth2.scope"],
        "client_credentials needs a secret and a scope"
    );
    assert_eq!(
        keys(&imap(
            "token_url = \"https://oauth2.googleapis.com/token\"\nclient_id = \"app\"\ngrant = \"refresh_token\""
        )),
        ["mailbox.oauth2.refresh_token_file"]
    );
    let google = imap(
        "token_url = \"https://oauth2.googleapis.com/token\"\nclient_id = \"app\"\nclient_secret_file = \"client.secret\"\n\
         grant = \"refresh_token\"\nrefresh_token_file = \"refresh.token\"",
    );
    let config = Config::parse(&google, dir.path(), Origin::File(dir.path().join("config.toml"))).expect("valid");
    let Mailbox::Imap { server, .. } = &config.mailbox else {
        panic!("imap")
    };
    assert!(matches!(
        &server.oauth2.as_ref().expect("oauth2").grant,
        Grant::RefreshToken { token, .. } if token.expose() == "1//r-token"
    ));
    assert_eq!(
        keys(&good.replace("auth = \"oauth2\"", "auth = \"oauth2\"\npassword = \"x\"")),
        ["mailbox.password"],
        "a password with oauth2 is a mistake"
    );
    assert_eq!(
        keys(&good.replace("auth = \"oauth2\"", "auth = \"password\""))
            .first()
            .map(String::as_str),
        Some("mailbox.auth")
    );
    assert_eq!(
        keys(&good.replace("auth = \"oauth2\"", "auth = \"kerberos\""))
            .first()
            .map(String::as_str),
        Some("mailbox.auth")
    );
    let no_table = "[smtp]\nkind = \"smtp\"\nhost = \"smtp.office365.com\"\nusername = \"a@comune.example.it\"\nauth = \"oauth2\"\n";
    assert_eq!(keys(no_table), ["smtp.oauth2"]);
}

#[test]
fn spam_days_and_copies_are_validated_like_the_other_keys() {
    let config = parse("[intake]\nspam_days = 7\n[operators]\ncopy_requester_cc = false\n").expect("valid");
    assert_eq!(config.intake.spam_days, 7);
    assert!(!config.operators_settings.copy_requester_cc);
    for bad in ["0", "367", "-1"] {
        let found = problems(&format!("[intake]\nspam_days = {bad}\n"));
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        assert_eq!(found[0].0, "intake.spam_days", "{found:?}");
    }
    let found = problems("[operators]\ncopy_requester_cc = \"yes\"\n");
    assert_eq!(found[0].0, "operators.copy_requester_cc", "{found:?}");
}

#[test]
fn the_digest_is_on_at_eight_by_default_and_a_bad_hour_is_named() {
    let default = parse("").expect("defaults");
    assert_eq!(
        (default.digest.enabled, default.digest.at.format("%H:%M").to_string()),
        (true, "08:00".to_string())
    );
    let set = parse("[digest]\nenabled = false\nat = \"07:30\"\n").expect("valid");
    assert_eq!(
        (set.digest.enabled, set.digest.at.format("%H:%M").to_string()),
        (false, "07:30".to_string())
    );
    let wrong = problems("[digest]\nat = \"8\"\n");
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert_eq!(wrong[0].0, "digest.at");
    assert!(
        wrong[0].1.contains("\"8\"") && wrong[0].1.contains("\"HH:MM\""),
        "{wrong:?}"
    );
    let printed = parse(&set.effective_toml()).expect("the effective configuration parses back");
    assert_eq!(printed.digest, set.digest);
}
