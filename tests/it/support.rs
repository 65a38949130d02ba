//! Helpers shared by the integration tests: a throw-away help-desk folder and a way to run
//! the real binary in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_sportello")
}

/// A temporary folder with (optionally) a config.toml, where the binary runs.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// An empty folder: the binary runs on its embedded defaults there.
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A folder with this config.toml.
    pub fn with_config(text: &str) -> Sandbox {
        let sandbox = Sandbox::new();
        std::fs::write(sandbox.path("config.toml"), text).expect("write config");
        sandbox
    }

    /// A path inside the sandbox.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// The sandbox root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A command for the binary, running in the sandbox.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary());
        cmd.args(args)
            .current_dir(self.root())
            .env("SPORTELLO_LOG", "warn")
            .stdin(Stdio::null());
        cmd
    }

    /// Starts a long-running `sportello … run`; the guard kills it if the test fails first, so a
    /// panicking test never leaves a daemon behind holding the harness's output open.
    pub fn spawn_daemon(&self, args: &[&str]) -> Daemon {
        Daemon(self.command(args).spawn().expect("start daemon"))
    }

    /// Like [`Sandbox::spawn_daemon`], with the daemon's open-file limit (soft and hard) set to
    /// `files`, as a small server or a unit without `LimitNOFILE` gives it.
    pub fn spawn_daemon_with_file_limit(&self, args: &[&str], files: u64) -> Daemon {
        use std::os::unix::process::CommandExt;
        let mut command = self.command(args);
        // SAFETY: setrlimit is async-signal-safe, as pre_exec requires; nothing else runs here.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: files,
                    rlim_max: files,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        Daemon(command.spawn().expect("start daemon"))
    }

    /// Like [`Sandbox::spawn_daemon`], with its log (standard error) written to `log`.
    pub fn spawn_daemon_logging_to(&self, args: &[&str], log: &Path) -> Daemon {
        let file = std::fs::File::create(log).expect("daemon log file");
        Daemon(self.command(args).stderr(file).spawn().expect("start daemon"))
    }

    /// Runs the binary to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run sportello")
    }

    /// Runs the binary with `input` on standard input.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sportello");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Outbox files whose Message-ID has this purpose (`ack`, `notify`, …), sorted.
    pub fn outbox_files_for(&self, purpose: &str) -> Vec<PathBuf> {
        let marker = format!(".{purpose}.");
        self.outbox_files()
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(&marker))
            .collect()
    }

    /// Files in the outbox folder of the embedded defaults, sorted.
    pub fn outbox_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(self.path("var/outbox")) {
            Ok(entries) => entries.map(|e| e.expect("entry").path()).collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files
    }
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code (panics on death by signal, which no test expects).
pub fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {output:?}"))
}

