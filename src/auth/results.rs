//! A strict parser of RFC 8601 `Authentication-Results` header values.
//!
//! Pure. It owns the grammar only; what counts as authenticated is decided in
//! [`super::verify`]. The grammar (RFC 8601 §2.2, with RFC 5322 CFWS and RFC 2045 values):
//!
//! ```text
//! payload  = [CFWS] authserv-id [CFWS version] ( ";" [CFWS] "none" / 1*resinfo ) [CFWS]
//! resinfo  = [CFWS] ";" [CFWS] method [ "/" version ] [CFWS] "=" [CFWS] result
//!            [CFWS "reason" [CFWS] "=" [CFWS] value] *( CFWS propspec )
//! propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" [CFWS] pvalue
//! pvalue   = quoted-string [ "@" domain ] / bare
//! value    = token / quoted-string
//! ```
//!
//! Quoted strings and comments are read with their `\` escapes, and comments nest, so a `;`
//! or a `dmarc=pass` inside either is data, never structure. Two widely deployed liberties
//! are accepted because the big providers write them: a bare `key=value` after the result
//! (Microsoft's `action=none`), kept as a property with an empty `ptype`; and a bare pvalue
//! made of any visible characters but `;`, `(`, `)`, `"` and `\` (base64 `header.b` values
//! with `/` and `+`). Anything else that does not fit is an error: the caller treats a
//! header it cannot read as no authentication at all.

use std::fmt;

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// Who wrote the header (the receiving server's authserv-id), lowercased.
    pub authserv_id: String,
    /// The results, in header order (empty for `none`).
    pub results: Vec<MethodResult>,
}

/// One `method=result …` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// `dkim`, `spf`, `dmarc`, … lowercased.
    pub method: String,
    /// `pass`, `fail`, … lowercased.
    pub result: String,
    /// The `reason=` value, when given.
    pub reason: Option<String>,
    /// `ptype.property=value` triples in order; `ptype` is empty for a bare `key=value`.
    pub properties: Vec<Property>,
}

/// One `ptype.property=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// `header`, `smtp`, `body`, `policy`, … lowercased; empty for a vendor's bare key.
    pub ptype: String,
    /// `from`, `d`, `mailfrom`, … lowercased.
    pub name: String,
    /// The value with quoting removed; a quoted local part keeps its text and its `@domain`.
    pub value: String,
}

impl MethodResult {
    /// The value of `ptype.name`, if present (first occurrence).
    pub fn property(&self, ptype: &str, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.ptype == ptype && p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset where reading stopped.
    pub at: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.at)
    }
}

/// Longest header value read; our MX writes a few hundred bytes.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Deepest comment nesting accepted.
const MAX_COMMENT_DEPTH: usize = 16;

/// Parses one header value (without the `Authentication-Results:` name).
pub fn parse(header: &str) -> Result<AuthResults, ParseError> {
    let mut p = Parser::new(header)?;
    p.cfws()?;
    let authserv_id = p.value("an authserv-id")?.to_ascii_lowercase();
    let had_space = p.cfws()?;
    if had_space && p.peek().is_some_and(|b| b.is_ascii_digit()) {
        p.digits()?;
        p.cfws()?;
    }
    if p.peek().is_none() {
        return Err(p.error("\";\" and a result"));
    }
    let results = p.results(true)?;
    Ok(AuthResults { authserv_id, results })
}

/// Parses a header that starts with its first result and names no authserv-id, as Exchange
/// Online writes it (`spf=pass (sender IP is …) smtp.mailfrom=…; dkim=…`): a deviation from
/// RFC 8601 that only a caller who knows the header's writer may accept. The authserv-id
/// comes back empty.
pub fn parse_without_authserv_id(header: &str) -> Result<AuthResults, ParseError> {
    let mut p = Parser::new(header)?;
    let results = p.results(false)?;
    if results.is_empty() {
        return Err(p.error("a result"));
    }
    Ok(AuthResults {
        authserv_id: String::new(),
        results,
    })
}

