//! The accounting report over a replayed month (March 2026) whose every figure was worked out
//! by hand below: tickets across a weekend, a local holiday, a Saturday, a suspension day, the
//! change to summer time, a reopening, an escalation, an out-of-scope closing, a phone call-back
//! and breaches; and the four SLA facts of issue 20 (T10–T13): a request of Saturday 28
//! February, which belongs to March, an escalation that is the take-in, a phone request
//! without e-mail resolved by the closing call, and a take-in confirmation that left three
//! minutes after it was processed. T14, on Friday 27 February at 23:59, a working day, is
//! February's.

use serde_json::json;

use crate::support::{Sandbox, code, stderr, stdout};
use crate::workflow_support::{CONFIG, ingest, last_message_id, operator_mail};

const GIULIA: &str = "giulia.bianchi@comune.example.it";
const LUCA: &str = "luca.verdi@comune.example.it";

fn request(who: &str, subject: &str, id: &str) -> String {
    format!(
        "From: {who}\r\nTo: assistenza@comune.example.it\r\nSubject: {subject}\r\nMessage-ID: <{id}@example.org>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nTesto della richiesta.\r\n"
    )
}

/// Sends what is queued at `now` (the instants the SLA counts are the sending instants).
fn send(sandbox: &Sandbox, now: &str) {
    let out = sandbox.run(&[&format!("--now={now}"), "run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// An operator's command on a ticket, then the sending pass, at `now`.
fn command(sandbox: &Sandbox, now: &str, operator: &str, ticket: &str, id: &str, body: &str) {
    let notice = last_message_id(sandbox, "notify", operator, ticket);
    ingest(
        sandbox,
        now,
        operator_mail(operator, "Re: notifica", Some(&notice), true, id, body),
    );
    send(sandbox, now);
}

pub(crate) fn replay_march() -> Sandbox {
    // Thursday 12 March is the town's patron saint in this replay.
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}\n[calendar]\nlocal_holidays = [\"03-12 Santo patrono\"]\n"
    ));
    // A suspension on Friday 27 March, planned on 1 March.
    let out = sandbox.run(&[
        "--now=2026-03-01T10:00:00+01:00",
        "suspension",
        "add",
        "--from",
        "2026-03-27",
        "--to",
        "2026-03-27",
        "--reason",
        "festa patronale",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // T1 Mon 2 Mar 09:00: taken 09:30 (TP 30 min), resolved 11:30 (TR 120 min), 30 min logged.
    ingest(
        &sandbox,
        "2026-03-02T09:00:00+01:00",
        request("a1@example.org", "Firma digitale non valida", "t1"),
    );
    command(
        &sandbox,
        "2026-03-02T09:30:00+01:00",
        GIULIA,
        "TCK-2026-00001",
        "c1",
        "#prendo",
    );
    command(
        &sandbox,
        "2026-03-02T11:30:00+01:00",
        GIULIA,
        "TCK-2026-00001",
        "c2",
        "#tempo 30m\n#risolto\nRifirmato in CAdES.",
    );
    // T2 Fri 6 Mar 16:50, due Mon 08:35: taken Mon 09:00 (TP breached, 10 + 60 = 70 min),
    // resolved 10:00 (TR 60 min).
    ingest(
        &sandbox,
        "2026-03-06T16:50:00+01:00",
        request("a2@example.org", "Caricamento firma digitale", "t2"),
    );
    command(
        &sandbox,
        "2026-03-09T09:00:00+01:00",
        GIULIA,
        "TCK-2026-00002",
        "c3",
        "#prendo",
    );
    command(
        &sandbox,
        "2026-03-09T10:00:00+01:00",
        GIULIA,
        "TCK-2026-00002",
        "c4",
        "#risolto\nFile troppo grande, compresso.",
    );
    // T3 Sat 14 Mar: counts from Mon 16 09:00, taken 09:15 (TP 15), escalated to Luca at 10:00:
    // level 2 due = 09:15 + 8 h = Tue 17 09:15; resolved Tue 10:15 (TR breached, 540 min).
    ingest(
        &sandbox,
        "2026-03-14T10:00:00+01:00",
        request("a3@example.org", "Firma digitale rifiutata", "t3"),
    );
    command(
        &sandbox,
        "2026-03-16T09:15:00+01:00",
        GIULIA,
        "TCK-2026-00003",
        "c5",
        "#prendo",
    );
    command(
        &sandbox,
        "2026-03-16T10:00:00+01:00",
        GIULIA,
        "TCK-2026-00003",
        "c6",
        "#secondolivello Luca Verdi",
    );
    command(
        &sandbox,
        "2026-03-17T10:15:00+01:00",
        LUCA,
        "TCK-2026-00003",
        "c7",
        "#risolto\nCertificato revocato, sostituito.",
    );
    // T4 Thu 19 Mar 12:30: resolved at once 12:50 (TP 20, TR 0); reopened Fri 20 10:00 back to
    // Giulia (TP 0), resolved 11:00 (TR 60).
    ingest(
        &sandbox,
        "2026-03-19T12:30:00+01:00",
        request("a4@example.org", "Pagamento pagoPA", "t4"),
    );
    command(
        &sandbox,
        "2026-03-19T12:50:00+01:00",
        GIULIA,
        "TCK-2026-00004",
        "c8",
        "#risolto\nRiprovi il pagamento.",
    );
    let closing = last_message_id(&sandbox, "closing", "a4@example.org", "TCK-2026-00004");
    ingest(
        &sandbox,
        "2026-03-20T10:00:00+01:00",
        format!(
            "From: a4@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Re: x\r\nMessage-ID: <t4r@example.org>\r\n\
             In-Reply-To: <{closing}>\r\n\r\nNon funziona ancora.\r\n"
        ),
    );
    send(&sandbox, "2026-03-20T10:00:00+01:00");
    command(
        &sandbox,
        "2026-03-20T11:00:00+01:00",
        GIULIA,
        "TCK-2026-00004",
        "c9",
        "#risolto\nPagamento registrato.",
    );
    // T5 Mon 23 Mar 09:00: out of scope at 09:20 (TP 20, TR 0).
    ingest(
        &sandbox,
        "2026-03-23T09:00:00+01:00",
        request("a5@example.org", "Permesso in sanatoria", "t5"),
    );
    command(
        &sandbox,
        "2026-03-23T09:20:00+01:00",
        GIULIA,
        "TCK-2026-00005",
        "c10",
        "#fuoriambito",
    );
    // T6 Tue 24 Mar 10:00, phone without e-mail: call-back 11:00 (TP 60); resolution due Wed 25
    // 09:00, never resolved (TR breached, not yet).
    let out = sandbox.run(&[
        "--now=2026-03-24T10:00:00+01:00",
        "phone",
        "--number",
        "+39 333 1234567",
        "--summary",
        "Accesso SPID",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    send(&sandbox, "2026-03-24T10:00:00+01:00");
    command(
        &sandbox,
        "2026-03-24T11:00:00+01:00",
        GIULIA,
        "TCK-2026-00006",
        "c11",
        "#telefono\nRichiamato, spiegata la procedura.",
    );
    // T7 Wed 25 Mar 09:00: never taken (TP breached, not yet; due 09:45).
    ingest(
        &sandbox,
        "2026-03-25T09:00:00+01:00",
        request("a7@example.org", "Pagamento pagoPA fallito", "t7"),
    );
    // T8 Fri 27 Mar (suspended) 10:00: counts from Mon 30 09:00 (summer time since Sunday: +02:00);
    // taken 09:40 (TP 40), resolved
    // 12:00 (TR 140).
    ingest(
        &sandbox,
        "2026-03-27T10:00:00+01:00",
        request("a8@example.org", "Accesso SPID non riuscito", "t8"),
    );
    command(
        &sandbox,
        "2026-03-30T09:40:00+02:00",
        GIULIA,
        "TCK-2026-00008",
        "c12",
        "#prendo",
    );
    command(
        &sandbox,
        "2026-03-30T12:00:00+02:00",
        GIULIA,
        "TCK-2026-00008",
        "c13",
        "#risolto\nRiprovi dopo aver svuotato la cache.",
    );
    // T9 (replayed last, so the other numbers stay put) Wed 11 Mar 16:45: 15 minutes, the holiday, then Fri 13 until 08:30 is due; taken 08:20
    // (TP 15 + 20 = 35), resolved 09:20 (TR 60).
    ingest(
        &sandbox,
        "2026-03-11T16:45:00+01:00",
        request("a9@example.org", "Sessione scaduta", "t9"),
    );
    command(
        &sandbox,
        "2026-03-13T08:20:00+01:00",
        GIULIA,
        "TCK-2026-00009",
        "c14",
        "#prendo",
    );
    command(
        &sandbox,
        "2026-03-13T09:20:00+01:00",
        GIULIA,
        "TCK-2026-00009",
        "c15",
        "#risolto\nRieseguito l'accesso.",
    );
    // Issue 20, case 4. T10 Sat 28 Feb 10:00: deemed received Mon 2 Mar 09:00 (due 09:45), so
    // March's; taken 09:20 (TP 20), resolved 10:20 (TR 60).
    ingest(
        &sandbox,
        "2026-02-28T10:00:00+01:00",
        request("a10@example.org", "Marca da bollo virtuale", "t10"),
    );
    command(
        &sandbox,
        "2026-03-02T09:20:00+01:00",
        GIULIA,
        "TCK-2026-00010",
        "c16",
        "#prendo",
    );
    command(
        &sandbox,
        "2026-03-02T10:20:00+01:00",
        GIULIA,
        "TCK-2026-00010",
        "c17",
        "#risolto\nMarca acquistata con pagoPA.",
    );
    // Case 1. T11 Tue 3 Mar 09:00 (TP due 09:45): nobody takes it in; escalated to Luca at 09:10,
    // whose letter naming him is the take-in (TP 10); level 2 due 09:10 + 8 h = 230 + 180 min
    // on Tuesday, 70 on Wednesday: Wed 4 Mar 09:10; resolved by Luca 09:40 (TR 30).
    ingest(
        &sandbox,
        "2026-03-03T09:00:00+01:00",
        request("a11@example.org", "Delega al professionista", "t11"),
    );
    command(
        &sandbox,
        "2026-03-03T09:10:00+01:00",
        GIULIA,
        "TCK-2026-00011",
        "c18",
        "#secondolivello Luca Verdi\nServe la verifica della delega.",
    );
    command(
        &sandbox,
        "2026-03-03T09:40:00+01:00",
        LUCA,
        "TCK-2026-00011",
        "c19",
        "#risolto\nDelega registrata.",
    );
    // Case 2. T12 Wed 4 Mar 10:00, phone without e-mail (TP due 11:30): call-back 10:30 (TP 30);
    // TR due 10:30 + 6 h = 150 + 180 min, 30 on Thursday: Thu 5 Mar 08:30; the closing call
    // recorded by `#risolto` at 11:00 (TR 30).
    let out = sandbox.run(&[
        "--now=2026-03-04T10:00:00+01:00",
        "phone",
        "--number",
        "+39 333 7654321",
        "--summary",
        "Credenziali smarrite",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    send(&sandbox, "2026-03-04T10:00:00+01:00");
    command(
        &sandbox,
        "2026-03-04T10:30:00+01:00",
        GIULIA,
        "TCK-2026-00012",
        "c20",
        "#telefono\nRichiamato, chiesto il codice fiscale.",
    );
    command(
        &sandbox,
        "2026-03-04T11:00:00+01:00",
        GIULIA,
        "TCK-2026-00012",
        "c21",
        "#risolto\nCredenziali reimpostate al telefono.",
    );
    // Case 3. T13 Tue 10 Mar 10:05 (TP due 10:50): `#prendo` processed 10:44 during a mail
    // outage, its confirmation left 10:47 (TP 42); TR from 10:47: 133 + 180 min, 47 on
    // Wednesday: due Wed 11 Mar 08:47 (from 10:44 it would be 08:44); resolved 08:46 (TR 359).
    ingest(
        &sandbox,
        "2026-03-10T10:05:00+01:00",
        request("a13@example.org", "Allegato illeggibile", "t13"),
    );
    send(&sandbox, "2026-03-10T10:05:00+01:00");
    let notice = last_message_id(&sandbox, "notify", GIULIA, "TCK-2026-00013");
    ingest(
        &sandbox,
        "2026-03-10T10:44:00+01:00",
        operator_mail(GIULIA, "Re: notifica", Some(&notice), true, "c22", "#prendo"),
    );
    send(&sandbox, "2026-03-10T10:47:00+01:00");
    command(
        &sandbox,
        "2026-03-11T08:46:00+01:00",
        GIULIA,
        "TCK-2026-00013",
        "c23",
        "#risolto\nFile convertito in PDF/A.",
    );
    // The mirror of case 4. T14 Fri 27 Feb 23:59, a working day: February's, its clock from
    // Monday 08:00 (due 08:45); taken Mon 2 Mar 08:30 (TP 30), resolved 09:30 (TR 60) — work
    // done in March, so the technicians' table of March counts it.
    ingest(
        &sandbox,
        "2026-02-27T23:59:00+01:00",
        request("a14@example.org", "Ricevuta non scaricabile", "t14"),
    );
    command(
        &sandbox,
        "2026-03-02T08:30:00+01:00",
        GIULIA,
        "TCK-2026-00014",
        "c24",
        "#prendo",
    );
    command(
        &sandbox,
        "2026-03-02T09:30:00+01:00",
        GIULIA,
        "TCK-2026-00014",
        "c25",
        "#risolto\nRicevuta rigenerata.",
    );
    sandbox
}

#[test]
fn the_report_of_a_replayed_month_matches_hand_computed_figures() {
    let sandbox = replay_march();
    let out = sandbox.run(&["--now=2026-04-02T10:00:00+02:00", "report", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        r["period"],
        json!({"from": "2026-03-01", "to": "2026-03-31"}),
        "defaults to the last complete month"
    );
    // T1–T13: T10 of Saturday 28 February belongs to March, T14 of Friday 27 to February.
    assert_eq!(r["requests"]["total"], 13);
    assert_eq!(r["requests"]["by_channel"], json!({"email": 11, "phone": 2}));
    assert_eq!(r["requests"]["by_level"], json!({"1": 11, "2": 2}));
    assert_eq!(r["requests"]["by_kind"], json!({"problem": 13}));
    assert_eq!(
        r["requests"]["by_outcome"],
        json!({"open": 2, "out_of_scope": 1, "resolved": 10})
    );
    // Each request on the day it belongs to: T1 and T10 on Monday 2, T3 of Saturday 14 on
    // Monday 16, T8 of the suspended Friday 27 on Monday 30.
    for (day, count) in [
        ("2026-03-02", 2),
        ("2026-03-03", 1),
        ("2026-03-04", 1),
        ("2026-03-10", 1),
        ("2026-03-14", 0),
        ("2026-03-15", 0),
        ("2026-03-16", 1),
        ("2026-03-27", 0),
        ("2026-03-30", 1),
    ] {
        assert_eq!(r["requests"]["per_day"][day], count, "{day}");
    }
    assert_eq!(
        r["deemed_received"],
        json!([
            {"ticket": "TCK-2026-00010", "received": "2026-02-28T10:00:00+01:00", "deemed": "2026-03-02T09:00:00+01:00"},
            {"ticket": "TCK-2026-00003", "received": "2026-03-14T10:00:00+01:00", "deemed": "2026-03-16T09:00:00+01:00"},
            {"ticket": "TCK-2026-00008", "received": "2026-03-27T10:00:00+01:00", "deemed": "2026-03-30T09:00:00+02:00"},
        ])
    );
    // TP e-mail/1: T1 30, T2 70 (late), T4 20, T4's reopening 0, T5 20, T7 (late, not yet),
    // T8 40, T9 35, T10 20, T13 42 (to 10:47, when its confirmation left): 8 of 10; sorted
    // minutes 0 20 20 20 30 35 40 42 70, median the 5th, 90th percentile the 9th.
    assert_eq!(
        r["take_in"]["email/1"],
        json!({"met": 8, "breached": 2, "pending": 0, "percent_met": 80.0, "median_minutes": 30, "p90_minutes": 70})
    );
    // TP e-mail/2: T3 15, T11 10 (the escalation's letter).
    assert_eq!(
        r["take_in"]["email/2"],
        json!({"met": 2, "breached": 0, "pending": 0, "percent_met": 100.0, "median_minutes": 10, "p90_minutes": 15})
    );
    // TP phone/1: the call-backs of T6 (60) and T12 (30).
    assert_eq!(
        r["take_in"]["phone/1"],
        json!({"met": 2, "breached": 0, "pending": 0, "percent_met": 100.0, "median_minutes": 30, "p90_minutes": 60})
    );
    // TR e-mail/1: T1 120, T2 60, T4 0, T4's reopening 60, T5 0, T8 140, T9 60, T10 60, T13
    // 359 (due 08:47 from 10:47, resolved 08:46): sorted 0 0 60 60 60 60 120 140 359.
    assert_eq!(
        r["resolution"]["email/1"],
        json!({"met": 9, "breached": 0, "pending": 0, "percent_met": 100.0, "median_minutes": 60, "p90_minutes": 359})
    );
    // TR e-mail/2: T3 540 (late), T11 30.
    assert_eq!(
        r["resolution"]["email/2"],
        json!({"met": 1, "breached": 1, "pending": 0, "percent_met": 50.0, "median_minutes": 30, "p90_minutes": 540})
    );
    // TR phone/1: T6 never resolved (late, not yet), T12's closing call 30.
    assert_eq!(
        r["resolution"]["phone/1"],
        json!({"met": 1, "breached": 1, "pending": 0, "percent_met": 50.0, "median_minutes": 30, "p90_minutes": 30})
    );
    // Giulia: taken T1 T2 T3 T4 T5 T6 T8 T9 + T10 T12 T13 T14 (T14's work was done in March);
    // resolved T1 T2 T4 twice T5 T8 T9 + T10 T12 T13 T14; escalated T3 and T11.
    assert_eq!(
        r["technicians"][GIULIA],
        json!({"name": "Giulia Bianchi", "taken": 12, "resolved": 11, "escalated": 2, "reopened": 1, "minutes_logged": 30})
    );
    assert_eq!(
        r["technicians"][LUCA],
        json!({"name": "Luca Verdi", "taken": 2, "resolved": 2, "escalated": 0, "reopened": 0, "minutes_logged": 0})
    );
    assert_eq!(r["reopen_rate_percent"], 7.7, "1 reopening of 13 closings");
    assert_eq!(r["out_of_scope_rate_percent"], 7.7, "1 out-of-scope of 13 closings");
    assert_eq!(
        (
            r["suspension_days_used"].as_u64(),
            r["suspension_days_allowed"].as_u64()
        ),
        (Some(1), Some(8))
    );
    let topics: Vec<(String, u64)> = r["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| {
            (
                t["term"].as_str().unwrap_or_default().to_string(),
                t["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [
        ("digitale", 3),
        ("firma", 3),
        ("accesso", 2),
        ("pagamento", 2),
        ("pagopa", 2),
        ("spid", 2),
    ]
    .iter()
    .map(|(w, n)| (w.to_string(), *n))
    .collect();
    assert_eq!(topics, expected);
    let breaches: Vec<(String, String, String, serde_json::Value)> = r["breaches"]
        .as_array()
        .expect("breaches")
        .iter()
        .map(|b| {
            (
                b["ticket"].as_str().unwrap_or_default().to_string(),
                b["clock"].as_str().unwrap_or_default().to_string(),
                b["due"].as_str().unwrap_or_default().to_string(),
                b["actual"].clone(),
            )
        })
        .collect();
    assert_eq!(
        breaches,
        vec![
            (
                "TCK-2026-00002".into(),
                "TP".into(),
                "2026-03-09T08:35:00+01:00".into(),
                json!("2026-03-09T09:00:00+01:00")
            ),
            (
                "TCK-2026-00003".into(),
                "TR".into(),
                "2026-03-17T09:15:00+01:00".into(),
                json!("2026-03-17T10:15:00+01:00")
            ),
            (
                "TCK-2026-00006".into(),
                "TR".into(),
                "2026-03-25T09:00:00+01:00".into(),
                serde_json::Value::Null
            ),
            (
                "TCK-2026-00007".into(),
                "TP".into(),
                "2026-03-25T09:45:00+01:00".into(),
                serde_json::Value::Null
            ),
        ]
    );
    // February holds T14 only: made on Friday 27 at 23:59, a working day; T10 of Saturday 28
    // is March's. Its work (on 2 March) is in March's technicians' table, not here.
    let out = sandbox.run(&[
        "--now=2026-04-02T10:00:00+02:00",
        "report",
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-28",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let february: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(february["requests"]["total"], 1);
    assert_eq!(february["requests"]["per_day"]["2026-02-27"], 1);
    assert_eq!(february["requests"]["per_day"]["2026-02-28"], 0);
    // TP from Friday 23:59 (outside hours: 0) to Monday 08:30: 30; TR 08:30–09:30: 60.
    assert_eq!(
        february["take_in"],
        json!({"email/1": {"met": 1, "breached": 0, "pending": 0, "percent_met": 100.0, "median_minutes": 30, "p90_minutes": 30}})
    );
    assert_eq!(
        february["resolution"],
        json!({"email/1": {"met": 1, "breached": 0, "pending": 0, "percent_met": 100.0, "median_minutes": 60, "p90_minutes": 60}})
    );
    assert_eq!(february["technicians"], json!({}));
    assert_eq!(february["deemed_received"], json!([]));
    assert_eq!(february["breaches"], json!([]));
}

#[test]
fn csv_and_html_carry_the_same_figures_for_their_readers() {
    let sandbox = replay_march();
    let csv = sandbox.run(&[
        "--now=2026-04-02T10:00:00+02:00",
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "csv",
    ]);
    assert_eq!(code(&csv), 0, "{}", stderr(&csv));
    assert!(
        csv.stdout.starts_with("\u{feff}".as_bytes()),
        "UTF-8 BOM for Italian spreadsheets"
    );
    let text = stdout(&csv);
    assert!(text.contains("richieste;totale;13"), "{text}");
    assert!(text.contains("TP;email/1;8;2;0;80,0;30;70"), "{text}");
    assert!(
        text.contains("\nricevuta in giorno non lavorativo;ricevuta;contata dal\nTCK-2026-00010;2026-02-28 10:00;2026-03-02 09:00\n"),
        "{text}"
    );
    assert!(
        text.contains("giorni non lavorativi;le richieste effettuate nei giorni non lavorativi o festivi si intendono effettuate alle ore 9 del giorno lavorativo successivo"),
        "{text}"
    );
    assert!(
        text.contains("TCK-2026-00007;e-mail;1;TP;2026-03-25 09:45;non ancora"),
        "{text}"
    );
    let out_file = sandbox.path("report.html");
    let html = sandbox.run(&[
        "--now=2026-04-02T10:00:00+02:00",
        "report",
        "--format",
        "html",
        "--out",
        &out_file.display().to_string(),
    ]);
    assert_eq!(code(&html), 0, "{}", stderr(&html));
    let page = std::fs::read_to_string(out_file).expect("html written");
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<html lang=\"it\">"));
    assert!(page.matches("<svg").count() >= 3, "charts are inline SVG");
    assert!(
        !page.contains("<script") && !page.contains("src=\"http") && !page.contains("href=\"http"),
        "no scripts, no external assets"
    );
    // Issue 21, cosmetic: a decimal comma in the Italian page as in the CSV, Italian values in
    // the CSV, and the clocks explained.
    assert!(page.contains("Consuntivo del servizio di assistenza CPortal") && page.contains("80,0 %"));
    assert!(
        page.contains("<p>Le richieste effettuate nei giorni non lavorativi o festivi si intendono effettuate alle ore 9 del giorno lavorativo successivo")
            && page.contains("<td>TCK-2026-00010</td><td>28/02/2026 10:00</td><td>02/03/2026 09:00</td>"),
        "the notes name the rule and the requests it moved"
    );
    assert!(page.contains("TP: tempo di presa in carico"), "the legend");
    for row in [
        "canale;e-mail;11",
        "canale;telefono;2",
        "tipo;problema;13",
        "esito;aperte;2",
    ] {
        assert!(text.contains(row), "{row} in {text}");
    }
    assert!(!text.contains(";problem;") && !text.contains(";open;"), "{text}");
    assert!(text.contains("\nTR;tempo di risoluzione"), "{text}");
}

#[test]
fn the_monthly_report_is_mailed_once_on_the_first_working_day() {
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}\n[report]\nmonthly_to = [\"protocollo@comune.example.it\"]\n"
    ));
    ingest(
        &sandbox,
        "2026-03-02T09:00:00+01:00",
        request("a1@example.org", "Firma", "m1"),
    );
    // 1 April 2026 is a Wednesday: the first working day of April.
    send(&sandbox, "2026-03-31T16:00:00+02:00");
    send(&sandbox, "2026-04-01T08:30:00+02:00");
    send(&sandbox, "2026-04-01T12:00:00+02:00");
    send(&sandbox, "2026-04-02T08:30:00+02:00");
    let reports = sandbox
        .outbox_files()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".report."))
        .collect::<Vec<_>>();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let mail = std::fs::read_to_string(&reports[0]).expect("read");
    assert!(
        mail.contains("To: protocollo@comune.example.it") && mail.contains("consuntivo-2026-03.html"),
        "{mail}"
    );
}

#[test]
fn the_html_report_speaks_english_and_keeps_the_configured_time_zone() {
    let english = CONFIG.replace("[helpdesk]\n", "[helpdesk]\nlanguage = \"en\"\n");
    let sandbox = Sandbox::with_config(&format!("{english}\n[calendar]\ntimezone = \"America/New_York\"\n"));
    // Monday 2 March 2026, 09:00 in New York (14:00 UTC), never taken in: due at 09:45 there.
    ingest(
        &sandbox,
        "2026-03-02T09:00:00-05:00",
        request("a1@example.org", "Firma digitale", "ny1"),
    );
    let out = sandbox.run(&["--now=2026-04-02T10:00:00-04:00", "report", "--format", "html"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page = stdout(&out);
    for needle in [
        "<html lang=\"en\">",
        "<h1>CPortal help desk: accounting report</h1>",
        "Period: 01/03/2026 – 31/03/2026",
        "<th scope=\"col\">Due</th>",
        "<td>TCK-2026-00001</td><td>email</td><td>1</td><td>TP</td><td>02/03/2026 09:45</td><td>not yet</td>",
    ] {
        assert!(page.contains(needle), "{needle} missing:\n{page}");
    }
    assert!(!page.contains("Consuntivo") && !page.contains("15:45"), "{page}");
}

/// Votes on the replayed March, recorded as the vote's page records them: (ticket, cycle
/// number, score, comment). The closings by a closing letter are T1 T2 T3 T4 (twice: the
/// closing and, after the reopening, the second) T8 T9 T10 T11 T13 T14 — 11, all by e-mail;
/// T3 and T11 at level 2, by Luca, the rest by Giulia. T5 went out of scope, T6 and T7 were
/// never resolved, T12 was closed by phone: no closing letter, nothing to vote.
pub(crate) fn vote_on_march(sandbox: &Sandbox) {
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    for (ticket, cycle, score, comment) in [
        ("TCK-2026-00001", 1, 1, "Veloci e chiari"),
        (
            "TCK-2026-00002",
            1,
            3,
            "Ho dovuto chiamare per la firma, richiamatemi al 333 1234567 o scrivete a a2@example.org",
        ),
        ("TCK-2026-00003", 1, 2, "Risolto, ma la firma ha richiesto due giorni"),
        ("TCK-2026-00004", 1, 3, "La firma del pagamento non funziona ancora"),
        ("TCK-2026-00004", 2, 1, ""),
        ("TCK-2026-00011", 1, 1, "Delega registrata subito"),
    ] {
        let id: i64 = conn
            .query_row(
                "SELECT id FROM cycles WHERE ticket_id = ?1 AND number = ?2",
                rusqlite::params![ticket, cycle],
                |r| r.get(0),
            )
            .expect("cycle");
        let ticket_id: sportello::model::TicketId = ticket.parse().expect("id");
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-31T12:00:00+02:00")
            .expect("instant")
            .to_utc();
        sportello::store::survey::record(&conn, id, ticket_id, score, comment, "web", at).expect("vote");
    }
}

#[test]
fn the_satisfaction_of_a_replayed_month_matches_hand_computed_figures() {
    let sandbox = replay_march();
    vote_on_march(&sandbox);
    let out = sandbox.run(&["--now=2026-04-02T10:00:00+02:00", "report", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let s = &r["satisfaction"];
    // 6 votes on 11 closings: 54.5 %; 3 positive (T1, T4's second closing, T11), 1 neutral
    // (T3), 2 negative (T2, T4's first): 50, 16.7 and 33.3 % of the votes.
    let all = json!({
        "closings": 11, "votes": 6, "response_rate_percent": 54.5,
        "positive": 3, "positive_percent": 50.0, "neutral": 1, "neutral_percent": 16.7,
        "negative": 2, "negative_percent": 33.3,
    });
    for (key, value) in all.as_object().expect("object") {
        assert_eq!(&s[key], value, "{key}: {s}");
    }
    assert_eq!(s["by_channel"]["email"]["votes"], 6);
    assert_eq!(s["by_channel"].as_object().map(|m| m.len()), Some(1), "all by e-mail");
    // Level 2 (T3, T11): both voted, one positive, one neutral. Level 1: 4 votes of 9 (44.4 %),
    // 2 positive, 2 negative.
    assert_eq!(
        s["by_level"]["2"],
        json!({"closings": 2, "votes": 2, "response_rate_percent": 100.0, "positive": 1, "positive_percent": 50.0,
               "neutral": 1, "neutral_percent": 50.0, "negative": 0, "negative_percent": 0.0})
    );
    assert_eq!(
        s["by_level"]["1"],
        json!({"closings": 9, "votes": 4, "response_rate_percent": 44.4, "positive": 2, "positive_percent": 50.0,
               "neutral": 0, "neutral_percent": 0.0, "negative": 2, "negative_percent": 50.0})
    );
    // Giulia resolved the level-1 closings, Luca the level-2 ones.
    assert_eq!(s["by_technician"][GIULIA]["name"], "Giulia Bianchi");
    assert_eq!(s["by_technician"][GIULIA]["closings"], 9);
    assert_eq!(s["by_technician"][LUCA]["response_rate_percent"], 100.0);
    // The comments with words, negative first, redacted: no phone, no address.
    assert_eq!(
        s["comments"],
        json!([
            {"ticket": "TCK-2026-00002", "vote": "negative",
             "comment": "Ho dovuto chiamare per la firma, richiamatemi al [telefono] o scrivete a [email]"},
            {"ticket": "TCK-2026-00004", "vote": "negative", "comment": "La firma del pagamento non funziona ancora"},
            {"ticket": "TCK-2026-00003", "vote": "neutral", "comment": "Risolto, ma la firma ha richiesto due giorni"},
            {"ticket": "TCK-2026-00001", "vote": "positive", "comment": "Veloci e chiari"},
            {"ticket": "TCK-2026-00011", "vote": "positive", "comment": "Delega registrata subito"},
        ])
    );

    let csv = sandbox.run(&["--now=2026-04-02T10:00:00+02:00", "report", "--format", "csv"]);
    let csv = stdout(&csv);
    for row in [
        "\nsoddisfazione;gruppo;chiusure;giudizi;tasso di risposta %;positivi;neutri;negativi;positivi %;neutri %;negativi %\ntotale;;11;6;54,5;3;1;2;50,0;16,7;33,3\ncanale;e-mail;11;6;54,5;3;1;2;50,0;16,7;33,3\nlivello;1;9;4;44,4;2;0;2;50,0;0,0;50,0\nlivello;2;2;2;100,0;1;1;0;50,0;50,0;0,0\n",
        "tecnico;Giulia Bianchi;9;4;44,4;2;0;2;50,0;0,0;50,0",
        "tecnico;Luca Verdi;2;2;100,0;1;1;0;50,0;50,0;0,0",
        "TCK-2026-00002;negativo;Ho dovuto chiamare per la firma, richiamatemi al [telefono] o scrivete a [email]",
    ] {
        assert!(csv.contains(row), "{row} missing:\n{csv}");
    }
    let html = sandbox.run(&["--now=2026-04-02T10:00:00+02:00", "report", "--format", "html"]);
    let html = stdout(&html);
    assert!(
        html.contains("<p class=\"big\">6 giudizi su 11 chiusure: tasso di risposta 54,5 %.</p>")
            && html.contains("<th scope=\"row\">Tecnico: Luca Verdi</th><td>2</td><td>2</td><td>100,0 %</td>"),
        "{html}"
    );

    // The comments feed `kb topics`: "firma" is in two negative comments and a neutral one.
    let topics = sandbox.run(&[
        "--now=2026-04-02T10:00:00+02:00",
        "kb",
        "topics",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
    ]);
    assert_eq!(code(&topics), 0, "{}", stderr(&topics));
    let text = stdout(&topics);
    let comments = text
        .split_once("dai commenti di soddisfazione (prima i negativi):\n")
        .map(|(_, after)| after)
        .unwrap_or_else(|| panic!("the comments' list:\n{text}"));
    assert!(
        comments.starts_with("firma                       3  (negativi 2, neutri 1, positivi 0)"),
        "{text}"
    );
    assert!(!comments.contains("333") && !comments.contains("example.org"), "{text}");
    let json = sandbox.run(&[
        "--now=2026-04-02T10:00:00+02:00",
        "kb",
        "topics",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
    assert_eq!(
        json["satisfaction_comments"][0],
        json!({"term": "firma", "stem": "firm", "negative": 2, "neutral": 1, "positive": 0})
    );
}

#[test]
fn the_open_data_table_of_the_replayed_month() {
    let sandbox = replay_march();
    vote_on_march(&sandbox);
    let out = sandbox.run(&[
        "--now=2026-04-02T10:00:00+02:00",
        "report",
        "--format",
        "csv",
        "--open-data",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    // The requests by channel and their level now (T3 and T11 escalated); the clocks as the
    // report's SLA tables count them; the votes as above, by group. The month in all: TP 12 of
    // 14 met (85.7 %), TR 11 of 13 (84.6 %).
    assert_eq!(
        text.trim_start_matches('\u{feff}').lines().collect::<Vec<_>>(),
        [
            "mese;canale;livello;richieste;TP rispettati;TP violati;TP in corso;TP % rispettati;TR rispettati;TR violati;TR in corso;TR % rispettati;chiusure;giudizi;tasso di risposta %;positivi;neutri;negativi;positivi %;neutri %;negativi %",
            "2026-03;e-mail;1;9;8;2;0;80,0;9;0;0;100,0;9;4;44,4;2;0;2;50,0;0,0;50,0",
            "2026-03;e-mail;2;2;2;0;0;100,0;1;1;0;50,0;2;2;100,0;1;1;0;50,0;50,0;0,0",
            "2026-03;telefono;1;2;2;0;0;100,0;1;1;0;50,0;0;0;;0;0;0;;;",
            "2026-03;tutti;tutti;13;12;2;0;85,7;11;2;0;84,6;11;6;54,5;3;1;2;50,0;16,7;33,3",
        ]
    );
    // Several months at once, whole months only, and only as CSV.
    let two = sandbox.run(&[
        "--now=2026-04-02T10:00:00+02:00",
        "report",
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-31",
        "--format",
        "csv",
        "--open-data",
    ]);
    assert_eq!(code(&two), 0, "{}", stderr(&two));
    assert!(
        stdout(&two).contains("\n2026-02;e-mail;1;1;1;0;0;100,0;1;0;0;100,0;0;0;;0;0;0;;;\n2026-02;tutti;tutti;1;"),
        "February holds T14 (its closing, on 2 March, is March's): {}",
        stdout(&two)
    );
    for (args, why) in [
        (
            vec!["--from", "2026-03-02", "--to", "2026-03-31", "--format", "csv"],
            "whole months",
        ),
        (vec!["--format", "json"], "a CSV table"),
    ] {
        let mut all = vec!["--now=2026-04-02T10:00:00+02:00", "report", "--open-data"];
        all.extend(args);
        let refused = sandbox.run(&all);
        assert_eq!(code(&refused), 64, "{why}: {}", stderr(&refused));
        assert!(stderr(&refused).contains(why), "{}", stderr(&refused));
    }
}
