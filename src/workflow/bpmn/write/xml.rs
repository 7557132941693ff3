//! The XML text of an export: an indenting element writer whose attribute and text escaping
//! keeps every character (line breaks in a label, `&`, `<`, quotes) and writes nothing a
//! terminal would act on, and unique XML ids made from wfop's names.

use std::collections::HashSet;
use std::fmt::Write as _;

/// A character that an XML 1.0 document cannot hold, not even as a character reference (a C0
/// control but tab, line feed and carriage return; U+FFFE, U+FFFF).
pub fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Where the escaper is: in an attribute value, line breaks and tabs become references (a
/// parser would turn them into spaces); in text content they stay (but a carriage return,
/// which a parser would fold into the line feed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum In {
    Attribute,
    Text,
}

/// `text` escaped for `place`, or the first character XML cannot hold.
fn escape(text: &str, place: In) -> Result<String, char> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if place == In::Attribute => out.push_str("&quot;"),
            '\n' | '\t' if place == In::Attribute => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if is_forbidden(c) => return Err(c),
            // C1 controls, DEL and the invisible reordering characters: legal XML, kept as
            // references so the file never drives a terminal it is printed on.
            c if crate::safe::is_unsafe_char(c) => {
                let _ = write!(out, "&#x{:X};", c as u32);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A character an export cannot write, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// The element being written (a node id, the workflow's name, …).
    pub element: String,
    /// The attribute or element whose text holds it (`name`, `documentation`, …).
    pub field: String,
    pub char: char,
}

/// Writes elements with two-space indentation. The first character that XML cannot hold is
/// remembered (and left out); the export reports it instead of the text.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
    depth: usize,
    /// What is being written, for [`Forbidden::element`].
    pub element: String,
    forbidden: Option<Forbidden>,
}

impl Xml {
    pub fn new() -> Xml {
        Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            ..Xml::default()
        }
    }

    fn escaped(&mut self, text: &str, place: In, field: &str) -> String {
        match escape(text, place) {
            Ok(s) => s,
            Err(c) => {
                self.forbidden.get_or_insert_with(|| Forbidden {
                    element: self.element.clone(),
                    field: field.to_string(),
                    char: c,
                });
                String::new()
            }
        }
    }

    fn start_tag(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        let _ = write!(self.out, "{:width$}<{tag}", "", width = self.depth * 2);
        for (name, value) in attrs {
            let value = self.escaped(value, In::Attribute, name);
            let _ = write!(self.out, " {name}=\"{value}\"");
        }
    }

    /// `<tag a="v">` on a line of its own; the next lines are indented one more.
    pub fn open(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.start_tag(tag, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    /// `</tag>`, closing the innermost [`Xml::open`].
    pub fn close(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        let _ = writeln!(self.out, "{:width$}</{tag}>", "", width = self.depth * 2);
    }

    /// `<tag a="v" />`.
    pub fn empty(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.start_tag(tag, attrs);
        self.out.push_str(" />\n");
    }

    /// `<tag a="v">text</tag>`, the text exactly as given.
    pub fn text(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(tag, attrs);
        let text = self.escaped(text, In::Text, tag);
        let _ = writeln!(self.out, ">{text}</{tag}>");
    }

    /// The document, or the first character it could not hold.
    pub fn finish(self) -> Result<String, Forbidden> {
        match self.forbidden {
            Some(f) => Err(f),
            None => Ok(self.out),
        }
    }
}

/// Hands out XML ids, each once: a wfop name made into an XML name (characters outside
/// letters, digits, `_`, `-` and `.` become `_`; a name that cannot start one gets `prefix`),
/// with `_2`, `_3`, … when it is taken.
#[derive(Debug, Default)]
pub struct Ids {
    taken: HashSet<String>,
}

impl Ids {
    /// Marks `id` as taken as it is (node ids keep their names).
    pub fn reserve(&mut self, id: &str) {
        self.taken.insert(id.to_string());
    }

    /// A fresh id made from `name`.
    pub fn fresh(&mut self, prefix: &str, name: &str) -> String {
        let mut base: String = name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !base.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            base.insert_str(0, prefix);
        }
        let mut id = base.clone();
        let mut n = 1;
        while self.taken.contains(&id) {
            n += 1;
            id = format!("{base}_{n}");
        }
        self.taken.insert(id.clone());
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_every_character() {
        assert_eq!(
            escape("a & b <c> \"d\"\nline\ttab\r", In::Attribute).as_deref(),
            Ok("a &amp; b &lt;c&gt; &quot;d&quot;&#10;line&#9;tab&#13;")
        );
        assert_eq!(escape("x \"y\"\nz", In::Text).as_deref(), Ok("x \"y\"\nz"));
        // Legal in XML but not on a terminal: a reference.
        assert_eq!(
            escape("a\u{9b}b\u{202e}", In::Text).as_deref(),
            Ok("a&#x9B;b&#x202E;")
        );
        assert_eq!(escape("a\u{1}", In::Text), Err('\u{1}'));
    }

    #[test]
    fn forbidden_characters_are_reported_with_their_place() {
        let mut x = Xml::new();
        x.element = "task".into();
        x.empty("bpmn:task", &[("id", "task"), ("name", "bell\u{7}")]);
        let f = x.finish().unwrap_err();
        assert_eq!(
            f,
            Forbidden {
                element: "task".into(),
                field: "name".into(),
                char: '\u{7}'
            }
        );
    }

    #[test]
    fn ids_are_unique_xml_names() {
        let mut ids = Ids::default();
        ids.reserve("Flow_a_b");
        assert_eq!(ids.fresh("Flow_", "Flow_a_b"), "Flow_a_b_2");
        assert_eq!(ids.fresh("Flow_", "Flow_a_b"), "Flow_a_b_3");
        assert_eq!(ids.fresh("Error_", "42 bad/code"), "Error_42_bad_code");
        assert_eq!(ids.fresh("P_", "my flow"), "my_flow");
    }
}
