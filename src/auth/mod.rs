//! Who may command the help desk: message authentication and the keyed Message-IDs of
//! operator notifications and digests.
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
//!    can forge one without having received it. A reply to an operator's morning digest
//!    quotes the digest's id instead, an HMAC of (nonce, operator) in a domain of its own; the
//!    tickets it may name are the ones that digest listed (`store::digest`).

pub mod results;

use std::path::Path;

use anyhow::Context;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::{Provider, Security};
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

    /// The local part of `operator`'s digest Message-ID: `digest.<nonce>.<mac>`, the HMAC over
    /// (nonce, operator) under a domain of its own, so no notification tag can pass for it.
    pub fn digest_local_part(&self, operator: &str) -> String {
        let mut nonce = [0u8; 6];
        rand::fill(&mut nonce);
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        format!("digest.{nonce}.{}", self.digest_tag(&nonce, operator))
    }

    /// True when `message_id` is a digest we minted for `operator` (constant time).
    pub fn verifies_digest(&self, message_id: &str, operator: &str) -> bool {
        let local = message_id.split('@').next().unwrap_or_default();
        let mut parts = local.split('.');
        let (Some("digest"), Some(nonce), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        constant_time_eq(self.digest_tag(nonce, operator).as_bytes(), tag.as_bytes())
    }

    fn digest_tag(&self, nonce: &str, operator: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(format!("digest\n{nonce}\n{}", operator.to_ascii_lowercase()).as_bytes());
        mac.finalize().into_bytes()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
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

    /// The local part of a colleague's question about `ticket` (`#chiedi`), for `operator`:
    /// `TCK-….ask.<nonce>.<mac>`. It verifies like a notification, and says a reply to it is
    /// an internal note.
    pub fn question_local_part(&self, ticket: TicketId, operator: &str) -> String {
        let mut nonce = [0u8; 6];
        rand::fill(&mut nonce);
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{ticket}.ask.{nonce}.{}",
            self.tag(ticket, &format!("ask:{nonce}"), operator)
        )
    }

    /// True when `message_id` is a notification (or a question) we minted for `operator` about
    /// `ticket`.
    pub fn verifies(&self, message_id: &str, ticket: TicketId, operator: &str) -> bool {
        self.minted(message_id, ticket, operator).is_some()
    }

    /// True when `message_id` is a question about `ticket` we sent `operator` (`#chiedi`).
    pub fn verifies_question(&self, message_id: &str, ticket: TicketId, operator: &str) -> bool {
        self.minted(message_id, ticket, operator) == Some("ask")
    }

    /// The kind (`notify`, `ask`) of a Message-ID we minted for `operator` about `ticket`.
    fn minted(&self, message_id: &str, ticket: TicketId, operator: &str) -> Option<&'static str> {
        let local = message_id.split('@').next().unwrap_or_default();
        let mut parts = local.split('.');
        let (Some(id), Some(kind), Some(nonce), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if !id.eq_ignore_ascii_case(&ticket.to_string()) {
            return None;
        }
        let (kind, keyed_nonce) = match kind {
            "notify" => ("notify", nonce.to_string()),
            "ask" => ("ask", format!("ask:{nonce}")),
            _ => return None,
        };
        constant_time_eq(self.tag(ticket, &keyed_nonce, operator).as_bytes(), tag.as_bytes()).then_some(kind)
    }
}

/// A random 128-bit secret as hex (a requester's status link).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    /// Authenticated (which method).
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

/// A verdict with the header that decided it (what `sportello auth-check` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// Pass, fail or unchecked.
    pub verdict: Verdict,
    /// `Name: value` of the header the verdict rests on, when one did.
    pub decided_by: Option<String>,
}

impl Assessment {
    fn new(verdict: Verdict, decided_by: Option<String>) -> Assessment {
        Assessment { verdict, decided_by }
    }
}

