//! Time to acknowledgment against the real Dovecot (IMAP IDLE) and SMTP relay on 127.0.0.1
//! (run through `scripts/bench latency`, which starts them and builds the release binary).
//!
//! The baseline is a bare echo robot on the same servers: one IMAP connection in IDLE, one
//! SMTP session kept open; on each wake it fetches the new messages, replies to each over
//! SMTP and flags them `\Seen`. Then the real daemon (`sportello run`, one operator, so it
//! sends a notice besides each acknowledgment) gets the same traffic on a fresh mailbox:
//! - paced: 60 requests, 150 ms apart, each submitted over SMTP to the relay;
//! - burst: 60 requests at once (staged in another folder, then moved into the INBOX in
//!   one command);
//!
//! each with the replies over plain SMTP and over implicit TLS with AUTH. A watcher polls the
//! requester's Maildir every 2 ms and matches each reply to its request by In-Reply-To; the
//! time to acknowledgment runs from the request's submission (paced) or the move (burst) to
//! the reply's arrival. It prints p50, p95 and max for both and the p95 ratios. Goal: every
//! p95 ratio at or under 1.5.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;

const REQUESTS: usize = 60;
const PACE: Duration = Duration::from_millis(150);
const PASSWORD: &str = "bench-pw";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/bench latency"))
}

fn port(name: &str) -> u16 {
    env(name).parse().unwrap_or_else(|_| panic!("{name} is not a port"))
}

/// The release binary `scripts/bench` built (in `CARGO_TARGET_DIR` when set).
fn binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("release/sportello")
}

fn add_user(address: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/mailtest.sh");
    let ok = Command::new("bash")
        .args([script, "adduser", address, PASSWORD])
        .stdout(Stdio::null())
        .status();
    assert!(ok.map(|s| s.success()).unwrap_or(false), "adduser {address}");
}

fn doveadm(args: &[&str]) -> Command {
    let mut cmd = Command::new("doveadm");
    cmd.arg("-c").arg(env("MAILTEST_DOVECOT_CONF")).args(args);
    cmd
}

/// The Maildir `new/` folder Dovecot delivers `address`'s mail into.
fn maildir_new(address: &str) -> PathBuf {
    let (local, domain) = address.split_once('@').expect("an address");
    Path::new(&env("MAILTEST_DIR"))
        .join("mail")
        .join(domain)
        .join(local)
        .join("Maildir/new")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Traffic {
    Paced,
    Burst,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Security {
    Plain,
    TlsAuth,
}

/// The people of one run: fresh mailboxes, so runs never see each other's mail.
struct People {
    tag: String,
    helpdesk: String,
    requester: String,
    operator: String,
}

impl People {
    fn new(tag: String) -> People {
        let people = People {
            helpdesk: format!("helpdesk-{tag}@example.test"),
            requester: format!("requester-{tag}@example.test"),
            operator: format!("operator-{tag}@example.test"),
            tag,
        };
        for user in [&people.helpdesk, &people.requester, &people.operator] {
            add_user(user);
        }
        people
    }

    fn request(&self, i: usize) -> Vec<u8> {
        format!(
            "From: Anna Ferrari <{from}>\r\nTo: {to}\r\nSubject: Pratica PE-2026-{i:04}: non riesco a caricare il file\r\n\
             Message-ID: <{id}>\r\nDate: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Buongiorno,\r\nil portale rifiuta il PDF firmato della pratica. Come posso fare?\r\n\r\nGrazie\r\n",
            from = self.requester,
            to = self.helpdesk,
            id = self.request_id(i),
            date = chrono::Utc::now().to_rfc2822(),
        )
        .into_bytes()
    }

    fn request_id(&self, i: usize) -> String {
        format!("lat-{}-{i}@example.org", self.tag)
    }
}

/// Where replies go, as the robot and the daemon send them.
#[derive(Clone)]
struct Relay {
    port: u16,
    security: Security,
    user: String,
}

async fn smtp_session(relay: &Relay) -> AsyncSmtpConnection {
    // The same connection as the daemon's sessions (TCP_NODELAY; implicit TLS trusting the
    // test CA), so neither side waits on Nagle's algorithm.
    let tls = match relay.security {
        Security::Plain => None,
        Security::TlsAuth => {
            let ca = std::path::PathBuf::from(env("MAILTEST_CA_PEM"));
            let config = sportello::tls::client_config(Some(&ca)).expect("TLS settings");
            Some(tokio_rustls::TlsConnector::from(config))
        }
    };
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("a host name");
    let stream = sportello::outbox::smtp::connect("127.0.0.1", relay.port, tls.as_ref().map(|t| (t, name)))
        .await
        .expect("SMTP connect");
    let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &ClientId::default())
        .await
        .expect("SMTP greeting");
    if relay.security == Security::TlsAuth {
        conn.auth(
            DEFAULT_MECHANISMS,
            &Credentials::new(relay.user.clone(), PASSWORD.into()),
        )
        .await
        .expect("SMTP AUTH");
    }
    conn
}

type Imap = async_imap::Session<tokio::net::TcpStream>;

async fn imap_login(user: &str) -> Imap {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port("MAILTEST_IMAP_PORT")))
        .await
        .expect("IMAP connect");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting").expect("greeting");
    client
        .login(user, PASSWORD)
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP login")
}

