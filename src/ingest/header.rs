//! Header text as people wrote it: RFC 2047 encoded-words and raw 8-bit bytes, decoded.
//!
//! Pure. mail-parser decodes each encoded-word on its own and reads raw 8-bit header bytes
//! as UTF-8, so a UTF-8 character split between two encoded-words (as Outlook Express and
//! webmails fold long subjects) and an ISO-8859-1 Subject written raw (PHP `mail()`, old
//! scripts) both become U+FFFD. The rule here:
//! - adjacent encoded-words of one charset (only white space between them) are joined as
//!   bytes, then decoded once;
//! - raw bytes are UTF-8 when the whole value is valid UTF-8, else the charset of the
//!   message's text part, else windows-1252 (ISO-8859-1's printable superset).
//!
//! [`decode`] gives the text of an unstructured header (Subject). [`normalise`] rewrites a
//! structured value (From, Content-Disposition) so that mail-parser's own address and
//! parameter parsers can read it right: raw bytes become UTF-8, and each joined run of
//! encoded-words becomes one UTF-8 encoded-word.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A charset name longer than this is not one (the longest registered is 45 characters).
const MAX_CHARSET: usize = 45;

/// One piece of a header value.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    /// Bytes outside any encoded-word, as written.
    Raw(&'a [u8]),
    /// An encoded-word's charset (lowercase, without an RFC 2231 language) and its bytes.
    Word { charset: String, bytes: Vec<u8> },
}

/// The text of an unstructured header value; `fallback` is the charset of the message's
/// text part, if it names one.
pub fn decode(raw: &[u8], fallback: Option<&str>) -> String {
    let raw_charset = raw_charset(raw, fallback);
    joined(raw)
        .into_iter()
        .map(|piece| match piece {
            Piece::Raw(bytes) => decode_bytes(raw_charset, bytes),
            Piece::Word { charset, bytes } => decode_bytes(&charset, &bytes),
        })
        .collect()
}

/// A structured header value rewritten in UTF-8 with its structure kept: raw text decoded,
/// each run of adjacent encoded-words of one charset one UTF-8 encoded-word (`B`, which
/// needs no quoting of its own).
pub fn normalise(raw: &[u8], fallback: Option<&str>) -> String {
    let raw_charset = raw_charset(raw, fallback);
    let mut out = String::new();
    for piece in joined(raw) {
        match piece {
            Piece::Raw(bytes) => out.push_str(&decode_bytes(raw_charset, bytes)),
            Piece::Word { charset, bytes } => {
                let text = decode_bytes(&charset, &bytes);
                out.push_str("=?UTF-8?B?");
                out.push_str(&base64::engine::general_purpose::STANDARD.encode(text.as_bytes()));
                out.push_str("?=");
            }
        }
    }
    out
}

/// Whether [`normalise`] would change how mail-parser reads this value: raw bytes that are
/// not UTF-8, or two encoded-words in a row (which mail-parser decodes one by one).
pub fn needs_normalising(raw: &[u8]) -> bool {
    if std::str::from_utf8(raw).is_err() {
        return true;
    }
    let pieces = pieces(raw);
    pieces
        .windows(2)
        .any(|pair| matches!(pair, [Piece::Word { .. }, Piece::Word { .. }]))
        || pieces.windows(3).any(
            |triple| matches!(triple, [Piece::Word { .. }, Piece::Raw(space), Piece::Word { .. }] if is_blank(space)),
        )
}

/// The charset raw bytes of this value are read in.
fn raw_charset<'a>(raw: &[u8], fallback: Option<&'a str>) -> &'a str {
    if std::str::from_utf8(raw).is_ok() {
        return "utf-8";
    }
    match fallback {
        // Declared UTF-8 but not valid: the bytes are from some 8-bit client.
        Some(charset) if !is_utf8(charset) && decoder(charset).is_some() => charset,
        _ => "windows-1252",
    }
}

