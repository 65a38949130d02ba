//! The portal channel over real HTTP on 127.0.0.1: every endpoint's success and refusals.

use std::time::{Duration, Instant};

use crate::support::{HttpResponse, Sandbox, free_port, http};
use crate::workflow_support::{CONFIG, outbox};

const TOKEN: &str = "portal-secret-token-0123456789";

/// A daemon with the HTTP interface on a free port; killed when dropped.
struct Server {
    sandbox: Sandbox,
    port: u16,
    _daemon: crate::support::Daemon,
}

fn start(extra: &str) -> Server {
    start_with(CONFIG, extra)
}

/// Like [`start`] over another base configuration (`extra` goes after the `[http]` keys).
fn start_with(base: &str, extra: &str) -> Server {
    start_limited(base, extra, None)
}

/// Like [`start_with`], the daemon's open-file limit set to `files` when given.
fn start_limited(base: &str, extra: &str, files: Option<u64>) -> Server {
    let port = free_port();
    let sandbox = Sandbox::with_config(&format!(
        "{base}\n[http]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"https://assistenza.comune.example.it\"\n\
         api_token = \"{TOKEN}\"\nmax_body_bytes = 200000\n{extra}"
    ));
    let args = ["--now=2026-03-09T10:00:00+01:00", "run"];
    let daemon = match files {
        Some(files) => sandbox.spawn_daemon_with_file_limit(&args, files),
        None => sandbox.spawn_daemon(&args),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/healthz").status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the HTTP interface never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        sandbox,
        port,
        _daemon: daemon,
    }
}

fn get(port: u16, path: &str) -> HttpResponse {
    http(port, "GET", path, &[], b"")
}

fn post_json(port: u16, path: &str, token: Option<&str>, body: &serde_json::Value) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    http(port, "POST", path, &headers, body.to_string().as_bytes())
}

fn valid_request() -> serde_json::Value {
    serde_json::json!({
        "name": "Anna Ferrari", "email": "anna@example.org", "phone": "333 1234567", "pratica": "PE-2026-001234",
        "category": "Firma digitale", "subject": "Firma non valida",
        "description": "Il portale rifiuta il file firmato digitalmente in formato p7m."
    })
}

fn form_token(port: u16) -> String {
    let page = get(port, "/form").text();
    let start = page.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    page[start..start + page[start..].find('"').expect("end")].to_string()
}

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----sportello-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn the_portal_api_opens_tickets_and_refuses_what_it_must() {
    let server = start("");
    let port = server.port;
    let created = post_json(port, "/api/v1/tickets", Some(TOKEN), &valid_request());
    assert_eq!(created.status, 201, "{}", created.text());
    let json = created.json();
    assert_eq!(json["id"], "TCK-2026-00001");
    let link = json["status_url"].as_str().expect("status link").to_string();
    assert!(link.starts_with("https://assistenza.comune.example.it/t/TCK-2026-00001/"));
    let ack = outbox(&server.sandbox)
        .into_iter()
        .find(|m| m.purpose == "ack")
        .expect("acknowledged");
    assert!(ack.text.contains(&link), "the acknowledgment carries the status link");
    let out = server.sandbox.run(&["ticket", "show", "TCK-2026-00001", "--json"]);
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (t["channel"].as_str(), t["requester"].as_str()),
        (Some("portal"), Some("anna@example.org"))
    );

    assert_eq!(
        post_json(
            port,
            "/api/v1/tickets",
            Some("wrong-token-wrong-token"),
            &valid_request()
        )
        .status,
        401
    );
    assert_eq!(
        post_json(port, "/api/v1/tickets", None, &valid_request()).status,
        403,
        "no token, no form token"
    );
    let mut missing = valid_request();
    missing.as_object_mut().expect("object").remove("email");
    missing["category"] = "Astrologia".into();
    let refused = post_json(port, "/api/v1/tickets", Some(TOKEN), &missing);
    assert_eq!(refused.status, 422);
    let errors = refused.json()["errors"].clone();
    assert!(
        errors["email"].is_string() && errors["category"].is_string(),
        "{errors}"
    );
    let mut big = valid_request();
    big["description"] = "x".repeat(300_000).into();
    assert_eq!(post_json(port, "/api/v1/tickets", Some(TOKEN), &big).status, 413);
    // Nothing half-created by the refusals.
    let list: serde_json::Value =
        serde_json::from_slice(&server.sandbox.run(&["tickets", "--json"]).stdout).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[test]
