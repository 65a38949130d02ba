use super::tickets::{NewTicket, find_ticket, insert_event, insert_ticket, list_tickets, next_ticket_number};
use super::*;
use super::{cycles, kb, outbox};
use crate::model::{Channel, EventAction, Kind, Status, TicketId};
use chrono::TimeZone;

fn sample(year: i32) -> NewTicket {
    NewTicket {
        subject: "Errore caricamento file firmato".into(),
        channel: Channel::Email,
        kind: Kind::Problem,
        requester_email: Some("arch.ferrari@example.org".into()),
        requester_name: Some("Anna Ferrari".into()),
        requester_phone: None,
        category: None,
        pratica: Some("PE-2026-001234".into()),
        received_at: Utc.with_ymd_and_hms(2026, 3, 9, 9, 15, 0).single().expect("valid date"),
        year,
    }
}

#[test]
fn fresh_database_gets_every_migration() {
    let store = Store::open_in_memory().expect("open");
    assert_eq!(schema_version(store.conn()).expect("version"), MIGRATIONS.len());
    let tables: Vec<String> = store
        .conn()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    for t in [
        "tickets",
        "messages",
        "participants",
        "events",
        "outbox",
        "mailbox_checkpoints",
        "suspensions",
    ] {
        assert!(tables.iter().any(|n| n == t), "missing table {t}: {tables:?}");
    }
}

#[test]
fn upgrade_keeps_existing_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sportello.db");
    {
        let conn = Connection::open(&path).expect("open");
        migrate(&conn, 1).expect("first migration only");
        assert_eq!(schema_version(&conn).expect("version"), 1);
        // The rows a version-1 binary wrote (today's code writes today's schema only).
        conn.execute_batch(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, requester_email,
                 requester_name, pratica, secret, created_at, updated_at)
             VALUES ('TCK-2026-00001', 2026, 1, 'Errore caricamento file firmato', 'new', 1, 'email', 'problem',
                 'arch.ferrari@example.org', 'Anna Ferrari', 'PE-2026-001234', 's3cret',
                 '2026-03-09T09:15:00Z', '2026-03-09T09:15:00Z');
             INSERT INTO ticket_counters (year, last_number) VALUES (2026, 1);
             INSERT INTO participants (ticket_id, email, role) VALUES ('TCK-2026-00001', 'arch.ferrari@example.org', 'requester');
             INSERT INTO events (ticket_id, at, actor, action, detail) VALUES
                 ('TCK-2026-00001', '2026-03-09T09:15:00Z', 'test', 'created', 'channel email');",
        )
        .expect("insert at v1");
    }
    let store = Store::open(&path).expect("upgrade on open");
    assert_eq!(schema_version(store.conn()).expect("version"), MIGRATIONS.len());
    let ticket = find_ticket(store.conn(), TicketId { year: 2026, number: 1 })
        .expect("query")
        .expect("kept");
    assert_eq!(ticket.subject, "Errore caricamento file firmato");
    store
        .conn()
        .execute("INSERT INTO suspensions (from_date, to_date, reason, created_at) VALUES ('2026-08-10', '2026-08-14', 'ferie', 'x')", [])
        .expect("new table usable");
}

#[test]
fn newer_schema_is_refused_not_downgraded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sportello.db");
    {
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA user_version = 99").expect("set");
    }
    let err = Store::open(&path).err().expect("must refuse");
    assert!(
        format!("{err:#}").contains("version 99, newer than this sportello knows"),
        "{err:#}"
    );
    let conn = Connection::open(&path).expect("reopen");
    assert_eq!(schema_version(&conn).expect("version"), 99, "nothing was changed");
}

