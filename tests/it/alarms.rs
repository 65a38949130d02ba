//! Issue 16, section 2: alarms that reach a person. Each is raised and ended over the real
//! daemon: silence (no mail for `silence_hours` of service time, with `--now`), the mailbox
//! and the outbox (a private mail server stopped and started again).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::{PrivateMailServer, Sandbox, free_port, http, simple_message};

/// Waits (up to 60 s) until `done` gives something.
fn until<T>(what: &str, done: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = done() {
            return found;
        }
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn healthz(port: u16) -> Option<crate::support::HttpResponse> {
    std::net::TcpStream::connect(("127.0.0.1", port))
        .is_ok()
        .then(|| http(port, "GET", "/healthz", &[], b""))
}

/// The names of the alarms /healthz shows as raised.
fn raised(port: u16) -> Option<Vec<String>> {
    let answer = healthz(port)?;
    if answer.status == 200 {
        return Some(Vec::new());
    }
    let body = answer.json();
    Some(
        body["alarms"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["alarm"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

fn alarm_files(sandbox: &Sandbox) -> Vec<(PathBuf, String)> {
    sandbox
        .outbox_files_for("service_alarm")
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            (p, text)
        })
        .collect()
}

/// No mail for a working day and more (the last one on Tuesday at 09:00, the daemon started
/// on Thursday at 10:00): one alarm to the supervisor, /healthz degraded naming it; the next
/// mail ends it with one more mail, and /healthz is 200 again.
#[test]
fn a_day_without_mail_calls_the_supervisor_once_and_the_next_mail_ends_it() {
    let port = free_port();
    let sandbox = Sandbox::with_config(&format!(
        "[helpdesk]\nlanguage = \"en\"\n[security]\nallow_unauthenticated_operators = true\n\
         [alarms]\nsilence_hours = 8\n\
         [http]\nlisten = \"127.0.0.1:{port}\"\napi_token = \"portal-token-0123456789\"\n\
         [[operator]]\nname = \"Luca Verdi\"\nemail = \"luca.verdi@comune.example.it\"\nlevel = 2\nsupervisor = true\n"
    ));
    let first = simple_message("anna@example.org", "Accesso", "silence-1@example.org", "Non entro.");
    let out = sandbox.run_with_input(&["--now=2026-12-01T09:00:00+01:00", "ingest", "-"], &first);
    assert_eq!(crate::support::code(&out), 0, "{}", crate::support::stderr(&out));
    let mut daemon = sandbox.spawn_daemon(&["--now=2026-12-03T10:00:00+01:00", "run"]);
    let raised_mail = until("the silence alarm", || alarm_files(&sandbox).into_iter().next());
    assert!(
        raised_mail.1.contains("Subject: ALARM: no mail is arriving"),
        "{}",
        raised_mail.1
    );
    assert!(
        raised_mail.1.contains("luca.verdi@comune.example.it"),
        "{}",
        raised_mail.1
    );
    assert!(raised_mail.1.contains("The last message arrived"), "{}", raised_mail.1);
    assert_eq!(until("healthz", || raised(port)), ["silence"]);
    // Some looks later: still one mail for the incident.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(alarm_files(&sandbox).len(), 1);

    let next = simple_message("bruno@example.org", "Pratica", "silence-2@example.org", "Una domanda.");
    // Delivered now by the daemon's clock (a Maildir message is received at its file's time).
    let tmp = sandbox.path("var/inbox/tmp/next.eml");
    std::fs::write(&tmp, next).expect("deliver");
    let thursday = std::time::UNIX_EPOCH + Duration::from_secs(1_796_288_430); // 2026-12-03T09:00:30Z
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.set_modified(thursday))
        .expect("mtime");
    std::fs::rename(&tmp, sandbox.path("var/inbox/new/next.eml")).expect("deliver");
    let ended = until("the end of the silence", || alarm_files(&sandbox).get(1).cloned());
    assert!(
        ended.1.contains("Subject: RESOLVED: no mail is arriving"),
        "{}",
        ended.1
    );
    assert!(ended.1.contains("mail arrives again"), "{}", ended.1);
    until("healthz 200", || raised(port).filter(Vec::is_empty));
    // Some looks later: the new mail is recent, no new incident.
    std::thread::sleep(Duration::from_secs(5));
    assert!(daemon.is_running());
    assert_eq!(daemon.terminate(), Some(0));
    assert_eq!(alarm_files(&sandbox).len(), 2, "one mail raised, one ended");
}

/// The mail server goes away during service hours (`mailbox_minutes = outbox_minutes = 0`:
/// at the first sign): the mailbox and the outbox alarms are raised — the alarm mail cannot
/// leave, so the log says it at error level and /healthz is degraded with both — and when
/// the server is back both end, and the supervisor receives the mails that say so.
#[test]
fn the_mail_server_away_raises_the_mailbox_and_outbox_alarms_and_its_return_ends_them() {
    let Some(private) = PrivateMailServer::start("alarms_mail_server_away") else {
        return;
    };
    let server = &private.server;
    let (helpdesk, password) = server.add_user("helpdesk");
    let (supervisor, supervisor_password) = server.add_user("supervisor");
    let (citizen, _) = server.add_user("citizen");
    let port = free_port();
    let sandbox = Sandbox::with_config(&format!(
        "[helpdesk]\naddress = \"{helpdesk}\"\nlanguage = \"en\"\n\
         [mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"{helpdesk}\"\n\
         password = \"{password}\"\npoll_seconds = 1\nidle = false\n\
         [smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n\
         [security]\nallow_unauthenticated_operators = true\n\
         [alarms]\nmailbox_minutes = 0\noutbox_minutes = 0\n\
         [http]\nlisten = \"127.0.0.1:{port}\"\napi_token = \"portal-token-0123456789\"\n\
         [[operator]]\nname = \"Luca Verdi\"\nemail = \"{supervisor}\"\nlevel = 2\nsupervisor = true\n",
        imap = server.imap_port,
        smtp = server.smtp_port,
    ));
    let log = sandbox.path("daemon.log");
    // A Tuesday at 10:00: the office is open.
    let mut daemon = sandbox.spawn_daemon_logging_to(&["--now=2026-12-01T10:00:00+01:00", "run"], &log);
    until("healthz 200", || raised(port).filter(Vec::is_empty));
    let login = format!("Login: user=<{helpdesk}>");
    until("the first IMAP login", || server.log_lines(&login).first().cloned());

    private.stop();
    let both = until("both alarms", || {
        raised(port).filter(|r| r.contains(&"mailbox".to_string()) && r.contains(&"outbox".to_string()))
    });
    assert_eq!(both.len(), 2, "{both:?}");
    let said = std::fs::read_to_string(&log).expect("log");
    assert!(said.contains("ALARM: the mailbox cannot be read"), "{said}");
    assert!(said.contains("ALARM: the outbox cannot deliver"), "{said}");

    private.restart();
    // The next request proves the way back: it is taken, and its acknowledgment leaves.
    server.deliver(
        &helpdesk,
        &simple_message(&citizen, "SPID", "alarms-back@example.org", "Non entro."),
    );
    until("both alarms over", || raised(port).filter(Vec::is_empty));
    let inbox = until("the supervisor told both are over", || {
        let mails = server.read_inbox(&supervisor, &supervisor_password);
        let texts: Vec<String> = mails.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
        let over = |what: &str| texts.iter().any(|t| t.contains(&format!("Subject: RESOLVED: {what}")));
        (over("the help desk's mailbox cannot be read") && over("outgoing mail cannot be delivered")).then_some(texts)
    });
    assert!(!inbox.is_empty());
    assert!(daemon.is_running());
    assert_eq!(daemon.terminate(), Some(0));
    let said = std::fs::read_to_string(&log).expect("log");
    assert!(said.contains("alarm over: the mailbox cannot be read"), "{said}");
    assert!(said.contains("alarm over: the outbox cannot deliver"), "{said}");
}

/// A permanent SMTP refusal (550: no such recipient) is not retried 8 times: the mail is
/// given up at once and its technician (here first level: the ticket is new) is told once.
#[test]
fn a_permanent_smtp_refusal_is_reported_once_to_the_technician_and_not_retried() {
    let Some(server) = crate::support::MailServer::from_env("alarms_permanent_refusal") else {
        return;
    };
    let (helpdesk, password) = server.add_user("helpdesk");
    let (operator, operator_password) = server.add_user("operator");
    let sandbox = Sandbox::with_config(&format!(
        "[helpdesk]\naddress = \"{helpdesk}\"\n\
         [mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"{helpdesk}\"\n\
         password = \"{password}\"\npoll_seconds = 1\n\
         [smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n\
         [security]\nallow_unauthenticated_operators = true\n\
         [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"{operator}\"\nlevel = 1\n\
         [[operator]]\nname = \"Luca Verdi\"\nemail = \"capo@example.org\"\nlevel = 2\nsupervisor = true\n",
        imap = server.imap_port,
        smtp = server.smtp_port,
    ));
    let mut daemon = sandbox.spawn_daemon(&["run"]);
    let login = format!("Login: user=<{helpdesk}>");
    until("the first IMAP login", || server.log_lines(&login).first().cloned());
    // Nobody has this address: the relay answers 550 to the acknowledgment.
    let ghost = format!("ghost-{}@example.test", free_port());
    server.deliver(
        &helpdesk,
        &simple_message(&ghost, "Accesso", "ghost-1@example.org", "Non entro."),
    );
    let notice = until("the technician told", || {
        server
            .read_inbox(&operator, &operator_password)
            .into_iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .find(|t| t.contains("Recapito fallito"))
    });
    assert!(notice.contains(&ghost), "{notice}");
    assert!(notice.contains("550"), "the server's reply: {notice}");
    // Looks and courier passes later: one attempt, given up, reported once.
    std::thread::sleep(Duration::from_secs(6));
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let (attempts, sent, reported): (u32, bool, bool) = conn
        .query_row(
            "SELECT attempts, sent_at IS NOT NULL, failure_reported_at IS NOT NULL FROM outbox WHERE recipients = ?1",
            [&ghost],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the acknowledgment's row");
    assert_eq!((attempts, sent, reported), (1, false, true));
    let notices = server
        .read_inbox(&operator, &operator_password)
        .into_iter()
        .filter(|m| String::from_utf8_lossy(m).contains("Recapito fallito"))
        .count();
    assert_eq!(notices, 1, "told once");
    assert_eq!(daemon.terminate(), Some(0));
}
