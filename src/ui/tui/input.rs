//! Input mode (`i`): a line the operator types to the selected running service's stdin (its
//! pseudo-terminal, or a stdin it keeps open), and the size its terminal follows. What is typed
//! is shown in the line only: never logged, recorded, or put in an event.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use zeroize::Zeroizing;

use super::theme::{Role, Theme};
use crate::engine::NodeCommand;
use crate::workflow::{Node, NodeKind, Run};

/// The line being typed for one node.
#[derive(Clone, PartialEq, Eq)]
pub struct InputLine {
    /// The node it goes to (its id, as the engine names it).
    pub node: String,
    text: Zeroizing<String>,
}

/// Never the typed text.
impl std::fmt::Debug for InputLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputLine")
            .field("node", &self.node)
            .field("chars", &self.text.chars().count())
            .finish()
    }
}

impl InputLine {
    /// Input mode for `node`, or why it cannot take input (`running`: its state now). Whether
    /// a running service takes input at all (`"tty"`, `"stdin": "open"`, `--tty`) the engine
    /// decides and says.
    pub fn open(node: &Node, running: bool) -> Result<InputLine, String> {
        let id = &node.id;
        if node.kind != NodeKind::Service {
            return Err(format!("{id} is not a service: it takes no input"));
        }
        if matches!(node.run, Some(Run::Hub(_))) {
            return Err(format!(
                "{id} is a hub service: it runs elsewhere and takes no input"
            ));
        }
        if !running {
            return Err(format!("{id} is not running: nothing to type to"));
        }
        Ok(InputLine {
            node: id.clone(),
            text: Zeroizing::new(String::new()),
        })
    }

    /// A typed character (control characters are not text: they are dropped).
    pub fn push(&mut self, c: char) {
        if !c.is_control() {
            self.text.push(c);
        }
    }

    /// A paste: its first line.
    pub fn paste(&mut self, text: &str) {
        for c in text.lines().next().unwrap_or("").chars() {
            self.push(c);
        }
    }

    pub fn backspace(&mut self) {
        self.text.pop();
    }

    pub fn clear(&mut self) {
        self.text.clear();
    }

    /// Enter: the line and a newline go to the service; the field is empty again.
    pub fn submit(&mut self) -> NodeCommand {
        let mut data = Zeroizing::new(Vec::with_capacity(self.text.len() + 1));
        data.extend_from_slice(self.text.as_bytes());
        data.push(b'\n');
        self.text.clear();
        NodeCommand::Input {
            node: self.node.clone(),
            data,
        }
    }

    /// `C-d`: the line typed so far (with its newline, so the end of input comes at the start
    /// of a line, where a terminal's EOF character ends the input and does not only push the
    /// line out), then the end of the input.
    pub fn end(&mut self) -> Vec<NodeCommand> {
        let mut out = Vec::new();
        if !self.text.is_empty() {
            out.push(self.submit());
        }
        out.push(NodeCommand::InputEof {
            node: self.node.clone(),
        });
        out
    }

    /// Draws ` NODE> text▏` at the start of the key bar's row; returns the column after it.
    pub fn draw(&self, theme: &Theme, area: Rect, buf: &mut Buffer) -> u16 {
        let shown = format!(
            " {}> {}▏",
            crate::safe::line(&self.node),
            crate::safe::line(&self.text)
        );
        let (x, _) = buf.set_stringn(
            area.x,
            area.y,
            &shown,
            usize::from(area.width),
            theme.style(Role::Title),
        );
        x
    }
}

/// The size the log pane gives services on a terminal, once it changed (`sent`: the last sent).
pub fn resize(sent: &mut Option<(u16, u16)>, cols: u16, rows: u16) -> Option<NodeCommand> {
    if cols == 0 || rows == 0 || *sent == Some((cols, rows)) {
        return None;
    }
    *sent = Some((cols, rows));
    Some(NodeCommand::Resize { cols, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(id: &str) -> Node {
        let mut n = Node::new(id.into(), 0..0, NodeKind::Service, 0..0);
        n.run = Some(Run::Command {
            argv: vec!["cat".into()],
            cwd: None,
            env: Default::default(),
        });
        n
    }

    #[test]
    fn a_line_goes_with_a_newline_and_c_d_sends_the_rest_then_eof() {
        let mut l = InputLine::open(&service("a"), true).unwrap();
        for c in "hi\u{1b}x".chars() {
            l.push(c);
        }
        l.backspace();
        l.push('!');
        assert_eq!(format!("{l:?}"), "InputLine { node: \"a\", chars: 3 }");
        match l.submit() {
            NodeCommand::Input { node, data } => {
                assert_eq!((node.as_str(), data.as_slice()), ("a", &b"hi!\n"[..]))
            }
            other => panic!("{other:?}"),
        }
        l.paste("rest\nnot this");
        let cmds = l.end();
        assert_eq!(
            cmds,
            vec![
                NodeCommand::Input {
                    node: "a".into(),
                    data: Zeroizing::new(b"rest\n".to_vec())
                },
                NodeCommand::InputEof { node: "a".into() }
            ]
        );
        assert_eq!(l.end(), vec![NodeCommand::InputEof { node: "a".into() }]);
    }

    #[test]
    fn nodes_that_cannot_take_input_say_why() {
        let start = Node::new("s".into(), 0..0, NodeKind::Start, 0..0);
        assert_eq!(
            InputLine::open(&start, true).unwrap_err(),
            "s is not a service: it takes no input"
        );
        assert_eq!(
            InputLine::open(&service("a"), false).unwrap_err(),
            "a is not running: nothing to type to"
        );
    }

    #[test]
    fn resize_is_sent_once_per_size() {
        let mut sent = None;
        assert_eq!(
            resize(&mut sent, 100, 30),
            Some(NodeCommand::Resize {
                cols: 100,
                rows: 30
            })
        );
        assert_eq!(resize(&mut sent, 100, 30), None);
        assert_eq!(resize(&mut sent, 0, 30), None);
        assert!(resize(&mut sent, 90, 30).is_some());
    }
}
