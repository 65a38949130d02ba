//! A small SMTP server of the tests' own on 127.0.0.1, with the limits real servers set: how
//! many sessions at once (the others are refused with 421 at the greeting, as Postfix and
//! Exchange do), how many messages per session (then 421 and the channel closes), a
//! connection dropped without a word, a slow answer to DATA. It records every message and
//! every session, so a test can say what the courier did to it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The limits the sink applies.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Sessions open at once; more are refused at the greeting (`None`: no limit).
    pub max_sessions: Option<usize>,
    /// Messages a session may send; the next MAIL gets 421 and the channel closes.
    pub messages_per_session: Option<usize>,
    /// After this many messages, the next command finds the connection closed, no reply.
    pub drop_after: Option<usize>,
    /// Wait before answering the end of DATA.
    pub data_delay: Duration,
}

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The session (1, 2, …) it came on.
    pub session: usize,
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
    /// The bytes after DATA, dot-unstuffed.
    pub raw: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    received: Vec<Received>,
    open: usize,
    max_open: usize,
    sessions: usize,
    refused: usize,
}

/// What the sink saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub received: Vec<Received>,
    /// Most sessions open at once.
    pub max_open: usize,
    /// Sessions greeted (refused ones not counted).
    pub sessions: usize,
    /// Sessions refused at the greeting.
    pub refused: usize,
}

/// The running sink; stopped when dropped.
pub struct SmtpSink {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl SmtpSink {
    pub fn start(rules: Rules) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
        let port = listener.local_addr().expect("sink address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let state = state.clone();
                            let rules = rules.clone();
                            std::thread::spawn(move || serve(stream, &rules, &state));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        SmtpSink {
            port,
            state,
            stop,
            accept: Some(accept),
        }
    }

    pub fn seen(&self) -> Seen {
        let state = self.state.lock().expect("sink state");
        Seen {
            received: state.received.clone(),
            max_open: state.max_open,
            sessions: state.sessions,
            refused: state.refused,
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn message_id(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("message-id")
                .then(|| value.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        })
        .unwrap_or_default()
}

fn serve(stream: TcpStream, rules: &Rules, state: &Mutex<State>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut out = match stream.try_clone() {
        Ok(out) => out,
        Err(_) => return,
    };
    let session = {
        let mut s = state.lock().expect("sink state");
        if rules.max_sessions.is_some_and(|max| s.open >= max) {
            s.refused += 1;
            drop(s);
            let _ = out.write_all(b"421 4.7.0 sink.example.test Too many sessions, try later\r\n");
            return;
        }
        s.open += 1;
        s.max_open = s.max_open.max(s.open);
        s.sessions += 1;
        s.sessions
    };
    talk(BufReader::new(stream), &mut out, rules, state, session);
    state.lock().expect("sink state").open -= 1;
}

fn talk(mut input: BufReader<TcpStream>, out: &mut TcpStream, rules: &Rules, state: &Mutex<State>, session: usize) {
    let mut sent = 0usize;
    if out.write_all(b"220 sink.example.test ESMTP\r\n").is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = String::from_utf8_lossy(&line).to_ascii_uppercase();
        if rules.drop_after.is_some_and(|n| sent >= n) {
            return; // the connection closes without a word
        }
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink.example.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if command.starts_with("MAIL") {
            if rules.messages_per_session.is_some_and(|n| sent >= n) {
                let _ = out.write_all(b"421 4.7.0 Too many messages in this session, closing\r\n");
                return;
            }
            b"250 2.1.0 OK\r\n"
        } else if command.starts_with("RCPT") {
            b"250 2.1.5 OK\r\n"
        } else if command.starts_with("DATA") {
            if out.write_all(b"354 go ahead\r\n").is_err() {
                return;
            }
            let mut raw = Vec::new();
            loop {
                line.clear();
                match input.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == b".\r\n" {
                    break;
                }
                let unstuffed = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
                raw.extend_from_slice(unstuffed);
            }
            sent += 1;
            // Taken before the answer, as a real server commits it: a client gone before
            // the 250 sends it again.
            state.lock().expect("sink state").received.push(Received {
                session,
                message_id: message_id(&raw),
                raw,
            });
            std::thread::sleep(rules.data_delay);
            b"250 2.0.0 queued\r\n"
        } else if command.starts_with("QUIT") {
            let _ = out.write_all(b"221 2.0.0 bye\r\n");
            return;
        } else if command.starts_with("RSET") || command.starts_with("NOOP") {
            b"250 2.0.0 OK\r\n"
        } else {
            b"502 5.5.1 not here\r\n"
        };
        if out.write_all(reply).is_err() {
            return;
        }
    }
}