fn the_public_form_needs_its_token_and_is_rate_limited() {
    let server = start("form_rate_per_hour = 2\n");
    let port = server.port;
    let page = get(port, "/form");
    assert_eq!(page.status, 200);
    let html = page.text();
    for needle in [
        "<html lang=\"it\">",
        "<label for=\"email\">",
        "Orari del servizio",
        "questioni edilizie",
        "name=\"csrf\"",
    ] {
        assert!(html.contains(needle), "{needle} missing from the form");
    }
    let token = form_token(port);
    let fields = |token: &str| {
        multipart(
            &[
                ("csrf", token),
                ("name", "Mario Esposito"),
                ("email", "mario@example.com"),
                ("category", "Pagamenti (pagoPA)"),
                ("subject", "Pagamento non registrato"),
                ("description", "Ho pagato i diritti ma la pratica risulta non pagata."),
            ],
            Some(("schermata.png", b"\x89PNG fake image bytes")),
        )
    };
    let (ct, body) = fields(&token);
    let ok = http(
        port,
        "POST",
        "/api/v1/tickets",
        &[("Content-Type", &ct), ("Accept", "text/html")],
        &body,
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert!(ok.text().contains("TCK-2026-00001") && ok.text().contains("/t/TCK-2026-00001/"));
    // Issue 14, item 6: the status page lists the requester's file, downloadable with the
    // ticket's secret only, and always as a download.
    let created = ok.text();
    let at = created.find("/t/TCK-2026-00001/").expect("status link");
    let link: String = created[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/-".contains(*c))
        .collect();
    let status = get(port, &link).text();
    let file_at = status.find("/file/").expect("a file link");
    let file_link = &status
        [status[..file_at].rfind("href=\"").expect("href") + 6..file_at + status[file_at..].find('"').expect("end")];
    assert!(status.contains(">schermata.png</a>"), "{status}");
    let download = get(port, file_link);
    assert_eq!(download.status, 200);
    assert_eq!(download.body, b"\x89PNG fake image bytes");
    assert_eq!(download.header("content-type"), Some("application/octet-stream"));
    assert!(
        download
            .header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"schermata.png\""))
    );
    let wrong_secret = file_link.replacen("/t/TCK-2026-00001/", "/t/TCK-2026-00001/0", 1);
    assert_eq!(get(port, &wrong_secret).status, 404);
    let (ct, body) = fields("forged.0123456789abcdef");
    assert_eq!(
        http(port, "POST", "/api/v1/tickets", &[("Content-Type", &ct)], &body).status,
        403
    );
    let (ct, body) = fields(&token);
    assert_eq!(
        http(port, "POST", "/api/v1/tickets", &[("Content-Type", &ct)], &body).status,
        201
    );
    let (ct, body) = fields(&token);
    assert_eq!(
        http(port, "POST", "/api/v1/tickets", &[("Content-Type", &ct)], &body).status,
        429,
        "third in the hour"
    );
    // The uploaded file is stored with the ticket.
    let db = rusqlite::Connection::open(server.sandbox.path("var/sportello.db")).expect("db");
    let stored: i64 = db
        .query_row(
            "SELECT count(*) FROM attachments WHERE filename = 'schermata.png' AND sha256 IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(stored, 2);
}

#[test]
fn the_status_page_shows_the_public_thread_and_takes_replies() {
    let server = start("");
    let port = server.port;
    let link = post_json(port, "/api/v1/tickets", Some(TOKEN), &valid_request()).json()["status_url"]
        .as_str()
        .expect("link")
        .replace("https://assistenza.comune.example.it", "");
    let page = get(port, &link);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("Firma non valida") && html.contains("ricevuta, in attesa di presa in carico"),
        "{html}"
    );
    assert!(!html.contains("Nuova richiesta via"), "operators' notices never show");
    // Issue 21, cosmetic: the municipality's configured name, and the acknowledgment without
    // its link to this very page.
    assert!(
        html.contains("<span class=\"brand\">Help desk CPortal</span>"),
        "{html}"
    );
    assert!(html.contains("abbiamo ricevuto la sua richiesta"), "{html}");
    assert!(
        !html.contains(&format!("https://assistenza.comune.example.it{link}")),
        "{html}"
    );
    let wrong = get(port, &format!("{}x", link));
    let missing = get(port, "/t/TCK-2026-00099/0123456789abcdef0123456789abcdef");
    assert_eq!((wrong.status, missing.status), (404, 404));
    assert_eq!(
        wrong.text(),
        missing.text(),
        "a wrong secret looks exactly like a missing ticket"
    );
    let start = html.find("name=\"csrf\" value=\"").expect("reply token") + "name=\"csrf\" value=\"".len();
    let token = &html[start..start + html[start..].find('"').expect("end")];
    let body = format!("csrf={token}&text=Ho+riprovato+con+un+altro+browser%2C+stesso+errore.");
    let reply = http(
        port,
        "POST",
        &link,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(reply.status, 303, "{}", reply.text());
    assert_eq!(reply.header("location"), Some(link.as_str()), "back to the status page");
    assert!(
        get(port, &link)
            .text()
            .contains("Ho riprovato con un altro browser, stesso errore.")
    );
    let forged = http(
        port,
        "POST",
        &link,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"csrf=nope&text=ciao+ciao",
    );
    assert_eq!(forged.status, 403);
}

#[test]
fn calls_notice_health_metrics_and_the_openapi_document() {
    let server = start("");
    let port = server.port;
    let call =
        serde_json::json!({"number": "+39 333 1234567", "name": "Mario Rossi", "summary": "Non accede con SPID"});
    assert_eq!(post_json(port, "/api/v1/calls", None, &call).status, 401);
    let created = post_json(port, "/api/v1/calls", Some(TOKEN), &call);
    assert_eq!(created.status, 201, "{}", created.text());
    let bad = post_json(
        port,
        "/api/v1/calls",
        Some(TOKEN),
        &serde_json::json!({"number": "chiamami"}),
    );
    assert_eq!(bad.status, 422);
    assert!(bad.json()["errors"]["number"].is_string() && bad.json()["errors"]["summary"].is_string());
    let notice = get(port, "/api/v1/notice").json();
    assert_eq!(notice["open_now"], true, "Monday 10:00");
    let metrics = get(port, "/metrics");
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    let metrics = metrics.text();
    for needle in [
        "sportello_tickets{status=\"new\"} 1",
        "sportello_sla_open{state=\"ok\"} 1",
        "sportello_outbox_pending",
        "sportello_intake_lag_seconds",
    ] {
        assert!(metrics.contains(needle), "{needle} missing:\n{metrics}");
    }
    let document = get(port, "/api/v1/openapi.json").json();
    let paths = document["paths"].as_object().expect("paths");
    for (method, route) in sportello::http::ROUTES {
        let entry = paths.get(*route).unwrap_or_else(|| panic!("{route} is not documented"));
        assert!(
            entry.get(method.to_lowercase()).is_some(),
            "{method} {route} is not documented"
        );
    }
    assert_eq!(
        paths
            .values()
            .map(|p| p
                .as_object()
                .map_or(0, |o| o.keys().filter(|k| *k != "parameters").count()))
            .sum::<usize>(),
        sportello::http::ROUTES.len(),
        "the document lists no route the server lacks"
    );
}

/// Security review, attack 4: the public form (or the portal's API) naming someone else's
/// address cannot make the help desk mail-bomb them: the per-address acknowledgment cap of
/// the mail channel holds for every channel. The tickets are still opened.
#[test]
fn the_form_cannot_mail_bomb_a_third_party() {
    let server = start("form_rate_per_hour = 50\n");
    let port = server.port;
    let victim = "victim@example.org";
    for n in 0..7 {
        let token = form_token(port);
        let (ct, body) = multipart(
            &[
                ("csrf", &token),
                ("name", "Chiunque"),
                ("email", victim),
                ("category", "Pagamenti (pagoPA)"),
                ("subject", &format!("Oggetto scelto da chi attacca {n}")),
                ("description", "Testo scelto da chi attacca, spedito alla vittima."),
            ],
            None,
        );
        let posted = http(port, "POST", "/api/v1/tickets", &[("Content-Type", &ct)], &body);
        assert_eq!(posted.status, 201, "{}", posted.text());
    }
    let mut api = valid_request();
    api["email"] = serde_json::Value::from(victim);
    for _ in 0..3 {
        assert_eq!(post_json(port, "/api/v1/tickets", Some(TOKEN), &api).status, 201);
    }
    let acks = outbox(&server.sandbox)
        .iter()
        .filter(|m| m.purpose == "ack" && m.recipients.contains(victim))
        .count();
    assert_eq!(acks, 5, "ack_rate_per_hour (5) acknowledgments in the hour, not 10");
    let db = rusqlite::Connection::open(server.sandbox.path("var/sportello.db")).expect("db");
    let (tickets, suppressed): (i64, i64) = db
        .query_row(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM events WHERE action = 'ack-suppressed')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    assert_eq!((tickets, suppressed), (10, 5));
}

/// The value of the first `name="csrf"` field of a page.
fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    html[start..start + html[start..].find('"').expect("end")].to_string()
}

