//! The parser against real servers' headers, the attacks that broke the old split-on-`;`
//! reader, and a round trip over headers generated from the grammar.

use proptest::prelude::*;

use super::*;

fn prop<'r>(r: &'r MethodResult, ptype: &str, name: &str) -> &'r str {
    r.property(ptype, name).unwrap_or("<missing>")
}

#[test]
fn real_servers_headers_parse() {
    // Postfix with OpenDKIM, OpenDMARC and policyd-spf.
    let opendmarc = "mx.comune.example.it; dkim=pass (2048-bit key; unprotected) header.d=comune.example.it \
                     header.i=@comune.example.it header.b=\"AbC/d+9x\"; dmarc=pass (p=quarantine dis=none) \
                     header.from=comune.example.it; spf=pass (mx.comune.example.it: domain of \
                     giulia@comune.example.it designates 192.0.2.10 as permitted sender) \
                     smtp.mailfrom=giulia@comune.example.it";
    let parsed = parse(opendmarc).expect("parses");
    assert_eq!(parsed.authserv_id, "mx.comune.example.it");
    let methods: Vec<_> = parsed
        .results
        .iter()
        .map(|r| (r.method.as_str(), r.result.as_str()))
        .collect();
    assert_eq!(methods, [("dkim", "pass"), ("dmarc", "pass"), ("spf", "pass")]);
    assert_eq!(prop(&parsed.results[0], "header", "b"), "AbC/d+9x");
    assert_eq!(prop(&parsed.results[2], "smtp", "mailfrom"), "giulia@comune.example.it");

    // Gmail: unquoted base64 with `/` and `+`, `header.i=@domain`, comments with `;`.
    let gmail = "mx.google.example; dkim=pass header.i=@example.com header.s=20230601 header.b=Yg/EX+lz1M; \
                 arc=none; spf=pass (google.example: domain of a@example.com designates 2001:db8::1 as \
                 permitted sender) smtp.mailfrom=a@example.com; dmarc=pass (p=NONE sp=NONE dis=NONE) \
                 header.from=example.com";
    let parsed = parse(gmail).expect("parses");
    assert_eq!(parsed.results.len(), 4);
    assert_eq!(prop(&parsed.results[0], "header", "b"), "Yg/EX+lz1M");

    // Microsoft 365: a bare `action=none` and `compauth=pass reason=100`.
    let microsoft = "spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=comune.example.it; dkim=pass (signature \
                     was verified) header.d=comune.example.it;dmarc=pass action=none \
                     header.from=comune.example.it;compauth=pass reason=100";
    let parsed = parse(&format!("mx.microsoft.example; {microsoft}")).expect("parses");
    let dmarc = &parsed.results[2];
    assert_eq!((dmarc.method.as_str(), dmarc.result.as_str()), ("dmarc", "pass"));
    assert_eq!(prop(dmarc, "", "action"), "none");
    assert_eq!(prop(dmarc, "header", "from"), "comune.example.it");
    assert_eq!(parsed.results[3].reason.as_deref(), Some("100"));

    // rspamd and Exim, a version number, a method version, `none`.
    assert!(parse("mail.example.org 1; dkim/1=pass header.d=example.org").is_ok());
    assert_eq!(parse("mx.example.org; none").expect("parses").results, Vec::new());
    assert_eq!(
        parse("\"mx.example.org\"; spf=none smtp.mailfrom=x@example.org;")
            .expect("parses")
            .results
            .len(),
        1
    );
    let reason = parse("mx.example.org; dkim=fail reason=\"signature; verification failed\" header.d=example.org")
        .expect("parses");
    assert_eq!(reason.results.len(), 1, "a ';' inside a reason is data");
    assert_eq!(
        reason.results[0].reason.as_deref(),
        Some("signature; verification failed")
    );
}

#[test]
fn quoted_strings_and_comments_are_data_never_structure() {
    // The attack: a quoted local part in smtp.mailfrom that, split on ';', read as a pass.
    let forged = "mx.comune.example.it; spf=pass smtp.mailfrom=\"x;dmarc=pass header.from=comune.example.it;\"@evil.example; \
                  dkim=none; dmarc=fail header.from=comune.example.it";
    let parsed = parse(forged).expect("parses");
    let methods: Vec<_> = parsed
        .results
        .iter()
        .map(|r| (r.method.as_str(), r.result.as_str()))
        .collect();
    assert_eq!(methods, [("spf", "pass"), ("dkim", "none"), ("dmarc", "fail")]);
    assert_eq!(
        prop(&parsed.results[0], "smtp", "mailfrom"),
        "x;dmarc=pass header.from=comune.example.it;@evil.example"
    );
    // Escaped quotes inside a quoted string, nested comments with escapes.
    let escaped = "mx.example.org; spf=pass smtp.mailfrom=\"a\\\";dmarc=pass;\\\\\"@evil.example";
    let parsed = parse(escaped).expect("parses");
    assert_eq!(parsed.results.len(), 1);
    assert_eq!(
        prop(&parsed.results[0], "smtp", "mailfrom"),
        "a\";dmarc=pass;\\@evil.example"
    );
    let nested = "mx.example.org; spf=fail (a (nested \\) ; dmarc=pass) comment) smtp.mailfrom=evil.example";
    let parsed = parse(nested).expect("parses");
    assert_eq!(parsed.results.len(), 1);
    assert_eq!(parsed.results[0].result, "fail");
}

