//! Templates: the mails (`templates/<lang>/<name>.txt`) and the HTML pages (the portal's
//! form and status page, the accounting report, the FAQ), embedded in the binary and
//! overridable from a folder without rebuilding.
//!
//! A mail template's first line is `Subject: …`, then a blank line, then the body. A page is a
//! language-neutral skeleton `templates/pages/<page>.html` that imports its wording from
//! `templates/<lang>/words/<family>.html`; the form's validation messages are the plain-text
//! `templates/<lang>/words/field_error.txt`. Rendering is strict: an undefined variable is an
//! error, never an empty string, so a typo in an administrator's override fails loudly
//! instead of mailing (or serving) a blank. Files ending in `.html` are HTML-escaped
//! automatically, with the crate's one escaping rule ([`crate::notify::escape_html`]).
//!
//! The letters to requesters ([`LETTERS`]) are wrapped again after rendering
//! ([`super::letter::reflow`]: paragraphs at 72 columns, lists, quotes, links, signatures and
//! any value spanning lines kept as written), so a long value filled in mid-line leaves no
//! ragged paragraph; an administrator's override of a letter is wrapped the same way. They
//! greet the requester by `name` when it reads like a person's
//! ([`super::letter::addressee`]), else "Gentile utente".

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};

use crate::config::Language;

/// The templates shipped with the binary: (name, source).
const EMBEDDED: &[(&str, &str)] = &[
    ("it/ack.txt", include_str!("../../templates/it/ack.txt")),
    ("en/ack.txt", include_str!("../../templates/en/ack.txt")),
    (
        "it/attachments_dropped.txt",
        include_str!("../../templates/it/attachments_dropped.txt"),
    ),
    (
        "en/attachments_dropped.txt",
        include_str!("../../templates/en/attachments_dropped.txt"),
    ),
    ("it/quarantined.txt", include_str!("../../templates/it/quarantined.txt")),
    ("en/quarantined.txt", include_str!("../../templates/en/quarantined.txt")),
    ("it/take_in.txt", include_str!("../../templates/it/take_in.txt")),
    ("en/take_in.txt", include_str!("../../templates/en/take_in.txt")),
    ("it/answer.txt", include_str!("../../templates/it/answer.txt")),
    ("en/answer.txt", include_str!("../../templates/en/answer.txt")),
    ("it/escalated.txt", include_str!("../../templates/it/escalated.txt")),
    ("en/escalated.txt", include_str!("../../templates/en/escalated.txt")),
    ("it/closing.txt", include_str!("../../templates/it/closing.txt")),
    ("en/closing.txt", include_str!("../../templates/en/closing.txt")),
    (
        "it/out_of_scope.txt",
        include_str!("../../templates/it/out_of_scope.txt"),
    ),
    (
        "en/out_of_scope.txt",
        include_str!("../../templates/en/out_of_scope.txt"),
    ),
    ("it/remote.txt", include_str!("../../templates/it/remote.txt")),
    ("en/remote.txt", include_str!("../../templates/en/remote.txt")),
    ("it/reopened.txt", include_str!("../../templates/it/reopened.txt")),
    ("en/reopened.txt", include_str!("../../templates/en/reopened.txt")),
    ("it/operator.txt", include_str!("../../templates/it/operator.txt")),
    ("en/operator.txt", include_str!("../../templates/en/operator.txt")),
    (
        "it/operator_reply.txt",
        include_str!("../../templates/it/operator_reply.txt"),
    ),
    (
        "en/operator_reply.txt",
        include_str!("../../templates/en/operator_reply.txt"),
    ),
    (
        "it/suspension_notice.txt",
        include_str!("../../templates/it/suspension_notice.txt"),
    ),
    (
        "en/suspension_notice.txt",
        include_str!("../../templates/en/suspension_notice.txt"),
    ),
    ("it/digest.txt", include_str!("../../templates/it/digest.txt")),
    ("en/digest.txt", include_str!("../../templates/en/digest.txt")),
    ("it/report.txt", include_str!("../../templates/it/report.txt")),
    ("en/report.txt", include_str!("../../templates/en/report.txt")),
    ("it/alarm.txt", include_str!("../../templates/it/alarm.txt")),
    ("en/alarm.txt", include_str!("../../templates/en/alarm.txt")),
    (
        "it/auth_refused.txt",
        include_str!("../../templates/it/auth_refused.txt"),
    ),
    (
        "en/auth_refused.txt",
        include_str!("../../templates/en/auth_refused.txt"),
    ),
    ("it/vote.txt", include_str!("../../templates/it/vote.txt")),
    ("en/vote.txt", include_str!("../../templates/en/vote.txt")),
];