impl Parser<'_> {
    /// `*( ";" resinfo )`, or the first resinfo without its ";" when `separator_first` is
    /// false.
    fn results(&mut self, separator_first: bool) -> Result<Vec<MethodResult>, ParseError> {
        let mut results = Vec::new();
        let mut first = true;
        loop {
            self.cfws()?;
            if self.peek().is_none() {
                return Ok(results);
            }
            if separator_first || !first {
                self.expect(b';', "\";\"")?;
            }
            first = false;
            let Some(clause) = self.resinfo(results.is_empty())? else {
                return Ok(results);
            };
            results.push(clause);
        }
    }

    /// One `method=result …` after its ";"; `None` at a trailing ";" or after `none`.
    fn resinfo(&mut self, may_be_none: bool) -> Result<Option<MethodResult>, ParseError> {
        self.cfws()?;
        if self.peek().is_none() {
            // A trailing ";" is common and harmless.
            return Ok(None);
        }
        let method = self.keyword("a method")?;
        self.cfws()?;
        if may_be_none && method == "none" && matches!(self.peek(), None | Some(b';')) {
            if self.peek().is_some() {
                return Err(self.error("nothing after \"none\""));
            }
            return Ok(None);
        }
        if self.peek() == Some(b'/') {
            self.at += 1;
            self.cfws()?;
            self.digits()?;
            self.cfws()?;
        }
        self.expect(b'=', "\"=\" after the method")?;
        self.cfws()?;
        let result = self.keyword("a result")?;
        let mut clause = MethodResult {
            method,
            result,
            reason: None,
            properties: Vec::new(),
        };
        loop {
            let had_space = self.cfws()?;
            match self.peek() {
                None | Some(b';') => return Ok(Some(clause)),
                Some(_) if !had_space => return Err(self.error("a space before the next property")),
                Some(_) => {}
            }
            let key = self.keyword("a property")?;
            self.cfws()?;
            if self.peek() == Some(b'.') {
                self.at += 1;
                self.cfws()?;
                let name = self.keyword("a property name")?;
                self.cfws()?;
                self.expect(b'=', "\"=\" after the property")?;
                self.cfws()?;
                let value = self.pvalue()?;
                clause.properties.push(Property {
                    ptype: key,
                    name,
                    value,
                });
            } else {
                self.expect(b'=', "\"=\" or \".\" after a property")?;
                self.cfws()?;
                let value = self.pvalue()?;
                if key == "reason" && clause.reason.is_none() && clause.properties.is_empty() {
                    clause.reason = Some(value);
                } else {
                    clause.properties.push(Property {
                        ptype: String::new(),
                        name: key,
                        value,
                    });
                }
            }
        }
    }
}

struct Parser<'t> {
    text: &'t [u8],
    at: usize,
}

impl<'t> Parser<'t> {
    fn new(header: &'t str) -> Result<Parser<'t>, ParseError> {
        if header.len() > MAX_HEADER_BYTES {
            return Err(ParseError {
                at: MAX_HEADER_BYTES,
                expected: "a header of at most 16 KiB",
            });
        }
        Ok(Parser {
            text: header.as_bytes(),
            at: 0,
        })
    }
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn error(&self, expected: &'static str) -> ParseError {
        ParseError { at: self.at, expected }
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// Skips folding white space and comments; true when anything was skipped.
    fn cfws(&mut self) -> Result<bool, ParseError> {
        let start = self.at;
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.at += 1,
                Some(b'(') => self.comment()?,
                _ => return Ok(self.at > start),
            }
        }
    }

    fn comment(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return Err(self.error("\")\" closing a comment")),
                Some(b'(') => {
                    depth += 1;
                    if depth > MAX_COMMENT_DEPTH {
                        return Err(self.error("comments nested at most 16 deep"));
                    }
                    self.at += 1;
                }
                Some(b')') => {
                    depth -= 1;
                    self.at += 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Some(b'\\') => {
                    self.at += 1;
                    if self.peek().is_none() {
                        return Err(self.error("a character after \"\\\""));
                    }
                    self.at += 1;
                }
                Some(_) => self.at += 1,
            }
        }
    }

    fn quoted_string(&mut self) -> Result<String, ParseError> {
        self.expect(b'"', "\"\\\"\"")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("a closing quote")),
                Some(b'"') => {
                    self.at += 1;
                    return String::from_utf8(out).map_err(|_| self.error("UTF-8 inside quotes"));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let Some(escaped) = self.peek() else {
                        return Err(self.error("a character after \"\\\""));
                    };
                    out.push(escaped);
                    self.at += 1;
                }
                Some(b) => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }

    /// RFC 2045 `token`: visible ASCII but tspecials.
    fn token(&mut self, expected: &'static str) -> Result<String, ParseError> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
        {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error(expected));
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }

    fn value(&mut self, expected: &'static str) -> Result<String, ParseError> {
        if self.peek() == Some(b'"') {
            self.quoted_string()
        } else {
            self.token(expected)
        }
    }

    /// `Keyword`: letters, digits, `-` and `_` (vendors' method names), lowercased.
    fn keyword(&mut self, expected: &'static str) -> Result<String, ParseError> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error(expected));
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).to_ascii_lowercase())
    }

    fn digits(&mut self) -> Result<(), ParseError> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error("a version number"));
        }
        Ok(())
    }

    /// A property value: a quoted string (maybe a quoted local part followed by `@domain`),
    /// or a bare run of visible characters.
    fn pvalue(&mut self) -> Result<String, ParseError> {
        let mut value = String::new();
        if self.peek() == Some(b'"') {
            value = self.quoted_string()?;
            if self.peek() != Some(b'@') {
                return Ok(value);
            }
        }
        let start = self.at;
        while let Some(b) = self.peek() {
            if b <= b' ' || b == 0x7f || b";()\"\\".contains(&b) {
                break;
            }
            self.at += 1;
        }
        if self.at == start && value.is_empty() {
            return Err(self.error("a property value"));
        }
        if matches!(self.peek(), Some(b'"' | b'\\')) {
            return Err(self.error("a value without stray quotes"));
        }
        let bare = std::str::from_utf8(&self.text[start..self.at]).map_err(|_| self.error("UTF-8"))?;
        value.push_str(bare);
        Ok(value)
    }
}

#[cfg(test)]
mod tests;