#[test]
fn numbering_is_per_year_and_a_rollback_leaves_no_gap() {
    let mut store = Store::open_in_memory().expect("open");
    {
        let tx = store.write().expect("tx");
        assert_eq!(
            insert_ticket(&tx, &sample(2026), "a", "t").expect("1").to_string(),
            "TCK-2026-00001"
        );
        assert_eq!(
            insert_ticket(&tx, &sample(2026), "b", "t").expect("2").to_string(),
            "TCK-2026-00002"
        );
        assert_eq!(
            insert_ticket(&tx, &sample(2027), "c", "t").expect("3").to_string(),
            "TCK-2027-00001"
        );
        tx.commit().expect("commit");
    }
    {
        let tx = store.write().expect("tx");
        assert_eq!(next_ticket_number(&tx, 2026).expect("n"), 3);
        // dropped without commit: rolled back
    }
    let tx = store.write().expect("tx");
    assert_eq!(insert_ticket(&tx, &sample(2026), "d", "t").expect("again 3").number, 3);
    tx.commit().expect("commit");
    let all = list_tickets(store.conn(), false).expect("list");
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|t| t.status == Status::New && t.messages == 0));
}

#[test]
fn two_writers_racing_never_share_or_skip_a_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sportello.db");
    Store::open(&path).expect("create");
    let per_writer = 60;
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).expect("open");
                let mut got = Vec::new();
                for i in 0..per_writer {
                    let tx = store.write().expect("tx");
                    let id = insert_ticket(&tx, &sample(2026), &format!("{w}-{i}"), "t").expect("insert");
                    tx.commit().expect("commit");
                    got.push(id.number);
                }
                got
            })
        })
        .collect();
    let mut numbers: Vec<u32> = writers.into_iter().flat_map(|h| h.join().expect("writer")).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=2 * per_writer).collect::<Vec<u32>>());
}

#[test]
fn events_are_append_only() {
    let mut store = Store::open_in_memory().expect("open");
    let tx = store.write().expect("tx");
    let id = insert_ticket(&tx, &sample(2026), "s", "t").expect("insert");
    insert_event(
        &tx,
        Some(id),
        sample(2026).received_at,
        "cli",
        EventAction::Note,
        "x",
        None,
    )
    .expect("event");
    tx.commit().expect("commit");
    // What happened, when, to which ticket and for whom never changes, and no line goes.
    for change in [
        "UPDATE events SET action = 'resolved'",
        "UPDATE events SET at = '2020-01-01T00:00:00Z'",
        "UPDATE events SET ticket_id = NULL",
        "UPDATE events SET operator = 'x@example.org'",
        "DELETE FROM events",
    ] {
        assert!(store.conn().execute(change, []).is_err(), "{change}");
    }
    // Who and the free text may be rewritten: anonymising (issue 17) removes a requester's
    // address and words from them.
    assert_eq!(
        store
            .conn()
            .execute("UPDATE events SET actor = 'anonimo', detail = 'y'", [])
            .expect("anonymised"),
        2
    );
    assert_eq!(
        super::tickets::ticket_events(store.conn(), id).expect("events").len(),
        2
    );
}

#[test]
fn a_full_disk_is_recognised_through_the_error_chain() {
    let io = std::io::Error::from(std::io::ErrorKind::StorageFull);
    assert!(super::is_disk_full(&anyhow::Error::from(io).context("writing")));
    let full = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None);
    assert!(super::is_disk_full(&anyhow::Error::from(full).context("committing")));
    let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
    assert!(!super::is_disk_full(&anyhow::Error::from(busy)));
    let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    assert!(!super::is_disk_full(&anyhow::Error::from(denied)));
}

#[test]
fn cached_statements_are_not_prepared_again_on_every_use() {
    let mut store = Store::open_in_memory().expect("open");
    let tx = store.write().expect("tx");
    for secret in ["a", "b", "c"] {
        insert_ticket(&tx, &sample(2026), secret, "cli").expect("insert");
    }
    tx.commit().expect("commit");
    // The shape of the latest-cycle lookup: an ORDER BY served by an index, which SQLite
    // would otherwise mark as depending on the bound value.
    let sql = "SELECT id FROM events WHERE ticket_id = ?1 ORDER BY id DESC LIMIT 1";
    for n in 1..=3 {
        let id = TicketId { year: 2026, number: n }.to_string();
        let found: i64 = store
            .conn()
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row([id], |r| r.get(0)))
            .expect("query");
        assert!(found > 0);
    }
    let stmt = store.conn().prepare_cached(sql).expect("cached");
    assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
}