/// A minimal plain-text message.
pub fn simple_message(from: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: assistenza@comune.example.it\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Mon, 9 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The real Dovecot + SMTP relay started by `scripts/test` (`scripts/mailtest.sh`).
pub struct MailServer {
    dir: PathBuf,
    /// IMAP, plain and STARTTLS.
    pub imap_port: u16,
    /// IMAP, implicit TLS.
    pub imaps_port: u16,
    /// SMTP, plain and STARTTLS.
    pub smtp_port: u16,
    /// SMTP, implicit TLS.
    pub smtps_port: u16,
    /// The test CA's certificate.
    pub ca_pem: PathBuf,
    dovecot_conf: PathBuf,
    /// Dovecot's submission service (SMTP AUTH with the IMAP passdbs, OAuth2 included).
    pub submission_port: u16,
    /// The OAuth2 token server's HTTPS port (`POST /token`).
    pub token_port: u16,
    /// Its plain-HTTP port for `/introspect` and the tests' `/admin/*`.
    pub token_admin_port: u16,
}

impl MailServer {
    /// The running servers, from the `MAILTEST_*` variables. Outside CI a missing server
    /// skips the test with a message; in CI (`CI` set) it fails, so CI can never pass by
    /// skipping.
    pub fn from_env(test: &str) -> Option<MailServer> {
        let var = |name: &str| std::env::var(name).ok();
        let port = |name: &str| var(name).and_then(|p| p.parse().ok());
        let found = (|| {
            Some(MailServer {
                dir: var("MAILTEST_DIR")?.into(),
                imap_port: port("MAILTEST_IMAP_PORT")?,
                imaps_port: port("MAILTEST_IMAPS_PORT")?,
                smtp_port: port("MAILTEST_SMTP_PORT")?,
                smtps_port: port("MAILTEST_SMTPS_PORT")?,
                ca_pem: var("MAILTEST_CA_PEM")?.into(),
                dovecot_conf: var("MAILTEST_DOVECOT_CONF")?.into(),
                submission_port: port("MAILTEST_SUBMISSION_PORT")?,
                token_port: port("MAILTEST_TOKEN_PORT")?,
                token_admin_port: port("MAILTEST_TOKEN_ADMIN_PORT")?,
            })
        })();
        if found.is_none() {
            assert!(
                std::env::var("CI").is_err(),
                "{test}: the mail servers must run in CI (scripts/test starts them)"
            );
            eprintln!(
                "{test}: SKIPPED, no mail server (run scripts/test, or scripts/mailtest.sh start and source its env)"
            );
        }
        found
    }

    /// A fresh mailbox user `<prefix>-<random>@example.test`; returns (address, password).
    pub fn add_user(&self, prefix: &str) -> (String, String) {
        let address = format!("{prefix}-{:08x}@example.test", rand_u32());
        let password = format!("pw-{:08x}", rand_u32());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/mailtest.sh");
        let status = Command::new("bash")
            .args([script, "adduser", &address, &password])
            .env("MAILTEST_DIR", &self.dir)
            .stdout(Stdio::null())
            .status()
            .expect("adduser");
        assert!(status.success(), "adduser {address}");
        (address, password)
    }

    fn doveadm(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("doveadm");
        cmd.arg("-c").arg(&self.dovecot_conf).args(args);
        cmd
    }

    /// Registers an OAuth2 client at the token server, acting for `user`, whose tokens live
    /// `lifetime` seconds (and, given one, holding `refresh_token`); returns its id and secret.
    pub fn add_oauth2_client(&self, user: &str, lifetime: u32, refresh_token: Option<&str>) -> (String, String) {
        let id = format!("app-{:08x}", rand_u32());
        let secret = format!("secret-{:08x}", rand_u32());
        let body = serde_json::json!({
            "client_id": id, "client_secret": secret, "user": user, "lifetime": lifetime,
            "refresh_token": refresh_token,
        });
        let answer = http(
            self.token_admin_port,
            "POST",
            "/admin/client",
            &[],
            body.to_string().as_bytes(),
        );
        assert_eq!(answer.status, 200, "{}", answer.text());
        (id, secret)
    }

    /// Revokes an OAuth2 client: its tokens stop working and it gets no new ones.
    pub fn revoke_oauth2_client(&self, id: &str) {
        let body = serde_json::json!({ "client_id": id });
        let answer = http(
            self.token_admin_port,
            "POST",
            "/admin/revoke",
            &[],
            body.to_string().as_bytes(),
        );
        assert_eq!(answer.status, 200, "{}", answer.text());
    }

    /// What the token server knows of a client: `issued` (access tokens), `refreshed`,
    /// `refresh` (the current refresh token), `revoked`.
    pub fn oauth2_client(&self, id: &str) -> serde_json::Value {
        http(
            self.token_admin_port,
            "GET",
            &format!("/admin/client?client_id={id}"),
            &[],
            b"",
        )
        .json()
    }

    /// Ends `user`'s IMAP sessions, if any (`doveadm kick`), as a server restart would.
    pub fn kick(&self, user: &str) {
        let _ = self
            .doveadm(&["kick", user])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("doveadm kick");
    }

    /// Dovecot's log lines that mention `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("log/dovecot.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }

    /// Delivers one raw message into `user`'s INBOX (as the MTA would).
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        use std::io::Write;
        let mut child = self
            .doveadm(&["save", "-u", user, "-m", "INBOX"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("doveadm save");
        child.stdin.take().expect("stdin").write_all(raw).expect("write");
        assert!(child.wait().expect("wait").success(), "doveadm save for {user}");
    }

    /// Marks the messages of `user`'s INBOX whose subject contains `subject` as read, as a mail
    /// client would have.
    pub fn mark_seen(&self, user: &str, subject: &str) {
        let status = self
            .doveadm(&[
                "flags", "add", "-u", user, "\\Seen", "mailbox", "INBOX", "header", "Subject", subject,
            ])
            .status()
            .expect("doveadm flags");
        assert!(status.success(), "doveadm flags add for {user}");
    }

    /// Delivers many messages at once from an mbox file (fast: one process).
    pub fn import_mbox(&self, user: &str, messages: &[Vec<u8>]) {
        let dir = tempfile::Builder::new()
            .prefix("mbox")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let mut text = Vec::new();
        for m in messages {
            text.extend_from_slice(b"From sender@example.org Mon Mar  9 10:00:00 2026\n");
            for line in m.split(|b| *b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.starts_with(b"From ") {
                    text.push(b'>');
                }
                text.extend_from_slice(line);
                text.push(b'\n');
            }
        }
        std::fs::write(dir.path().join("Backlog"), text).expect("write mbox");
        // Dovecot's mail processes run as uid 5000: they read the mbox and write its index.
        let _ = Command::new("chmod")
            .args(["-R", "a+rwx", &dir.path().display().to_string()])
            .status();
        let source = format!("mbox:{}", dir.path().display());
        let status = self
            .doveadm(&["import", "-u", user, "-s", &source, "", "mailbox", "Backlog", "all"])
            .status()
            .expect("import");
        assert!(status.success(), "doveadm import");
        // doveadm import keeps the mbox folder name: move the messages into the INBOX.
        let status = self
            .doveadm(&["move", "-u", user, "INBOX", "mailbox", "Backlog", "all"])
            .status()
            .expect("move");
        assert!(status.success(), "doveadm move");
    }

    /// Number of messages in `folder` matching a doveadm search query (e.g. `all`, `unseen`).
    pub fn count(&self, user: &str, folder: &str, query: &[&str]) -> usize {
        let mut args = vec!["search", "-u", user, "mailbox", folder];
        args.extend_from_slice(query);
        let out = self.doveadm(&args).output().expect("doveadm search");
        assert!(
            out.status.success(),
            "doveadm search: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).lines().count()
    }
}

fn rand_u32() -> u32 {
    let mut bytes = [0u8; 4];
    rand::fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

impl MailServer {
    /// Every message in `user`'s INBOX, read over IMAP (plain, loopback) as a mail client would.
    pub fn read_inbox(&self, user: &str, password: &str) -> Vec<Vec<u8>> {
        use futures::TryStreamExt;
        let port = self.imap_port;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await.expect("greeting").expect("greeting");
            let mut session = client.login(user, password).await.map_err(|(e, _)| e).expect("login");
            let mailbox = session.select("INBOX").await.expect("select");
            let mut out = Vec::new();
            if mailbox.exists > 0 {
                let fetched: Vec<_> = session
                    .fetch("1:*", "BODY.PEEK[]")
                    .await
                    .expect("fetch")
                    .try_collect()
                    .await
                    .expect("collect");
                out = fetched.iter().filter_map(|f| f.body().map(<[u8]>::to_vec)).collect();
            }
            let _ = session.logout().await;
            out
        })
    }
}

/// A free TCP port on 127.0.0.1 (bound and released: good enough for a test server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A response of the tiny HTTP client below.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` (Connection: close), with the test's own small
/// client so the tests need no HTTP crate.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    stream.write_all(body).expect("write body");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = decoded;
    }
    HttpResponse { status, headers, body }
}

