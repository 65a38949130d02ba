//! Hostile and oversized input: each is handled with a bounded cost and a clear outcome.

use std::time::{Duration, Instant};

use crate::support::{Sandbox, code, stderr, stdout};

fn db(sandbox: &Sandbox) -> rusqlite::Connection {
    rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db")
}

fn count(sandbox: &Sandbox, sql: &str) -> i64 {
    db(sandbox).query_row(sql, [], |r| r.get(0)).expect("count")
}

#[test]
fn ten_thousand_recipients_make_one_ticket_with_a_bounded_list_of_participants() {
    let sandbox = Sandbox::new();
    let to: Vec<String> = (0..10_000).map(|i| format!("destinatario{i}@example.net")).collect();
    let raw = format!(
        "From: spam@example.com\r\nTo: assistenza@comune.example.it, {}\r\nSubject: Offerta\r\nMessage-ID: <many@example.com>\r\n\r\nx\r\n",
        to.join(",\r\n ")
    );
    let out = sandbox.run_with_input(&["ingest", "-"], raw.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("new ticket"));
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM participants WHERE role = 'cc'"),
        20
    );
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM outbox WHERE purpose = 'ack'"),
        1,
        "one acknowledgment, to the sender only"
    );
}

#[test]
fn a_thousand_mime_parts_keep_the_first_attachments_and_note_the_rest() {
    let sandbox = Sandbox::new();
    let mut raw = String::from(
        "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Tanti allegati\r\nMessage-ID: <parts@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nvedi allegati\r\n",
    );
    for i in 0..1000 {
        raw.push_str(&format!(
            "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f{i}.bin\"\r\n\r\nparte {i}\r\n"
        ));
    }
    raw.push_str("--b--\r\n");
    let out = sandbox.run_with_input(&["ingest", "-"], raw.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM attachments WHERE sha256 IS NOT NULL"),
        20,
        "[intake] max_attachments"
    );
    assert_eq!(
        count(
            &sandbox,
            "SELECT count(*) FROM attachments WHERE sha256 IS NULL AND note LIKE 'more than 20%'"
        ),
        980
    );
    assert!(
        std::fs::read_dir(sandbox.path("var/attachments"))
            .expect("stored")
            .count()
            > 0
    );
}

#[test]
fn a_message_over_fifty_megabytes_is_quarantined_unread() {
    let sandbox = Sandbox::new();
    let mut raw = b"From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Enorme\r\nMessage-ID: <big@example.org>\r\n\r\n".to_vec();
    raw.resize(51 * 1024 * 1024, b'x');
    let file = sandbox.path("big.eml");
    std::fs::write(&file, &raw).expect("write");
    // Only the first max_message_bytes + 1 are read, whatever the size.
    let out = sandbox.run(&["ingest", &file.display().to_string()]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("larger than intake.max_message_bytes"),
        "{}",
        stdout(&out)
    );
    assert_eq!(count(&sandbox, "SELECT count(*) FROM tickets"), 0);
    assert_eq!(count(&sandbox, "SELECT count(*) FROM quarantine"), 1);
}

#[test]
fn markup_and_control_characters_from_users_stay_data() {
    let sandbox = Sandbox::new();
    let raw = "From: \"<script>alert(1)</script>\" <a@example.org>\r\nTo: assistenza@comune.example.it\r\n\
               Subject: =?UTF-8?B?PGltZyBzcmM9eCBvbmVycm9yPWFsZXJ0KDEpPg0KQmNjOiB2aWN0aW1AZXhhbXBsZS5uZXQ=?=\r\n\
               Message-ID: <x@example.org>\r\n\r\n<b>ciao</b>\r\n";
    // The subject decodes to "<img src=x onerror=alert(1)>\r\nBcc: victim@example.net".
    assert_eq!(code(&sandbox.run_with_input(&["ingest", "-"], raw.as_bytes())), 0);
    assert_eq!(code(&sandbox.run(&["run", "--once"])), 0);
    let files = sandbox.outbox_files_for("ack");
    let ack = std::fs::read_to_string(&files[0]).expect("ack");
    assert!(
        !ack.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "no header injection:\n{ack}"
    );
    // The report, an HTML output that shows subjects, escapes them.
    let html = stdout(&sandbox.run(&[
        "--now=2026-12-15T10:00:00+01:00",
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
    ]));
    assert!(
        !html.contains("<img src=x") && !html.contains("<script>alert"),
        "report must escape user text"
    );
}

