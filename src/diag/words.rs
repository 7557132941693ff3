//! Judgements about names that every diagnostic shares: which known name a misspelt one most
//! likely meant (`did_you_mean`), and what counts as an identifier.
//!
//! One rule for "close enough", used for workflow fields, node ids, variables, secret names,
//! `--secret` and `--input` names, theme roles, colours and bundled theme names. Case is
//! ignored. A candidate is close when either
//! - its Jaro–Winkler similarity is above 0.8: this weights a shared prefix, and catches
//!   slips in long names (`input_mappings` → `input_mapping`, `status.runing` →
//!   `status.running`, `ibm_api_tokn` → `ibm_api_token`); or
//! - its edit distance (with transpositions) is at most 2 and at most half the candidate's
//!   length: this catches a slip at the front of a short word, which Jaro–Winkler scores low
//!   (`xed` → `red`), while the half-length bound keeps a two-letter name like `id` from
//!   matching any two-letter word.
//!
//! The workflow loader used only the first test, the theme loader both (case-sensitively);
//! the union keeps every suggestion either made, and the best candidate is the one with the
//! highest similarity.

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|c| {
            let lower = c.to_lowercase();
            let score = strsim::jaro_winkler(&word, &lower);
            let close = score > 0.8
                || strsim::osa_distance(&word, &lower) <= 2.min(lower.chars().count() / 2);
            close.then_some((score, c))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `", did you mean `x`?"` or nothing.
pub fn suggestion<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!(", did you mean `{c}`?"))
        .unwrap_or_default()
}

/// Letters, digits and `_`, not starting with a digit: secret names, parameters, functions.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &[
        "id",
        "type",
        "label",
        "description",
        "run",
        "secrets",
        "input_mapping",
        "output_mapping",
        "timeout",
    ];

    #[test]
    fn long_names_are_matched_by_their_prefix() {
        let f = || FIELDS.iter().copied();
        assert_eq!(did_you_mean("lable", f()), Some("label"));
        assert_eq!(did_you_mean("input_mappings", f()), Some("input_mapping"));
        assert_eq!(did_you_mean("Input_Mapping", f()), Some("input_mapping"));
        assert_eq!(did_you_mean("zzz", f()), None);
        assert_eq!(
            did_you_mean("status.runing", ["status.running", "status"]),
            Some("status.running")
        );
    }

    #[test]
    fn short_words_are_matched_by_edit_distance() {
        let colours = ["red", "green", "blue", "reset", "default"];
        assert_eq!(did_you_mean("xed", colours), Some("red"));
        assert_eq!(did_you_mean("rde", colours), Some("red"));
        assert_eq!(did_you_mean("bleu", colours), Some("blue"));
        // Two letters off a two-letter name is no match.
        assert_eq!(did_you_mean("xy", ["id"]), None);
        assert_eq!(did_you_mean("purple", colours), None);
    }

    #[test]
    fn suggestion_is_a_sentence_tail_or_nothing() {
        assert_eq!(suggestion("lable", ["label"]), ", did you mean `label`?");
        assert_eq!(suggestion("zzz", ["label"]), "");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("ibm_token") && is_identifier("_x1"));
        assert!(!is_identifier("1x") && !is_identifier("a-b") && !is_identifier(""));
        assert!(!is_identifier("é"));
    }
}