/// The pages shipped with the binary: (name, source). Skeletons first, then each language's
/// wording.
const PAGES: &[(&str, &str)] = &[
    ("pages/portal.html", include_str!("../../templates/pages/portal.html")),
    ("pages/form.html", include_str!("../../templates/pages/form.html")),
    ("pages/created.html", include_str!("../../templates/pages/created.html")),
    ("pages/status.html", include_str!("../../templates/pages/status.html")),
    ("pages/message.html", include_str!("../../templates/pages/message.html")),
    ("pages/vote.html", include_str!("../../templates/pages/vote.html")),
    ("pages/report.html", include_str!("../../templates/pages/report.html")),
    ("pages/notice.html", include_str!("../../templates/pages/notice.html")),
    ("pages/faq.html", include_str!("../../templates/pages/faq.html")),
    (
        "pages/faq_index.html",
        include_str!("../../templates/pages/faq_index.html"),
    ),
    (
        "pages/faq_article.html",
        include_str!("../../templates/pages/faq_article.html"),
    ),
    (
        "it/words/portal.html",
        include_str!("../../templates/it/words/portal.html"),
    ),
    (
        "en/words/portal.html",
        include_str!("../../templates/en/words/portal.html"),
    ),
    (
        "it/words/field_error.txt",
        include_str!("../../templates/it/words/field_error.txt"),
    ),
    (
        "en/words/field_error.txt",
        include_str!("../../templates/en/words/field_error.txt"),
    ),
    (
        "it/words/report.html",
        include_str!("../../templates/it/words/report.html"),
    ),
    (
        "en/words/report.html",
        include_str!("../../templates/en/words/report.html"),
    ),
    (
        "it/words/notice.html",
        include_str!("../../templates/it/words/notice.html"),
    ),
    (
        "en/words/notice.html",
        include_str!("../../templates/en/words/notice.html"),
    ),
    ("it/words/faq.html", include_str!("../../templates/it/words/faq.html")),
    ("en/words/faq.html", include_str!("../../templates/en/words/faq.html")),
];

/// The stored answers shipped as examples (`#risposta NAME`): (name, source). An administrator's
/// own are `templates_dir/risposte/NAME.txt`, read when used, so a new one needs no restart.
const CANNED: &[(&str, &str)] = &[
    (
        "firma-digitale",
        include_str!("../../templates/risposte/firma-digitale.txt"),
    ),
    ("pdfa", include_str!("../../templates/risposte/pdfa.txt")),
    ("spid", include_str!("../../templates/risposte/spid.txt")),
];

/// The letters to requesters, wrapped after rendering; operators' notices and replies are not
/// (their lines are columns, quotes and tag examples).
pub const LETTERS: &[&str] = &[
    "ack",
    "take_in",
    "answer",
    "escalated",
    "closing",
    "out_of_scope",
    "remote",
    "reopened",
    "attachments_dropped",
    "suspension_notice",
    "vote",
];

/// True for the mail template `it/ack.txt`, `en/closing.txt`, … of a letter.
fn is_letter(template: &str) -> bool {
    template
        .split_once('/')
        .and_then(|(_, file)| file.strip_suffix(".txt"))
        .is_some_and(|name| LETTERS.contains(&name))
}

/// A rendered mail: subject and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// The template set.
pub struct Templates {
    env: Environment<'static>,
    /// Where an administrator's stored answers are (`templates_dir/risposte`).
    canned_dir: Option<PathBuf>,
}

