//! Read, not-read and delivery receipts through `sportello ingest`: recorded on their ticket,
//! never reopening, opening or answering anything, never marking an address undeliverable.

use crate::support::Sandbox;
use crate::workflow_support::{CONFIG, count, ingest, last, operator_mail, outbox, ticket};

const REQUESTER: &str = "mario.esposito@example.com";

/// An Exchange Online read receipt (RFC 8098) for `original`, in the shape of
/// `fixtures/eml/receipts/0001-exchange-online-mdn-letto.eml`.
fn exchange_read_receipt(original: &str, subject: &str, id: &str) -> String {
    format!(
        "From: Mario Esposito <{REQUESTER}>\r\nTo: Help desk CPortal <assistenza@comune.example.it>\r\n\
         Subject: Letto: {subject}\r\nThread-Topic: {subject}\r\nDate: Wed, 11 Mar 2026 10:02:11 +0000\r\n\
         Message-ID: <{id}@eurprd07.prod.outlook.example>\r\nReferences: <{original}>\r\nIn-Reply-To: <{original}>\r\n\
         X-MS-Has-Attach:\r\nX-MS-Exchange-Organization-SCL: -1\r\n\
         Content-Type: multipart/report; report-type=disposition-notification;\r\n\tboundary=\"_000_b_\"\r\n\
         MIME-Version: 1.0\r\n\r\n--_000_b_\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n\
         Il messaggio\r\n\r\n       Oggetto: {subject}\r\n\r\nè stato letto.\r\n\r\n\
         --_000_b_\r\nContent-Type: message/disposition-notification\r\n\r\n\
         Reporting-UA: eurprd07.prod.outlook.example; Microsoft Exchange Server\r\n\
         Final-Recipient: rfc822;{REQUESTER}\r\nOriginal-Message-ID: <{original}>\r\n\
         Disposition: automatic-action/MDN-sent-automatically; displayed\r\n\r\n--_000_b_--\r\n"
    )
}

#[test]
fn a_read_receipt_after_the_resolution_is_recorded_and_changes_nothing() {
    let sandbox = Sandbox::with_config(CONFIG);
    let request = format!(
        "From: Mario Esposito <{REQUESTER}>\r\nTo: assistenza@comune.example.it\r\nSubject: Errore caricamento file firmato\r\n\
         Message-ID: <q1@example.com>\r\n\r\nIl portale rifiuta il file firmato.\r\n"
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request);
    let notice = last(&sandbox, "notify", "giulia.bianchi").message_id;
    let resolve = operator_mail(
        "giulia.bianchi@comune.example.it",
        "Re: x",
        Some(&notice),
        true,
        "r1",
        "#risolto\nRinnovato il certificato di firma.",
    );
    ingest(&sandbox, "2026-03-09T10:00:00+01:00", resolve);
    let closing = last(&sandbox, "closing", REQUESTER).message_id;
    let sent_before = outbox(&sandbox).len();

    let receipt = exchange_read_receipt(&closing, "[TCK-2026-00001] Errore caricamento file firmato", "mdn1");
    let said = ingest(&sandbox, "2026-03-11T11:02:14+01:00", receipt);
    assert!(said.contains("receipt recorded on TCK-2026-00001"), "{said}");

    let t = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!(
        (t["status"].as_str(), t["reopened"].as_u64()),
        (Some("resolved"), Some(0))
    );
    let events = t["events"].as_array().expect("events");
    let receipts: Vec<_> = events.iter().filter(|e| e["action"] == "receipt").collect();
    assert_eq!(receipts.len(), 1, "{events:?}");
    assert_eq!(receipts[0]["actor"].as_str(), Some(REQUESTER), "{:?}", receipts[0]);
    assert!(
        !events.iter().any(|e| e["action"] == "message"),
        "not the requester writing"
    );
    assert_eq!(outbox(&sandbox).len(), sent_before, "nothing answered, nobody notified");
    assert_eq!(count(&sandbox, "reopened", REQUESTER), 0);
}

#[test]
fn receipts_of_no_ticket_open_none_and_a_positive_dsn_marks_nobody() {
    let sandbox = Sandbox::with_config(CONFIG);
    // A read receipt for mail we never sent, and no token: dropped, no ticket.
    let stray = exchange_read_receipt("unknown@example.org", "Riunione di giunta", "mdn2");
    let said = ingest(&sandbox, "2026-03-11T11:02:14+01:00", stray);
    assert!(said.contains("receipt naming no ticket of ours"), "{said}");
    assert!(outbox(&sandbox).is_empty(), "a stray receipt is never answered");

    // The Postfix positive DSN fixture, after the ticket it reports on exists: recorded on it,
    // and its recipient is not taken for undeliverable (a bounce would mark her).
    let request = "From: Paolo Gatti <paolo.gatti@example.org>\r\nTo: assistenza@comune.example.it\r\n\
                   Subject: Ricevuta PagoPA non scaricabile\r\nMessage-ID: <p1@example.org>\r\n\r\nNon si scarica.\r\n";
    let said = ingest(&sandbox, "2026-03-12T11:15:00+01:00", request.to_string());
    // Numbers have no gaps: the first ticket's number says the stray receipt opened none.
    assert!(said.contains("new ticket TCK-2026-00001"), "{said}");
    let ack = last(&sandbox, "ack", "paolo.gatti@example.org").message_id;
    let fixture = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/eml/receipts/0006-postfix-positive-dsn.eml"),
    )
    .expect("fixture");
    let dsn = fixture.replace("TCK-2026-00047.ack.4a6c8e@comune.example.it", &ack);
    let said = ingest(&sandbox, "2026-03-12T11:15:08+01:00", dsn);
    assert!(said.contains("receipt recorded on TCK-2026-00001"), "{said}");
    let t = ticket(&sandbox, "TCK-2026-00001");
    let events = t["events"].as_array().expect("events");
    assert!(events.iter().any(|e| e["action"] == "receipt"), "{events:?}");
    assert!(!events.iter().any(|e| e["action"] == "undeliverable"), "{events:?}");
}
