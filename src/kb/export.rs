//! The public FAQ: a static, accessible HTML site of the reviewed, redacted articles that the
//! portal can publish (`sportello kb export --out DIR`).
//!
//! Pure rendering (the templates `templates/pages/faq_index.html` and `faq_article.html`, in
//! the help desk's language) plus one function that writes the files. Only reviewed entries
//! are exported, and their text is the redacted text of the knowledge base; every value is
//! HTML-escaped by the templates. No scripts, no external assets.

use std::path::Path;

use anyhow::Context;
use chrono_tz::Tz;
use minijinja::{Value, context};

use super::Entry;
use crate::config::Language;
use crate::notify::templates::Templates;

/// How the FAQ is written: its templates, its language and the time zone of its dates.
#[derive(Clone, Copy)]
pub struct Site<'a> {
    /// The page templates.
    pub templates: &'a Templates,
    /// The language of the wording (the articles are as written).
    pub language: Language,
    /// The time zone of the "updated" dates.
    pub timezone: Tz,
}

/// A text's paragraphs (separated by a blank line), each a list of its lines.
fn paragraphs(text: &str) -> Vec<Vec<String>> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.split('\n').map(str::to_string).collect())
        .collect()
}

/// The page of one article.
pub fn article_page(site: Site<'_>, entry: &Entry) -> anyhow::Result<String> {
    let updated = entry.resolved_at.with_timezone(&site.timezone).format("%d/%m/%Y");
    site.templates.page(
        site.language,
        "faq_article",
        context! {
            title => entry.title.as_str(),
            problem => paragraphs(&entry.problem),
            solution => paragraphs(&entry.solution),
            updated => updated.to_string(),
        },
    )
}

/// The index, grouped by category (topic), in the order of `entries`.
pub fn index_page(site: Site<'_>, entries: &[Entry]) -> anyhow::Result<String> {
    let mut sections: Vec<(Option<&str>, Vec<Value>)> = Vec::new();
    for entry in entries {
        let category = entry.category.as_deref();
        let article = context! { id => entry.id, title => entry.title.as_str() };
        match sections.last_mut() {
            Some((current, articles)) if *current == category => articles.push(article),
            _ => sections.push((category, vec![article])),
        }
    }
    let sections: Vec<Value> = sections
        .into_iter()
        .map(|(category, articles)| context! { category, articles })
        .collect();
    site.templates.page(site.language, "faq_index", context! { sections })
}

/// Writes `index.html` and one `articolo-N.html` per entry into `dir`; returns the count.
pub fn write_site(dir: &Path, site: Site<'_>, entries: &[Entry]) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in entries {
        let path = dir.join(format!("articolo-{}.html", entry.id));
        std::fs::write(&path, article_page(site, entry)?).with_context(|| format!("writing {}", path.display()))?;
    }
    let index = dir.join("index.html");
    std::fs::write(&index, index_page(site, entries)?).with_context(|| format!("writing {}", index.display()))?;
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn entry(id: i64, category: Option<&str>, title: &str) -> Entry {
        Entry {
            id,
            ticket: None,
            title: title.into(),
            problem: "La firma non viene accettata.".into(),
            solution: "Rifirmi il file.\nIn formato CAdES.\n\nPoi lo ricarichi.".into(),
            category: category.map(str::to_string),
            reviewed: true,
            // 23:30 UTC on 9 March: already 10 March in Rome, still 9 March in New York.
            resolved_at: Utc.with_ymd_and_hms(2026, 3, 9, 23, 30, 0).single().expect("instant"),
        }
    }

    #[test]
    fn the_faq_speaks_the_configured_language_with_local_dates() {
        let templates = Templates::load(None).expect("templates");
        let site = Site {
            templates: &templates,
            language: Language::En,
            timezone: chrono_tz::America::New_York,
        };
        let article = article_page(site, &entry(1, None, "Firma")).expect("article");
        for needle in [
            "<html lang=\"en\">",
            "<h2>The problem</h2>",
            "<p>Rifirmi il file.<br>In formato CAdES.</p><p>Poi lo ricarichi.</p>",
            "Updated on 09/03/2026",
        ] {
            assert!(article.contains(needle), "{needle} missing:\n{article}");
        }
        let rome = Site {
            language: Language::It,
            timezone: chrono_tz::Europe::Rome,
            ..site
        };
        let article = article_page(rome, &entry(1, None, "Firma")).expect("article");
        assert!(article.contains("Aggiornato al 10/03/2026"), "{article}");
        let entries = [
            entry(3, None, "Sessione"),
            entry(1, Some("Firma digitale"), "Firma"),
            entry(2, Some("Firma digitale"), "CAdES"),
        ];
        let index = index_page(site, &entries).expect("index");
        assert!(
            index.contains(
                "<section><h2>Other topics</h2><ul><li><a href=\"articolo-3.html\">Sessione</a></li></ul></section>"
            ) && index.contains(
                "<h2>Firma digitale</h2><ul><li><a href=\"articolo-1.html\">Firma</a></li>\
                 <li><a href=\"articolo-2.html\">CAdES</a></li></ul>"
            ),
            "{index}"
        );
        assert!(
            index_page(site, &[])
                .expect("index")
                .contains("There are no articles yet.")
        );
    }

    #[test]
    fn faq_pages_escape_titles_categories_and_text() {
        let templates = Templates::load(None).expect("templates");
        let site = Site {
            templates: &templates,
            language: Language::It,
            timezone: chrono_tz::Europe::Rome,
        };
        let mut hostile = entry(1, Some("<b>Firma</b>"), "<script>alert(1)</script>");
        hostile.problem = "Il portale mostra <img src=x onerror=alert(2)>".into();
        let index = index_page(site, std::slice::from_ref(&hostile)).expect("index");
        let article = article_page(site, &hostile).expect("article");
        for page in [&index, &article] {
            assert!(
                !page.contains("<script") && !page.contains("<b>") && !page.contains("<img"),
                "{page}"
            );
        }
        assert!(index.contains("<h2>&lt;b&gt;Firma&lt;/b&gt;</h2>"), "{index}");
        assert!(
            article.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>")
                && article.contains("<p>Il portale mostra &lt;img src=x onerror=alert(2)&gt;</p>"),
            "{article}"
        );
    }
}