#[test]
fn a_database_locked_by_another_process_is_a_temporary_failure_and_loses_nothing() {
    let sandbox = Sandbox::new();
    assert_eq!(code(&sandbox.run(&["init"])), 0);
    let message = crate::support::simple_message("a@example.org", "Bloccato", "locked@example.org", "x");
    std::fs::write(sandbox.path("var/inbox/new/1.eml"), message).expect("deliver");
    // Another process holds the write lock longer than the busy timeout (10 s).
    let holder = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 75, "retry later: {}", stderr(&out));
    assert!(
        sandbox.path("var/inbox/new/1.eml").exists(),
        "the message stays where it was"
    );
    holder.execute_batch("ROLLBACK").expect("unlock");
    drop(holder);
    assert_eq!(code(&sandbox.run(&["run", "--once"])), 0);
    assert!(!sandbox.path("var/inbox/new/1.eml").exists());
    assert_eq!(count(&sandbox, "SELECT count(*) FROM tickets"), 1);
}

/// The data folder fills up while the daemon runs: it stops taking mail, says so, keeps running,
/// and takes everything once there is room: nothing lost, nothing twice.
#[test]
fn a_full_data_folder_pauses_intake_and_loses_nothing() {
    let sandbox = Sandbox::new();
    let Some(disk) = crate::support::SmallDisk::mount(&sandbox.path("var"), "4m") else {
        eprintln!("a_full_data_folder: SKIPPED, mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    assert_eq!(code(&sandbox.run(&["init"])), 0);
    let log = sandbox.path("daemon.log");
    let mut daemon = sandbox.spawn_daemon_logging_to(&["run"], &log);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(sandbox.path("var/daemon.lock")).map_or(true, |t| t.trim().is_empty()) {
        assert!(Instant::now() < deadline, "the daemon never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    const MESSAGES: usize = 20;
    // Written while there is room, made visible once the disk is full (a rename needs none).
    for i in 0..MESSAGES {
        let body = "Il portale non carica la pratica. ".repeat(50);
        let message = crate::support::simple_message(
            &format!("a{i}@example.org"),
            &format!("Disco {i}"),
            &format!("full{i}@example.org"),
            &body,
        );
        std::fs::write(sandbox.path(&format!("var/inbox/tmp/{i}.eml")), message).expect("deliver");
    }
    let filler = disk.fill();
    for i in 0..MESSAGES {
        std::fs::rename(
            sandbox.path(&format!("var/inbox/tmp/{i}.eml")),
            sandbox.path(&format!("var/inbox/new/{i}.eml")),
        )
        .expect("rename");
    }
    let said_so = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .expect("log")
        .contains("the data folder is full")
    {
        assert!(
            Instant::now() < said_so,
            "the daemon never said the disk was full: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        std::fs::read_dir(sandbox.path("var/inbox/new")).expect("inbox").count(),
        MESSAGES,
        "no mail taken while full"
    );
    assert!(
        daemon.is_running(),
        "a full disk does not end the daemon: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    std::fs::remove_file(filler).expect("make room");
    let resumed = Instant::now() + Duration::from_secs(120);
    while std::fs::read_dir(sandbox.path("var/inbox/new")).expect("inbox").count() > 0 {
        assert!(Instant::now() < resumed, "the daemon never resumed after room was made");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(daemon.terminate(), Some(0));
    assert!(
        std::fs::read_to_string(&log)
            .expect("log")
            .contains("room in the data folder again")
    );
    assert_eq!(count(&sandbox, "SELECT count(*) FROM tickets"), MESSAGES as i64);
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM messages WHERE direction = 'in'"),
        MESSAGES as i64
    );
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM outbox WHERE purpose = 'ack'"),
        MESSAGES as i64,
        "one acknowledgment each"
    );
    // A one-shot pass on a full disk asks to be run again, in words, and takes nothing.
    let message = crate::support::simple_message("late@example.org", "Disco pieno", "late@example.org", "x");
    std::fs::write(sandbox.path("var/inbox/tmp/late.eml"), message).expect("deliver");
    let filler = disk.fill();
    std::fs::rename(
        sandbox.path("var/inbox/tmp/late.eml"),
        sandbox.path("var/inbox/new/late.eml"),
    )
    .expect("deliver");
    let once = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&once), 75, "{}", stderr(&once));
    assert!(stderr(&once).contains("the data folder is full"), "{}", stderr(&once));
    assert!(
        sandbox.path("var/inbox/new/late.eml").exists(),
        "the mail stays in the inbox"
    );
    std::fs::remove_file(filler).expect("make room");
}