#[test]
fn the_pages_speak_english_and_tell_times_in_the_configured_zone() {
    let english = CONFIG.replace("[helpdesk]\n", "[helpdesk]\nlanguage = \"en\"\n");
    let server = start_with(&english, "[calendar]\ntimezone = \"America/New_York\"\n");
    let port = server.port;
    let form = get(port, "/form").text();
    for needle in [
        "<html lang=\"en\">",
        "<label for=\"email\">E-mail address</label>",
        "Service hours:",
        "Send the request",
    ] {
        assert!(form.contains(needle), "{needle} missing from the form:\n{form}");
    }
    assert!(!form.contains("Richiesta"), "no Italian left:\n{form}");
    // A refused submission answers with the English messages, in HTML and in JSON alike.
    let (ct, body) = multipart(
        &[
            ("csrf", &csrf_of(&form)),
            ("name", "Anna Ferrari"),
            ("email", "anna@example.org"),
            ("category", "Firma digitale"),
            ("subject", "Firma non valida"),
            ("description", "breve"),
        ],
        None,
    );
    let refused = http(
        port,
        "POST",
        "/api/v1/tickets",
        &[("Content-Type", &ct), ("Accept", "text/html")],
        &body,
    );
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .text()
            .contains("<p class=\"error\" id=\"description-error\">at least 10 characters</p>"),
        "{}",
        refused.text()
    );
    let mut short = valid_request();
    short["description"] = "breve".into();
    let json = post_json(port, "/api/v1/tickets", Some(TOKEN), &short).json();
    assert_eq!(json["errors"]["description"], "at least 10 characters");

    let created = post_json(port, "/api/v1/tickets", Some(TOKEN), &valid_request()).json();
    let link = created["status_url"]
        .as_str()
        .expect("link")
        .replace("https://assistenza.comune.example.it", "");
    let page = get(port, &link).text();
    // The daemon's clock is 2026-03-09 09:00 UTC: 05:00 in New York (summer time since the 8th).
    for needle in [
        "<html lang=\"en\">",
        "<h1>Request TCK-2026-00001</h1>",
        "received, waiting to be taken in",
        "not assigned yet",
        "You – 09/03/2026 05:00",
        "CPortal help desk – 09/03/2026 05:00",
        "<label for=\"text\">Your message</label>",
    ] {
        assert!(page.contains(needle), "{needle} missing from the status page:\n{page}");
    }
    assert!(!page.contains("09/03/2026 10:00"), "never Rome's time:\n{page}");
    let missing = get(port, "/t/TCK-2026-00099/0123456789abcdef0123456789abcdef");
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("<h1>Page not found</h1>"), "{}", missing.text());
    let body = format!("csrf={}&text=x", csrf_of(&page));
    let failed = http(
        port,
        "POST",
        &link,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(failed.status, 422);
    assert!(failed.text().contains("<h1>Reply not sent</h1>"), "{}", failed.text());
}