/// Checks an operator's mail as the mailbox's provider recorded it: `from` is the From
/// address, `headers` the message's selected headers in order, names lowercased (as
/// `InboundMail::headers` holds them).
pub fn verify(from: Option<&str>, headers: &[(String, String)], security: &Security) -> Verdict {
    assess(from, headers, security).verdict
}

/// [`verify`] with the header that decided.
///
/// Any doubt is a failure: a header of our MX that cannot be parsed, a DMARC failure next
/// to a pass, a pass for another domain.
pub fn assess(from: Option<&str>, headers: &[(String, String)], security: &Security) -> Assessment {
    if !security.checks_authentication() {
        let verdict = if security.allow_unauthenticated_operators {
            Verdict::Unchecked
        } else {
            Verdict::Fail("no trusted_authserv_id configured".into())
        };
        return Assessment::new(verdict, None);
    }
    let Some(from) = from else {
        return Assessment::new(Verdict::Fail("no From address".into()), None);
    };
    let Some((_, from_domain)) = from.rsplit_once('@') else {
        return Assessment::new(Verdict::Fail("the From address has no domain".into()), None);
    };
    let all = |name: &'static str| values(headers, name);
    if security.provider == Provider::Microsoft365 {
        let exchange = microsoft365(from_domain, headers);
        // A hybrid set-up may also have its own MX in front: its header counts as well.
        if exchange.verdict.allows() || security.trusted_authserv_id.is_empty() {
            return exchange;
        }
        let ours = by_authserv_id(
            from_domain,
            all("authentication-results"),
            &security.trusted_authserv_id,
        );
        return if ours.verdict.allows() { ours } else { exchange };
    }
    by_authserv_id(
        from_domain,
        all("authentication-results"),
        &security.trusted_authserv_id,
    )
}

/// The trusted `Authentication-Results` header (`Name: value`) when it says `dmarc=fail`: the
/// From of a new request is then most likely forged, and acknowledging it would send mail to
/// someone who never wrote (backscatter). Trusted as for operators' mail: the topmost header
/// of our MX (`trusted_authserv_id`), or for Microsoft 365 Exchange Online's own topmost one
/// on mail from outside the tenant. No trusted header, or one that cannot be read, is no
/// verdict at all: `None`, and the request is acknowledged as usual.
pub fn dmarc_failure(headers: &[(String, String)], security: &Security) -> Option<String> {
    if !security.checks_authentication() {
        return None;
    }
    let failed = |results: &[MethodResult]| results.iter().any(|r| r.method == "dmarc" && r.result == "fail");
    let all = |name: &'static str| values(headers, name);
    if security.provider == Provider::Microsoft365 {
        let from_outside = all("x-ms-exchange-organization-authas")
            .next()
            .is_some_and(|v| !v.trim().eq_ignore_ascii_case("internal"));
        if from_outside
            && let Some(header) = all("authentication-results").next()
            && results::parse_without_authserv_id(header).is_ok_and(|parsed| failed(&parsed.results))
        {
            return Some(format!("Authentication-Results: {header}"));
        }
        if security.trusted_authserv_id.is_empty() {
            return None;
        }
    }
    let trusted = security.trusted_authserv_id.to_ascii_lowercase();
    let header = all("authentication-results").find(|h| {
        results::parse(h).is_ok_and(|p| p.authserv_id == trusted) || leading_word(h).eq_ignore_ascii_case(&trusted)
    })?;
    let parsed = results::parse(header).ok()?;
    failed(&parsed.results).then(|| format!("Authentication-Results: {header}"))
}

