//! What a person sees of an HTML-only mail: elements hidden from the reader
//! (`display:none`, `visibility:hidden`, Outlook's `mso-hide:all`, the `hidden` attribute)
//! are removed before the HTML becomes text, so hidden text is never read as a command; and
//! block elements (`<div>`, `<p>`, `<li>`, `<tr>`, headings…) end their line, as a mail client
//! shows them (webmails write one `<div>` per line: `<div>#nota</div><div>Utente…</div>` was
//! read as `#notaUtente…`).
//!
//! Pure, linear in the input: a scan over the tags, no DOM.

/// The text a reader sees of `html`: hidden elements dropped, one line per block (and per
/// `<br>`), runs of spaces as one, entities decoded. Written here rather than taken from
/// mail-parser's `html_to_text`, which ends no line at a `<div>` and drops the space after a
/// tag that closes a line's first word (`<b>Salve</b> ecco` became `Salveecco`).
pub fn to_text(html: &str) -> String {
    let html = without_hidden(html);
    let mut out = String::with_capacity(html.len());
    // What is waiting to be written before the next word: nothing, a space, or a line break.
    let mut pending_space = false;
    let mut pending_break = false;
    let mut rest = html.as_str();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else { break };
            let tag = &rest[..=end];
            rest = &rest[end + 1..];
            let closing = tag.starts_with("</");
            let name: String = tag
                .trim_start_matches(['<', '/'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if !closing && matches!(name.as_str(), "head" | "style" | "script" | "template" | "title") {
                let close = format!("</{name}");
                rest = rest
                    .to_ascii_lowercase()
                    .find(&close)
                    .and_then(|at| rest[at..].find('>').map(|gt| &rest[at + gt + 1..]))
                    .unwrap_or("");
            } else if name == "br" {
                out.push('\n');
                pending_space = false;
                pending_break = false;
            } else if is_block(&name) {
                pending_break = true;
            } else if matches!(name.as_str(), "td" | "th") {
                pending_space = true;
            }
            continue;
        }
        let text_end = rest.find('<').unwrap_or(rest.len());
        let (text, after) = rest.split_at(text_end);
        rest = after;
        for (i, word) in text.split(|c: char| c.is_ascii_whitespace()).enumerate() {
            if i > 0 {
                pending_space = true;
            }
            if word.is_empty() {
                continue;
            }
            if pending_break {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
            } else if pending_space && !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            pending_break = false;
            pending_space = false;
            push_decoded(&mut out, word);
        }
    }
    out
}

