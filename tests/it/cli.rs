//! The binary as users, administrators and mail transport agents run it.

use std::time::{Duration, Instant};

use crate::support::{Sandbox, code, simple_message, stderr, stdout};

#[test]
fn a_wrong_config_is_refused_naming_the_key_and_nothing_is_written() {
    for (text, key) in [
        ("[calendar]\nwindows = [\"8-13\"]\n", "calendar.windows[0]"),
        (
            "[security]\ntrusted_authserv_id = \"mx\"\n[[operator]]\nname = \"A\"\nemail = \"a@example.it\"\nlevel = 3\n",
            "operator[0].level",
        ),
        ("[helpdesk]\nnmae = \"x\"\n", "nmae"),
    ] {
        let sandbox = Sandbox::with_config(text);
        for args in [&["run", "--once"][..], &["check-config"][..], &["tickets"][..]] {
            let out = sandbox.run(args);
            assert_eq!(code(&out), 78, "{args:?} with {text}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(key),
                "{args:?}: error should name {key}: {}",
                stderr(&out)
            );
        }
        assert!(
            !sandbox.path("var").exists(),
            "nothing may be written for a refused config"
        );
    }
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    let sandbox = Sandbox::new();
    assert_eq!(code(&sandbox.run(&["no-such-command"])), 64);
    assert_eq!(code(&sandbox.run(&["ticket", "show", "TCK-1"])), 64);
    let help = sandbox.run(&["--help"]);
    assert_eq!(code(&help), 0);
    assert!(stdout(&help).contains("check-config"));
}

#[test]
fn init_writes_a_trial_config_that_check_config_accepts() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(sandbox.path("config.toml").is_file());
    assert!(sandbox.path("var/inbox/new").is_dir() && sandbox.path("var/outbox").is_dir());
    assert!(sandbox.path("var/sportello.db").is_file());
    let key = std::fs::read_to_string(sandbox.path("var/secret.key")).expect("init creates the notification key");
    assert_eq!(key.trim().len(), 64);
    let check = sandbox.run(&["check-config"]);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    assert!(stdout(&check).contains("allow_unauthenticated_operators = true"));
    assert!(
        stderr(&check).contains("local trial only"),
        "the trial warns at every start"
    );
    // A second init must not overwrite the administrator's file.
    assert_eq!(code(&sandbox.run(&["init"])), 78);
}

#[test]
fn check_config_masks_secrets() {
    let sandbox = Sandbox::with_config(
        "[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"u\"\npassword = \"hunter2\"\n",
    );
    let out = sandbox.run(&["check-config"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stdout(&out).contains("hunter2"));
    assert!(stdout(&out).contains("password = \"********\""));
}

/// Waits until a daemon started in `sandbox` holds its lock (its PID is in the lock file):
/// from then on its signal handlers are installed.
fn wait_for_the_lock(sandbox: &Sandbox) {
    let lock = sandbox.path("var/daemon.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&lock)
        .map(|t| t.trim().is_empty())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "daemon never took its lock");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_daemon_on_the_same_folder_exits_75_naming_the_first() {
    let sandbox = Sandbox::new();
    let mut first = sandbox.spawn_daemon(&["run"]);
    wait_for_the_lock(&sandbox);
    let second = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&second), 75, "{}", stderr(&second));
    assert!(
        stderr(&second).contains(&format!("process {}", first.id())),
        "{}",
        stderr(&second)
    );
    // One-shot commands still work beside the daemon: SQLite serialises the writers.
    assert_eq!(code(&sandbox.run(&["tickets", "--json"])), 0);
    assert_eq!(first.terminate(), Some(0), "SIGTERM is a clean shutdown");
}

#[test]
fn sla_command_answers_with_local_offsets() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&[
        "sla",
        "--received",
        "2026-03-07T11:00:00+01:00",
        "--channel",
        "portal",
        "--taken",
        "2026-03-09T09:20:00+01:00",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    // Saturday: counts from Monday 09:00; portal take-in is 30 minutes.
    assert_eq!(v["effective_start"], "2026-03-09T09:00:00+01:00");
    assert_eq!(v["take_in_due"], "2026-03-09T09:30:00+01:00");
    // Level 1: 6 h from 09:20 = 09:20-13:00 (3h40) + 14:00-16:20.
    assert_eq!(v["resolution_due"], "2026-03-09T16:20:00+01:00");
    let human = sandbox.run(&["sla", "--received", "2026-03-07T11:00:00+01:00", "--channel", "email"]);
    assert!(stdout(&human).contains("2026-03-07  Saturday"), "{}", stdout(&human));
}

