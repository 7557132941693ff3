//! The screen fitted to a terminal: ASCII drawing, themes mapped down to 256/16 colours (also as
//! the bytes the backend writes), and the mouse.

use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::app::{self, App, AppEvent, Overlay};
use super::backend::FitBackend;
use super::colors::ColorDepth;
use super::fit::Fit;
use super::graphpane::GraphModel;
use super::keymap::Context;
use super::layout::inner_rect;
use super::screen_tests::{
    ch, key, log, new_app, prepare, prepared_with_secrets, quantum_running, render,
};
use super::theme::Theme;
use super::view;
use crate::engine::Stream;
use crate::ui::graph::Charset;

/// The quantum example mid-run as a non-UTF-8 terminal gets it: the graph laid out with its
/// ASCII shapes, every frame passed through the ASCII fit.
fn ascii_app() -> App {
    let (mut app, t) = quantum_running();
    app.charset = Charset::Ascii;
    app.graph = GraphModel::new(&app.wf, Charset::Ascii);
    app.fit.charset = Charset::Ascii;
    app::update(
        &mut app,
        AppEvent::Tick(t + std::time::Duration::from_millis(1600)),
    );
    app
}

#[test]
fn snapshot_ascii_drawing_in_a_non_utf8_locale() {
    let app = ascii_app();
    let screen = render(&app);
    assert!(screen.is_ascii(), "{screen}");
    assert!(screen.contains("+-"), "borders are + and -: {screen}");
    assert!(screen.contains('|'), "{screen}");
    assert!(
        screen.contains("******"),
        "the secret mask is ASCII: {screen}"
    );
    insta::assert_snapshot!(screen);
    // The graph itself is laid out with its ASCII shapes when the app starts in ASCII.
    let p = prepared_with_secrets("portfolio-risk");
    let mut a = App::new(
        p,
        Theme::default(),
        Charset::Ascii,
        std::time::Instant::now(),
    );
    a.fit.charset = Charset::Ascii;
    app::update(&mut a, AppEvent::Resize(100, 30));
    let s = render(&a);
    assert!(s.is_ascii(), "{s}");
    assert!(s.contains("-->") || s.contains("->"), "ASCII arrows: {s}");
}

/// Every colour of every cell of a frame.
fn colours(app: &App) -> Vec<Color> {
    let (w, h) = app.size;
    let mut buf = ratatui::buffer::Buffer::empty(Rect::new(0, 0, w, h));
    view::draw(app, buf.area, &mut buf);
    buf.content
        .iter()
        .flat_map(|c| [c.fg, c.bg, c.underline_color])
        .collect()
}

#[test]
fn a_24_bit_theme_is_mapped_down_to_the_terminal() {
    let (mut app, _) = quantum_running();
    app.theme = Theme::bundled("light").unwrap();
    // A service's own 24-bit and 256 colours are mapped too.
    log(
        &mut app,
        "orchestrated",
        Stream::Stdout,
        "\x1b[38;2;200;30;30mred\x1b[0m \x1b[38;5;208morange\x1b[0m\n",
    );
    assert!(
        colours(&app).iter().any(|c| matches!(c, Color::Rgb(..))),
        "the light theme has 24-bit colours"
    );
    app.fit.depth = ColorDepth::Ansi256;
    let c = colours(&app);
    assert!(!c.iter().any(|c| matches!(c, Color::Rgb(..))), "{c:?}");
    assert!(c.iter().any(|c| matches!(c, Color::Indexed(i) if *i >= 16)));
    app.fit.depth = ColorDepth::Ansi16;
    let c = colours(&app);
    assert!(
        !c.iter()
            .any(|c| matches!(c, Color::Rgb(..) | Color::Indexed(_))),
        "{c:?}"
    );
    app.fit.depth = ColorDepth::None;
    assert!(colours(&app).iter().all(|c| *c == Color::Reset));
    // The screen's text does not change with the colours.
    app.fit.depth = ColorDepth::TrueColor;
    let full = render(&app);
    app.fit.depth = ColorDepth::Ansi16;
    assert_eq!(render(&app), full);
    insta::assert_snapshot!(styled(&app));
}

/// The frame as the backend writes it.
fn bytes(app: &App) -> String {
    let (w, h) = app.size;
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
    };
    let mut term = Terminal::with_options(FitBackend::new(Vec::new()), options).unwrap();
    term.draw(|f| view::view(app, f)).unwrap();
    String::from_utf8_lossy(term.backend().writer()).into_owned()
}

/// One line per style run of the first rows: `fg bg modifiers` and the text, for a snapshot.
fn styled(app: &App) -> String {
    let (w, h) = app.size;
    let mut buf = ratatui::buffer::Buffer::empty(Rect::new(0, 0, w, h));
    view::draw(app, buf.area, &mut buf);
    let mut out = String::new();
    for y in 0..4 {
        let mut run = String::new();
        let mut style = None;
        for x in 0..w {
            let c = &buf[(x, y)];
            let s = (c.fg, c.bg, c.modifier);
            if style != Some(s) && !run.is_empty() {
                let (fg, bg, m) = style.unwrap_or(s);
                out.push_str(&format!("{fg:?} {bg:?} {m:?}: {run:?}\n"));
                run.clear();
            }
            style = Some(s);
            run.push_str(c.symbol());
        }
        if let Some((fg, bg, m)) = style {
            out.push_str(&format!("{fg:?} {bg:?} {m:?}: {run:?}\n"));
        }
    }
    out
}