/// Writes what no code path writes: a value the schema's CHECK constraints would refuse.
fn corrupt(conn: &Connection, sql: &str) {
    conn.execute_batch(&format!(
        "PRAGMA ignore_check_constraints = ON; {sql}; PRAGMA ignore_check_constraints = OFF;"
    ))
    .expect("corrupting a row");
}

fn error_text<T: std::fmt::Debug>(result: rusqlite::Result<T>) -> String {
    result.expect_err("a corrupt row must be an error").to_string()
}

#[test]
fn model_types_round_trip_through_sqlite() {
    use crate::model::Level;
    let store = Store::open_in_memory().expect("open");
    let conn = store.conn();
    let back = |value: &dyn rusqlite::ToSql| -> rusqlite::types::Value {
        conn.query_row("SELECT ?1", [value], |r| r.get(0)).expect("select")
    };
    for channel in Channel::ALL {
        assert_eq!(
            conn.query_row("SELECT ?1", [channel], |r| r.get::<_, Channel>(0))
                .expect("channel"),
            *channel
        );
    }
    for status in Status::ALL {
        assert_eq!(
            conn.query_row("SELECT ?1", [status], |r| r.get::<_, Status>(0))
                .expect("status"),
            *status
        );
    }
    for kind in Kind::ALL {
        assert_eq!(
            conn.query_row("SELECT ?1", [kind], |r| r.get::<_, Kind>(0))
                .expect("kind"),
            *kind
        );
    }
    let id = TicketId { year: 2026, number: 42 };
    assert_eq!(back(&id), rusqlite::types::Value::Text("TCK-2026-00042".into()));
    assert_eq!(back(&Channel::Email), rusqlite::types::Value::Text("email".into()));
    assert_eq!(back(&Level::Second), rusqlite::types::Value::Integer(2));
    assert_eq!(
        conn.query_row("SELECT ?1", [id], |r| r.get::<_, TicketId>(0))
            .expect("id"),
        id
    );
    assert_eq!(
        conn.query_row("SELECT 1", [], |r| r.get::<_, Level>(0)).expect("level"),
        Level::First
    );
    let text = error_text(conn.query_row("SELECT 'fax'", [], |r| r.get::<_, Channel>(0)));
    assert!(text.contains("unknown channel \"fax\""), "{text}");
    let text = error_text(conn.query_row("SELECT 3", [], |r| r.get::<_, Level>(0)));
    assert!(text.contains("level 3 is neither 1 nor 2"), "{text}");
    let text = error_text(conn.query_row("SELECT 'TCK-2026-1'", [], |r| r.get::<_, TicketId>(0)));
    assert!(text.contains("is not a ticket id"), "{text}");
}

#[test]
fn a_corrupt_ticket_row_is_an_error_naming_it_not_a_skipped_row() {
    let mut store = Store::open_in_memory().expect("open");
    let tx = store.write().expect("tx");
    let good = insert_ticket(&tx, &sample(2026), "a", "t").expect("insert");
    let bad = insert_ticket(&tx, &sample(2026), "b", "t").expect("insert");
    tx.commit().expect("commit");
    corrupt(
        store.conn(),
        &format!("UPDATE tickets SET channel = 'fax' WHERE id = '{bad}'"),
    );
    assert!(find_ticket(store.conn(), good).expect("the good row reads").is_some());
    let text = error_text(find_ticket(store.conn(), bad));
    assert!(
        text.contains("tickets row \"TCK-2026-00002\", column channel: unknown channel \"fax\""),
        "{text}"
    );
    let text = error_text(list_tickets(store.conn(), false));
    assert!(text.contains("TCK-2026-00002"), "{text}");
    corrupt(
        store.conn(),
        &format!("UPDATE tickets SET channel = 'email', level = 7 WHERE id = '{bad}'"),
    );
    let text = error_text(list_tickets(store.conn(), true));
    assert!(text.contains("column level: level 7 is neither 1 nor 2"), "{text}");
}

