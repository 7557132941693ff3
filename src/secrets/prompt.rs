//! Asking the operator for missing secrets in plain mode: `rpassword` on `/dev/tty`, nothing
//! echoed; and the exit-2 report when there is no terminal to ask.

use std::fs::OpenOptions;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::store::{SecretError, SecretStore, Source};

/// A secret the workflow needs that no source supplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub name: String,
    pub description: Option<String>,
    /// Where it is used, e.g. `orchestrated (ibm_token)`.
    pub used_by: Vec<String>,
}

/// True when a controlling terminal can be opened to ask on.
pub fn terminal_available() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Asks for each missing secret on `/dev/tty` with its description; empty answers are asked again
/// (three tries). Fails if the terminal cannot be used.
pub fn prompt_missing(store: &mut SecretStore, missing: &[Missing]) -> Result<(), PromptError> {
    for m in missing {
        let mut label = format!("secret {}", m.name);
        if let Some(d) = &m.description {
            label.push_str(&format!(" ({d})"));
        }
        if !m.used_by.is_empty() {
            label.push_str(&format!(", used by {}", m.used_by.join(", ")));
        }
        let mut tries = 0;
        loop {
            let answer = Zeroizing::new(
                rpassword::prompt_password(format!("{label}: "))
                    .map_err(|e| PromptError::Terminal(e.to_string()))?,
            );
            if answer.trim().is_empty() {
                tries += 1;
                if tries >= 3 {
                    return Err(PromptError::Empty(m.name.clone()));
                }
                eprintln!("wfop: an empty value is not a secret; try again");
                continue;
            }
            store.insert(
                &m.name,
                SecretString::from(Box::<str>::from(answer.as_str())),
                Source::Prompt,
            )?;
            break;
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cannot ask on the terminal: {0}")]
    Terminal(String),
    #[error("no value given for secret `{0}`")]
    Empty(String),
    #[error(transparent)]
    Store(#[from] SecretError),
}

/// The message for missing secrets with no terminal: each name and the flags that supply it.
pub fn missing_report(missing: &[Missing]) -> String {
    let mut out = String::from("wfop: missing secrets and no terminal to ask for them:\n");
    for m in missing {
        out.push_str(&format!("  {}", m.name));
        if let Some(d) = &m.description {
            out.push_str(&format!(" — {d}"));
        }
        if !m.used_by.is_empty() {
            out.push_str(&format!(" (used by {})", m.used_by.join(", ")));
        }
        out.push('\n');
    }
    out.push_str("supply each with --secret NAME=env:VAR or --secret NAME=file:PATH, or in the input's \"$secrets\" object, e.g.\n");
    let example: Vec<String> = missing
        .iter()
        .map(|m| format!("--secret {}=env:{}", m.name, m.name.to_uppercase()))
        .collect();
    out.push_str(&format!("  {}\n", example.join(" ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_every_secret_and_the_flags() {
        let missing = vec![
            Missing {
                name: "ibm_api_token".into(),
                description: Some("IBM Quantum API token".into()),
                used_by: vec!["orchestrated (ibm_token)".into()],
            },
            Missing {
                name: "data_key".into(),
                description: None,
                used_by: vec![],
            },
        ];
        let r = missing_report(&missing);
        assert!(
            r.contains("ibm_api_token — IBM Quantum API token (used by orchestrated (ibm_token))"),
            "{r}"
        );
        assert!(r.contains("data_key\n"), "{r}");
        assert!(
            r.contains("--secret ibm_api_token=env:IBM_API_TOKEN --secret data_key=env:DATA_KEY"),
            "{r}"
        );
    }
}
