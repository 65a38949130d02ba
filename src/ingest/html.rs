//! What a person sees of an HTML-only mail: elements hidden from the reader
//! (`display:none`, `visibility:hidden`, Outlook's `mso-hide:all`, the `hidden` attribute)
//! are removed before the HTML becomes text, so hidden text is never read as a command.
//!
//! Pure, linear in the input: a scan over the tags, no DOM.

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
    fn visible_html_is_untouched_and_broken_html_does_not_hang() {
        let visible = "<div style=\"color: red\">#prendo</div><input type=hidden-field>";
        assert_eq!(without_hidden(visible), visible);
        assert_eq!(without_hidden("<div style=display:none>never closed"), "");
        assert_eq!(without_hidden("text <b"), "text <b");
        let deep = "<div style=display:none>".repeat(10_000) + "x";
        assert_eq!(without_hidden(&deep), "");
    }
}