/// The echo robot: IDLE, fetch what is new, reply to each over the open SMTP session, flag.
async fn robot(helpdesk: String, relay: Relay, ready: std::sync::mpsc::Sender<()>, stop: Arc<tokio::sync::Notify>) {
    let mut imap = imap_login(&helpdesk).await;
    let mailbox = imap.select("INBOX").await.expect("select");
    let mut last_uid = mailbox.uid_next.unwrap_or(1).saturating_sub(1);
    let mut smtp = smtp_session(&relay).await;
    let _ = ready.send(());
    let mut replied = 0u64;
    loop {
        let fetched: Vec<_> = imap
            .uid_fetch(format!("{}:*", last_uid + 1), "(UID BODY.PEEK[])")
            .await
            .expect("fetch")
            .try_collect()
            .await
            .expect("fetch");
        let mut uids = Vec::new();
        for message in &fetched {
            let (Some(uid), Some(body)) = (message.uid, message.body()) else {
                continue;
            };
            if uid <= last_uid {
                continue;
            }
            uids.push(uid);
            let Some(parsed) = mail_parser::MessageParser::default().parse(body) else {
                continue;
            };
            let from = parsed
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            let id = parsed.message_id().unwrap_or_default().to_string();
            let subject = parsed.subject().unwrap_or_default().to_string();
            replied += 1;
            let reply = format!(
                "From: {helpdesk}\r\nTo: {from}\r\nSubject: Re: {subject}\r\nMessage-ID: <robot-{replied}-{uid}@example.test>\r\n\
                 In-Reply-To: <{id}>\r\nReferences: <{id}>\r\nDate: {date}\r\nAuto-Submitted: auto-replied\r\n\
                 MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                 Gentile utente,\r\nabbiamo ricevuto la sua richiesta.\r\n",
                date = chrono::Utc::now().to_rfc2822(),
            );
            let envelope = Envelope::new(
                Some(helpdesk.parse().expect("address")),
                vec![from.parse().expect("address")],
            )
            .expect("envelope");
            smtp.send(&envelope, reply.as_bytes()).await.expect("robot reply");
        }
        if let Some(max) = uids.iter().max() {
            last_uid = *max;
            let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let _: Vec<_> = imap
                .uid_store(set, "+FLAGS (\\Seen)")
                .await
                .expect("store")
                .try_collect()
                .await
                .expect("store");
        }
        // New mail the last FETCH or STORE already reported (as an untagged EXISTS) is not
        // reported again in IDLE: fetch again instead of waiting.
        let mut reported = false;
        while let Ok(response) = imap.unsolicited_responses.try_recv() {
            reported |= matches!(response, async_imap::types::UnsolicitedResponse::Exists(_));
        }
        if reported {
            continue;
        }
        let mut idle = imap.idle();
        idle.init().await.expect("idle");
        let (wait, _interrupt) = idle.wait_with_timeout(Duration::from_secs(60));
        tokio::select! {
            _ = stop.notified() => return,
            waited = wait => { waited.expect("idle wait"); }
        }
        imap = idle.done().await.expect("idle done");
    }
}