/// A ticket row with any id (the store's own insert only writes well-formed ones) and one
/// cycle, taken in.
fn ticket_with_cycle(conn: &Connection, id: &str) -> i64 {
    conn.execute(
        "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
         VALUES (?1, 2026, (SELECT count(*) + 1 FROM tickets), 'Firma', 'assigned', 1, 'email', 'problem', 's',
                 '2026-03-09T09:00:00Z', '2026-03-09T09:00:00Z')",
        [id],
    )
    .expect("ticket");
    conn.execute(
        "INSERT INTO cycles (ticket_id, number, received_at, effective_start, take_in_due, take_in_at, level,
             resolution_due)
         VALUES (?1, 1, '2026-03-09T09:00:00Z', '2026-03-09T09:00:00Z', '2026-03-09T09:45:00Z',
                 '2026-03-09T09:30:00Z', 1, '2026-03-10T09:30:00Z')",
        [id],
    )
    .expect("cycle");
    conn.last_insert_rowid()
}

#[test]
fn a_corrupt_cycle_is_an_error_naming_it_not_a_skipped_row() {
    let store = Store::open_in_memory().expect("open");
    let conn = store.conn();
    ticket_with_cycle(conn, "TCK-2026-00001");
    let open = cycles::open_cycles(conn).expect("well-formed rows read");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].ticket, TicketId { year: 2026, number: 1 });
    assert_eq!(cycles::all_cycles(conn).expect("all").len(), 1);

    let cycle = ticket_with_cycle(conn, "TCK-2026-2");
    let text = error_text(cycles::open_cycles(conn));
    assert!(
        text.contains(&format!(
            "cycles row {cycle}, column id: \"TCK-2026-2\" is not a ticket id"
        )),
        "{text}"
    );
    conn.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM cycles WHERE ticket_id = 'TCK-2026-2'; DELETE FROM tickets WHERE id = 'TCK-2026-2'; PRAGMA foreign_keys = ON;")
        .expect("remove the bad id");

    let cycle = ticket_with_cycle(conn, "TCK-2026-00003");
    corrupt(conn, "UPDATE tickets SET channel = 'fax' WHERE id = 'TCK-2026-00003'");
    for text in [
        error_text(cycles::open_cycles(conn)),
        error_text(cycles::all_cycles(conn)),
    ] {
        assert!(
            text.contains(&format!("cycles row {cycle}, column channel: unknown channel \"fax\"")),
            "{text}"
        );
    }
    corrupt(
        conn,
        &format!("UPDATE tickets SET channel = 'email'; UPDATE cycles SET level = 0 WHERE id = {cycle}"),
    );
    let text = error_text(cycles::all_cycles(conn));
    assert!(
        text.contains(&format!("cycles row {cycle}, column level: level 0 is neither 1 nor 2")),
        "{text}"
    );
    corrupt(
        conn,
        &format!("UPDATE cycles SET level = 1, take_in_due = 'lunedì' WHERE id = {cycle}"),
    );
    let text = error_text(cycles::open_cycles(conn));
    assert!(
        text.contains(&format!("cycles row {cycle}, column take_in_due")),
        "{text}"
    );
}

#[test]
fn an_alert_is_marked_once_per_cycle_and_kind() {
    let store = Store::open_in_memory().expect("open");
    let conn = store.conn();
    let cycle = ticket_with_cycle(conn, "TCK-2026-00001");
    let at = sample(2026).received_at;
    assert!(cycles::mark_alert(conn, cycle, "take_in_warning", at).expect("first"));
    assert!(!cycles::mark_alert(conn, cycle, "take_in_warning", at).expect("again"));
    assert!(cycles::mark_alert(conn, cycle, "take_in_breach", at).expect("another kind"));
}

#[test]
fn a_corrupt_ticket_is_an_error_for_its_knowledge_base_entry() {
    let store = Store::open_in_memory().expect("open");
    let conn = store.conn();
    ticket_with_cycle(conn, "TCK-2026-00001");
    let facts = kb::ticket_facts(conn, "TCK-2026-00001").expect("facts");
    assert_eq!((facts.channel, facts.first_request), (Channel::Email, None));
    corrupt(conn, "UPDATE tickets SET level = 5");
    let text = error_text(kb::ticket_facts(conn, "TCK-2026-00001"));
    assert!(
        text.contains("tickets row \"TCK-2026-00001\", column level: level 5 is neither 1 nor 2"),
        "{text}"
    );
    corrupt(conn, "UPDATE tickets SET level = 1, channel = 'pec'");
    let text = error_text(kb::ticket_facts(conn, "TCK-2026-00001"));
    assert!(text.contains("column channel: unknown channel \"pec\""), "{text}");
}

