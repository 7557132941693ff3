//! XML plumbing for the BPMN reader: the parse (its errors at line:col), elements by namespace,
//! and attribute and text values as `Str`s whose offsets map back into the file.

use roxmltree::{Document, Node, ParsingOptions};

use crate::diag::Diagnostic;
use crate::workflow::json::{Span, Str};

/// Parses the file; a syntax error is a diagnostic at its line:col.
pub fn parse(text: &str) -> Result<Document<'_>, Diagnostic> {
    // No DTD (roxmltree's default): entity expansion is no way in for a file we only read.
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        let at = offset_of(text, pos.row as usize, pos.col as usize);
        let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
        Diagnostic::error(at..end, format!("invalid XML: {e}"), "here")
    })
}

/// The byte offset of a 1-based row and column (in characters), clamped to the text.
fn offset_of(text: &str, row: usize, col: usize) -> usize {
    let mut at = 0;
    for _ in 1..row {
        match text[at..].find('\n') {
            Some(i) => at += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    text[at..line_end]
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(line_end, |(i, _)| at + i)
}

/// Whether `node` is the element `name` of namespace `ns`.
pub fn is(node: Node, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

/// Whether `node` is an element of namespace `ns`.
pub fn in_ns(node: Node, ns: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns)
}

/// The child elements of `node` in namespace `ns` named `name`.
pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is(*c, ns, name))
}

/// The first child element of `node` in namespace `ns` named `name`.
pub fn child<'a, 'i>(node: Node<'a, 'i>, ns: &'a str, name: &'a str) -> Option<Node<'a, 'i>> {
    children(node, ns, name).next()
}

/// The span of an element's `<` and qualified name: where its diagnostics point.
pub fn tag_span(text: &str, node: Node) -> Span {
    let start = node.range().start;
    let rest = &text[start.min(text.len())..];
    let len = rest
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_whitespace() || matches!(c, '>' | '/'))
        .map_or(rest.len(), |(i, _)| i);
    start..start + len
}

/// The span of an attribute's value, quotes included; the tag when it is missing.
pub fn attr_span(text: &str, node: Node, name: &str) -> Span {
    match node.attribute_node(name) {
        Some(a) => {
            let v = a.range_value();
            v.start.saturating_sub(1)..(v.end + 1).min(text.len())
        }
        None => tag_span(text, node),
    }
}

/// An attribute (no namespace) as a `Str` whose offsets map into the file.
pub fn attr_str(text: &str, node: Node, name: &str) -> Option<Str> {
    let a = node.attribute_node(name)?;
    let range = a.range_value();
    let raw = text.get(range.clone())?;
    let span = range.start.saturating_sub(1)..(range.end + 1).min(text.len());
    Some(decoded(a.value(), raw, range.start, span, true))
}

/// The text content of an element (its text and CDATA, comments left out) as a `Str` whose
/// offsets map into the file; `None` when it has none.
pub fn text_str(text: &str, node: Node) -> Option<Str> {
    let value: String = node
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect();
    let range = node.range();
    let element = text.get(range.clone())?;
    let open_end = start_tag_end(element)?;
    if element[..open_end].ends_with("/>") {
        return None;
    }
    let close = element.rfind("</")?;
    let content_start = range.start + open_end;
    let raw = text.get(content_start..range.start + close)?;
    let span = content_start..range.start + close;
    Some(decoded(&value, raw, content_start, span, false))
}