#[test]
fn what_requesters_type_stays_text_on_every_page() {
    let server = start("");
    let port = server.port;
    let hostile = "\"><script>alert(1)</script><img src=x onerror=alert(2)>";
    // The form sends back what was typed with the messages: every value is escaped, even
    // one that would close the textarea.
    let (ct, body) = multipart(
        &[
            ("csrf", &form_token(port)),
            ("name", hostile),
            ("email", "anna@example.org"),
            ("category", "Firma digitale"),
            ("subject", hostile),
            ("description", &format!("</textarea>{hostile}")),
            ("pratica", hostile),
        ],
        None,
    );
    let refused = http(
        port,
        "POST",
        "/api/v1/tickets",
        &[("Content-Type", &ct), ("Accept", "text/html")],
        &body,
    );
    assert_eq!(refused.status, 422);
    let html = refused.text();
    assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
    assert!(
        html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
            && html.contains(">&lt;/textarea&gt;&quot;&gt;&lt;script&gt;"),
        "{html}"
    );
    // The status page shows the subject and the thread as text.
    let mut request = valid_request();
    request["subject"] = hostile.into();
    request["description"] = format!("Il portale dice {hostile} e si blocca.").into();
    let created = post_json(port, "/api/v1/tickets", Some(TOKEN), &request);
    assert_eq!(created.status, 201, "{}", created.text());
    let link = created.json()["status_url"]
        .as_str()
        .expect("link")
        .replace("https://assistenza.comune.example.it", "");
    let page = get(port, &link).text();
    assert!(!page.contains("<script") && !page.contains("<img"), "{page}");
    assert!(
        page.contains("<strong>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
            && page.contains("Il portale dice &quot;&gt;&lt;script&gt;"),
        "{page}"
    );
}

/// Security review, attack 5: partial headers and a partial body were still held open after
/// 10 s. Now the headers must arrive within `header_timeout_seconds` (the connection is
/// closed) and the body within `body_timeout_seconds` (answered 408).
#[test]
fn slow_headers_and_bodies_are_cut_off() {
    use std::io::{Read, Write};
    let server = start("header_timeout_seconds = 1\nbody_timeout_seconds = 1\n");
    let port = server.port;
    let begun = Instant::now();
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("write");
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    assert!(
        begun.elapsed() < Duration::from_secs(15),
        "the half-sent headers were held for {:?}",
        begun.elapsed()
    );
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "no answer to half a request"
    );

    let mut partial = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    partial
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    partial
        .write_all(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"name\": \"a",
        )
        .expect("write");
    let mut answer = Vec::new();
    let _ = partial.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // And the service goes on for everyone else.
    assert_eq!(get(port, "/healthz").status, 200);
}

