//! The mapping expression language (a FEEL subset): lexer, parser with spans, evaluator.