/// Queues a stored (not draft) mail about `ticket`, its id stored as given.
fn queue(conn: &Connection, ticket: Option<&str>, message_id: &str) {
    conn.execute_batch("PRAGMA foreign_keys = OFF").expect("pragma");
    conn.execute(
        "INSERT INTO outbox (ticket_id, message_id, purpose, recipients, raw, created_at, next_attempt_at)
         VALUES (?1, ?2, 'ack', 'anna@example.org', x'6869', '2026-03-09T09:00:00Z', '2026-03-09T09:00:00Z')",
        rusqlite::params![ticket, message_id],
    )
    .expect("queue");
    conn.execute_batch("PRAGMA foreign_keys = ON").expect("pragma");
}

#[test]
fn a_corrupt_queued_row_is_that_mails_error_not_a_skipped_row() {
    let store = Store::open_in_memory().expect("open");
    let conn = store.conn();
    queue(conn, Some("TCK-2026-00001"), "good@x");
    queue(conn, Some("TCK-26-1"), "bad@x");
    let now = sample(2026).received_at + chrono::TimeDelta::hours(1);
    let due = outbox::due(conn, now, 0, outbox::last_id(conn).expect("last"), 10).expect("due");
    assert_eq!(due.len(), 2, "the corrupt row is not skipped");
    let good = due[0].content.as_ref().expect("the good row reads");
    assert_eq!(
        (good.ticket, good.raw.as_slice()),
        (Some(TicketId { year: 2026, number: 1 }), b"hi".as_slice())
    );
    let text = format!("{}", due[1].content.as_ref().expect_err("the corrupt row"));
    assert!(
        text.contains(&format!(
            "outbox row {}, column ticket_id: \"TCK-26-1\" is not a ticket id",
            due[1].id
        )),
        "{text}"
    );
    assert!(error_text(outbox::find_content(conn, "bad@x")).contains("is not a ticket id"));
    assert!(outbox::find_content(conn, "good@x").is_ok());
}

/// When `personal_data_days` is the shorter period, a ticketless message's attachment is still
/// on the disk when the message is forgotten: the content its row stopped naming is handed back
/// for deletion, once nothing else names it.
#[test]
fn forgetting_a_ticketless_message_hands_back_the_files_no_row_names() {
    let store = Store::open_in_memory().expect("open");
    let conn = store.conn();
    conn.execute_batch(
        "INSERT INTO messages (id, ticket_id, direction, dedup_key, from_addr, subject, body_text, at, disposition)
         VALUES (1, NULL, 'in', 'a@example.org', 'carla@example.org', 'CI', 'la mia carta', '2026-01-05T09:00:00Z', 'noise'),
                (2, NULL, 'in', 'b@example.org', 'carla@example.org', 'CI', 'di nuovo', '2026-01-06T09:00:00Z', 'noise'),
                (3, NULL, 'in', 'c@example.org', 'dario@example.org', 'x', 'recente', '2026-03-01T09:00:00Z', 'noise');
         INSERT INTO attachments (message, filename, content_type, size, sha256) VALUES
                (1, 'ci_carla.pdf', 'application/pdf', 10, 'aaaa'),
                (2, 'ci_carla.pdf', 'application/pdf', 10, 'aaaa'),
                (2, 'firma.p7m', 'application/pkcs7-mime', 10, 'bbbb'),
                (3, 'altro.pdf', 'application/pdf', 10, 'bbbb');",
    )
    .expect("rows");
    let before = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).single().expect("instant");
    let forgotten = privacy::forget_loose(conn, before, 10).expect("forget");
    assert_eq!(forgotten.messages, 2);
    assert_eq!(
        forgotten.files,
        vec!["aaaa".to_string()],
        "'bbbb' is still the recent message's"
    );
    let named: i64 = conn
        .query_row(
            "SELECT count(*) FROM attachments WHERE filename LIKE '%carla%' OR (message < 3 AND sha256 IS NOT NULL)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(named, 0);
}