/// The offset just past the `>` that ends an element's start tag.
fn start_tag_end(element: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in element.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// `value` (the parser's decoded text) with anchors found by decoding `raw` (its source, at
/// `at` in the file) the same way: one anchor before and after every entity reference,
/// CDATA marker, skipped comment and normalised line end. When the two decodings differ
/// (input this decoder does not know), the text keeps one anchor at its start.
fn decoded(value: &str, raw: &str, at: usize, span: Span, attribute: bool) -> Str {
    let mut out = String::with_capacity(raw.len());
    let mut anchors = vec![(0, at)];
    let mut i = 0;
    let bytes = raw.as_bytes();
    let mark = |out: &String, file: usize, anchors: &mut Vec<(usize, usize)>| {
        anchors.push((out.len(), at + file));
    };
    while i < raw.len() {
        let rest = &raw[i..];
        if !attribute && rest.starts_with("<![CDATA[") {
            let body = &rest[9..];
            let Some(end) = body.find("]]>") else { break };
            mark(&out, i + 9, &mut anchors);
            out.push_str(&body[..end].replace("\r\n", "\n"));
            i += 9 + end + 3;
            mark(&out, i, &mut anchors);
            continue;
        }
        if !attribute && rest.starts_with("<!--") {
            let Some(end) = rest.find("-->") else { break };
            i += end + 3;
            mark(&out, i, &mut anchors);
            continue;
        }
        if rest.starts_with('&') {
            let Some(semi) = rest.find(';') else { break };
            let Some(c) = entity(&rest[1..semi]) else {
                break;
            };
            mark(&out, i, &mut anchors);
            out.push(c);
            i += semi + 1;
            mark(&out, i, &mut anchors);
            continue;
        }
        if bytes[i] == b'\r' {
            mark(&out, i, &mut anchors);
            out.push(if attribute { ' ' } else { '\n' });
            i += if rest.starts_with("\r\n") { 2 } else { 1 };
            mark(&out, i, &mut anchors);
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        out.push(if attribute && matches!(c, '\n' | '\t') {
            ' '
        } else {
            c
        });
        i += c.len_utf8();
    }
    if out != value {
        anchors.truncate(1);
    }
    anchors.dedup();
    Str::from_parts(value.to_string(), span, anchors)
}

/// A predefined or character entity's character.
fn entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_attr(text: &str, name: &str) -> Str {
        let doc = parse(text).expect("parses");
        attr_str(text, doc.root_element(), name).expect("attribute")
    }

    #[test]
    fn attribute_offsets_map_through_entities() {
        let text = r#"<a v="= x + &#34;y&#34; + z"/>"#;
        let s = doc_attr(text, "v");
        assert_eq!(s.text, "= x + \"y\" + z");
        let z = s.text.find('z').expect("z");
        assert_eq!(&text[s.file_offset(z)..s.file_offset(z) + 1], "z");
        let y = s.text.find('y').expect("y");
        assert_eq!(&text[s.file_offset(y)..s.file_offset(y) + 1], "y");
        assert_eq!(&text[s.span.clone()], r#""= x + &#34;y&#34; + z""#);
    }

    #[test]
    fn attribute_line_breaks_stay_as_written() {
        let s = doc_attr("<a name=\"Job&#10;status?\"/>", "name");
        assert_eq!(s.text, "Job\nstatus?");
    }

    #[test]
    fn text_offsets_map_through_entities_and_cdata() {
        let text = "<c>=price &gt;= 0 and <![CDATA[q < 1]]> and r</c>";
        let doc = parse(text).expect("parses");
        let s = text_str(text, doc.root_element()).expect("text");
        assert_eq!(s.text, "=price >= 0 and q < 1 and r");
        for needle in ["q", "r", "0"] {
            let at = s.text.rfind(needle).expect("in text");
            assert_eq!(&text[s.file_offset(at)..s.file_offset(at) + 1], needle);
        }
        assert_eq!(
            text_str("<c/>", parse("<c/>").expect("parses").root_element()),
            None
        );
    }

    #[test]
    fn syntax_errors_point_at_line_and_column() {
        let text = "<a>\n  <b></c>\n</a>";
        let Err(d) = parse(text) else {
            panic!("parsed invalid XML")
        };
        assert!(d.message.starts_with("invalid XML"), "{}", d.message);
        assert_eq!(crate::diag::line_col(text, d.primary.0.start).0, 2);
    }

    #[test]
    fn tag_spans_cover_the_name() {
        let text = "<bpmn:userTask xmlns:bpmn=\"urn:x\" id=\"x\"/>";
        let doc = parse(text).expect("parses");
        assert_eq!(&text[tag_span(text, doc.root_element())], "<bpmn:userTask");
    }
}