#[test]
fn the_backend_sends_16_colours_as_16_colour_codes_and_no_24_bit_to_xterm() {
    let (mut app, _) = quantum_running();
    // The default theme: its 16 colours go out as SGR 30-37/90-97, never 38;5;N.
    app.fit.depth = ColorDepth::TrueColor;
    let out = bytes(&app);
    assert!(!out.contains("38;5;"), "{out:?}");
    assert!(!out.contains("48;5;"), "{out:?}");
    assert!(
        out.contains(";33m") || out.contains(";36m") || out.contains(";32m"),
        "{out:?}"
    );
    // The light theme on TERM=xterm (16 colours): no 24-bit, no 256 sequence.
    app.theme = Theme::bundled("light").unwrap();
    assert!(bytes(&app).contains("38;2;") || bytes(&app).contains("48;2;"));
    app.fit = Fit {
        depth: ColorDepth::detect(|k| (k == "TERM").then(|| "xterm".into()), |_| Some(8)),
        ..app.fit
    };
    assert_eq!(app.fit.depth, ColorDepth::Ansi16);
    let out = bytes(&app);
    for seq in ["38;2;", "48;2;", "38;5;", "48;5;"] {
        assert!(!out.contains(seq), "{seq} in {out:?}");
    }
}

fn click(app: &mut App, col: u16, row: u16) {
    mouse(app, MouseEventKind::Down(MouseButton::Left), col, row);
}

fn mouse(app: &mut App, kind: MouseEventKind, col: u16, row: u16) {
    app::update(
        app,
        AppEvent::Mouse(MouseEvent {
            kind,
            column: col,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    );
}

#[test]
fn a_click_focuses_a_pane_and_selects_the_node_under_it() {
    let (mut app, _) = new_app(prepared_with_secrets("portfolio-risk"), (100, 30));
    let g = inner_rect(app.layout.graph.unwrap());
    let report = app.wf.node_index("report").unwrap();
    let n = app.graph.layout.nodes[report];
    app.focus = Context::Logs;
    let (x, y) = (
        g.x + (n.x - app.graph_scroll.0) as u16 + 1,
        g.y + (n.y - app.graph_scroll.1) as u16,
    );
    click(&mut app, x, y);
    assert_eq!(app.focus, Context::Graph);
    assert_eq!(app.wf.nodes[app.selected].id, "report");
    // A click on the graph's empty space focuses it and keeps the selection.
    click(&mut app, g.x + g.width - 1, g.y + g.height - 1);
    assert_eq!(app.wf.nodes[app.selected].id, "report");
    let m = app.layout.mapping.unwrap();
    click(&mut app, m.x + 2, m.y + 1);
    assert_eq!(app.focus, Context::Mapping);
    let l = app.layout.logs.unwrap();
    click(&mut app, l.x + 2, l.y + 1);
    assert_eq!(app.focus, Context::Logs);
    // The key bar and title take no clicks.
    click(&mut app, 1, 0);
    assert_eq!(app.focus, Context::Logs);
}

#[test]
fn the_wheel_scrolls_the_log_and_a_click_selects_a_line() {
    let (mut app, _) = quantum_running();
    let text: String = (0..200).map(|i| format!("line {i}\n")).collect();
    log(&mut app, "orchestrated", Stream::Stdout, &text);
    key(&mut app, KeyCode::Enter);
    let l = inner_rect(app.layout.logs.unwrap());
    assert!(app.logview.is_following());
    let bottom = app.logview.visible_rows(&app.logs)[0].line;
    mouse(&mut app, MouseEventKind::ScrollUp, l.x + 3, l.y + 1);
    assert!(!app.logview.is_following(), "the wheel pauses follow");
    let top = app.logview.visible_rows(&app.logs)[0].line;
    assert_eq!(top + 3, bottom, "one notch is three lines");
    mouse(&mut app, MouseEventKind::ScrollUp, l.x + 3, l.y + 1);
    assert_eq!(app.logview.visible_rows(&app.logs)[0].line + 6, bottom);
    // A click puts the cursor on the line under it (y copies that line then).
    click(&mut app, l.x + 3, l.y + 1);
    let want = app.logview.visible_rows(&app.logs)[1].line;
    assert_eq!(app.logview.cursor(&app.logs), Some(want));
    // Down to the end: following again.
    for _ in 0..3 {
        mouse(&mut app, MouseEventKind::ScrollDown, l.x + 3, l.y + 1);
    }
    assert!(app.logview.is_following());
    // The wheel over the help scrolls the help.
    ch(&mut app, '?');
    mouse(&mut app, MouseEventKind::ScrollDown, 10, 10);
    assert!(matches!(app.overlay, Overlay::Help { scroll: 3 }));
    mouse(&mut app, MouseEventKind::ScrollUp, 10, 10);
    assert!(matches!(app.overlay, Overlay::Help { scroll: 0 }));
}

#[test]
fn the_mouse_does_nothing_at_the_prompt_or_with_shift() {
    let (mut app, _) = new_app(prepare("quantum-secrets"), (80, 24));
    assert!(app.prompt.is_some());
    let before = render(&app);
    let l = app.layout.graph.unwrap();
    click(&mut app, l.x + 2, l.y + 1);
    mouse(&mut app, MouseEventKind::ScrollDown, l.x + 2, l.y + 1);
    assert_eq!(render(&app), before);
    let (mut app, _) = quantum_running();
    let l = app.layout.logs.unwrap();
    app::update(
        &mut app,
        AppEvent::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: l.x + 2,
            row: l.y + 1,
            modifiers: KeyModifiers::SHIFT,
        }),
    );
    assert_eq!(
        app.focus,
        Context::Graph,
        "Shift+click belongs to the terminal"
    );
}
