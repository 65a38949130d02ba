//! Who may command the help desk: message authentication and the keyed Message-IDs of
//! operator notifications.
//!
//! Pure, apart from [`load_or_create_key`] which reads or writes the key file once at start.
//!
//! Two locks, both required for a command that changes a ticket:
//! 1. **Authentication.** The topmost `Authentication-Results` header whose authserv-id is
//!    `[security] trusted_authserv_id` (the one our own MX prepends; anything below it could
//!    have been written by the sender) must show `dmarc=pass` with `header.from` equal to the
//!    From domain, or `dkim=pass` with `header.d` equal to it, or `spf=pass` with
//!    `smtp.mailfrom` in it, and no DMARC verdict other than pass or none. The header is read
//!    by the strict RFC 8601 parser in [`results`]: a header of ours it cannot read fails. The
//!    From address must equal a configured operator's address exactly (lookalikes differ).
//! 2. **A keyed reference.** The reply must name, in In-Reply-To or References, a notification
//!    that was sent to that same operator about that ticket. Those Message-IDs carry an HMAC
//!    of (ticket, nonce, operator) under a secret kept in `data_dir/secret.key`, so nobody
//!    can forge one without having received it.

pub mod results;

use std::path::Path;

use anyhow::Context;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ingest::parse::InboundMail;
use crate::model::TicketId;
use results::MethodResult;

/// The secret behind notification Message-IDs.
#[derive(Clone)]
pub struct MacKey([u8; 32]);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(********)")
    }
}

impl MacKey {
    /// A key from raw bytes (tests).
    pub fn from_bytes(bytes: [u8; 32]) -> MacKey {
        MacKey(bytes)
    }

