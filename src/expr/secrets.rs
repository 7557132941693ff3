//! Reads the `$secrets` mapping statically: which service parameter gets which workflow secret.
//! `secret_value(…)` is never evaluated; it is only recognised here.

use super::Error;
use super::ast::{Expr, ExprKind, Span};

/// One `"param": secret_value("secret")` entry of a `$secrets` mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretBinding {
    /// The service's parameter name (the context key), e.g. `ibm_token`.
    pub param: String,
    pub param_span: Span,
    /// The workflow secret it is bound to (the string literal), e.g. `ibm_api_token`.
    pub secret: String,
    pub secret_span: Span,
}

const SHAPE: &str = "{ \"param\": secret_value(\"secret_name\"), … }";

/// Extracts the bindings of a `$secrets` mapping value. It must be a context literal whose
/// every entry value is `secret_value(<string literal>)`; otherwise every offending place is
/// returned with its span and a message.
pub fn secret_bindings(expr: &Expr) -> Result<Vec<SecretBinding>, Vec<Error>> {
    let ExprKind::Context(entries) = &expr.kind else {
        let message = match &expr.kind {
            ExprKind::Call { name, .. } if name == "secret_value" => {
                format!("the $secrets mapping must be a context naming the parameter, like {SHAPE}")
            }
            _ => format!("expected a context like {SHAPE} here"),
        };
        return Err(vec![Error {
            span: expr.span,
            message,
        }]);
    };
    let mut bindings = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        if entry.key.is_empty() {
            errors.push(Error {
                span: entry.key_span,
                message: "the parameter name must not be empty".into(),
            });
        }
        match secret_name(&entry.value) {
            Ok((secret, secret_span)) => bindings.push(SecretBinding {
                param: entry.key.clone(),
                param_span: entry.key_span,
                secret,
                secret_span,
            }),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(bindings)
    } else {
        Err(errors)
    }
}

/// The string literal of a `secret_value("…")` call.
fn secret_name(value: &Expr) -> Result<(String, Span), Error> {
    let ExprKind::Call { name, args, .. } = &value.kind else {
        let mut message = "expected secret_value(\"name\") here".to_string();
        if matches!(value.kind, ExprKind::String(_) | ExprKind::Number(_)) {
            message.push_str(
                " (a literal is refused: a secret value never belongs in a workflow; name the secret and supply its value with --secret, the input's `$secrets` or the prompt)",
            );
        } else if super::analyze(value).secret_value_calls.is_empty() {
            message.push_str(" (a $secrets entry names a workflow secret)");
        } else {
            message.push_str(" (a secret cannot be combined with other values)");
        }
        return Err(Error {
            span: value.span,
            message,
        });
    };
    if name != "secret_value" {
        return Err(Error {
            span: value.span,
            message: "expected secret_value(\"name\") here, found a call of another function"
                .into(),
        });
    }
    match args.as_slice() {
        [arg] => match &arg.kind {
            ExprKind::String(s) if s.trim().is_empty() => Err(Error {
                span: arg.span,
                message: "the secret name must not be empty".into(),
            }),
            ExprKind::String(s) => Ok((s.clone(), arg.span)),
            _ => Err(Error {
                span: arg.span,
                message:
                    "secret_value takes one string literal, like secret_value(\"ibm_api_token\")"
                        .into(),
            }),
        },
        _ => Err(Error {
            span: value.span,
            message: format!(
                "secret_value takes one string literal, like secret_value(\"ibm_api_token\"); found {} arguments",
                args.len()
            ),
        }),
    }
}
