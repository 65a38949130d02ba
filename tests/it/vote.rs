//! The satisfaction vote (issue 17, section 4): the closing letter's three links, the
//! confirmation page (a GET records nothing; only its POST, with the page's token and from our
//! own origin, does), the notice of a negative vote with a comment, and a reply of only "2"
//! over the real Dovecot and SMTP relay, recorded without reopening the ticket.

use std::time::{Duration, Instant};

use crate::mailserver::imap_config;
use crate::support::{Daemon, HttpResponse, MailServer, Sandbox, code, free_port, http, stderr};
use crate::workflow_support::{CONFIG, count, ingest, last, last_message_id, operator_mail, ticket};

const PUBLIC: &str = "https://assistenza.comune.example.it";
const GIULIA: &str = "giulia.bianchi@comune.example.it";
const LUCA: &str = "luca.verdi@comune.example.it";
const ANNA: &str = "anna@example.org";

/// The vote row of a ticket's cycle `number`: (score, comment, via).
fn vote_of(sandbox: &Sandbox, ticket: &str, number: u32) -> Option<(u8, String, String)> {
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    conn.query_row(
        "SELECT v.score, v.comment, v.via FROM votes v JOIN cycles c ON c.id = v.cycle_id
         WHERE v.ticket_id = ?1 AND c.number = ?2",
        rusqlite::params![ticket, number],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .ok()
}

/// The closing letter's link for `code`, as a path on our server.
fn link_path(closing: &str, code: &str) -> String {
    let start = closing.find(PUBLIC).expect("a link to the help desk");
    let rest = &closing[start..];
    let link = rest
        .split_whitespace()
        .find(|w| w.starts_with(PUBLIC) && w.ends_with(&format!("/{code}")))
        .unwrap_or_else(|| panic!("no {code} link in:\n{closing}"));
    link.trim_start_matches(PUBLIC).to_string()
}

/// Anna's request by mail, closed by Giulia with `#risolto` at 09:30 on Monday 9 March 2026.
fn closed_ticket(sandbox: &Sandbox) -> (String, String) {
    let request = "From: Anna Ferrari <anna@example.org>\r\nTo: assistenza@comune.example.it\r\n\
                   Subject: Firma rifiutata\r\nMessage-ID: <anna-1@example.org>\r\n\
                   Content-Type: text/plain; charset=utf-8\r\n\r\nIl portale rifiuta il mio file firmato.\r\n";
    ingest(sandbox, "2026-03-09T09:00:00+01:00", request.to_string());
    let id = "TCK-2026-00001".to_string();
    let notice = last_message_id(sandbox, "notify", GIULIA, &id);
    ingest(
        sandbox,
        "2026-03-09T09:30:00+01:00",
        operator_mail(
            GIULIA,
            "Re: notifica",
            Some(&notice),
            true,
            "g1",
            "#risolto\nRifirmi il file in CAdES e lo ricarichi.",
        ),
    );
    let closing = last(sandbox, "closing", ANNA).text;
    (id, closing)
}

/// The daemon with its HTTP interface over `sandbox` (whose config has `[http]` on `port`),
/// its clock at `now`.
fn serve(sandbox: &Sandbox, port: u16, now: &str) -> Daemon {
    let daemon = sandbox.spawn_daemon(&[&format!("--now={now}"), "run"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        && http(port, "GET", "/healthz", &[], b"").status == 200)
    {
        assert!(Instant::now() < deadline, "the HTTP interface never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon
}

fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a token") + marker.len();
    page[start..start + page[start..].find('"').expect("end")].to_string()
}

fn post(port: u16, path: &str, origin: Option<&str>, body: &str) -> HttpResponse {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(origin) = origin {
        headers.push(("Origin", origin));
    }
    http(port, "POST", path, &headers, body.as_bytes())
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[test]
fn the_closing_letter_s_links_confirm_before_they_vote_and_only_our_own_form_records() {
    let port = free_port();
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}\n[privacy]\ncontroller = \"Comune di Esempio\"\nnotice_url = \"https://www.comune.example.it/privacy\"\n\
         [http]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{PUBLIC}\"\napi_token = \"vote-test-token-0123456789\"\n"
    ));
    let (id, closing) = closed_ticket(&sandbox);
    // The acknowledgment carried the privacy notice; the closing letter, three faces.
    let ack = last(&sandbox, "ack", ANNA).text;
    assert!(
        ack.contains("Comune di Esempio") && ack.contains("https://www.comune.example.it/privacy"),
        "{ack}"
    );
    let neutral = link_path(&closing, "neutro");
    let negative = link_path(&closing, "negativo");
    assert!(link_path(&closing, "positivo").starts_with(&format!("/t/{id}/")));
    assert!(negative.ends_with("/vote/1/negativo"), "{negative}");
    let _daemon = serve(&sandbox, port, "2026-03-10T10:00:00+01:00");

    // A GET (a mail scanner, a link preview, the requester opening it) records nothing.
    let page = http(port, "GET", &negative, &[], b"");
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    let text = page.text();
    assert!(
        text.contains("value=\"negativo\" checked") && text.contains("<textarea id=\"comment\""),
        "{text}"
    );
    assert!(text.contains("Comune di Esempio") && text.contains("href=\"https://www.comune.example.it/privacy\""));
    let _ = http(port, "GET", &neutral, &[], b"");
    assert_eq!(vote_of(&sandbox, &id, 1), None, "a GET alone records nothing");
    let token = csrf_of(&text);
    let action = negative.trim_end_matches("/negativo").to_string();
    let comment = "Nessuno mi ha richiamato <b>subito</b>";

    // Without the token, with a wrong one, from another site: refused, nothing recorded.
    for (origin, body) in [
        (Some(PUBLIC), form(&[("score", "negativo"), ("comment", comment)])),
        (
            Some(PUBLIC),
            form(&[
                ("score", "negativo"),
                ("comment", comment),
                ("csrf", "0123456789abcdef0123456789abcdef"),
            ]),
        ),
        (
            Some("https://evil.example.net"),
            form(&[("score", "negativo"), ("comment", comment), ("csrf", &token)]),
        ),
        (Some("null"), form(&[("score", "negativo"), ("csrf", &token)])),
    ] {
        let refused = post(port, &action, origin, &body);
        assert_eq!(refused.status, 403, "{origin:?} {body}: {}", refused.text());
    }
    // Another cycle's token does not vote this one.
    let other = post(
        port,
        &action.replace("/vote/1", "/vote/2"),
        Some(PUBLIC),
        &form(&[("score", "negativo"), ("csrf", &token)]),
    );
    assert_eq!(other.status, 403);
    let long = "x".repeat(2001);
    let too_long = post(
        port,
        &action,
        Some(PUBLIC),
        &form(&[("score", "negativo"), ("comment", &long), ("csrf", &token)]),
    );
    assert_eq!(too_long.status, 422, "{}", too_long.text());
    assert_eq!(vote_of(&sandbox, &id, 1), None);
    assert_eq!(count(&sandbox, "notify", LUCA), 0);

    // The page's own form records it, and the status page says so, escaped.
    let done = post(
        port,
        &action,
        Some(PUBLIC),
        &form(&[("score", "negativo"), ("comment", comment), ("csrf", &token)]),
    );
    assert_eq!(done.status, 303, "{}", done.text());
    let status_path = done.header("location").expect("back to the status page").to_string();
    assert!(status_path.starts_with(&format!("/t/{id}/")), "{status_path}");
    assert_eq!(
        vote_of(&sandbox, &id, 1),
        Some((3, comment.to_string(), "web".to_string()))
    );
    let status = http(port, "GET", status_path.split('#').next().unwrap_or_default(), &[], b"").text();
    assert!(status.contains("Ha espresso un giudizio negativo"), "{status}");
    assert!(status.contains("Comune di Esempio"), "the status page's privacy notice");
    // The supervisor and the technician who resolved it are told, with the comment.
    let told = last(&sandbox, "notify", LUCA).text;
    assert!(told.contains("Giudizio negativo") && told.contains(comment), "{told}");
    assert!(last(&sandbox, "notify", GIULIA).text.contains(comment));
    let notices = count(&sandbox, "notify", LUCA) + count(&sandbox, "notify", GIULIA);
    // The same vote again: recorded as it was, nobody told twice.
    let again = post(
        port,
        &action,
        Some(PUBLIC),
        &form(&[("score", "negativo"), ("comment", comment), ("csrf", &token)]),
    );
    assert_eq!(again.status, 303);
    assert_eq!(
        count(&sandbox, "notify", LUCA) + count(&sandbox, "notify", GIULIA),
        notices
    );
    // Changed within the days; the ticket never reopened.
    let changed = post(
        port,
        &action,
        None,
        &form(&[("score", "neutro"), ("comment", ""), ("csrf", &token)]),
    );
    assert_eq!(changed.status, 303);
    assert_eq!(vote_of(&sandbox, &id, 1), Some((2, String::new(), "web".to_string())));
    assert_eq!(ticket(&sandbox, &id)["status"], "resolved");
    drop(_daemon);

    // Fifteen days after the closing, the page says the vote is closed and a POST is refused.
    let _daemon = serve(&sandbox, port, "2026-03-24T10:00:00+01:00");
    let page = http(port, "GET", &negative, &[], b"").text();
    assert!(page.contains("si è chiuso") && !page.contains("<form"), "{page}");
    let late = post(
        port,
        &action,
        Some(PUBLIC),
        &form(&[("score", "positivo"), ("csrf", &token)]),
    );
    assert_eq!(late.status, 409, "{}", late.text());
    assert_eq!(vote_of(&sandbox, &id, 1), Some((2, String::new(), "web".to_string())));
    // Unknown faces and wrong secrets are the same 404 as a missing ticket.
    assert_eq!(
        http(port, "GET", &negative.replace("negativo", "ottimo"), &[], b"").status,
        404
    );
    let wrong = format!("/t/{id}/00000000000000000000000000000000/vote/1/negativo");
    assert_eq!(http(port, "GET", &wrong, &[], b"").status, 404);
}

const PASS: &str = "Authentication-Results: mx.example.test; dkim=pass header.d=example.test; \
                    dmarc=pass header.from=example.test\r\n";

#[test]
fn a_reply_of_only_2_to_the_closing_letter_is_the_vote_and_does_not_reopen() {
    let Some(server) = MailServer::from_env("a_reply_of_only_2_to_the_closing_letter") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let giulia = server.add_user("giulia");
    let anna = server.add_user("anna");
    let mut config = imap_config(&server, &helpdesk, "starttls", "");
    config.push_str(&format!(
        "[security]\ntrusted_authserv_id = \"mx.example.test\"\n\
         [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"{}\"\nlevel = 1\nsupervisor = true\n\
         [http]\nlisten = \"127.0.0.1:{}\"\npublic_url = \"{PUBLIC}\"\napi_token = \"vote-test-token-0123456789\"\n",
        giulia.0,
        free_port()
    ));
    let sandbox = Sandbox::with_config(&config);
    let pass = |now: &str| {
        let out = sandbox.run(&[&format!("--now={now}"), "run", "--once"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    let inbox = |who: &(String, String)| -> Vec<sportello::ingest::parse::InboundMail> {
        server
            .read_inbox(&who.0, &who.1)
            .iter()
            .map(|raw| sportello::ingest::parse::parse_mail(raw, 1 << 22).expect("our mail parses"))
            .collect()
    };
    let citizen = |id: &str, in_reply_to: Option<&str>, subject: &str, body: &str| {
        let reply = in_reply_to
            .map(|n| format!("In-Reply-To: <{n}>\r\nReferences: <{n}>\r\n"))
            .unwrap_or_default();
        format!(
            "From: Anna Ferrari <{}>\r\nTo: {}\r\nSubject: {subject}\r\nMessage-ID: <{id}@example.org>\r\n\
             {reply}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            anna.0, helpdesk.0
        )
    };

    server.deliver(
        &helpdesk.0,
        citizen("a1", None, "Firma rifiutata", "Il portale rifiuta il mio file firmato.").as_bytes(),
    );
    pass("2026-12-02T09:00:00+01:00");
    let notice = inbox(&giulia)
        .into_iter()
        .find(|m| m.text.starts_with("Nuova richiesta"))
        .expect("the notice");
    let resolve = format!(
        "{PASS}From: Giulia Bianchi <{}>\r\nTo: {}\r\nSubject: Re: notifica\r\nMessage-ID: <g1@example.test>\r\n\
         In-Reply-To: <{n}>\r\nReferences: <{n}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         #risolto\r\nRifirmi il file in CAdES e lo ricarichi.\r\n",
        giulia.0,
        helpdesk.0,
        n = notice.message_id.clone().expect("a Message-ID")
    );
    server.deliver(&helpdesk.0, resolve.as_bytes());
    pass("2026-12-02T09:30:00+01:00");

    // The closing letter, as Anna's mail client shows it: three links and the reply by number.
    let closing = inbox(&anna)
        .into_iter()
        .rev()
        .find(|m| m.subject.contains("Risolta"))
        .unwrap_or_else(|| {
            let seen: Vec<String> = inbox(&anna)
                .iter()
                .chain(inbox(&giulia).iter())
                .map(|m| format!("{}: {}", m.subject, m.text))
                .collect();
            panic!("no closing letter; the mail so far: {seen:#?}")
        });
    for code in ["positivo", "neutro", "negativo"] {
        assert!(
            closing.text.contains(&format!("{PUBLIC}/t/TCK-2026-00001/"))
                && closing.text.contains(&format!("/vote/1/{code}")),
            "{code}: {}",
            closing.text
        );
    }
    let letters = inbox(&anna).len();
    let giulia_mail = inbox(&giulia).len();

    // Anna answers "2" from her mail client (its quote of the letter below): recorded as her
    // vote by mail, the ticket stays resolved, Giulia is not told of a reopening.
    let quoted: String = closing.text.lines().map(|l| format!("> {l}\r\n")).collect();
    let reply = citizen(
        "a2",
        closing.message_id.as_deref(),
        &format!("Re: {}", closing.subject),
        &format!("2\r\n\r\nIl giorno mer 2 dic 2026 alle 09:30 Help desk ha scritto:\r\n{quoted}"),
    );
    server.deliver(&helpdesk.0, reply.as_bytes());
    pass("2026-12-02T11:00:00+01:00");
    let show = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!(show["status"], "resolved", "{show}");
    assert_eq!(
        vote_of(&sandbox, "TCK-2026-00001", 1),
        Some((2, String::new(), "mail".to_string()))
    );
    assert_eq!(inbox(&giulia).len(), giulia_mail, "no reopening notice");
    let thanks = inbox(&anna);
    assert_eq!(thanks.len(), letters + 1);
    let thanks = thanks.last().expect("the answer");
    assert!(thanks.subject.contains("Giudizio registrato"), "{}", thanks.subject);
    assert!(thanks.text.contains("neutro"), "{}", thanks.text);

    // Anything more than a vote is a message, as before: it reopens.
    server.deliver(
        &helpdesk.0,
        citizen(
            "a3",
            closing.message_id.as_deref(),
            &format!("Re: {}", closing.subject),
            "3, il file viene ancora rifiutato",
        )
        .as_bytes(),
    );
    pass("2026-12-02T12:00:00+01:00");
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["status"], "assigned");
    assert_eq!(
        vote_of(&sandbox, "TCK-2026-00001", 1),
        Some((2, String::new(), "mail".to_string()))
    );
}