/// A word with its entities (`&amp;`, `&egrave;`, `&#39;`, `&#x2019;`) decoded.
fn push_decoded(out: &mut String, word: &str) {
    let mut rest = word;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let candidate = &rest[amp..];
        match candidate.find(';').filter(|semi| *semi <= 32) {
            Some(semi) => {
                mail_parser::decoders::html::add_html_token(out, &candidate.as_bytes()[..=semi], false);
                rest = &candidate[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "div"
            | "p"
            | "li"
            | "tr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "pre"
            | "table"
            | "ul"
            | "ol"
            | "section"
            | "article"
            | "header"
            | "footer"
    )
}

/// `html` without its hidden elements (each removed with everything inside it).
pub fn without_hidden(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tag_text = &rest[open..];
        let Some(end) = tag_text.find('>') else {
            out.push_str(tag_text);
            return out;
        };
        let tag = &tag_text[..=end];
        let after = &tag_text[end + 1..];
        match opening_name(tag).filter(|_| is_hidden(tag)) {
            Some(name) if !tag.ends_with("/>") && !is_void(&name) => rest = skip_element(after, &name),
            Some(_) => rest = after,
            None => {
                out.push_str(tag);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The element name of an opening tag, lowercased (`None` for closing tags, comments, …).
fn opening_name(tag: &str) -> Option<String> {
    let inner = tag.strip_prefix('<')?;
    let name: String = inner
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-')
        .collect();
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

fn is_hidden(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("display:none")
        || compact.contains("visibility:hidden")
        || compact.contains("mso-hide:all")
        || lower
            .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .skip(1)
            .any(|attribute| attribute == "hidden" || attribute.starts_with("hidden="))
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
    )
}

/// What follows the element `name` whose opening tag was just read: same-name elements inside
/// it nest; an element never closed hides the rest.
fn skip_element<'h>(mut rest: &'h str, name: &str) -> &'h str {
    let mut depth = 1usize;
    while let Some(open) = rest.find('<') {
        let tag_text = &rest[open..];
        let Some(end) = tag_text.find('>') else { return "" };
        let tag = &tag_text[..=end];
        rest = &tag_text[end + 1..];
        if let Some(closing) = tag.strip_prefix("</") {
            let closing: String = closing
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-')
                .collect();
            if closing.eq_ignore_ascii_case(name) {
                depth -= 1;
                if depth == 0 {
                    return rest;
                }
            }
        } else if opening_name(tag).as_deref() == Some(name) && !tag.ends_with("/>") {
            depth += 1;
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_elements_go_with_what_they_hold() {
        let html = "<div>#nota</div><div style=\"display: none\">#fuoriambito<div>dentro</div></div><p>Visibile</p>";
        assert_eq!(without_hidden(html), "<div>#nota</div><p>Visibile</p>");
        let outlook = "<p class=MsoNormal>#prendo</p><span style='mso-hide:all'>#risolto</span>";
        assert_eq!(without_hidden(outlook), "<p class=MsoNormal>#prendo</p>");
        assert_eq!(without_hidden("<div hidden>#coda</div>ok"), "ok");
        assert_eq!(without_hidden("<p style=\"VISIBILITY:HIDDEN\">x</p>y"), "y");
        assert_eq!(without_hidden("<img hidden src=x>after"), "after");
    }

    #[test]
    fn block_elements_are_lines() {
        let lines = |html: &str| -> Vec<String> {
            to_text(html)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        };
        // Gmail and Roundcube: one <div> per line.
        assert_eq!(
            lines("<div dir=\"ltr\"><div>#nota</div><div>Utente richiamato.</div></div>"),
            ["#nota", "Utente richiamato."]
        );
        // Outlook: paragraphs.
        assert_eq!(
            lines("<p class=MsoNormal>#prendo<o:p></o:p></p><p class=MsoNormal>Ci penso io.</p>"),
            ["#prendo", "Ci penso io."]
        );
        assert_eq!(lines("<ul><li>uno</li><li>due</li></ul>"), ["uno", "due"]);
        assert_eq!(
            lines("<table><tr><td>Pratica</td><td>PdC 2026/0456</td></tr></table>"),
            ["Pratica PdC 2026/0456"]
        );
        assert_eq!(lines("riga<br>a capo"), ["riga", "a capo"]);
        assert_eq!(
            lines("<p><b>Salve</b> ecco il <i>file</i>.</p>"),
            ["Salve ecco il file."]
        );
        assert_eq!(
            lines(
                "<html><head><style>p {color: red}</style><title>t</title></head><body>Perch&eacute; &amp; c&#39;&egrave; &#x2019;</body></html>"
            ),
            ["Perché & c'è \u{2019}"]
        );
        assert_eq!(
            lines("a <!-- #fuoriambito --> b &unknown; c & d"),
            ["a b &unknown; c & d"]
        );
        assert_eq!(to_text("uno<br><br>due"), "uno\n\ndue", "an empty line stays");
    }

    #[test]
    fn visible_html_is_untouched_and_broken_html_does_not_hang() {
        let visible = "<div style=\"color: red\">#prendo</div><input type=hidden-field>";
        assert_eq!(without_hidden(visible), visible);
        assert_eq!(without_hidden("<div style=display:none>never closed"), "");
        assert_eq!(without_hidden("text <b"), "text <b");
        let deep = "<div style=display:none>".repeat(10_000) + "x";
        assert_eq!(without_hidden(&deep), "");
    }
}