    fn tag(&self, ticket: TicketId, nonce: &str, operator: &str) -> String {
        // 32 bytes is a valid HMAC key length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(format!("{ticket}\n{nonce}\n{}", operator.to_ascii_lowercase()).as_bytes());
        mac.finalize().into_bytes()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The local part of a notification Message-ID for `operator` about `ticket`:
    /// `TCK-…​.notify.<nonce>.<mac>`.
    pub fn notification_local_part(&self, ticket: TicketId, operator: &str) -> String {
        let mut nonce = [0u8; 6];
        rand::fill(&mut nonce);
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        format!("{ticket}.notify.{nonce}.{}", self.tag(ticket, &nonce, operator))
    }

    /// A keyed signature of `data` for `purpose` (form tokens of the HTTP interface).
    pub fn sign(&self, purpose: &str, data: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(format!("{purpose}\n{data}").as_bytes());
        mac.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// True when `signature` is [`MacKey::sign`] of `data` for `purpose` (constant time).
    pub fn verify_signature(&self, purpose: &str, data: &str, signature: &str) -> bool {
        constant_time_eq(self.sign(purpose, data).as_bytes(), signature.as_bytes())
    }

    /// True when `message_id` is a notification we minted for `operator` about `ticket`.
    pub fn verifies(&self, message_id: &str, ticket: TicketId, operator: &str) -> bool {
        let local = message_id.split('@').next().unwrap_or_default();
        let mut parts = local.split('.');
        let (Some(id), Some("notify"), Some(nonce), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        if !id.eq_ignore_ascii_case(&ticket.to_string()) {
            return false;
        }
        constant_time_eq(self.tag(ticket, nonce, operator).as_bytes(), tag.as_bytes())
    }
}

/// Compares without an early exit, so timing tells nothing about how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads `data_dir/secret.key`, creating it (mode 0600) on first use.
pub fn load_or_create_key(data_dir: &Path) -> anyhow::Result<MacKey> {
    let path = data_dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = decode_hex(text.trim()).with_context(|| format!("{} is not 64 hex digits", path.display()))?;
            Ok(MacKey(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::fill(&mut key);
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            std::fs::create_dir_all(data_dir)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut file) => {
                    std::io::Write::write_all(&mut file, format!("{hex}\n").as_bytes())?;
                    file.sync_all()?;
                    Ok(MacKey(key))
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_key(data_dir),
                Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The outcome of the authentication check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated by our MX (which method).
    Pass(&'static str),
    /// Not authenticated (why).
    Fail(String),
    /// No check configured and the trial switch allows it.
    Unchecked,
}

impl Verdict {
    /// True when commands may be honoured.
    pub fn allows(&self) -> bool {
        matches!(self, Verdict::Pass(_) | Verdict::Unchecked)
    }
}

/// Checks the message's authentication as our MX recorded it.
///
/// Any doubt is a failure: a header of our MX that cannot be parsed, a DMARC failure next
/// to a pass, a pass for another domain.
pub fn verify(mail: &InboundMail, trusted_authserv_id: &str, allow_unauthenticated: bool) -> Verdict {
    if trusted_authserv_id.is_empty() {
        return if allow_unauthenticated {
            Verdict::Unchecked
        } else {
            Verdict::Fail("no trusted_authserv_id configured".into())
        };
    }
    let Some(from) = mail.from.as_ref() else {
        return Verdict::Fail("no From address".into());
    };
    let Some((_, from_domain)) = from.address.rsplit_once('@') else {
        return Verdict::Fail("the From address has no domain".into());
    };
    let trusted = trusted_authserv_id.to_ascii_lowercase();
    // Only the topmost header of our own server counts: anything below it may be forged.
    let mut ours = None;
    for header in mail.header_all("authentication-results") {
        match results::parse(header) {
            Ok(parsed) if parsed.authserv_id == trusted => {
                ours = Some(parsed);
                break;
            }
            Ok(_) => {}
            // Unreadable and (by its first word) ours: a doubt, so a failure. Unreadable
            // and someone else's: it never counted anyway.
            Err(e) if leading_word(header).eq_ignore_ascii_case(&trusted) => {
                return Verdict::Fail(format!("the Authentication-Results of {trusted} cannot be read: {e}"));
            }
            Err(_) => {}
        }
    }
    let Some(ours) = ours else {
        return Verdict::Fail(format!("no Authentication-Results from {trusted_authserv_id}"));
    };
    decide(&ours.results, from_domain)
        .unwrap_or_else(|| Verdict::Fail(format!("{trusted_authserv_id} did not authenticate {from_domain}")))
}

/// The authentication a set of results proves for mail from `from_domain`, if any.
fn decide(results: &[MethodResult], from_domain: &str) -> Option<Verdict> {
    let of = |method: &'static str| results.iter().filter(move |r| r.method == method);
    // A DMARC verdict other than pass (fail, temperror, …) overrides any pass beside it.
    if of("dmarc").any(|r| r.result != "pass" && r.result != "none") {
        return None;
    }
    let same_domain = |domain: Option<&str>| domain.is_some_and(|d| d.eq_ignore_ascii_case(from_domain));
    if of("dmarc").any(|r| r.result == "pass" && same_domain(r.property("header", "from").map(domain_of))) {
        return Some(Verdict::Pass("dmarc"));
    }
    if of("dkim").any(|r| {
        r.result == "pass"
            && same_domain(
                r.property("header", "d")
                    .or_else(|| r.property("header", "i"))
                    .map(domain_of),
            )
    }) {
        return Some(Verdict::Pass("dkim"));
    }
    if of("spf").any(|r| r.result == "pass" && same_domain(r.property("smtp", "mailfrom").map(domain_of))) {
        return Some(Verdict::Pass("spf"));
    }
    None
}

/// `user@example.org` or `@example.org` → `example.org`; a bare domain stays itself.
fn domain_of(value: &str) -> &str {
    value.rsplit_once('@').map_or(value, |(_, d)| d)
}

/// The first word of a header value: what a reader would take for its authserv-id.
fn leading_word(header: &str) -> &str {
    let header = header.trim_start();
    let end = header
        .find(|c: char| c.is_whitespace() || c == ';' || c == '(')
        .unwrap_or(header.len());
    header[..end].trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::Person;

    fn mail(from: &str, results: &[&str]) -> InboundMail {
        InboundMail {
            from: Some(Person {
                address: from.into(),
                name: None,
            }),
            headers: results
                .iter()
                .map(|r| ("authentication-results".to_string(), r.to_string()))
                .collect(),
            ..InboundMail::default()
        }
    }

    const MX: &str = "mx.comune.example.it";
    const OP: &str = "giulia.bianchi@comune.example.it";

    #[test]
    fn our_servers_pass_counts() {
        let pass = "mx.comune.example.it; dkim=pass header.d=comune.example.it; spf=pass smtp.mailfrom=comune.example.it; dmarc=pass header.from=comune.example.it";
        assert_eq!(verify(&mail(OP, &[pass]), MX, false), Verdict::Pass("dmarc"));
        let dkim_only = "mx.comune.example.it; dkim=pass (2048-bit key) header.d=comune.example.it; dmarc=none";
        assert_eq!(verify(&mail(OP, &[dkim_only]), MX, false), Verdict::Pass("dkim"));
        let spf_only = "mx.comune.example.it; spf=pass smtp.mailfrom=giulia.bianchi@comune.example.it";
        assert_eq!(verify(&mail(OP, &[spf_only]), MX, false), Verdict::Pass("spf"));
    }

    #[test]
    fn forgeries_fail() {
        // No header at all.
        assert!(!verify(&mail(OP, &[]), MX, false).allows());
        // DMARC failed.
        assert!(
            !verify(
                &mail(OP, &["mx.comune.example.it; dmarc=fail header.from=comune.example.it"]),
                MX,
                false
            )
            .allows()
        );
        // A forged "pass" below our own header, which says fail.
        let ours = "mx.comune.example.it; dkim=fail; spf=fail smtp.mailfrom=evil.example.net; dmarc=fail";
        let forged = "mx.comune.example.it; dkim=pass header.d=comune.example.it; dmarc=pass";
        assert!(!verify(&mail(OP, &[ours, forged]), MX, false).allows());
        // Someone else's server said pass.
        assert!(!verify(&mail(OP, &["mx.evil.example.net; dmarc=pass"]), MX, false).allows());
        // A pass for another domain.
        assert!(
            !verify(
                &mail(OP, &["mx.comune.example.it; dkim=pass header.d=evil.example.net"]),
                MX,
                false
            )
            .allows()
        );
        // A pass only inside a comment.
        assert!(
            !verify(
                &mail(
                    OP,
                    &["mx.comune.example.it; spf=none (dkim=pass header.d=comune.example.it)"]
                ),
                MX,
                false
            )
            .allows()
        );
    }

    #[test]
    fn quoted_values_and_comments_cannot_forge_a_pass() {
        // The attack that got through: a quoted local part carrying "; dmarc=pass …".
        let quoted = "mx.comune.example.it; spf=pass smtp.mailfrom=\"x;dmarc=pass header.from=comune.example.it;\"@evil.example; \
                      dkim=none; dmarc=fail header.from=comune.example.it";
        assert!(!verify(&mail(OP, &[quoted]), MX, false).allows());
        // The same without the honest dmarc=fail: the SPF pass is for evil.example.
        let quoted_only =
            "mx.comune.example.it; spf=pass smtp.mailfrom=\"x;dmarc=pass header.from=comune.example.it;\"@evil.example";
        assert!(!verify(&mail(OP, &[quoted_only]), MX, false).allows());
        // A pass inside a reason, or after an escaped quote.
        let reason = "mx.comune.example.it; dkim=fail reason=\"x; dmarc=pass header.from=comune.example.it\"";
        assert!(!verify(&mail(OP, &[reason]), MX, false).allows());
        let escaped = "mx.comune.example.it; spf=fail smtp.mailfrom=\"a\\\";dmarc=pass header.from=comune.example.it;\"@evil.example";
        assert!(!verify(&mail(OP, &[escaped]), MX, false).allows());
        // A DMARC failure beside a DKIM pass of the right domain is a doubt.
        let mixed =
            "mx.comune.example.it; dkim=pass header.d=comune.example.it; dmarc=fail header.from=comune.example.it";
        assert!(!verify(&mail(OP, &[mixed]), MX, false).allows());
        // DMARC pass for another domain, or without saying which.
        let other = "mx.comune.example.it; dmarc=pass header.from=evil.example";
        assert!(!verify(&mail(OP, &[other]), MX, false).allows());
        assert!(!verify(&mail(OP, &["mx.comune.example.it; dmarc=pass"]), MX, false).allows());
        // Our header unreadable: a failure, even with a readable forged one below it.
        let broken = "mx.comune.example.it; spf=pass smtp.mailfrom=\"unterminated";
        let forged_below = "mx.comune.example.it; dmarc=pass header.from=comune.example.it";
        let verdict = verify(&mail(OP, &[broken, forged_below]), MX, false);
        assert!(
            matches!(&verdict, Verdict::Fail(why) if why.contains("cannot be read")),
            "{verdict:?}"
        );
        // Another server's unreadable header above ours does not matter.
        let theirs = "mx.relay.example.net; spf=pass smtp.mailfrom=\"x";
        let ours = "mx.comune.example.it; dmarc=pass header.from=comune.example.it";
        assert_eq!(verify(&mail(OP, &[theirs, ours]), MX, false), Verdict::Pass("dmarc"));
    }

    #[test]
    fn microsoft_365_headers_authenticate() {
        let ours = "mx.comune.example.it; spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=comune.example.it; \
                    dkim=pass (signature was verified) header.d=comune.example.it;dmarc=pass action=none \
                    header.from=comune.example.it;compauth=pass reason=100";
        assert_eq!(verify(&mail(OP, &[ours]), MX, false), Verdict::Pass("dmarc"));
    }

    #[test]
    fn without_a_trusted_id_only_the_trial_switch_allows() {
        assert_eq!(verify(&mail(OP, &[]), "", true), Verdict::Unchecked);
        assert!(!verify(&mail(OP, &[]), "", false).allows());
    }

    #[test]
    fn notification_ids_verify_only_for_their_operator_and_ticket() {
        let key = MacKey::from_bytes([7; 32]);
        let ticket = TicketId { year: 2026, number: 42 };
        let local = key.notification_local_part(ticket, OP);
        let id = format!("{local}@comune.example.it");
        assert!(key.verifies(&id, ticket, OP));
        assert!(
            key.verifies(&id, ticket, "Giulia.Bianchi@comune.example.it"),
            "addresses compare case-insensitively"
        );
        assert!(!key.verifies(&id, ticket, "marco.rossi@comune.example.it"));
        assert!(!key.verifies(&id, TicketId { year: 2026, number: 43 }, OP));
        assert!(!MacKey::from_bytes([8; 32]).verifies(&id, ticket, OP));
        let tampered = id.replacen(".notify.", ".notify.0", 1);
        assert!(!key.verifies(&tampered, ticket, OP));
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = load_or_create_key(dir.path()).expect("create");
        let b = load_or_create_key(dir.path()).expect("read");
        assert_eq!(a.0, b.0);
        std::fs::write(dir.path().join("secret.key"), "short").expect("write");
        assert!(load_or_create_key(dir.path()).is_err());
    }
}