/// The topmost `Authentication-Results` whose authserv-id is `trusted` decides.
fn by_authserv_id<'h>(
    from_domain: &str,
    headers: impl Iterator<Item = &'h str>,
    trusted_authserv_id: &str,
) -> Assessment {
    let trusted = trusted_authserv_id.to_ascii_lowercase();
    // Only the topmost header of our own server counts: anything below it may be forged.
    for header in headers {
        let decided_by = Some(format!("Authentication-Results: {header}"));
        match results::parse(header) {
            Ok(parsed) if parsed.authserv_id == trusted => {
                let verdict = decide(&parsed.results, from_domain).unwrap_or_else(|| {
                    Verdict::Fail(format!("{trusted_authserv_id} did not authenticate {from_domain}"))
                });
                return Assessment::new(verdict, decided_by);
            }
            Ok(_) => {}
            // Unreadable and (by its first word) ours: a doubt, so a failure. Unreadable
            // and someone else's: it never counted anyway.
            Err(e) if leading_word(header).eq_ignore_ascii_case(&trusted) => {
                let why = format!("the Authentication-Results of {trusted} cannot be read: {e}");
                return Assessment::new(Verdict::Fail(why), decided_by);
            }
            Err(_) => {}
        }
    }
    Assessment::new(
        Verdict::Fail(format!("no Authentication-Results from {trusted_authserv_id}")),
        None,
    )
}

/// Exchange Online. Its transport stamps every message it delivers with
/// `X-MS-Exchange-Organization-AuthAs` and removes every `X-MS-Exchange-Organization-*`
/// header a message brings from outside (its "header firewall"), so:
/// - `AuthAs: Internal` with an `AuthSource` means a mailbox of the tenant sent it,
///   authenticated: an operator of the municipality writing from Outlook;
/// - otherwise the message came from outside, and Exchange's own `Authentication-Results`
///   — the topmost, written without an authserv-id — must show an aligned pass, with no
///   `compauth` or DMARC failure.
///
/// No `AuthAs` at all means the message did not come through Exchange Online: no verdict
/// from it can be trusted.
fn microsoft365(from_domain: &str, headers: &[(String, String)]) -> Assessment {
    let all = |name: &'static str| values(headers, name);
    let auth_as: Vec<&str> = all("x-ms-exchange-organization-authas").map(str::trim).collect();
    let Some(first) = auth_as.first() else {
        return Assessment::new(
            Verdict::Fail("no X-MS-Exchange-Organization-AuthAs: not delivered by Exchange Online".into()),
            None,
        );
    };
    if auth_as.iter().any(|v| !v.eq_ignore_ascii_case(first)) {
        return Assessment::new(
            Verdict::Fail(format!(
                "contradicting X-MS-Exchange-Organization-AuthAs values {auth_as:?}"
            )),
            None,
        );
    }
    if first.eq_ignore_ascii_case("internal") {
        let decided_by = Some(format!("X-MS-Exchange-Organization-AuthAs: {first}"));
        return match all("x-ms-exchange-organization-authsource").next() {
            Some(_) => Assessment::new(Verdict::Pass("exchange-internal"), decided_by),
            None => Assessment::new(
                Verdict::Fail("AuthAs: Internal without X-MS-Exchange-Organization-AuthSource".into()),
                decided_by,
            ),
        };
    }
    let Some(header) = all("authentication-results").next() else {
        return Assessment::new(
            Verdict::Fail("from outside the tenant, and no Authentication-Results from Exchange".into()),
            None,
        );
    };
    let decided_by = Some(format!("Authentication-Results: {header}"));
    let verdict = match results::parse_without_authserv_id(header) {
        Err(e) => Verdict::Fail(format!("Exchange's Authentication-Results cannot be read: {e}")),
        Ok(parsed)
            if parsed
                .results
                .iter()
                .any(|r| r.method == "compauth" && r.result != "pass") =>
        {
            Verdict::Fail("Exchange's composite authentication (compauth) did not pass".into())
        }
        Ok(parsed) => decide(&parsed.results, from_domain)
            .unwrap_or_else(|| Verdict::Fail(format!("Exchange Online did not authenticate {from_domain}"))),
    };
    Assessment::new(verdict, decided_by)
}