#[test]
fn suspensions_are_checked_and_change_the_calendar() {
    let sandbox = Sandbox::new();
    let now = "--now=2026-07-01T10:00:00+02:00";
    let add = |from: &str, to: &str| {
        sandbox.run(&[
            now,
            "suspension",
            "add",
            "--from",
            from,
            "--to",
            to,
            "--reason",
            "ferie",
        ])
    };
    assert_eq!(code(&add("2026-08-10", "2026-08-14")), 0);
    let over = add("2026-12-28", "2026-12-31");
    assert_eq!(code(&over), 65);
    assert!(stderr(&over).contains("9 > 8"), "{}", stderr(&over));
    let soon = add("2026-07-03", "2026-07-03");
    assert_eq!(code(&soon), 65);
    assert!(stderr(&soon).contains("2 < 5"), "{}", stderr(&soon));
    let overlap = add("2026-08-14", "2026-08-17");
    assert!(stderr(&overlap).contains("overlaps"), "{}", stderr(&overlap));
    let days = sandbox.run(&[
        "calendar",
        "working-days",
        "--from",
        "2026-08-10",
        "--to",
        "2026-08-17",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&days)).expect("json");
    assert_eq!(v["days"], serde_json::json!(["2026-08-17"]));
    let list: serde_json::Value =
        serde_json::from_str(&stdout(&sandbox.run(&["suspension", "list", "--json"]))).expect("json");
    assert_eq!(list[0]["working_days"], 5);
    assert_eq!(code(&sandbox.run(&[now, "suspension", "cancel", "1"])), 0);
    assert_eq!(
        code(&sandbox.run(&[now, "suspension", "cancel", "1"])),
        65,
        "already cancelled"
    );
    assert_eq!(code(&add("2026-12-28", "2026-12-31")), 0, "the quota is free again");
}

#[test]
fn ingest_from_standard_input_opens_one_ticket_and_acknowledges_once() {
    let sandbox = Sandbox::new();
    let now = "--now=2026-03-09T10:00:00+01:00";
    let message = simple_message(
        "Anna Ferrari <arch.ferrari@example.org>",
        "Firma digitale rifiutata",
        "a1@example.org",
        "La firma .p7m viene rifiutata.",
    );
    let out = sandbox.run_with_input(&[now, "ingest", "-"], &message);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("new ticket TCK-2026-00001"), "{}", stdout(&out));
    // The MTA retries (or the message comes by a second route): nothing happens twice.
    let again = sandbox.run_with_input(&[now, "ingest", "-"], &message);
    assert_eq!(code(&again), 0);
    assert!(stdout(&again).contains("duplicate"), "{}", stdout(&again));
    assert_eq!(code(&sandbox.run(&[now, "run", "--once"])), 0);
    let files = sandbox.outbox_files_for("ack");
    assert_eq!(files.len(), 1, "exactly one acknowledgment: {files:?}");
    assert_eq!(
        sandbox.outbox_files_for("notify").len(),
        1,
        "the first-level operator is notified once"
    );
    let ack = std::fs::read_to_string(&files[0]).expect("read ack");
    assert!(
        ack.contains("Subject: [TCK-2026-00001] Firma digitale rifiutata"),
        "{ack}"
    );
    assert!(ack.contains("In-Reply-To: <a1@example.org>"));
    // Take-in due for e-mail: 45 business minutes after 10:00.
    assert!(ack.contains("10:45"), "{ack}");
    let list: serde_json::Value = serde_json::from_str(&stdout(&sandbox.run(&["tickets", "--json"]))).expect("json");
    let ticket = &list[0];
    for (key, expected) in [
        ("id", serde_json::json!("TCK-2026-00001")),
        ("status", serde_json::json!("new")),
        ("level", serde_json::json!(1)),
        ("channel", serde_json::json!("email")),
        ("kind", serde_json::json!("problem")),
        ("requester", serde_json::json!("arch.ferrari@example.org")),
        ("assignee", serde_json::Value::Null),
        ("reopened", serde_json::json!(0)),
        ("messages", serde_json::json!(2)), // the request and its acknowledgment
        ("created_at", serde_json::json!("2026-03-09T09:00:00Z")),
    ] {
        assert_eq!(ticket[key], expected, "{key} in {ticket}");
    }
    let show: serde_json::Value =
        serde_json::from_str(&stdout(&sandbox.run(&["ticket", "show", "TCK-2026-00001", "--json"]))).expect("json");
    assert_eq!(show["messages"][0]["text"], "La firma .p7m viene rifiutata.");
    assert_eq!(show["events"][0]["action"], "created");
    assert_eq!(code(&sandbox.run(&["ticket", "show", "TCK-2026-00099"])), 65);
}

