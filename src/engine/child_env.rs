//! The base environment of every service: wfop's own, without secrets or their sources, and
//! the warning naming the inherited variables dropped because they hold a secret's value.

use std::ffi::OsString;

use super::service::SECRETS_FD_VAR;
use crate::secrets::SecretStore;

/// The one base environment of every child: wfop's own, without `SECRET_*`, without the
/// variables secrets were read from, without `$WFOP_SECRETS_FD`, and without any inherited
/// variable whose value equals or contains a secret's value (a copy the shell also exported).
/// Returns the names of the variables dropped for that last reason (`None` for a name that
/// itself holds a secret's value, which is never shown).
pub(crate) fn base_env(store: &SecretStore) -> (Vec<(OsString, OsString)>, Vec<Option<String>>) {
    use std::os::unix::ffi::OsStrExt;
    let sources = store.source_env_vars();
    let mut dropped = Vec::new();
    let env = std::env::vars_os()
        .filter(|(k, v)| {
            let name = k.to_string_lossy();
            if name.starts_with("SECRET_")
                || name == SECRETS_FD_VAR
                || sources.iter().any(|s| *s == name)
            {
                return false;
            }
            let name_holds = store.holds_a_value(k.as_bytes());
            if name_holds || store.holds_a_value(v.as_bytes()) {
                dropped.push((!name_holds).then(|| name.into_owned()));
                return false;
            }
            true
        })
        .collect();
    (env, dropped)
}

/// "inherited variables `A`, `B` hold a secret's value; no service gets them" (names only).
pub(crate) fn dropped_warning(dropped: &[Option<String>]) -> String {
    let mut names: Vec<String> = dropped.iter().flatten().map(|n| format!("`{n}`")).collect();
    let hidden = dropped.iter().filter(|n| n.is_none()).count();
    if hidden > 0 {
        names.push(format!("{hidden} whose name holds one"));
    }
    let (word, verb) = if dropped.len() == 1 {
        ("variable", "holds")
    } else {
        ("variables", "hold")
    };
    format!(
        "inherited {word} {} {verb} a secret's value; no service gets {}",
        names.join(", "),
        if dropped.len() == 1 { "it" } else { "them" }
    )
}

#[cfg(test)]
mod tests {
    use super::dropped_warning;

    #[test]
    fn the_dropped_warning_names_variables_but_not_a_name_holding_a_value() {
        let w = dropped_warning(&[Some("OTHER_COPY".into()), Some("EMBED".into()), None]);
        assert_eq!(
            w,
            "inherited variables `OTHER_COPY`, `EMBED`, 1 whose name holds one hold a secret's \
             value; no service gets them"
        );
        let w = dropped_warning(&[Some("COPY".into())]);
        assert_eq!(
            w,
            "inherited variable `COPY` holds a secret's value; no service gets it"
        );
    }
}