impl Templates {
    /// The embedded templates, each replaced by `override_dir/<name>` (`it/ack.txt`,
    /// `pages/form.html`, `en/words/report.html`, …) when that exists.
    pub fn load(override_dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Stated rather than left to minijinja's defaults: pages escape, mails never do.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        // minijinja's own HTML escaping also rewrites `/` and `'`; the pages use the crate's
        // one rule instead, so a link or a date in a page reads the same in its source.
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), AutoEscape::Html)
                && !value.is_safe()
                && let Some(text) = value.as_str()
            {
                // Most values (numbers, dates, ids) need no escaping: no copy for those.
                let escaped = if text.contains(['&', '<', '>', '"', '\'']) {
                    out.write_str(&super::escape_html(text))
                } else {
                    out.write_str(text)
                };
                return escaped.map_err(minijinja::Error::from);
            }
            // In a letter, a value spanning lines is the writer's own layout: marked, so
            // that wrapping keeps its lines (the marks are taken out there).
            if is_letter(state.name())
                && let Some(text) = value.as_str()
                && text.contains('\n')
            {
                let text: String = text
                    .chars()
                    .filter(|c| *c != super::letter::KEEP_START && *c != super::letter::KEEP_END)
                    .collect();
                let marked = format!("{}{text}{}", super::letter::KEEP_START, super::letter::KEEP_END);
                return out.write_str(&marked).map_err(minijinja::Error::from);
            }
            minijinja::escape_formatter(out, state, value)
        });
        for (name, source) in EMBEDDED.iter().chain(PAGES) {
            let custom: Option<PathBuf> = override_dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let text = match &custom {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading template {}: {e}", path.display()))?,
                None => (*source).to_string(),
            };
            env.add_template_owned(*name, text)
                .map_err(|e| anyhow::anyhow!("template {name}: {e:#}"))?;
        }
        Ok(Templates {
            env,
            canned_dir: override_dir.map(|d| d.join("risposte")),
        })
    }

    /// The stored answer `name` filled with `context`, or `None` when there is none: the
    /// administrator's file first, then the shipped example. `name` is checked by the parser
    /// (letters, digits, `-`, `_`), so it never leaves the folder.
    pub fn canned_answer(&self, name: &str, context: Value) -> anyhow::Result<Option<String>> {
        let custom = self
            .canned_dir
            .as_ref()
            .map(|d| d.join(format!("{name}.txt")))
            .filter(|p| p.is_file());
        let source = match custom {
            Some(path) => std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("reading stored answer {}: {e}", path.display()))?,
            None => match CANNED.iter().find(|(n, _)| *n == name) {
                Some((_, source)) => (*source).to_string(),
                None => return Ok(None),
            },
        };
        let text = self
            .env
            .render_str(&source, context)
            .map_err(|e| anyhow::anyhow!("rendering stored answer {name}: {e:#}"))?;
        Ok(Some(text.trim().to_string()))
    }

    /// The names of the stored answers there are, sorted.
    pub fn canned_answer_names(&self) -> Vec<String> {
        let mut names: Vec<String> = CANNED.iter().map(|(n, _)| (*n).to_string()).collect();
        if let Some(dir) = &self.canned_dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "txt")
                    && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                {
                    names.push(stem.to_lowercase());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Renders template `name` in `language` with `context`.
    pub fn render(&self, language: Language, name: &str, context: Value) -> anyhow::Result<Rendered> {
        let full = format!("{}/{name}.txt", language.code());
        let template = self
            .env
            .get_template(&full)
            .map_err(|e| anyhow::anyhow!("template {full}: {e}"))?;
        let text = template
            .render(context)
            .map_err(|e| anyhow::anyhow!("rendering {full}: {e:#}"))?;
        let mut rendered = split_subject(&text)
            .ok_or_else(|| anyhow::anyhow!("template {full} must start with a 'Subject: ' line"))?;
        if is_letter(&full) {
            rendered.body = super::letter::reflow(&rendered.body);
        }
        Ok(rendered)
    }

    /// Renders the page `pages/<name>.html` in `language` with `context` (which gets `lang`,
    /// the language's code, for the page's `<html lang>` and its wording).
    pub fn page(&self, language: Language, name: &str, context: Value) -> anyhow::Result<String> {
        let full = format!("pages/{name}.html");
        let template = self
            .env
            .get_template(&full)
            .map_err(|e| anyhow::anyhow!("template {full}: {e}"))?;
        template
            .render(context! { lang => language.code(), ..context })
            .map_err(|e| anyhow::anyhow!("rendering {full} ({}): {e:#}", language.code()))
    }

    /// Renders the plain-text wording `<lang>/words/<name>.txt` whole, trimmed.
    pub fn words(&self, language: Language, name: &str, context: Value) -> anyhow::Result<String> {
        let full = format!("{}/words/{name}.txt", language.code());
        let template = self
            .env
            .get_template(&full)
            .map_err(|e| anyhow::anyhow!("template {full}: {e}"))?;
        let text = template
            .render(context)
            .map_err(|e| anyhow::anyhow!("rendering {full}: {e:#}"))?;
        Ok(text.trim().to_string())
    }
}

