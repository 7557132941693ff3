//! Environment variable names for secret parameters, by the hub runtime's exact rule (the
//! service protocol: the loader checks them for clashes, the engine sets them).

/// `SECRET_<NAME>` for a secret parameter: a name already in upper case gets `SECRET_` + name;
/// otherwise `_` goes before every upper-case letter but the first, and all is upper-cased.
pub fn secret_env_name(param: &str) -> String {
    // Python's str.isupper(): at least one cased character and no lower-case one.
    let already_upper =
        param.chars().any(char::is_uppercase) && !param.chars().any(char::is_lowercase);
    if already_upper {
        return format!("SECRET_{param}");
    }
    let mut out = String::with_capacity(param.len() + 12);
    out.push_str("SECRET_");
    for (i, c) in param.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::secret_env_name;

    #[test]
    fn hub_rule() {
        for (param, env) in [
            ("ibm_token", "SECRET_IBM_TOKEN"),
            ("ibmToken", "SECRET_IBM_TOKEN"),
            ("API_KEY", "SECRET_API_KEY"),
            ("iqm_token", "SECRET_IQM_TOKEN"),
            ("myAPIToken", "SECRET_MY_A_P_I_TOKEN"),
            ("market_data_api_key", "SECRET_MARKET_DATA_API_KEY"),
            ("Token", "SECRET_TOKEN"),
            ("APIKEY", "SECRET_APIKEY"),
        ] {
            assert_eq!(secret_env_name(param), env, "{param}");
        }
    }
}
