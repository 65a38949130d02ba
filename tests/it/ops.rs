//! Running the daemon in a municipality's IT (issue 21, items 7, 15, 16 and 23): the data
//! folder's permissions, what `check-config` catches, the start-up line, and logins the mail
//! servers refuse — over the real Dovecot and SMTP relay on 127.0.0.1.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    Daemon, HttpResponse, MailServer, Sandbox, code, free_port, http, simple_message, stderr, stdout,
};

/// The unprivileged user the permission tests run the binary as when the tests run as root
/// (root may write anywhere): `nobody`.
const NOBODY: u32 = 65534;

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `command`, run as an unprivileged user: `nobody` under root, the test's own user otherwise.
fn unprivileged(mut command: Command) -> Command {
    use std::os::unix::process::CommandExt;
    if running_as_root() {
        // SAFETY: setgroups, setgid and setuid are async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(NOBODY) != 0 || libc::setuid(NOBODY) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Gives `path` to the user [`unprivileged`] runs as.
fn give_to_unprivileged(path: &Path) {
    if running_as_root() {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    chmod(path, 0o755);
}

/// A sandbox whose folder the unprivileged user can read (but not write): its config.toml
/// keeps everything under `var/`.
fn readable_sandbox() -> Sandbox {
    let sandbox = Sandbox::with_config("[helpdesk]\ndata_dir = \"var\"\n");
    chmod(sandbox.root(), 0o555);
    chmod(&sandbox.path("config.toml"), 0o644);
    sandbox
}

/// Issue 21, item 16: a data folder the daemon's user may not write ended it with exit 70 and
/// a SQLite error. It is 77 (not permitted), naming the folder, the user and the fix, or 73
/// when the folder cannot be created; `check-config` says the same before the first start.
#[test]
fn a_data_folder_the_user_may_not_write_is_exit_77_or_73_never_70() {
    let sandbox = readable_sandbox();
    let var = sandbox.path("var");
    // Missing, and its parent is not writable: it cannot be created.
    for args in [&["run", "--once"][..], &["check-config"][..]] {
        let out = unprivileged(sandbox.command(args)).output().expect("run");
        assert_eq!(code(&out), 73, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("cannot create {}", var.display())) && stderr(&out).contains("install -d"),
            "{}",
            stderr(&out)
        );
    }
    // There, but another user's.
    chmod(sandbox.root(), 0o755);
    std::fs::create_dir(&var).expect("mkdir");
    chmod(&var, 0o555);
    chmod(sandbox.root(), 0o555);
    for args in [&["run", "--once"][..], &["check-config"][..]] {
        let out = unprivileged(sandbox.command(args)).output().expect("run");
        assert_eq!(code(&out), 77, "{args:?}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains(&format!(
                "{} is not writable by the user running sportello",
                var.display()
            )) && said.contains("chown -R")
                && said.contains("[helpdesk] data_dir"),
            "{said}"
        );
    }
    // Its folder given to the user, but a database left behind by a command run as root.
    give_to_unprivileged(&var);
    std::fs::write(var.join("sportello.db"), b"").expect("write");
    chmod(&var.join("sportello.db"), 0o444);
    let out = unprivileged(sandbox.command(&["run", "--once"])).output().expect("run");
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sportello.db cannot be read and written"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(var.join("sportello.db")).expect("rm");
    // Fixed: the daemon starts.
    let out = unprivileged(sandbox.command(&["run", "--once"])).output().expect("run");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = unprivileged(sandbox.command(&["check-config"])).output().expect("run");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("valid"), "{}", stdout(&out));
    // So that the sandbox can be removed.
    chmod(sandbox.root(), 0o755);
}