/// The pieces with the white space between encoded-words dropped (RFC 2047 §6.2) and each
/// run of encoded-words of one charset merged into one.
fn joined(raw: &[u8]) -> Vec<Piece<'_>> {
    let mut out: Vec<Piece<'_>> = Vec::new();
    let mut pending_blank: Option<&[u8]> = None;
    for piece in pieces(raw) {
        match piece {
            Piece::Raw(bytes) if is_blank(bytes) && matches!(out.last(), Some(Piece::Word { .. })) => {
                // Kept back: dropped if another encoded-word follows.
                pending_blank = Some(bytes);
            }
            Piece::Word { charset, bytes } => {
                // White space between two encoded-words is no text (RFC 2047 §6.2).
                pending_blank = None;
                match out.last_mut() {
                    Some(Piece::Word {
                        charset: previous,
                        bytes: previous_bytes,
                    }) if *previous == charset => previous_bytes.extend_from_slice(&bytes),
                    _ => out.push(Piece::Word { charset, bytes }),
                }
            }
            raw_piece => {
                if let Some(blank) = pending_blank.take() {
                    out.push(Piece::Raw(blank));
                }
                out.push(raw_piece);
            }
        }
    }
    if let Some(blank) = pending_blank {
        out.push(Piece::Raw(blank));
    }
    out
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Splits a value into raw runs and encoded-words, wherever the words stand (clients put
/// them next to text and inside quoted strings too, and mail-parser reads them there).
fn pieces(raw: &[u8]) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'='
            && raw.get(i + 1) == Some(&b'?')
            && let Some((charset, bytes, end)) = encoded_word(raw, i)
        {
            if start < i {
                out.push(Piece::Raw(&raw[start..i]));
            }
            out.push(Piece::Word { charset, bytes });
            i = end;
            start = end;
        } else {
            i += 1;
        }
    }
    if start < raw.len() {
        out.push(Piece::Raw(&raw[start..]));
    }
    out
}

/// The encoded-word starting at `at` (`=?charset?Q|B?text?=`): its charset, decoded bytes
/// and where it ends.
fn encoded_word(raw: &[u8], at: usize) -> Option<(String, Vec<u8>, usize)> {
    let rest = raw.get(at + 2..)?;
    let charset_end = rest.iter().take(MAX_CHARSET + 1).position(|&b| b == b'?')?;
    let charset = std::str::from_utf8(&rest[..charset_end]).ok()?;
    // RFC 2231 §5: `charset*language`.
    let charset = charset.split('*').next().unwrap_or_default().to_ascii_lowercase();
    if charset.is_empty() || !charset.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let encoding = *rest.get(charset_end + 1)?;
    if rest.get(charset_end + 2) != Some(&b'?') {
        return None;
    }
    let text_start = charset_end + 3;
    let text = rest.get(text_start..)?;
    let text_len = text
        .windows(2)
        .position(|pair| pair == b"?=")
        .filter(|&len| !text[..len].iter().any(|b| b.is_ascii_whitespace()))?;
    let text = &text[..text_len];
    let bytes = match encoding.to_ascii_lowercase() {
        b'q' => q_decode(text),
        b'b' => b_decode(text)?,
        _ => return None,
    };
    Some((charset, bytes, at + 2 + text_start + text_len + 2))
}

/// RFC 2047 `Q`: `_` is a space, `=XX` a byte; a broken escape is kept as written.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = text.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

/// RFC 2047 `B`, lenient about padding as clients are.
fn b_decode(text: &[u8]) -> Option<Vec<u8>> {
    let lenient = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    lenient.decode(text).ok()
}

fn is_utf8(charset: &str) -> bool {
    matches!(charset.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
}

fn decoder(charset: &str) -> Option<mail_parser::decoders::charsets::DecoderFnc> {
    mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes())
}

/// Bytes in a charset. UTF-8 that is not valid, and a charset nobody knows, are read as
/// windows-1252: every byte is then some character, never U+FFFD.
pub fn decode_bytes(charset: &str, bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes)
        && (is_utf8(charset) || charset.eq_ignore_ascii_case("us-ascii") || bytes.is_ascii())
    {
        return text.to_string();
    }
    match decoder(charset).filter(|_| !is_utf8(charset)) {
        Some(decode) => decode(bytes),
        None => windows_1252(bytes),
    }
}