/// Splits `Subject: …\n\nbody` into its parts.
fn split_subject(text: &str) -> Option<Rendered> {
    let text = text.trim_start_matches(['\n', '\r']);
    let (first, rest) = text.split_once('\n')?;
    let subject = first.strip_prefix("Subject:")?.trim().to_string();
    Some(Rendered {
        subject,
        body: rest.trim_start_matches(['\n', '\r']).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn ack_renders_in_both_languages_and_lists_dropped_attachments() {
        let templates = Templates::load(None).expect("embedded templates load");
        for (lang, name, word) in [
            (Language::It, None, "Gentile utente,"),
            (Language::En, None, "Dear user,"),
            (Language::It, Some("Mario Rossi"), "Gentile Mario Rossi,"),
            (Language::En, Some("Mario Rossi"), "Dear Mario Rossi,"),
        ] {
            let r = templates
                .render(
                    lang,
                    "ack",
                    context! { ticket => "TCK-2026-00001", subject => "Firma", helpdesk => "HD",
                    hours => "h", take_in_due => "lun 9 mar 09:45", dropped => vec!["big.pdf"],
                    status_note => "", status_link => "https://assistenza.example.it/t/TCK-2026-00001/abc", name => name,
                    privacy => context! { controller => "", url => "" } },
                )
                .expect("renders");
            assert_eq!(r.subject, "[TCK-2026-00001] Firma");
            assert!(r.body.starts_with(word), "{}", r.body);
            assert!(r.body.contains("  - big.pdf"), "{}", r.body);
            assert!(
                r.body.contains("https://assistenza.example.it/t/TCK-2026-00001/abc"),
                "{}",
                r.body
            );
        }
    }

    #[test]
    fn pages_escape_with_the_crates_rule_and_mails_never_do() {
        let templates = Templates::load(None).expect("load");
        let page = templates
            .page(
                Language::It,
                "created",
                context! { id => "<TCK & co>", link => "/t/TCK-2026-00001/x'y\"z" },
            )
            .expect("page");
        assert!(
            page.contains("<span class=\"badge\">&lt;TCK &amp; co&gt;</span>")
                && page.contains("href=\"/t/TCK-2026-00001/x&#39;y&quot;z\""),
            "{page}"
        );
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"it\">"), "{page}");
        let mail = templates
            .render(
                Language::It,
                "answer",
                context! { ticket => "T", subject => "<b>", text => "a < b & c", operator => "O", signed => false, helpdesk => "H" },
            )
            .expect("mail");
        assert!(
            mail.subject.contains("<b>") && mail.body.contains("a < b & c"),
            "{mail:?}"
        );
    }

    #[test]
    fn every_message_page_renders_in_both_languages() {
        let templates = Templates::load(None).expect("load");
        for (language, title) in [(Language::It, "Pagina non trovata"), (Language::En, "Page not found")] {
            let page = templates
                .page(language, "message", context! { message => "not_found" })
                .expect("page");
            assert!(page.contains(&format!("<h1>{title}</h1>")), "{page}");
            assert!(page.contains(&format!("lang=\"{}\"", language.code())), "{page}");
        }
        assert!(
            templates
                .page(Language::It, "message", context! { message => "unknown" })
                .is_err(),
            "a message the wording lacks is an error, not a blank page"
        );
    }

    #[test]
    fn an_override_folder_replaces_a_page_or_its_wording() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("pages")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("en/words")).expect("mkdir");
        std::fs::write(
            dir.path().join("pages/message.html"),
            "<p>{{ message }} ({{ lang }})</p>",
        )
        .expect("write");
        std::fs::write(dir.path().join("en/words/field_error.txt"), "{{ code }}!").expect("write");
        let templates = Templates::load(Some(dir.path())).expect("load");
        assert_eq!(
            templates
                .page(Language::En, "message", context! { message => "<x>" })
                .expect("page"),
            "<p>&lt;x&gt; (en)</p>"
        );
        assert_eq!(
            templates
                .words(Language::En, "field_error", context! { code => "required" })
                .expect("words"),
            "required!"
        );
        // Italian still comes from the binary.
        assert_eq!(
            templates
                .words(
                    Language::It,
                    "field_error",
                    context! { code => "too_short", limit => 10, choices => Vec::<String>::new() }
                )
                .expect("words"),
            "almeno 10 caratteri"
        );
    }

    #[test]
    fn a_missing_variable_is_an_error_not_a_blank() {
        let templates = Templates::load(None).expect("load");
        assert!(
            templates
                .render(Language::It, "ack", context! { ticket => "x" })
                .is_err()
        );
    }

    #[test]
    fn an_override_folder_replaces_one_template() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("it")).expect("mkdir");
        std::fs::write(
            dir.path().join("it/ack.txt"),
            "Subject: Ricevuta {{ ticket }}\n\nCiao.\n",
        )
        .expect("write");
        let templates = Templates::load(Some(dir.path())).expect("load");
        let r = templates
            .render(Language::It, "ack", context! { ticket => "T" })
            .expect("render");
        assert_eq!(
            r,
            Rendered {
                subject: "Ricevuta T".into(),
                body: "Ciao.".into()
            }
        );
        // English still comes from the binary.
        assert!(
            templates
                .render(Language::En, "ack", context! { ticket => "T" })
                .is_err()
        );
    }

    /// Every variable any letter uses, with long values where a long value hurts.
    fn letter_vars(name: Option<&str>) -> Value {
        let long_date = "mercoledì 30 dicembre 2026 alle ore 16:45";
        context! { ticket => "TCK-2026-00042", subject => "Firma digitale rifiutata", helpdesk => "Help desk CPortal",
        name => name, hours => "lunedì-venerdì 8:00-13:00 e 14:00-17:00", take_in_due => long_date,
        dropped => Vec::<String>::new(), status_note => "", status_link => "", technician => "Giulia Bianchi",
        resolution_due => long_date, text => "Provi a firmare di nuovo il file con CAdES.\nPoi lo ricarichi.", operator => "Giulia Bianchi",
        signed => false, contacts => "Sportello Unico per l'Edilizia\nvia Roma 1, tel. 06 1234 5678",
        when => long_date, minutes => 45, note => "Il servizio sarà sospeso dal 24 al 31 dicembre 2026 per la manutenzione straordinaria del portale.",
        tickets => vec![context! { id => "TCK-2026-00042", subject => "Firma digitale rifiutata" }],
        privacy => context! { controller => "Comune di San Giovanni in Persiceto", url => "https://www.comune.example.it/privacy" },
        vote_links => context! {
            positivo => "https://assistenza.comune.example.it/t/TCK-2026-00042/0123456789abcdef0123456789abcdef/vote/1/positivo",
            neutro => "https://assistenza.comune.example.it/t/TCK-2026-00042/0123456789abcdef0123456789abcdef/vote/1/neutro",
            negativo => "https://assistenza.comune.example.it/t/TCK-2026-00042/0123456789abcdef0123456789abcdef/vote/1/negativo",
        },
        vote_days => 14, copy => false, score => "negativo", recorded => true, until => long_date }
    }

    #[test]
    fn every_letter_greets_a_known_name_and_wraps_its_paragraphs() {
        let templates = Templates::load(None).expect("load");
        for language in [Language::It, Language::En] {
            let (known, unknown) = match language {
                Language::It => ("Gentile Mario Rossi,", "Gentile utente,"),
                Language::En => ("Dear Mario Rossi,", "Dear user,"),
            };
            for letter in LETTERS {
                let named = templates
                    .render(language, letter, letter_vars(Some("Mario Rossi")))
                    .expect("renders");
                let anonymous = templates.render(language, letter, letter_vars(None)).expect("renders");
                // The operator's answer opens with their own words, and greets nobody itself.
                if *letter != "answer" {
                    assert!(named.body.starts_with(known), "{language:?} {letter}: {}", named.body);
                    assert!(
                        anonymous.body.starts_with(unknown),
                        "{language:?} {letter}: {}",
                        anonymous.body
                    );
                }
                // A link is never broken (mail clients would not follow half of it).
                for line in named.body.lines().filter(|l| !l.contains("://")) {
                    assert!(
                        line.chars().count() <= super::super::letter::WIDTH,
                        "{language:?} {letter}: a line of {} columns: {line:?}",
                        line.chars().count()
                    );
                }
                assert!(
                    !named
                        .body
                        .contains([super::super::letter::KEEP_START, super::super::letter::KEEP_END]),
                    "{letter}: the marks are taken out"
                );
            }
            // The operator's own lines stay as they wrote them, the contacts too.
            let closing = templates
                .render(language, "closing", letter_vars(None))
                .expect("closing");
            assert!(
                closing
                    .body
                    .contains("\nProvi a firmare di nuovo il file con CAdES.\nPoi lo ricarichi.\n"),
                "{}",
                closing.body
            );
            let out = templates
                .render(language, "out_of_scope", letter_vars(None))
                .expect("out of scope");
            assert!(
                out.body
                    .contains("\nSportello Unico per l'Edilizia\nvia Roma 1, tel. 06 1234 5678\n"),
                "{}",
                out.body
            );
            // The closing letter's three faces, each link whole on its own line.
            for code in ["positivo", "neutro", "negativo"] {
                let link = format!(
                    "\nhttps://assistenza.comune.example.it/t/TCK-2026-00042/0123456789abcdef0123456789abcdef/vote/1/{code}\n"
                );
                assert!(closing.body.contains(&link), "{language:?}: {}", closing.body);
            }
            let flat = closing.body.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains("1 (") && flat.contains("3 ("), "{}", closing.body);
        }
        // Without the HTTP interface the letter still says how to vote by mail, with no link.
        let mut vars: std::collections::BTreeMap<String, Value> = letter_vars(None)
            .try_iter()
            .expect("map")
            .map(|k| (k.to_string(), letter_vars(None).get_item(&k).expect("value")))
            .collect();
        vars.insert("vote_links".into(), context! {});
        let closing = templates
            .render(Language::It, "closing", Value::from(vars.clone()))
            .expect("closing");
        assert!(
            !closing.body.contains("/vote/") && closing.body.contains("scrivendo soltanto 1 (positivo)"),
            "{}",
            closing.body
        );
        // The acknowledgment's privacy notice names the controller and links the full notice;
        // without them, a generic sentence and no broken link.
        for language in [Language::It, Language::En] {
            let ack = templates.render(language, "ack", letter_vars(None)).expect("ack");
            let flat = ack.body.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                flat.contains("Comune di San Giovanni in Persiceto")
                    && ack.body.contains("\nhttps://www.comune.example.it/privacy\n"),
                "{}",
                ack.body
            );
        }
        vars.insert("privacy".into(), context! { controller => "", url => "" });
        for (language, generic) in [
            (Language::It, "dal Comune, titolare"),
            (Language::En, "the municipality, the data"),
        ] {
            let ack = templates
                .render(language, "ack", Value::from(vars.clone()))
                .expect("ack");
            let flat = ack.body.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(generic) && !ack.body.contains("://"), "{}", ack.body);
        }
        // The answer to a vote by mail: recorded (until when) or not.
        for recorded in [true, false] {
            vars.insert("recorded".into(), Value::from(recorded));
            let answer = templates
                .render(Language::It, "vote", Value::from(vars.clone()))
                .expect("vote");
            assert_eq!(
                answer.subject.contains("Giudizio registrato"),
                recorded,
                "{}",
                answer.subject
            );
            assert!(answer.body.contains("🙁 negativo") == recorded, "{}", answer.body);
        }
        // Notices to operators are not letters: never rewrapped.
        assert!(!is_letter("it/operator.txt") && !is_letter("en/operator_reply.txt") && is_letter("en/take_in.txt"));
    }
}
