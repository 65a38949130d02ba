//! Mail templates: `templates/<lang>/<name>.txt`, embedded in the binary and overridable
//! from a folder without rebuilding.
//!
//! A template's first line is `Subject: …`, then a blank line, then the body. Rendering is
//! strict: an undefined variable is an error, never an empty string, so a typo in an
//! administrator's override fails loudly instead of mailing a blank.
//! Files ending in `.html` are HTML-escaped automatically (minijinja's default).

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior, Value};

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
];

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
}

impl Templates {
    /// The embedded templates, each replaced by `override_dir/<lang>/<name>` when that exists.
    pub fn load(override_dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in EMBEDDED {
            let custom: Option<PathBuf> = override_dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let text = match &custom {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading template {}: {e}", path.display()))?,
                None => (*source).to_string(),
            };
            env.add_template_owned(*name, text)
                .map_err(|e| anyhow::anyhow!("template {name}: {e:#}"))?;
        }
        Ok(Templates { env })
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
        split_subject(&text).ok_or_else(|| anyhow::anyhow!("template {full} must start with a 'Subject: ' line"))
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
        for (lang, word) in [(Language::It, "Gentile utente"), (Language::En, "Dear user")] {
            let r = templates
                .render(
                    lang,
                    "ack",
                    context! { ticket => "TCK-2026-00001", subject => "Firma", helpdesk => "HD",
                    hours => "h", take_in_due => "lun 9 mar 09:45", dropped => vec!["big.pdf"],
                    status_note => "", status_link => "https://assistenza.example.it/t/TCK-2026-00001/abc" },
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
}
