"""Just enough of the FEEL subset of DESIGN.md section 3 to evaluate the example workflows'
mappings in the end-to-end test, until wfop's engine can run them: literals, names, paths
``a.b``, 1-based index ``a[1]``, context literals (later entries see earlier ones), lists, and
the calls ``count(list)`` and ``secret_value("field")`` (a reference, never the value).
Missing variables and keys are null. Not wfop's evaluator; a test aid only.
"""

import json
import re

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)|(?P<backtick>`[^`]*`)|(?P<punct>[{}\[\]().,:]))"""
)


class SecretRef:
    def __init__(self, field):
        self.field = field

    def __eq__(self, other):
        return isinstance(other, SecretRef) and other.field == self.field

    def __repr__(self):
        return f"secret_value({self.field!r})"


def tokenize(text):
    text = text.strip()
    if text.startswith("="):
        text = text[1:]
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise SyntaxError(f"unexpected character at {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "string":
            value = json.loads(value)
        elif kind == "number":
            value = float(value) if "." in value else int(value)
        elif kind == "backtick":
            kind, value = "name", value[1:-1]
        tokens.append((kind, value))
        pos = m.end()
    tokens.append(("eof", None))
    return tokens


class _Parser:
    def __init__(self, text, scope):
        self.tokens = tokenize(text)
        self.i = 0
        self.scopes = [scope]

    def peek(self):
        return self.tokens[self.i]

    def take(self, kind=None, value=None):
        tok = self.tokens[self.i]
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise SyntaxError(f"expected {value or kind}, found {tok[1]!r}")
        self.i += 1
        return tok

    def lookup(self, name):
        for scope in reversed(self.scopes):
            if isinstance(scope, dict) and name in scope:
                return scope[name]
        return None

    def expression(self):
        value = self.primary()
        while True:
            kind, tok = self.peek()
            if (kind, tok) == ("punct", "."):
                self.take()
                key = self.take("name")[1]
                value = value.get(key) if isinstance(value, dict) else None
            elif (kind, tok) == ("punct", "["):
                self.take()
                index = self.expression()
                self.take("punct", "]")
                if isinstance(value, list) and isinstance(index, int) and index != 0:
                    n = index - 1 if index > 0 else len(value) + index
                    value = value[n] if 0 <= n < len(value) else None
                else:
                    value = None
            else:
                return value

    def primary(self):
        kind, tok = self.take()
        if kind in ("string", "number"):
            return tok
        if kind == "name":
            if tok in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[tok]
            if self.peek() == ("punct", "("):
                self.take()
                args = []
                while self.peek() != ("punct", ")"):
                    args.append(self.expression())
                    if self.peek() == ("punct", ","):
                        self.take()
                self.take("punct", ")")
                return self.call(tok, args)
            return self.lookup(tok)
        if (kind, tok) == ("punct", "{"):
            context = {}
            self.scopes.append(context)
            while self.peek() != ("punct", "}"):
                key_kind, key = self.take()
                if key_kind not in ("string", "name"):
                    raise SyntaxError(f"context key expected, found {key!r}")
                self.take("punct", ":")
                context[key] = self.expression()
                if self.peek() == ("punct", ","):
                    self.take()
            self.take("punct", "}")
            self.scopes.pop()
            return context
        if (kind, tok) == ("punct", "["):
            items = []
            while self.peek() != ("punct", "]"):
                items.append(self.expression())
                if self.peek() == ("punct", ","):
                    self.take()
            self.take("punct", "]")
            return items
        if (kind, tok) == ("punct", "("):
            value = self.expression()
            self.take("punct", ")")
            return value
        raise SyntaxError(f"unexpected {tok!r}")

    def call(self, name, args):
        if name == "count":
            return len(args[0]) if len(args) == 1 and isinstance(args[0], list) else None
        if name == "secret_value":
            return SecretRef(args[0])
        raise NameError(f"unknown function {name}")


def evaluate(text, variables):
    parser = _Parser(text, variables)
    value = parser.expression()
    parser.take("eof")
    return value


def references(text):
    """The top-level variable names an expression reads (context keys and calls excluded)."""
    tokens = tokenize(text)
    names = set()
    for i, (kind, tok) in enumerate(tokens):
        if kind != "name" or tok in ("true", "false", "null"):
            continue
        before = tokens[i - 1] if i else ("", None)
        after = tokens[i + 1]
        if before == ("punct", ".") or after in (("punct", ":"), ("punct", "(")):
            continue
        names.add(tok)
    return names


def apply_mapping(rows, variables):
    """Evaluate ordered {name, value} rows; returns (values, secrets) where secrets maps
    parameter -> workflow secret field for the `$secrets` row."""
    values, secrets = {}, {}
    for row in rows:
        result = evaluate(row["value"], variables)
        if row["name"] == "$secrets":
            secrets = {param: ref.field for param, ref in result.items()}
        else:
            values[row["name"]] = result
    return values, secrets