/// Security review, attack 6: about 1,100 idle partial requests exhausted the daemon's file
/// descriptors, so that mail intake stopped and /healthz timed out. The connections HTTP may
/// hold are bounded by what the open-file limit leaves after the daemon's own reserve (here
/// 256 - 64, though 1,000 are configured) and one more is closed at accept: intake carries on
/// while they are held, and the health check answers once they go (or the header timeout
/// sheds them).
#[test]
fn idle_connections_cannot_starve_intake() {
    use std::io::Write;
    // 256 descriptors in all, as a unit without LimitNOFILE on a small server may give.
    // The header timeout is long here: what protects intake is the bound, not the timeout.
    let server = start_limited(
        CONFIG,
        "max_connections = 1000\nheader_timeout_seconds = 120\n",
        Some(256),
    );
    let port = server.port;
    // Far more idle half-requests than the budget.
    let mut idle = Vec::new();
    for _ in 0..400 {
        if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n");
            idle.push(c);
        }
    }
    // A mail dropped into the inbox meanwhile is still ticketed by the running daemon.
    let inbox = server.sandbox.path("var/inbox/new");
    std::fs::write(
        inbox.join("1.eml"),
        "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Durante l'attacco\r\n\
         Message-ID: <dos1@example.org>\r\n\r\ntesto\r\n",
    )
    .expect("deliver");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let db = rusqlite::Connection::open(server.sandbox.path("var/sportello.db")).expect("db");
        let tickets: i64 = db
            .query_row(
                "SELECT count(*) FROM tickets WHERE subject = 'Durante l''attacco'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        if tickets == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the mail was never ticketed while connections were held"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The health check answers again as soon as the idle ones go.
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answered = std::panic::catch_unwind(|| get(port, "/healthz").status).unwrap_or(0);
        if answered == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "/healthz never answered");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Seen in the security review: the status page (whose URL is the secret) sent no security