#[test]
fn unreadable_input_is_quarantined_with_exit_65() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_with_input(&["ingest", "-"], b"\x00\x01\x02 not a message at all");
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(stdout(&out).contains("quarantined"), "{}", stdout(&out));
    assert_eq!(code(&sandbox.run(&["run", "--once"])), 0);
    // The supervisors (the trial operator) are told once (on a working day they also get
    // their morning digest, whose file is another one).
    let files = sandbox.outbox_files_for("quarantined");
    assert_eq!(files.len(), 1);
    assert!(
        std::fs::read_to_string(&files[0])
            .expect("read")
            .contains("To: \"Giulia Bianchi\"")
    );
}

#[test]
fn maildir_messages_become_tickets_and_move_to_cur() {
    let sandbox = Sandbox::new();
    assert_eq!(code(&sandbox.run(&["init"])), 0);
    for i in 0..3 {
        let m = simple_message(
            "m@example.com",
            &format!("Problema {i}"),
            &format!("md{i}@example.com"),
            "testo",
        );
        std::fs::write(sandbox.path(&format!("var/inbox/new/{i}.eml")), m).expect("write");
    }
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(sandbox.path("var/inbox/new")).expect("new").count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(sandbox.path("var/inbox/cur")).expect("cur").count(),
        3
    );
    assert_eq!(sandbox.outbox_files_for("ack").len(), 3);
    let list: serde_json::Value = serde_json::from_str(&stdout(&sandbox.run(&["tickets", "--json"]))).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(3));
}