/// The values of the headers called `name` (lowercase), in message order.
fn values<'h>(headers: &'h [(String, String)], name: &'static str) -> impl Iterator<Item = &'h str> {
    headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
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

    /// An operator's mail as the check sees it: the From address and the selected headers.
    struct Mail {
        from: String,
        headers: Vec<(String, String)>,
    }

    fn mail(from: &str, results: &[&str]) -> Mail {
        Mail {
            from: from.into(),
            headers: results
                .iter()
                .map(|r| ("authentication-results".to_string(), r.to_string()))
                .collect(),
        }
    }

    fn security(provider: Provider, trusted_authserv_id: &str, allow_unauthenticated_operators: bool) -> Security {
        Security {
            provider,
            trusted_authserv_id: trusted_authserv_id.into(),
            allow_unauthenticated_operators,
        }
    }

    /// The generic provider with `trusted_authserv_id`.
    fn check(mail: &Mail, trusted_authserv_id: &str, allow_unauthenticated: bool) -> Verdict {
        verify(
            Some(&mail.from),
            &mail.headers,
            &security(Provider::Generic, trusted_authserv_id, allow_unauthenticated),
        )
    }

    const MX: &str = "mx.comune.example.it";
    const OP: &str = "giulia.bianchi@comune.example.it";

    #[test]
    fn our_servers_pass_counts() {
        let pass = "mx.comune.example.it; dkim=pass header.d=comune.example.it; spf=pass smtp.mailfrom=comune.example.it; dmarc=pass header.from=comune.example.it";
        assert_eq!(check(&mail(OP, &[pass]), MX, false), Verdict::Pass("dmarc"));
        let dkim_only = "mx.comune.example.it; dkim=pass (2048-bit key) header.d=comune.example.it; dmarc=none";
        assert_eq!(check(&mail(OP, &[dkim_only]), MX, false), Verdict::Pass("dkim"));
        let spf_only = "mx.comune.example.it; spf=pass smtp.mailfrom=giulia.bianchi@comune.example.it";
        assert_eq!(check(&mail(OP, &[spf_only]), MX, false), Verdict::Pass("spf"));
    }

    #[test]
    fn forgeries_fail() {
        // No header at all.
        assert!(!check(&mail(OP, &[]), MX, false).allows());
        // DMARC failed.
        assert!(
            !check(
                &mail(OP, &["mx.comune.example.it; dmarc=fail header.from=comune.example.it"]),
                MX,
                false
            )
            .allows()
        );
        // A forged "pass" below our own header, which says fail.
        let ours = "mx.comune.example.it; dkim=fail; spf=fail smtp.mailfrom=evil.example.net; dmarc=fail";
        let forged = "mx.comune.example.it; dkim=pass header.d=comune.example.it; dmarc=pass";
        assert!(!check(&mail(OP, &[ours, forged]), MX, false).allows());
        // Someone else's server said pass.
        assert!(!check(&mail(OP, &["mx.evil.example.net; dmarc=pass"]), MX, false).allows());
        // A pass for another domain.
        assert!(
            !check(
                &mail(OP, &["mx.comune.example.it; dkim=pass header.d=evil.example.net"]),
                MX,
                false
            )
            .allows()
        );
        // A pass only inside a comment.
        assert!(
            !check(
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
        assert!(!check(&mail(OP, &[quoted]), MX, false).allows());
        // The same without the honest dmarc=fail: the SPF pass is for evil.example.
        let quoted_only =
            "mx.comune.example.it; spf=pass smtp.mailfrom=\"x;dmarc=pass header.from=comune.example.it;\"@evil.example";
        assert!(!check(&mail(OP, &[quoted_only]), MX, false).allows());
        // A pass inside a reason, or after an escaped quote.
        let reason = "mx.comune.example.it; dkim=fail reason=\"x; dmarc=pass header.from=comune.example.it\"";
        assert!(!check(&mail(OP, &[reason]), MX, false).allows());
        let escaped = "mx.comune.example.it; spf=fail smtp.mailfrom=\"a\\\";dmarc=pass header.from=comune.example.it;\"@evil.example";
        assert!(!check(&mail(OP, &[escaped]), MX, false).allows());
        // A DMARC failure beside a DKIM pass of the right domain is a doubt.
        let mixed =
            "mx.comune.example.it; dkim=pass header.d=comune.example.it; dmarc=fail header.from=comune.example.it";
        assert!(!check(&mail(OP, &[mixed]), MX, false).allows());
        // DMARC pass for another domain, or without saying which.
        let other = "mx.comune.example.it; dmarc=pass header.from=evil.example";
        assert!(!check(&mail(OP, &[other]), MX, false).allows());
        assert!(!check(&mail(OP, &["mx.comune.example.it; dmarc=pass"]), MX, false).allows());
        // Our header unreadable: a failure, even with a readable forged one below it.
        let broken = "mx.comune.example.it; spf=pass smtp.mailfrom=\"unterminated";
        let forged_below = "mx.comune.example.it; dmarc=pass header.from=comune.example.it";
        let verdict = check(&mail(OP, &[broken, forged_below]), MX, false);
        assert!(
            matches!(&verdict, Verdict::Fail(why) if why.contains("cannot be read")),
            "{verdict:?}"
        );
        // Another server's unreadable header above ours does not matter.
        let theirs = "mx.relay.example.net; spf=pass smtp.mailfrom=\"x";
        let ours = "mx.comune.example.it; dmarc=pass header.from=comune.example.it";
        assert_eq!(check(&mail(OP, &[theirs, ours]), MX, false), Verdict::Pass("dmarc"));
    }

    #[test]
    fn microsoft_365_headers_authenticate() {
        let ours = "mx.comune.example.it; spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=comune.example.it; \
                    dkim=pass (signature was verified) header.d=comune.example.it;dmarc=pass action=none \
                    header.from=comune.example.it;compauth=pass reason=100";
        assert_eq!(check(&mail(OP, &[ours]), MX, false), Verdict::Pass("dmarc"));
    }

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    const M365_INTERNAL_AR: &str =
        "dkim=none (message not signed) header.d=none;dmarc=none action=none header.from=comune.example.it;";

    #[test]
    fn microsoft_365_trusts_its_tenant_marks_and_its_own_header() {
        let m365 = security(Provider::Microsoft365, "", false);
        // An operator of the tenant writing from Outlook: Exchange's internal marks decide.
        let internal = headers(&[
            ("authentication-results", M365_INTERNAL_AR),
            ("x-ms-exchange-organization-authas", "Internal"),
            (
                "x-ms-exchange-organization-authsource",
                "AM0PR01MB1234.eurprd01.prod.exchangelabs.com",
            ),
        ]);
        let a = assess(Some(OP), &internal, &m365);
        assert_eq!(a.verdict, Verdict::Pass("exchange-internal"));
        assert_eq!(
            a.decided_by.as_deref(),
            Some("X-MS-Exchange-Organization-AuthAs: Internal")
        );
        // An operator of the contractor, outside the tenant, with an aligned pass.
        let contractor = "operatore@helpdesk-fornitore.example.com";
        let external = headers(&[
            (
                "authentication-results",
                "spf=pass (sender IP is 192.0.2.41) smtp.mailfrom=helpdesk-fornitore.example.com; dkim=pass \
                 (signature was verified) header.d=helpdesk-fornitore.example.com;dmarc=pass action=none \
                 header.from=helpdesk-fornitore.example.com;compauth=pass reason=100",
            ),
            ("x-ms-exchange-organization-authas", "Anonymous"),
            (
                "x-ms-exchange-organization-authsource",
                "DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com",
            ),
        ]);
        let a = assess(Some(contractor), &external, &m365);
        assert_eq!(a.verdict, Verdict::Pass("dmarc"));
        assert!(
            a.decided_by
                .is_some_and(|h| h.starts_with("Authentication-Results: spf=pass"))
        );
    }

    #[test]
    fn microsoft_365_forgeries_fail() {
        let m365 = security(Provider::Microsoft365, "", false);
        // From outside, claiming an operator's address: Exchange says dmarc=fail, compauth=fail.
        let forged = headers(&[
            (
                "authentication-results",
                "spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=evil.example; dkim=none (message not signed) \
                 header.d=none;dmarc=fail action=quarantine header.from=comune.example.it;compauth=fail reason=000",
            ),
            ("x-ms-exchange-organization-authas", "Anonymous"),
            (
                "x-ms-exchange-organization-authsource",
                "DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com",
            ),
        ]);
        assert!(!verify(Some(OP), &forged, &m365).allows());
        // compauth fails although a pass for the domain is written beside it.
        let compauth = headers(&[
            (
                "authentication-results",
                "spf=pass smtp.mailfrom=comune.example.it; dmarc=pass action=none header.from=comune.example.it;compauth=fail reason=601",
            ),
            ("x-ms-exchange-organization-authas", "Anonymous"),
        ]);
        assert!(!verify(Some(OP), &compauth, &m365).allows());
        // A forged "Internal" that survived beside Exchange's own stamp contradicts it.
        let both = headers(&[
            ("x-ms-exchange-organization-authas", "Anonymous"),
            ("x-ms-exchange-organization-authas", "Internal"),
            ("x-ms-exchange-organization-authsource", "x.prod.outlook.com"),
        ]);
        assert!(!verify(Some(OP), &both, &m365).allows());
        // Internal without its source, and mail that never went through Exchange Online.
        let no_source = headers(&[("x-ms-exchange-organization-authas", "Internal")]);
        assert!(!verify(Some(OP), &no_source, &m365).allows());
        let not_exchange = headers(&[("authentication-results", "dmarc=pass header.from=comune.example.it")]);
        let verdict = verify(Some(OP), &not_exchange, &m365);
        assert!(
            matches!(&verdict, Verdict::Fail(why) if why.contains("not delivered by Exchange")),
            "{verdict:?}"
        );
        // The quoted-value forgery in Exchange's own header.
        let quoted = headers(&[
            (
                "authentication-results",
                "spf=pass smtp.mailfrom=\"x;dmarc=pass header.from=comune.example.it;\"@evil.example; dmarc=fail header.from=comune.example.it",
            ),
            ("x-ms-exchange-organization-authas", "Anonymous"),
        ]);
        assert!(!verify(Some(OP), &quoted, &m365).allows());
    }

    #[test]
    fn google_workspace_uses_gmails_authserv_id() {
        let google = security(Provider::Google, crate::config::GOOGLE_AUTHSERV_ID, false);
        let genuine = headers(&[(
            "authentication-results",
            "mx.google.com; dkim=pass header.i=@comune.example.it header.s=google header.b=Ab/c+d; spf=pass \
             (google.com: domain of giulia.bianchi@comune.example.it designates 2001:db8::1 as permitted sender) \
             smtp.mailfrom=giulia.bianchi@comune.example.it; dmarc=pass (p=REJECT sp=REJECT dis=NONE) \
             header.from=comune.example.it",
        )]);
        assert_eq!(verify(Some(OP), &genuine, &google), Verdict::Pass("dmarc"));
        let forged = headers(&[(
            "authentication-results",
            "mx.google.com; spf=softfail smtp.mailfrom=evil.example; dmarc=fail (p=REJECT) header.from=comune.example.it",
        )]);
        assert!(!verify(Some(OP), &forged, &google).allows());
    }

    #[test]
    fn without_a_trusted_id_only_the_trial_switch_allows() {
        assert_eq!(check(&mail(OP, &[]), "", true), Verdict::Unchecked);
        assert!(!check(&mail(OP, &[]), "", false).allows());
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
    fn digest_ids_verify_only_for_their_operator() {
        let key = MacKey::from_bytes([7; 32]);
        let id = format!("{}@comune.example.it", key.digest_local_part(OP));
        assert!(id.starts_with("digest."), "{id}");
        assert!(key.verifies_digest(&id, OP));
        assert!(key.verifies_digest(&id, "Giulia.Bianchi@comune.example.it"));
        assert!(!key.verifies_digest(&id, "marco.rossi@comune.example.it"));
        assert!(!MacKey::from_bytes([8; 32]).verifies_digest(&id, OP));
        assert!(!key.verifies_digest(&id.replacen("digest.", "digest.0", 1), OP));
        // A digest is no notice about any ticket, and a notice no digest.
        let ticket = TicketId { year: 2026, number: 42 };
        assert!(!key.verifies(&id, ticket, OP));
        let notice = format!("{}@comune.example.it", key.notification_local_part(ticket, OP));
        assert!(!key.verifies_digest(&notice, OP));
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

    #[test]
    fn only_our_mxs_dmarc_fail_counts_as_a_forged_sender() {
        let generic = security(Provider::Generic, MX, false);
        let headers = |list: &[&str]| mail("x@example.net", list).headers;
        let fail = "mx.comune.example.it; spf=pass smtp.mailfrom=bulk.example.net; dmarc=fail (p=reject) header.from=banca.example.com";
        assert_eq!(
            dmarc_failure(&headers(&[fail]), &generic),
            Some(format!("Authentication-Results: {fail}"))
        );
        // Below our header, a forged one claiming a failure (or a pass) counts for nothing.
        let pass = "mx.comune.example.it; dmarc=pass header.from=example.org";
        assert_eq!(dmarc_failure(&headers(&[pass, fail]), &generic), None);
        // Someone else's header saying fail: not ours, no verdict.
        let theirs = "mx.example.net; dmarc=fail header.from=example.org";
        assert_eq!(dmarc_failure(&headers(&[theirs]), &generic), None);
        // Not a failure: none, temperror, or no DMARC at all.
        for other in [
            "mx.comune.example.it; dmarc=none header.from=example.org",
            "mx.comune.example.it; dmarc=temperror header.from=example.org",
            "mx.comune.example.it; spf=fail smtp.mailfrom=example.org",
        ] {
            assert_eq!(dmarc_failure(&headers(&[other]), &generic), None, "{other}");
        }
        // Our header unreadable: no verdict (the request is acknowledged as before).
        assert_eq!(
            dmarc_failure(&headers(&["mx.comune.example.it; dmarc=fail (unclosed"]), &generic),
            None
        );
        // Nothing trusted configured: nothing believed.
        assert_eq!(
            dmarc_failure(&headers(&[fail]), &security(Provider::Generic, "", true)),
            None
        );
    }

    #[test]
    fn exchange_onlines_own_header_tells_a_dmarc_fail_from_outside() {
        let m365 = security(Provider::Microsoft365, "", false);
        let outside = |results: &str| -> Vec<(String, String)> {
            vec![
                ("authentication-results".into(), results.into()),
                ("x-ms-exchange-organization-authas".into(), "Anonymous".into()),
            ]
        };
        let fail = "spf=pass (sender IP is 203.0.113.9) smtp.mailfrom=bulk.example.net; dkim=none (message not signed) header.d=none;dmarc=fail action=oreject header.from=banca.example.com;compauth=fail reason=000";
        assert!(dmarc_failure(&outside(fail), &m365).is_some());
        let pass = "spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org;dmarc=pass action=none header.from=example.org;compauth=pass reason=100";
        assert_eq!(dmarc_failure(&outside(pass), &m365), None);
        // Without Exchange's marks the header is nobody's we trust.
        let unmarked = vec![("authentication-results".to_string(), fail.to_string())];
        assert_eq!(dmarc_failure(&unmarked, &m365), None);
    }
}