fn windows_1252(bytes: &[u8]) -> String {
    match decoder("windows-1252") {
        Some(decode) => decode(bytes),
        // mail-parser always knows windows-1252; ISO-8859-1 is its exact subset otherwise.
        None => bytes.iter().map(|&b| b as char).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_latin1_is_read_in_the_text_parts_charset_or_windows_1252() {
        let raw = b"Richiesta perch\xe8 non funziona l'accesso \xe0 SPID";
        assert_eq!(
            decode(raw, Some("iso-8859-1")),
            "Richiesta perchè non funziona l'accesso à SPID"
        );
        assert_eq!(decode(raw, None), "Richiesta perchè non funziona l'accesso à SPID");
        // A text part declared UTF-8 cannot explain 8-bit bytes that are not UTF-8.
        assert_eq!(decode(b"caff\xe8", Some("utf-8")), "caffè");
        // Windows-1252's own characters (0x80–0x9F): the euro and typographic quotes.
        assert_eq!(decode(b"\x93costo\x94 di 5 \x80", None), "“costo” di 5 €");
        // ISO-8859-15's euro is 0xA4.
        assert_eq!(decode(b"5 \xa4", Some("iso-8859-15")), "5 €");
        // Valid UTF-8 stays UTF-8 whatever the body says.
        assert_eq!(decode("perché".as_bytes(), Some("iso-8859-1")), "perché");
    }

    #[test]
    fn encoded_words_split_inside_a_character_are_joined_first() {
        assert_eq!(
            decode(b"=?UTF-8?Q?Errore_caricamento_=E2=80?= =?UTF-8?Q?=93_pratica?=", None),
            "Errore caricamento – pratica"
        );
        // Base64 halves, folded over two lines with a tab.
        assert_eq!(decode(b"=?utf-8?B?4oA=?=\r\n\t=?utf-8?B?kyBw?=", None), "– p");
        // Different charsets are decoded each in its own, the space between still dropped.
        assert_eq!(
            decode(b"=?iso-8859-1?Q?perch=E8?= =?utf-8?Q?_=C3=A0?=", None),
            "perchè à"
        );
        // Text between words is kept, with its spaces.
        assert_eq!(decode(b"=?utf-8?Q?a?= e =?utf-8?Q?b?=", None), "a e b");
        assert_eq!(decode(b"R: =?utf-8?Q?caff=C3=A8?=", None), "R: caffè");
        // A language tag (RFC 2231) is not part of the charset.
        assert_eq!(decode(b"=?UTF-8*it?Q?citt=C3=A0?=", None), "città");
    }

    #[test]
    fn broken_words_stay_text() {
        assert_eq!(decode(b"=?utf-8?Q?no end", None), "=?utf-8?Q?no end");
        assert_eq!(decode(b"=?utf-8?X?abc?=", None), "=?utf-8?X?abc?=");
        assert_eq!(decode(b"=?utf-8?Q?a=ZZb?=", None), "a=ZZb");
        assert_eq!(decode(b"=??Q?x?=", None), "=??Q?x?=");
        assert_eq!(decode(b"=?", None), "=?");
        // An unknown charset: UTF-8 when the bytes are, else windows-1252; never U+FFFD.
        assert_eq!(decode(b"=?x-unknown-42?Q?caff=E8?=", None), "caffè");
        assert_eq!(decode(b"=?utf-8?Q?caff=E8?=", None), "caffè");
        assert_eq!(decode(b"", None), "");
    }

    #[test]
    fn normalising_keeps_the_structure_and_fixes_the_bytes() {
        assert_eq!(
            normalise(b"Jos\xe9 Garc\xeda <j@example.org>", None),
            "José García <j@example.org>"
        );
        assert_eq!(
            normalise(b"=?utf-8?Q?Jos=C3?= =?utf-8?Q?=A9?= <j@example.org>", None),
            "=?UTF-8?B?Sm9zw6k=?= <j@example.org>"
        );
        assert!(needs_normalising(b"Jos\xe9 <j@example.org>"));
        assert!(needs_normalising(b"=?utf-8?Q?a?= =?utf-8?Q?b?="));
        assert!(needs_normalising(b"=?utf-8?Q?a?==?utf-8?Q?b?="));
        assert!(!needs_normalising(b"=?utf-8?Q?a?= <a@example.org>"));
        assert!(!needs_normalising("Già <a@example.org>".as_bytes()));
    }
}