#[test]
fn malformed_headers_are_errors() {
    for bad in [
        "",
        "mx.example.org",
        "mx.example.org; dkim",
        "mx.example.org; dkim=",
        "mx.example.org; =pass",
        "mx.example.org; spf=pass smtp.mailfrom=\"unterminated",
        "mx.example.org; spf=pass (unterminated comment",
        "mx.example.org; spf=pass smtp.mailfrom=a\"b\"@evil.example",
        "mx.example.org; spf=pass smtp.mailfrom=x\\;dmarc=pass",
        "mx.example.org; spf=pass smtp.=x",
        "mx.example.org; spf=pass smtp.mailfrom",
        "mx.example.org; spf=passsmtp.mailfrom=x; dmarc=pass\"",
        "mx.example.org; none; dkim=pass",
        "mx.example.org; dkim=pass header.d=example.org\"",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} parsed as {:?}", parse(bad));
    }
    let deep = format!(
        "mx.example.org; spf=pass {}x{} smtp.mailfrom=a",
        "(".repeat(40),
        ")".repeat(40)
    );
    assert!(parse(&deep).is_err(), "comment nesting is bounded");
    assert!(
        parse(&format!("mx.example.org; {}", "spf=pass ".repeat(4000))).is_err(),
        "size is bounded"
    );
}

/// `(ptype, name, value)` as generated.
type GeneratedProperty = (String, String, String);
/// `(method, result, reason, properties)` as generated.
type GeneratedResult = (String, String, Option<String>, Vec<GeneratedProperty>);

/// A structured header the generator renders in many equivalent spellings.
#[derive(Debug, Clone)]
struct Generated {
    authserv_id: String,
    results: Vec<GeneratedResult>,
}

fn keyword() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}"
}

/// Values that need quoting: every character the grammar gives a meaning to.
fn tricky_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just(";".to_string()),
            Just("=".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just(" ".to_string()),
            Just("dmarc=pass".to_string()),
            "[a-z.@]{1,6}",
        ],
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

fn plain_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.@+/_-]{1,12}"
}

fn generated() -> impl Strategy<Value = Generated> {
    let property = (keyword(), keyword(), prop_oneof![plain_value(), tricky_text()]);
    let result = (
        keyword(),
        keyword(),
        proptest::option::of(prop_oneof![plain_value(), tricky_text()]),
        proptest::collection::vec(property, 0..4),
    );
    ("[a-z][a-z0-9.-]{0,12}", proptest::collection::vec(result, 1..5))
        .prop_map(|(authserv_id, results)| Generated { authserv_id, results })
}

fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn needs_quotes(value: &str) -> bool {
    value.bytes().any(|b| b <= b' ' || b";()\"\\=".contains(&b))
}

/// Renders with comments and white space where CFWS is allowed, and values quoted when
/// they must be (and sometimes when they need not be).
fn render(g: &Generated, comment: &str, always_quote: bool) -> String {
    let value = |v: &str| {
        if always_quote || needs_quotes(v) {
            quote(v)
        } else {
            v.to_string()
        }
    };
    let mut out = format!("{} {comment}", g.authserv_id);
    for (method, result, reason, properties) in &g.results {
        out.push_str(&format!(";{comment} {method} = {comment}{result}"));
        if let Some(reason) = reason {
            out.push_str(&format!(" {comment} reason={}", value(reason)));
        }
        for (ptype, name, v) in properties {
            out.push_str(&format!(" {comment}{ptype}.{name}={}", value(v)));
        }
    }
    out
}

proptest! {
    #[test]
    fn generated_headers_round_trip(g in generated(), comment in prop_oneof![
        Just(String::new()),
        Just("(a; dmarc=pass)".to_string()),
        Just("(nested (\\) ;) \"x\")".to_string()),
    ], always_quote in any::<bool>()) {
        let text = render(&g, &comment, always_quote);
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&parsed.authserv_id, &g.authserv_id);
        prop_assert_eq!(parsed.results.len(), g.results.len());
        for (got, (method, result, reason, properties)) in parsed.results.iter().zip(&g.results) {
            prop_assert_eq!(&got.method, method);
            prop_assert_eq!(&got.result, result);
            // A generated reason after no property is read as the reason; "reason" as a
            // generated ptype is an ordinary property.
            prop_assert_eq!(&got.reason, reason);
            let want: Vec<Property> = properties
                .iter()
                .map(|(ptype, name, value)| Property { ptype: ptype.clone(), name: name.clone(), value: value.clone() })
                .collect();
            prop_assert_eq!(&got.properties, &want);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }
}

#[test]
fn every_fixture_header_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/authres");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/authres") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "txt") {
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(parse(&text).is_ok(), "{}: {:?}", path.display(), parse(&text));
            seen += 1;
        }
    }
    assert!(seen >= 5, "the fixtures are there");
}