/// Watches `requester`'s Maildir: the instant each reply to a request first appears.
fn watch(requester: &str, ids: &HashMap<String, usize>, deadline: Instant) -> Vec<Option<Instant>> {
    let dir = maildir_new(requester);
    let mut seen: Vec<Option<Instant>> = vec![None; ids.len()];
    let mut read: std::collections::HashSet<std::ffi::OsString> = Default::default();
    let mut found = 0;
    while found < ids.len() && Instant::now() < deadline {
        let now = Instant::now();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if read.contains(&entry.file_name()) {
                    continue;
                }
                let Ok(raw) = std::fs::read(entry.path()) else { continue };
                read.insert(entry.file_name());
                let text = String::from_utf8_lossy(&raw);
                let replying_to = text
                    .lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| l.strip_prefix("In-Reply-To:"))
                    .map(|v| v.trim().trim_start_matches('<').trim_end_matches('>').to_string());
                if let Some(i) = replying_to.and_then(|id| ids.get(&id).copied())
                    && seen[i].is_none()
                {
                    seen[i] = Some(now);
                    found += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    seen
}

/// Sends the traffic to `people.helpdesk` and returns each request's time to acknowledgment.
fn traffic(people: &People, traffic: Traffic, runtime: &tokio::runtime::Runtime) -> Vec<Duration> {
    let ids: HashMap<String, usize> = (0..REQUESTS).map(|i| (people.request_id(i), i)).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let watcher = {
        let requester = people.requester.clone();
        let ids = ids.clone();
        std::thread::spawn(move || watch(&requester, &ids, deadline))
    };
    let mut sent_at = vec![Instant::now(); REQUESTS];
    match traffic {
        Traffic::Paced => runtime.block_on(async {
            let relay = Relay {
                port: port("MAILTEST_SMTP_PORT"),
                security: Security::Plain,
                user: people.requester.clone(),
            };
            let mut smtp = smtp_session(&relay).await;
            let envelope = Envelope::new(
                Some(people.requester.parse().expect("address")),
                vec![people.helpdesk.parse().expect("address")],
            )
            .expect("envelope");
            let start = tokio::time::Instant::now();
            for (i, at) in sent_at.iter_mut().enumerate() {
                tokio::time::sleep_until(start + PACE * i as u32).await;
                *at = Instant::now();
                smtp.send(&envelope, &people.request(i)).await.expect("request");
            }
        }),
        Traffic::Burst => {
            stage(people);
            let at = Instant::now();
            let moved = doveadm(&["move", "-u", &people.helpdesk, "INBOX", "mailbox", "Staging", "all"])
                .status()
                .expect("doveadm move");
            assert!(moved.success(), "doveadm move");
            sent_at = vec![at; REQUESTS];
        }
    }
    let seen = watcher.join().expect("watcher");
    let missing = seen.iter().filter(|s| s.is_none()).count();
    assert_eq!(
        missing, 0,
        "{missing} of {REQUESTS} requests got no reply within the deadline"
    );
    seen.iter()
        .zip(&sent_at)
        .map(|(seen, sent)| seen.map(|s| s.saturating_duration_since(*sent)).unwrap_or_default())
        .collect()
}

/// Puts the burst into `Staging`, to be moved into the INBOX at once.
fn stage(people: &People) {
    let dir = tempfile::Builder::new()
        .prefix("latency-mbox")
        .tempdir_in("/tmp")
        .expect("tempdir");
    let mut mbox = Vec::new();
    for i in 0..REQUESTS {
        let _ = writeln!(mbox, "From {} Mon Mar  9 10:00:00 2026", people.requester);
        for line in String::from_utf8_lossy(&people.request(i)).split("\r\n") {
            let _ = writeln!(mbox, "{line}");
        }
    }
    std::fs::write(dir.path().join("Staging"), mbox).expect("mbox");
    let _ = Command::new("chmod")
        .args(["-R", "a+rwx", &dir.path().display().to_string()])
        .status();
    let source = format!("mbox:{}", dir.path().display());
    let imported = doveadm(&[
        "import",
        "-u",
        &people.helpdesk,
        "-s",
        &source,
        "",
        "mailbox",
        "Staging",
        "all",
    ])
    .status()
    .expect("doveadm import");
    assert!(imported.success(), "doveadm import");
}

fn relay_of(security: Security, user: &str) -> Relay {
    Relay {
        port: match security {
            Security::Plain => port("MAILTEST_SMTP_PORT"),
            Security::TlsAuth => port("MAILTEST_SMTPS_PORT"),
        },
        security,
        user: user.to_string(),
    }
}

fn run_robot(people: &People, security: Security, kind: Traffic) -> Vec<Duration> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let stop = Arc::new(tokio::sync::Notify::new());
    let (ready, is_ready) = std::sync::mpsc::channel();
    let task = runtime.spawn(robot(
        people.helpdesk.clone(),
        relay_of(security, &people.helpdesk),
        ready,
        stop.clone(),
    ));
    is_ready
        .recv_timeout(Duration::from_secs(20))
        .expect("the robot is ready");
    let injector = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let latencies = traffic(people, kind, &injector);
    stop.notify_one();
    runtime.block_on(task).expect("the robot ended well");
    latencies
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM, as systemd stops it, then wait.
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

fn run_daemon(people: &People, security: Security, kind: Traffic) -> Vec<Duration> {
    let work = tempfile::Builder::new()
        .prefix("sportello-latency")
        .tempdir_in("/tmp")
        .expect("tempdir");
    let smtp = match security {
        Security::Plain => format!("port = {}\ntls = \"none\"\n", port("MAILTEST_SMTP_PORT")),
        Security::TlsAuth => format!(
            "port = {}\ntls = \"implicit\"\nusername = \"{}\"\npassword = \"{PASSWORD}\"\nca_file = \"{}\"\ntls_name = \"localhost\"\n",
            port("MAILTEST_SMTPS_PORT"),
            people.helpdesk,
            env("MAILTEST_CA_PEM")
        ),
    };
    let config = format!(
        "[helpdesk]\naddress = \"{helpdesk}\"\ndata_dir = \"var\"\n\
         [mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"{helpdesk}\"\n\
         password = \"{PASSWORD}\"\n\
         [smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\n{smtp}\
         [intake]\nack_rate_per_hour = 10000\n\
         [security]\nallow_unauthenticated_operators = true\n\
         [[operator]]\nname = \"Operatore Bench\"\nemail = \"{operator}\"\n",
        helpdesk = people.helpdesk,
        operator = people.operator,
        imap = port("MAILTEST_IMAP_PORT"),
    );
    std::fs::write(work.path().join("config.toml"), config).expect("config");
    let log_path = work.path().join("daemon.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let child = Command::new(binary())
        .args(["--log-format", "json", "run"])
        .current_dir(work.path())
        .env("SPORTELLO_LOG", "warn,sportello::daemon=info")
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("run {} (scripts/bench builds it): {e}", binary().display()));
    let daemon = Daemon(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log_path).is_ok_and(|t| t.contains("IMAP connected")) {
        assert!(
            Instant::now() < deadline,
            "the daemon did not connect: {}",
            log_path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Its first pass (the folder's end as the checkpoint) and the IDLE that follows.
    std::thread::sleep(Duration::from_millis(1500));
    let injector = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let latencies = traffic(people, kind, &injector);
    drop(daemon);
    if std::env::var_os("LATENCY_KEEP_LOGS").is_some() {
        let kept = std::env::temp_dir().join(format!("latency-{}.log", people.tag));
        let _ = std::fs::copy(&log_path, &kept);
        eprintln!("daemon log kept: {}", kept.display());
    }
    latencies
}

/// p50, p95 and max.
fn figures(mut latencies: Vec<Duration>) -> [Duration; 3] {
    latencies.sort();
    let at = |q: f64| latencies[((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1];
    [at(0.50), at(0.95), at(1.0)]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let stamp = std::process::id();
    assert!(
        binary().exists(),
        "{} is missing: scripts/bench latency builds it",
        binary().display()
    );
    println!(
        "latency benchmark: time to acknowledgment over Dovecot IDLE + the SMTP relay, {REQUESTS} requests per run"
    );
    let mut worst: f64 = 0.0;
    let mut run = 0;
    for security in [Security::Plain, Security::TlsAuth] {
        for kind in [Traffic::Paced, Traffic::Burst] {
            run += 1;
            let robot = figures(run_robot(&People::new(format!("r{stamp}-{run}")), security, kind));
            let daemon = figures(run_daemon(&People::new(format!("d{stamp}-{run}")), security, kind));
            let ratio = daemon[1].as_secs_f64() / robot[1].as_secs_f64().max(1e-6);
            worst = worst.max(ratio);
            let traffic = match kind {
                Traffic::Paced => "paced, 150 ms apart",
                Traffic::Burst => "burst of 60 at once",
            };
            let smtp = match security {
                Security::Plain => "SMTP plain",
                Security::TlsAuth => "SMTP implicit TLS + AUTH",
            };
            println!("  {traffic:<20} {smtp:<25}");
            println!(
                "    echo robot: p50 {:>7}  p95 {:>7}  max {:>7}",
                ms(robot[0]),
                ms(robot[1]),
                ms(robot[2])
            );
            println!(
                "    sportello:  p50 {:>7}  p95 {:>7}  max {:>7}   p95 ratio {ratio:.2} (goal <= 1.5)",
                ms(daemon[0]),
                ms(daemon[1]),
                ms(daemon[2])
            );
        }
    }
    println!("  worst p95 ratio: {worst:.2} (goal <= 1.5)");
}