/// headers, and `a@b@c.example` passed the form's check and failed later with a 503.
#[test]
fn pages_carry_security_headers_and_a_double_at_is_refused_as_input() {
    let server = start("");
    let port = server.port;
    for path in ["/form", "/healthz", "/t/TCK-2026-00001/nope"] {
        let answer = get(port, path);
        let header = |name: &str| {
            answer
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert!(
            header("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
    }
    let mut request = valid_request();
    request["email"] = serde_json::Value::from("a@b@c.example");
    let answer = post_json(port, "/api/v1/tickets", Some(TOKEN), &request);
    assert_eq!(answer.status, 422, "{}", answer.text());
}

/// Issue 14, item 6: a file too large to attach to the notice is linked there, signed and
/// expiring; the link works as it was sent, and not when anything in it is changed.
#[test]
fn a_file_too_large_for_the_notice_is_a_signed_link() {
    let server = start("[intake]\nnotice_attachment_bytes = 0\n");
    let port = server.port;
    let token = form_token(port);
    let (ct, body) = multipart(
        &[
            ("csrf", token.as_str()),
            ("name", "Mario Esposito"),
            ("email", "mario@example.com"),
            ("category", "Firma digitale"),
            ("subject", "Tavola rifiutata"),
            ("description", "Il portale rifiuta la tavola firmata."),
        ],
        Some(("tavola.pdf", b"%PDF-1.4\n")),
    );
    let created = http(port, "POST", "/api/v1/tickets", &[("Content-Type", &ct)], &body);
    assert_eq!(created.status, 201, "{}", created.text());
    let notice = crate::workflow_support::last(&server.sandbox, "notify", "giulia.bianchi@comune.example.it");
    let at = notice
        .text
        .find("https://assistenza.comune.example.it/f/")
        .expect("a signed link");
    let link: String = notice.text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect::<String>()
        .replace("https://assistenza.comune.example.it", "");
    assert!(
        notice
            .text
            .contains("tavola.pdf (image/png, 9 B) — non allegato perché oltre il limite"),
        "{}",
        notice.text
    );
    let download = get(port, &link);
    assert_eq!(
        (download.status, download.body.as_slice()),
        (200, b"%PDF-1.4\n".as_slice())
    );
    // Another last digit, whatever the signature ends with (a fixed '0' left a signature that
    // ended in '0' unchanged, one run in sixteen).
    let last = if link.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &link[..link.len() - 1]);
    assert_eq!(get(port, &forged).status, 404, "a changed signature");
    let parts: Vec<&str> = link.split('/').collect();
    let longer = format!(
        "/f/{}/{}/{}",
        parts[2],
        parts[3].parse::<i64>().expect("expiry") + 1,
        parts[4]
    );
    assert_eq!(get(port, &longer).status, 404, "a changed expiry");
}