#[test]
fn one_pass_sends_the_whole_outbox_however_long() {
    let sandbox = Sandbox::new();
    let mut mbox = String::new();
    for i in 0..450 {
        mbox.push_str(&format!(
            "From x@example.org Mon Mar  9 10:00:00 2026\nFrom: u{i}@example.org\nTo: assistenza@comune.example.it\n\
             Subject: Richiesta {i}\nMessage-ID: <many{i}@example.org>\n\ntesto\n\n"
        ));
    }
    std::fs::write(sandbox.path("many.mbox"), mbox).expect("write");
    let out = sandbox.run(&["ingest", "--mbox", "many.mbox"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(code(&sandbox.run(&["run", "--once"])), 0);
    assert_eq!(
        sandbox.outbox_files_for("ack").len(),
        450,
        "more acknowledgments than one chunk of 200"
    );
}

#[test]
fn acknowledgments_leave_while_a_backlog_is_still_being_applied() {
    let sandbox = Sandbox::new();
    assert_eq!(code(&sandbox.run(&["init"])), 0);
    // A TOML table may come after the operators' array: small batches, no rate limit.
    let mut config = std::fs::read_to_string(sandbox.path("config.toml")).expect("config");
    config.push_str("\n[intake]\nbatch_size = 50\nack_rate_per_hour = 10000\n");
    std::fs::write(sandbox.path("config.toml"), config).expect("config");
    const BACKLOG: usize = 3000;
    for i in 0..BACKLOG {
        let m = simple_message(
            &format!("u{i}@example.org"),
            &format!("Richiesta {i}"),
            &format!("backlog{i}@example.org"),
            "testo",
        );
        std::fs::write(sandbox.path(&format!("var/inbox/new/{i:05}.eml")), m).expect("write");
    }
    let waiting = || std::fs::read_dir(sandbox.path("var/inbox/new")).expect("new").count();
    let mut daemon = sandbox.spawn_daemon(&["run"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while sandbox.outbox_files_for("ack").is_empty() {
        assert!(Instant::now() < deadline, "no acknowledgment was ever sent");
        std::thread::sleep(Duration::from_millis(5));
    }
    let still_waiting = waiting();
    assert!(
        still_waiting > 0,
        "the first acknowledgments must leave before the backlog is done, not after it"
    );
    while waiting() > 0 || sandbox.outbox_files_for("ack").len() < BACKLOG {
        assert!(Instant::now() < deadline, "the backlog was never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(daemon.terminate(), Some(0));
    eprintln!("the first acknowledgment left with {still_waiting} of {BACKLOG} messages still waiting");
    assert_eq!(
        sandbox.outbox_files_for("ack").len(),
        BACKLOG,
        "one acknowledgment each"
    );
}

/// `auth-check` on saved operator mails: the verdict, the header that decided, the exit code.
#[test]
fn auth_check_prints_the_verdict_and_the_deciding_header() {
    let fixture = |name: &str| format!("{}/fixtures/eml/operators/{name}", env!("CARGO_MANIFEST_DIR"));
    let m365 = Sandbox::with_config(
        "[security]\nprovider = \"microsoft365\"\n[[operator]]\nname = \"Giulia Bianchi\"\n\
         email = \"giulia.bianchi@comune.example.it\"\n",
    );
    let out = m365.run(&["auth-check", &fixture("0020-m365-outlook-internal-prendo.eml")]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Operator:   Giulia Bianchi"), "{text}");
    assert!(text.contains("Verdict:    authenticated (exchange-internal)"), "{text}");
    assert!(
        text.contains("Decided by: X-MS-Exchange-Organization-AuthAs: Internal"),
        "{text}"
    );

    let out = m365.run(&["auth-check", &fixture("0021-m365-forged-from-outside.eml")]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("NOT authenticated"), "{text}");
    assert!(text.contains("Decided by: Authentication-Results: spf=fail"), "{text}");
    assert!(
        text.contains("compauth=pass"),
        "the hint says what Exchange must show: {text}"
    );

    // The same Outlook mail checked as if our own MX wrote the headers: nothing matches.
    let generic = Sandbox::with_config(
        "[security]\ntrusted_authserv_id = \"mx.comune.example.it\"\n[[operator]]\nname = \"Giulia Bianchi\"\n\
         email = \"giulia.bianchi@comune.example.it\"\n",
    );
    let out = generic.run(&["auth-check", &fixture("0020-m365-outlook-internal-prendo.eml")]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("no Authentication-Results from mx.comune.example.it"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("trusted_authserv_id"), "the hint names the key");

    // A missing file is exit 66, an unknown provider a configuration error naming its key.
    assert_eq!(code(&generic.run(&["auth-check", "no-such.eml"])), 66);
    let bad = Sandbox::with_config("[security]\nprovider = \"exchange\"\n");
    let out = bad.run(&["check-config"]);
    assert_eq!(code(&out), 78);
    assert!(stderr(&out).contains("security.provider"), "{}", stderr(&out));
}

/// Issue 21, item 8: an explicit `--config` that does not exist ran the trial defaults,
/// unauthenticated commands included, and `check-config` even said "valid". Only the
/// implicit `config.toml` may be absent.
#[test]
fn an_explicit_config_that_does_not_exist_is_a_configuration_error() {
    let sandbox = Sandbox::new();
    for args in [
        &["--config", "/etc/sportello/config.tolm", "check-config"][..],
        &["--config", "missing.toml", "run", "--once"][..],
    ] {
        let out = sandbox.run(args);
        assert_eq!(code(&out), 78, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("no such configuration file"), "{}", stderr(&out));
        assert!(!stdout(&out).contains("valid"), "{}", stdout(&out));
    }
    // Without --config, a missing config.toml is still the trial.
    let out = sandbox.run(&["check-config"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("embedded defaults"), "{}", stdout(&out));
}

/// Issue 21, item 17: SIGHUP (an SSH session closing, a logrotate hook) ended the daemon
/// without a word. It is logged and ignored; SIGTERM still stops it cleanly.
#[test]
fn sighup_is_logged_and_ignored() {
    let sandbox = Sandbox::new();
    let log = sandbox.path("daemon.log");
    let mut daemon = sandbox.spawn_daemon_logging_to(&["run"], &log);
    wait_for_the_lock(&sandbox);
    daemon.hang_up();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("SIGHUP ignored")
    {
        assert!(Instant::now() < deadline, "no word about SIGHUP in the log");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(daemon.is_running(), "still running after SIGHUP");
    assert_eq!(daemon.terminate(), Some(0), "SIGTERM is still a clean shutdown");
}

/// Issue 16, section 4: a previous system's archive of 1,000 messages (requests and replies
/// over two months of 2026) comes in as history: tickets threaded as usual, not one mail
/// queued, not one breach in the service levels, the settled ones closed.
#[test]
fn an_archive_is_imported_quietly_as_history() {
    let sandbox = Sandbox::new();
    assert_eq!(code(&sandbox.run(&["init"])), 0);
    let mut mbox = String::new();
    for i in 0..1000u32 {
        let day = 2 + (i % 40); // 2 March .. 10 April, some on weekends and holidays
        let (month, day) = if day > 31 { (4, day - 31) } else { (3, day) };
        let hour = 8 + i % 10;
        let date = format!(
            "{day} {} 2026 {hour:02}:{:02}:00 +0100",
            if month == 3 { "Mar" } else { "Apr" },
            i % 60
        );
        let (subject, reply) = if i % 4 == 3 {
            (
                format!("Re: Pratica {}", i - 3),
                format!("In-Reply-To: <h{}@example.org>\n", i - 3),
            )
        } else {
            (format!("Pratica {i}"), String::new())
        };
        let from = format!("cittadino{}@example.org", if i % 4 == 3 { i - 3 } else { i });
        mbox.push_str(&format!(
            "From {from} Mon Mar  2 10:00:00 2026\nFrom: {from}\nTo: assistenza@comune.example.it\n\
             Subject: {subject}\nMessage-ID: <h{i}@example.org>\n{reply}Date: Mon, {date}\n\
             Content-Type: text/plain; charset=utf-8\n\nIl portale non accetta la pratica.\n\n"
        ));
    }
    let archive = sandbox.path("archive.mbox");
    std::fs::write(&archive, mbox).expect("mbox");
    let out = sandbox.run(&[
        "--now=2026-12-01T10:00:00+01:00",
        "import",
        "--mbox",
        &archive.display().to_string(),
        "--resolved-before",
        "2026-04-01",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1000 messages imported as history: 750 tickets"),
        "{}",
        stdout(&out)
    );
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(one("SELECT count(*) FROM outbox"), 0, "not one mail queued");
    assert_eq!(
        one("SELECT count(*) FROM messages WHERE direction = 'in'"),
        1000,
        "every message stored"
    );
    assert_eq!(
        one("SELECT count(*) FROM tickets WHERE imported_at IS NULL"),
        0,
        "all marked imported"
    );
    assert_eq!(
        one("SELECT max(messages) FROM (SELECT count(*) AS messages FROM messages GROUP BY ticket_id)"),
        2,
        "replies threaded"
    );
    // Settled: the tickets whose last message came before April; the others stay open.
    let resolved = one("SELECT count(*) FROM tickets WHERE status = 'resolved'");
    let open = one("SELECT count(*) FROM tickets WHERE status IN ('new', 'assigned')");
    assert!(
        resolved > 0 && open > 0 && resolved + open == 750,
        "{resolved} resolved, {open} open"
    );
    assert_eq!(
        one("SELECT count(*) FROM tickets WHERE status = 'resolved' AND resolved_at >= '2026-04-01'"),
        0
    );
    for month in ["03", "04"] {
        let last = if month == "03" { "31" } else { "30" };
        let report = sandbox.run(&[
            "report",
            "--from",
            &format!("2026-{month}-01"),
            "--to",
            &format!("2026-{month}-{last}"),
            "--format",
            "json",
        ]);
        assert_eq!(code(&report), 0, "{}", stderr(&report));
        let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
        assert_eq!(
            report["breaches"],
            serde_json::json!([]),
            "{month}: no breach from history"
        );
        assert_eq!(
            report["requests"]["total"], 0,
            "{month}: history is not the service's work: {report}"
        );
    }
    // A second import of the same archive adds nothing.
    let again = sandbox.run(&["import", "--mbox", &archive.display().to_string()]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(one("SELECT count(*) FROM messages WHERE direction = 'in'"), 1000);
}

/// Issue 15: README's tag table lists every tag the parser knows, in Italian and English.
#[test]
fn the_readme_lists_every_tag() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let table: String = readme
        .lines()
        .filter(|l| l.starts_with("| `#"))
        .collect::<Vec<_>>()
        .join("\n");
    for (italian, english) in sportello::commands::TAGS {
        assert!(
            table.contains(&format!("`#{italian}")),
            "#{italian} is not in README's tag table"
        );
        assert!(
            table.contains(&format!("#{english}")),
            "#{english} (English of #{italian}) is not in README's tag table"
        );
    }
}
