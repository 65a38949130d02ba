//! The public FAQ: a static, accessible HTML site of the reviewed, redacted articles that the
//! portal can publish (`sportello kb export --out DIR`).
//!
//! Pure rendering plus one function that writes the files. Only reviewed entries are
//! exported, and their text is the redacted text of the knowledge base; every value is
//! HTML-escaped. Italian; no scripts, no external assets.

use std::path::Path;

use anyhow::Context;

use super::Entry;
use crate::notify::escape_html as e;

const CSS: &str = "body{font-family:'Titillium Web',Geneva,Tahoma,sans-serif;color:#1a1a1a;margin:0;line-height:1.5}\
main{max-width:860px;margin:0 auto;padding:24px}a{color:#0066cc}a:focus{outline:3px solid #ffbf47}\
header{border-bottom:4px solid #0066cc;margin-bottom:16px}h1{color:#0066cc}\
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}";

fn page(title: &str, body: &str, home: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"it\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{t} – Assistenza CPortal</title><style>{CSS}</style>\
         </head><body><a class=\"skip\" href=\"#contenuto\">Vai al contenuto</a><header><main>\
         <p><a href=\"{home}\">Domande frequenti sull'uso di CPortal</a></p></main></header>\
         <main id=\"contenuto\">{body}</main></body></html>\n",
        t = e(title)
    )
}

fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", e(p).replace('\n', "<br>")))
        .collect()
}

/// The page of one article.
pub fn article_page(entry: &Entry) -> String {
    let body = format!(
        "<article><h1>{}</h1><h2>Il problema</h2>{}<h2>La soluzione</h2>{}<p><small>Aggiornato al {}</small></p></article>",
        e(&entry.title),
        paragraphs(&entry.problem),
        paragraphs(&entry.solution),
        entry.resolved_at.format("%d/%m/%Y")
    );
    page(&entry.title, &body, "index.html")
}

/// The index, grouped by category (topic).
pub fn index_page(entries: &[Entry]) -> String {
    let mut body = String::from(
        "<h1>Domande frequenti sull'uso di CPortal</h1><p>Le soluzioni ai problemi informatici più comuni \
         segnalati all'assistenza. Per questioni edilizie o urbanistiche rivolgersi agli uffici comunali.</p>",
    );
    if entries.is_empty() {
        body.push_str("<p>Non ci sono ancora articoli.</p>");
    }
    let mut current: Option<String> = None;
    for entry in entries {
        let category = entry.category.clone().unwrap_or_else(|| "Altri argomenti".into());
        if current.as_deref() != Some(category.as_str()) {
            if current.is_some() {
                body.push_str("</ul></section>");
            }
            body.push_str(&format!("<section><h2>{}</h2><ul>", e(&category)));
            current = Some(category);
        }
        body.push_str(&format!(
            "<li><a href=\"articolo-{}.html\">{}</a></li>",
            entry.id,
            e(&entry.title)
        ));
    }
    if current.is_some() {
        body.push_str("</ul></section>");
    }
    page("Domande frequenti", &body, "index.html")
}

/// Writes `index.html` and one `articolo-N.html` per entry into `dir`; returns the count.
pub fn write_site(dir: &Path, entries: &[Entry]) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in entries {
        let path = dir.join(format!("articolo-{}.html", entry.id));
        std::fs::write(&path, article_page(entry)).with_context(|| format!("writing {}", path.display()))?;
    }
    let index = dir.join("index.html");
    std::fs::write(&index, index_page(entries)).with_context(|| format!("writing {}", index.display()))?;
    Ok(entries.len())
}