/// Issue 21, item 16: an empty password file can only fail the login (exit 78 naming the key);
/// one every user of the machine can read works but is said at every start.
#[test]
fn check_config_refuses_an_empty_password_file_and_warns_about_a_readable_one() {
    let sandbox = Sandbox::with_config(
        "[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"u\"\npassword_file = \"smtp.password\"\n",
    );
    let secret = sandbox.path("smtp.password");
    std::fs::write(&secret, "\n").expect("write");
    let out = sandbox.run(&["check-config"]);
    assert_eq!(code(&out), 78, "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("smtp.password_file = \"smtp.password\": expected a file with the password (this one is empty)"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&secret, "s3cret\n").expect("write");
    chmod(&secret, 0o644);
    let out = sandbox.run(&["check-config"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("every user of this machine can read the password (mode 0644)"),
        "{}",
        stderr(&out)
    );
    chmod(&secret, 0o640);
    let out = sandbox.run(&["check-config"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("every user"), "{}", stderr(&out));
}

/// Issue 21, items 16 and 23: the unit stops restarting on the exits a restart cannot fix (a
/// configuration problem, a data folder that is not the user's), keeps restarting on 75, and
/// keeps colour codes out of the journal.
#[test]
fn the_unit_does_not_restart_what_a_restart_cannot_fix() {
    for name in ["sportello.service", "sportello@.service"] {
        let unit = std::fs::read_to_string(format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"))).expect("unit");
        check_unit(&unit);
    }
    // The template gives each municipality its own configuration and data folder.
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sportello@.service")).expect("unit");
    for line in [
        "ExecStart=/usr/local/bin/sportello --config /etc/sportello/%i/config.toml run",
        "WorkingDirectory=/var/lib/sportello/%i",
        "ReadWritePaths=/var/lib/sportello/%i",
    ] {
        assert!(template.contains(line), "{line} missing: {template}");
    }
}

fn check_unit(unit: &str) {
    let codes: Vec<u8> = unit
        .lines()
        .find_map(|l| l.strip_prefix("RestartPreventExitStatus="))
        .expect("RestartPreventExitStatus")
        .split_whitespace()
        .map(|c| c.parse().expect("an exit code"))
        .collect();
    use sportello::exit;
    for code in [exit::CONFIG, exit::NOPERM, exit::CANTCREAT] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(!codes.contains(&exit::TEMPFAIL), "75 is worth a restart");
    assert!(unit.contains("\nEnvironment=NO_COLOR=1\n"), "{unit}");
}

/// Issue 21, item 23: the start-up line names the version, the configuration file and the
/// IMAP and SMTP targets, which is what an installer checks first in the journal.
#[test]
fn the_start_up_line_names_the_version_the_file_and_the_servers() {
    // Closed ports: the line comes before any connection, and the failures that follow are
    // said in plain words.
    let sandbox = Sandbox::with_config(
        "[mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\nusername = \"assistenza@example.it\"\n\
         password = \"x\"\n[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\n",
    );
    let out = sandbox
        .command(&["--config", "config.toml", "run", "--once"])
        .env("SPORTELLO_LOG", "info")
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stderr(&out);
    let started = log
        .lines()
        .find(|l| l.contains("sportello started"))
        .unwrap_or_else(|| panic!("no start-up line:\n{log}"));
    for expected in [
        format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
        "config=config.toml".to_string(),
        "mailbox=imap://assistenza@example.it@127.0.0.1:9/INBOX (tls none)".to_string(),
        "smtp=smtp://127.0.0.1:9 (tls none)".to_string(),
    ] {
        assert!(started.contains(&expected), "{expected} missing from: {started}");
    }
    assert!(
        log.contains("Nothing accepts connections on 127.0.0.1:9 ([mailbox])"),
        "{log}"
    );
}

/// A fresh address and password on the test domain, not yet known to the servers.
fn unknown_user(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 4];
    rand::fill(&mut bytes);
    let tag = u32::from_le_bytes(bytes);
    (format!("{prefix}-{tag:08x}@example.test"), format!("pw-{tag:08x}"))
}

/// Makes `address` a user of the shared servers with `password` (as the mail administrator
/// fixing the account would).
fn add_user_named(address: &str, password: &str) {
    let status = Command::new("bash")
        .args([
            concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/mailtest.sh"),
            "adduser",
            address,
            password,
        ])
        .env("MAILTEST_DIR", std::env::var("MAILTEST_DIR").expect("MAILTEST_DIR"))
        .stdout(Stdio::null())
        .status()
        .expect("adduser");
    assert!(status.success(), "adduser {address}");
}

/// The logins Dovecot refused to `address`, from its own log: what a lockout policy counts.
fn refused_by_dovecot(address: &str) -> usize {
    let log = Path::new(&std::env::var("MAILTEST_DIR").expect("MAILTEST_DIR")).join("log/dovecot.log");
    let marker = format!("user=<{address}>");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("auth failed") && l.contains(&marker))
        .count()
}

/// Asks /healthz until `done` holds (or fails the test after 30 s); returns the last answer.
fn healthz_until(port: u16, daemon: &mut Daemon, done: impl Fn(&HttpResponse) -> bool) -> HttpResponse {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(daemon.is_running(), "the daemon ended");
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let answer = http(port, "GET", "/healthz", &[], b"");
            if done(&answer) {
                return answer;
            }
        }
        assert!(Instant::now() < deadline, "/healthz never changed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The one problem /healthz reports, checked for its section.
fn the_problem(answer: &HttpResponse, section: &str) -> serde_json::Value {
    assert_eq!(answer.status, 503, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["status"], "unavailable", "{body}");
    let problems = body["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{body}");
    assert_eq!(problems[0]["section"], section, "{body}");
    assert_eq!(problems[0]["problem"], "login_refused", "{body}");
    assert!(
        problems[0]["since"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{body}"
    );
    problems[0].clone()
}

/// An IMAP mailbox on the shared Dovecot (plain, loopback), with the portal's HTTP interface
/// for /healthz; replies go to files.
fn imap_login_config(server: &MailServer, user: &(String, String), http_port: u16, extra: &str) -> String {
    format!(
        "[helpdesk]\naddress = \"{addr}\"\n\
         [mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"{addr}\"\n\
         password = \"{pw}\"\npoll_seconds = 1\n{extra}\n\
         [http]\nlisten = \"127.0.0.1:{http_port}\"\napi_token = \"portal-token-0123456789\"\n",
        addr = user.0,
        pw = user.1,
        imap = server.imap_port,
    )
}

/// Issue 21, item 7: a wrong or expired mailbox password was retried about 12 times an hour
/// for ever (enough to lock the account) while /healthz answered 200. The refused login is
/// told apart from a network failure: the next attempt waits [mailbox] login_retry_seconds,
/// doubling up to 4 h, and /healthz answers 503 naming the refusal until a login works.
#[test]
fn a_refused_mailbox_login_backs_off_and_healthz_says_so_until_it_works() {
    let Some(server) = MailServer::from_env("a_refused_mailbox_login") else {
        return;
    };
    // The account does not exist yet: Dovecot refuses its login as for a wrong password.
    let helpdesk = unknown_user("helpdesk");
    let port = free_port();
    let sandbox = Sandbox::with_config(&imap_login_config(&server, &helpdesk, port, ""));
    let log = sandbox.path("daemon.log");
    let mut daemon = sandbox.spawn_daemon_logging_to(&["run"], &log);
    let answer = healthz_until(port, &mut daemon, |a| a.status != 200);
    let problem = the_problem(&answer, "mailbox");
    assert_eq!(problem["attempts"], 1, "{problem}");
    let message = problem["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("refused the login of {}", helpdesk.0))
            && message.contains("[AUTHENTICATIONFAILED]")
            && message.contains("[mailbox] password_file"),
        "{message}"
    );
    // A window in which the old backoff (1 s doubling) logged in again three or four times:
    // the default login_retry_seconds (300) leaves the account alone.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        refused_by_dovecot(&helpdesk.0),
        1,
        "one login attempt, not a retry loop"
    );
    let answer = http(port, "GET", "/healthz", &[], b"");
    assert_eq!(the_problem(&answer, "mailbox")["attempts"], 1);
    assert_eq!(
        daemon.terminate(),
        Some(0),
        "SIGTERM during the long wait is a clean stop"
    );
    let said = std::fs::read_to_string(&log).expect("log");
    assert!(said.contains("Next attempt in 5 min"), "{said}");
    assert!(!said.contains("Some(\""), "no debug output in the log: {said}");

    // With a short first wait, the account fixed by the administrator is used at the next
    // attempt: /healthz is 200 again and mail becomes tickets.
    std::fs::write(
        sandbox.path("config.toml"),
        imap_login_config(&server, &helpdesk, port, "login_retry_seconds = 1"),
    )
    .expect("config");
    let mut daemon = sandbox.spawn_daemon(&["run"]);
    let answer = healthz_until(port, &mut daemon, |a| a.status != 200);
    the_problem(&answer, "mailbox");
    add_user_named(&helpdesk.0, &helpdesk.1);
    healthz_until(port, &mut daemon, |a| a.status == 200);
    let (requester, _) = server.add_user("requester");
    server.deliver(
        &helpdesk.0,
        &simple_message(
            &requester,
            "Accesso SPID",
            "after-login@example.org",
            "Non riesco ad accedere.",
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = sandbox.run(&["tickets", "--json"]);
        let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        if list.as_array().is_some_and(|a| a.len() == 1) {
            break;
        }
        assert!(Instant::now() < deadline, "no ticket after the login worked: {list}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(daemon.terminate(), Some(0));
}

/// An SMTP relay login on the shared relay (plain, loopback), mail arriving by `ingest`, and
/// /healthz.
fn smtp_login_config(server: &MailServer, user: &(String, String), http_port: u16, extra: &str) -> String {
    format!(
        "[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\nusername = \"{addr}\"\n\
         password = \"{pw}\"\n{extra}\n\
         [http]\nlisten = \"127.0.0.1:{http_port}\"\napi_token = \"portal-token-0123456789\"\n",
        addr = user.0,
        pw = user.1,
        smtp = server.smtp_port,
    )
}

/// The outbox rows' (attempts, sent, last error).
fn outbox_rows(sandbox: &Sandbox) -> Vec<(u32, bool, Option<String>)> {
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let mut statement = conn
        .prepare("SELECT attempts, sent_at IS NOT NULL, last_error FROM outbox ORDER BY id")
        .expect("prepare");
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Issue 21, items 7 and 15: SMTP 535 counted as a "permanent error" of each queued message,
/// one login per message per pass. It is a login problem: the mail stays queued, untouched
/// (no attempt counted, nothing given up), the login is retried on the long backoff, and
/// /healthz says so until the mail leaves.
#[test]
fn a_refused_smtp_login_keeps_the_mail_queued_untouched_until_it_works() {
    let Some(server) = MailServer::from_env("a_refused_smtp_login") else {
        return;
    };
    let sender = unknown_user("sender");
    let (requester, requester_pw) = server.add_user("requester");
    let port = free_port();
    let sandbox = Sandbox::with_config(&smtp_login_config(&server, &sender, port, ""));
    for i in 0..3 {
        let raw = simple_message(
            &requester,
            &format!("Richiesta {i}"),
            &format!("smtp-login-{i}@example.org"),
            "x",
        );
        let out = sandbox.run_with_input(&["ingest", "-"], &raw);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    assert_eq!(outbox_rows(&sandbox).len(), 3, "three acknowledgments queued");
    let log = sandbox.path("daemon.log");
    let mut daemon = sandbox.spawn_daemon_logging_to(&["run"], &log);
    let answer = healthz_until(port, &mut daemon, |a| a.status != 200);
    let problem = the_problem(&answer, "smtp");
    let message = problem["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("refused the login of {} (535)", sender.0))
            && message.contains("[smtp] password_file"),
        "{message}"
    );
    std::thread::sleep(Duration::from_secs(4));
    let answer = http(port, "GET", "/healthz", &[], b"");
    assert_eq!(
        the_problem(&answer, "smtp")["attempts"],
        1,
        "one login, not one per message and pass"
    );
    assert_eq!(
        outbox_rows(&sandbox),
        vec![(0, false, None); 3],
        "no attempt counted against the mail, nothing given up"
    );
    assert_eq!(daemon.terminate(), Some(0));
    let said = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        said.matches("refused the login").count(),
        1,
        "no second login on the way out either: {said}"
    );

    std::fs::write(
        sandbox.path("config.toml"),
        smtp_login_config(&server, &sender, port, "login_retry_seconds = 1"),
    )
    .expect("config");
    let mut daemon = sandbox.spawn_daemon(&["run"]);
    healthz_until(port, &mut daemon, |a| a.status != 200);
    add_user_named(&sender.0, &sender.1);
    healthz_until(port, &mut daemon, |a| a.status == 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.read_inbox(&requester, &requester_pw).len() < 3 {
        assert!(Instant::now() < deadline, "the queued mail never left");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(daemon.terminate(), Some(0));
    let rows = outbox_rows(&sandbox);
    assert!(
        rows.iter().all(|(attempts, sent, _)| *attempts == 1 && *sent),
        "{rows:?}"
    );
    assert_eq!(server.read_inbox(&requester, &requester_pw).len(), 3, "each once");
}

/// A configuration for `check-config --connect`: IMAP and SMTP with these settings each
/// (`None`: Maildir or `.eml` files), the test CA trusted unless `trust` is false.
fn connect_config(
    server: &MailServer,
    user: &(String, String),
    imap: Option<(u16, &str)>,
    smtp: Option<(u16, &str)>,
    trust: bool,
) -> String {
    let tls = |port: u16, tls: &str| {
        let ca = if trust {
            format!("ca_file = \"{}\"\n", server.ca_pem.display())
        } else {
            String::new()
        };
        format!(
            "host = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\n{ca}tls_name = \"localhost\"\nusername = \"{}\"\npassword = \"{}\"\n",
            user.0, user.1
        )
    };
    let mut text = format!("[helpdesk]\naddress = \"{}\"\n", user.0);
    if let Some((port, mode)) = imap {
        text.push_str(&format!("[mailbox]\nkind = \"imap\"\n{}", tls(port, mode)));
    }
    if let Some((port, mode)) = smtp {
        text.push_str(&format!("[smtp]\nkind = \"smtp\"\n{}", tls(port, mode)));
    }
    text
}

/// The comment lines `check-config --connect` adds for the servers.
fn connect_lines(out: &std::process::Output) -> String {
    stdout(out)
        .lines()
        .filter(|l| l.starts_with("# IMAP") || l.starts_with("# SMTP"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Issue 21, items 15 and 16: `check-config --connect` logs in to the real servers and says
/// what worked; what fails names the server, the section and the fix (an untrusted CA → set
/// ca_file, TLS against a plain port and plain text against a TLS port, a refused login in
/// plain words, SMTP 535 as a login problem).
#[test]
fn check_config_connect_logs_in_and_names_the_fix() {
    let Some(server) = MailServer::from_env("check_config_connect") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let run = |config: String| {
        let sandbox = Sandbox::with_config(&config);
        let out = sandbox.run(&["check-config", "--connect"]);
        // What it prints stays a valid configuration file: its own lines are comments.
        assert!(toml::from_str::<toml::Table>(&stdout(&out)).is_ok(), "{}", stdout(&out));
        out
    };
    let out = run(connect_config(
        &server,
        &helpdesk,
        Some((server.imaps_port, "implicit")),
        Some((server.smtp_port, "starttls")),
        true,
    ));
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let said = connect_lines(&out);
    assert!(
        said.contains("(tls implicit): logged in; folder INBOX holds 0 messages"),
        "{said}"
    );
    assert!(said.contains("(tls starttls): logged in"), "{said}");

    let wrong = (helpdesk.0.clone(), "not-the-password".to_string());
    let out = run(connect_config(
        &server,
        &wrong,
        Some((server.imap_port, "starttls")),
        Some((server.smtps_port, "implicit")),
        true,
    ));
    assert_eq!(code(&out), 78, "a refused login is the configuration's to fix");
    let said = connect_lines(&out);
    assert!(
        said.contains(&format!(
            "refused the login of {}: \"[AUTHENTICATIONFAILED]",
            helpdesk.0
        )) && said.contains("[mailbox] password_file"),
        "{said}"
    );
    assert!(
        said.contains(&format!("refused the login of {} (535)", helpdesk.0)) && !said.contains("permanent"),
        "{said}"
    );
    assert!(!said.contains("Some("), "no debug output: {said}");

    let out = run(connect_config(
        &server,
        &helpdesk,
        Some((server.imaps_port, "implicit")),
        Some((server.smtps_port, "implicit")),
        false,
    ));
    assert_eq!(code(&out), 78);
    let said = connect_lines(&out);
    assert!(
        said.contains("(UnknownIssuer)")
            && said.contains("set [mailbox] ca_file")
            && said.contains("set [smtp] ca_file"),
        "{said}"
    );

    let out = run(connect_config(
        &server,
        &helpdesk,
        Some((server.imap_port, "implicit")),
        Some((server.smtp_port, "implicit")),
        true,
    ));
    assert_eq!(code(&out), 78);
    let said = connect_lines(&out);
    assert!(
        said.contains(&format!(
            "port {} does not speak TLS from the first byte",
            server.imap_port
        )) && said.contains("Set [mailbox] tls = \"starttls\"")
            && said.contains("Set [smtp] tls = \"starttls\""),
        "{said}"
    );

    // Plain text against the relay's TLS port: no greeting ever comes (lettre gives up after
    // its 30 s timeout).
    let out = run(connect_config(
        &server,
        &helpdesk,
        None,
        Some((server.smtps_port, "none")),
        true,
    ));
    assert_eq!(code(&out), 78);
    let said = connect_lines(&out);
    assert!(
        said.contains("sent no greeting") && said.contains("Set [smtp] tls = \"implicit\""),
        "{said}"
    );
    assert!(stdout(&out).contains("# mailbox: maildir"), "{}", stdout(&out));
}

/// A relay that offers no login (no AUTH in its EHLO answer, as many do before STARTTLS) while
/// [smtp] has a username: a login problem too, told apart from a refusal.
#[test]
fn an_smtp_server_that_offers_no_login_is_a_login_problem() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let relay = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        stream.write_all(b"220 relay.example.test ESMTP\r\n").expect("greet");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            let answer: &[u8] = match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                Some("EHLO") => b"250-relay.example.test\r\n250 8BITMIME\r\n",
                Some("QUIT") => b"221 bye\r\n",
                _ => b"502 5.5.1 not here\r\n",
            };
            let quit = answer.starts_with(b"221");
            stream.write_all(answer).expect("answer");
            if quit {
                break;
            }
            line.clear();
        }
    });
    let sandbox = Sandbox::with_config(&format!(
        "[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\n"
    ));
    let out = sandbox.run(&["check-config", "--connect"]);
    assert_eq!(code(&out), 78, "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("offers no way to log in on this connection")
            && stdout(&out).contains("remove [smtp] username"),
        "{}",
        stdout(&out)
    );
    relay.join().expect("relay");
}

/// Issue 16, section 5: journald stored the escape codes of the coloured log. Standard error
/// is a pipe here, as under systemd: the log lines carry no ANSI escape at all.
#[test]
fn logs_to_a_pipe_carry_no_escape_codes() {
    let sandbox = Sandbox::new();
    assert_eq!(code(&sandbox.run(&["init"])), 0);
    std::fs::write(
        sandbox.path("var/inbox/new/1.eml"),
        crate::support::simple_message(
            "anna@example.org",
            "Prova",
            "log1@example.org",
            "Il portale non risponde.",
        ),
    )
    .expect("deliver");
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains(" WARN sportello::"),
        "the log is there, in plain text: {log}"
    );
    assert!(!log.contains('\u{1b}'), "no escape codes: {log:?}");
}