/// A mail server of the test's own (its folder and ports), that the test may stop and start
/// without disturbing the shared one. Stopped and removed when dropped.
pub struct PrivateMailServer {
    /// The server, as the shared one is described.
    pub server: MailServer,
    ports: [u16; 8],
}

impl PrivateMailServer {
    fn script(&self, verb: &str) -> std::process::ExitStatus {
        let [imap, imaps, smtp, smtps, lmtp, submission, token, token_admin] = self.ports;
        Command::new("bash")
            .args([concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/mailtest.sh"), verb])
            .env("MAILTEST_DIR", &self.server.dir)
            .env("MAILTEST_IMAP_PORT", imap.to_string())
            .env("MAILTEST_IMAPS_PORT", imaps.to_string())
            .env("MAILTEST_SMTP_PORT", smtp.to_string())
            .env("MAILTEST_SMTPS_PORT", smtps.to_string())
            .env("MAILTEST_LMTP_PORT", lmtp.to_string())
            .env("MAILTEST_SUBMISSION_PORT", submission.to_string())
            .env("MAILTEST_TOKEN_PORT", token.to_string())
            .env("MAILTEST_TOKEN_ADMIN_PORT", token_admin.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mailtest.sh")
    }

    /// Starts one (when the shared one runs, so the packages are installed).
    pub fn start(test: &str) -> Option<PrivateMailServer> {
        MailServer::from_env(test)?;
        // A free port can be taken by a parallel test between choosing it and binding it:
        // a start that fails is tried again on fresh ports.
        for attempt in 1..=3 {
            let ports = [(); 8].map(|()| free_port());
            let dir = PathBuf::from(format!("/tmp/sportello-private-{:08x}", rand_u32()));
            let server = MailServer {
                dovecot_conf: dir.join("dovecot.conf"),
                ca_pem: dir.join("tls/ca.pem"),
                dir,
                imap_port: ports[0],
                imaps_port: ports[1],
                smtp_port: ports[2],
                smtps_port: ports[3],
                submission_port: ports[5],
                token_port: ports[6],
                token_admin_port: ports[7],
            };
            let private = PrivateMailServer { server, ports };
            if private.script("start").success() {
                return Some(private);
            }
            private.script("stop");
            assert!(attempt < 3, "private mail server start");
        }
        None
    }

    /// Stops the servers (mail is kept).
    pub fn stop(&self) {
        assert!(self.script("stop").success(), "private mail server stop");
    }

    /// Kills Dovecot's whole process group at once (master and the IMAP process serving the
    /// daemon), as a crash or an OOM kill would: no graceful close of the connections.
    pub fn crash_imap(&self) {
        let pid_file = self.server.dir.join("run/master.pid");
        let pid = std::fs::read_to_string(&pid_file).expect("dovecot master.pid");
        let group = format!("-{}", pid.trim());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .expect("kill");
        assert!(killed.success(), "SIGKILL to Dovecot's process group {group}");
    }

    /// Starts them again on the same folder and ports.
    pub fn restart(&self) {
        assert!(self.script("start").success(), "private mail server restart");
    }
}

impl Drop for PrivateMailServer {
    fn drop(&mut self) {
        let _ = self.script("stop");
        let _ = std::fs::remove_dir_all(&self.server.dir);
    }
}

/// A running daemon, killed when dropped.
pub struct Daemon(std::process::Child);

impl Daemon {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// SIGTERM, as systemd stops it; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "SIGTERM to the daemon");
        self.0.wait().expect("wait for the daemon").code()
    }

    /// Sends SIGHUP, as a closing SSH session or a logrotate hook would.
    pub fn hang_up(&self) {
        let sent = Command::new("kill")
            .args(["-HUP", &self.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "SIGHUP to the daemon");
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    /// SIGKILL, as a crash or the OOM killer would.
    pub fn crash(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A small tmpfs mounted over a folder, so a test can fill "the disk"; unmounted when dropped.
/// Needs root (CI is root); None elsewhere.
pub struct SmallDisk(PathBuf);

impl SmallDisk {
    pub fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).expect("mount point");
        let options = format!("size={size}");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk(dir.to_path_buf()))
    }

    /// Writes a file until the disk refuses; returns its path.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).and_then(|()| file.sync_data()).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
