use super::*;
use crate::workflow::layout::{LayoutNode, layout};

const S: Shape = Shape::Start;
const E: Shape = Shape::End;
const V: Shape = Shape::Service;
const X: Shape = Shape::Exclusive;
const P: Shape = Shape::Parallel;
const T: Shape = Shape::Timer;

fn draw(nodes: &[(Shape, &str)], edges: &[(usize, usize)]) -> String {
    render_graph(nodes, edges, Charset::Unicode)
}

fn ascii(nodes: &[(Shape, &str)], edges: &[(usize, usize)]) -> String {
    render_graph(nodes, edges, Charset::Ascii)
}

fn lines(rows: &[&str]) -> String {
    rows.join("\n")
}

type Graph = (Vec<(Shape, &'static str)>, Vec<(usize, usize)>);

/// start → Fetch → {Classical, Quantum} → Report → end
fn fork_join_2() -> Graph {
    let nodes = vec![
        (S, ""),
        (V, "Fetch"),
        (V, "Classical"),
        (V, "Quantum"),
        (V, "Report"),
        (E, ""),
    ];
    let edges = vec![(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (4, 5)];
    (nodes, edges)
}

#[test]
fn linear() {
    let nodes = [(S, ""), (V, "Orchestrated Service"), (E, "")];
    assert_eq!(
        draw(&nodes, &[(0, 1), (1, 2)]),
        "○ → [Orchestrated Service] → ●"
    );
}

#[test]
fn linear_ascii() {
    let nodes = [(S, ""), (V, "Orchestrated Service"), (E, "")];
    assert_eq!(
        ascii(&nodes, &[(0, 1), (1, 2)]),
        "o -> [Orchestrated Service] -> @"
    );
}

#[test]
fn render_text_with_caller_texts() {
    // The TUI decorates its boxes; the layout only needs the widths.
    let texts: Vec<String> = ["○", "[✓ Orchestrated Service 1.2s]", "●"]
        .map(String::from)
        .to_vec();
    let shapes = [S, V, E];
    let nodes: Vec<LayoutNode> = shapes
        .iter()
        .zip(&texts)
        .map(|(&s, t)| LayoutNode::for_text(s, t))
        .collect();
    let l = layout(&nodes, &[(0, 1), (1, 2)]);
    assert_eq!(
        render_text(&l, &texts, Charset::Unicode),
        "○ → [✓ Orchestrated Service 1.2s] → ●"
    );
}

#[test]
fn fork_join_two_branches() {
    let (nodes, edges) = fork_join_2();
    assert_eq!(
        draw(&nodes, &edges),
        lines(&[
            "             ┌→ [Classical] ─┐",
            "○ → [Fetch] ─┤               ├→ [Report] → ●",
            "             └→ [Quantum] ───┘",
        ])
    );
}

#[test]
fn fork_join_two_branches_ascii() {
    let (nodes, edges) = fork_join_2();
    assert_eq!(
        ascii(&nodes, &edges),
        lines(&[
            "              +-> [Classical] -+",
            "o -> [Fetch] -+                +-> [Report] -> @",
            "              +-> [Quantum] ---+",
        ])
    );
}

#[test]
fn fork_join_three_branches() {
    let nodes = [(S, ""), (V, "A"), (V, "B"), (V, "C"), (V, "D"), (E, "")];
    let edges = [(0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (3, 5), (4, 5)];
    assert_eq!(
        draw(&nodes, &edges),
        lines(&[
            "         ┌→ [B] ─┐",
            "         │       │",
            "○ → [A] ─┼→ [C] ─┼→ ●",
            "         │       │",
            "         └→ [D] ─┘",
        ])
    );
    assert_eq!(
        ascii(&nodes, &edges),
        lines(&[
            "          +-> [B] -+",
            "          |        |",
            "o -> [A] -+-> [C] -+-> @",
            "          |        |",
            "          +-> [D] -+",
        ])
    );
}

#[test]
fn diamond_with_skip_edge() {
    // start → A → end, plus start → end.
    let nodes = [(S, ""), (V, "A"), (E, "")];
    let edges = [(0, 1), (1, 2), (0, 2)];
    assert_eq!(
        draw(&nodes, &edges),
        lines(&["○ ─┬→ [A] ─┐", "   └───────┴→ ●"])
    );
    assert_eq!(
        ascii(&nodes, &edges),
        lines(&["o -+-> [A] -+", "   +--------+-> @"])
    );
}

#[test]
fn skip_edge_between_services() {
    // A → C and A → B → C.
    let nodes = [(S, ""), (V, "A"), (V, "B"), (V, "C"), (E, "")];
    let edges = [(0, 1), (1, 3), (1, 2), (2, 3), (3, 4)];
    assert_eq!(
        draw(&nodes, &edges),
        lines(&["○ → [A] ─┬→ [B] ─┐", "         └───────┴→ [C] → ●",])
    );
}

#[test]
fn nested_forks() {
    let nodes = [
        (S, ""),
        (V, "A"),
        (V, "B1"),
        (V, "B2"),
        (V, "C"),
        (V, "D"),
        (E, ""),
    ];
    let edges = [
        (0, 1),
        (1, 2),
        (1, 5),
        (2, 3),
        (2, 4),
        (3, 5),
        (4, 5),
        (5, 6),
    ];
    assert_eq!(
        draw(&nodes, &edges),
        lines(&[
            "                  ┌→ [B2] ─┐",
            "         ┌→ [B1] ─┤        │",
            "○ → [A] ─┤        └→ [C] ──┼→ [D] → ●",
            "         └─────────────────┘",
        ])
    );
}

#[test]
fn two_end_nodes() {
    let nodes = [(S, ""), (V, "A"), (V, "B"), (E, ""), (E, "")];
    let edges = [(0, 1), (0, 2), (1, 3), (2, 4)];
    assert_eq!(
        draw(&nodes, &edges),
        lines(&["   ┌→ [A] → ●", "○ ─┤", "   └→ [B] → ●"])
    );
}

#[test]
fn long_edge_spanning_layers() {
    let nodes = [
        (S, ""),
        (V, "A"),
        (V, "B"),
        (V, "C"),
        (V, "Long one"),
        (E, ""),
    ];
    let edges = [(0, 1), (1, 2), (2, 3), (3, 5), (0, 4), (4, 5)];
    assert_eq!(
        draw(&nodes, &edges),
        lines(&[
            "   ┌→ [A] ────────┐",
            "○ ─┤              └→ [B] → [C] ─┐",
            "   └→ [Long one] ───────────────┴→ ●",
        ])
    );
    assert_eq!(
        ascii(&nodes, &edges),
        lines(&[
            "   +-> [A] --------+",
            "o -+               +-> [B] -> [C] -+",
            "   +-> [Long one] -----------------+-> @",
        ])
    );
}

#[test]
fn cycle_edge_is_drawn_as_a_loop() {
    let nodes = [(S, ""), (V, "A"), (V, "B"), (E, "")];
    let edges = [(0, 1), (1, 2), (2, 0), (2, 3)];
    assert_eq!(
        draw(&nodes, &edges),
        lines(&["┌→ ○ → [A] → [B] ─┬→ ●", "└───────←─────────┘"])
    );
}

/// The platform's polling pattern: submit, wait, poll, and back to the wait until done.
fn polling() -> Graph {
    let nodes = vec![
        (S, ""),
        (V, "Submit"),
        (T, "wait 30s"),
        (V, "Poll"),
        (X, "done?"),
        (V, "Report"),
        (E, ""),
    ];
    let edges = vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (4, 2), (5, 6)];
    (nodes, edges)
}

#[test]
fn polling_loop_reads_as_a_loop() {
    let (nodes, edges) = polling();
    insta::assert_snapshot!(draw(&nodes, &edges), @r"
        ○ → [Submit] ─┬→ ◷ wait 30s → [Poll] → ◇× done? ─┬→ [Report] → ●
                      └──────────────────←───────────────┘
    ");
    insta::assert_snapshot!(ascii(&nodes, &edges), @r"
        o -> [Submit] -+-> (t) wait 30s -> [Poll] -> <x> done? -+-> [Report] -> @
                       +----------------------<-----------------+
    ");
}

#[test]
fn exclusive_choice_and_merge() {
    let nodes = [
        (S, ""),
        (X, "which?"),
        (V, "Quantum"),
        (V, "Simulator"),
        (X, ""),
        (E, ""),
    ];
    let edges = [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (4, 5)];
    insta::assert_snapshot!(draw(&nodes, &edges), @r"
                       ┌→ [Quantum] ───┐
        ○ → ◇× which? ─┤               ├→ ◇× → ●
                       └→ [Simulator] ─┘
    ");
    insta::assert_snapshot!(ascii(&nodes, &edges), @r"
                         +-> [Quantum] ---+
        o -> <x> which? -+                +-> <x> -> @
                         +-> [Simulator] -+
    ");
}

#[test]
fn parallel_fork_and_join() {
    let nodes = [
        (S, ""),
        (P, "fork"),
        (V, "A"),
        (V, "B"),
        (V, "C"),
        (P, "join"),
        (E, ""),
    ];
    let edges = [
        (0, 1),
        (1, 2),
        (1, 3),
        (1, 4),
        (2, 5),
        (3, 5),
        (4, 5),
        (5, 6),
    ];
    insta::assert_snapshot!(draw(&nodes, &edges), @r"
                     ┌→ [A] ─┐
                     │       │
        ○ → ◇+ fork ─┼→ [B] ─┼→ ◇+ join → ●
                     │       │
                     └→ [C] ─┘
    ");
    insta::assert_snapshot!(ascii(&nodes, &edges), @r"
                       +-> [A] -+
                       |        |
        o -> <+> fork -+-> [B] -+-> <+> join -> @
                       |        |
                       +-> [C] -+
    ");
}

#[test]
fn nested_loops_do_not_cross() {
    // An inner retry loop inside an outer polling loop.
    let nodes = [
        (S, ""),
        (T, "wait"),
        (V, "Poll"),
        (X, "ok?"),
        (V, "Check"),
        (X, "done?"),
        (E, ""),
    ];
    let edges = [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 2),
        (3, 4),
        (4, 5),
        (5, 1),
        (5, 6),
    ];
    insta::assert_snapshot!(draw(&nodes, &edges), @r"
        ○ ─┬→ ◷ wait ─┬→ [Poll] → ◇× ok? ─┬→ [Check] → ◇× done? ─┬→ ●
           │          └─────←─────────────┘                      │
           └─────────────────────────←───────────────────────────┘
    ");
}

#[test]
fn self_loop_and_loop_out_of_the_last_layer() {
    let nodes = [(S, ""), (X, "again?"), (V, "Last")];
    let edges = [(0, 1), (1, 1), (1, 2), (2, 1)];
    insta::assert_snapshot!(draw(&nodes, &edges), @r"
        ○ ─┬→ ◇× again? ─┬→ [Last] ─┐
           ├──────←──────┘          │
           └──────←─────────────────┘
    ");
}

#[test]
fn gateway_and_timer_marks() {
    for (shape, uni, asc) in [
        (X, "◇× done?", "<x> done?"),
        (P, "◇+ done?", "<+> done?"),
        (T, "◷ done?", "(t) done?"),
    ] {
        assert_eq!(Charset::Unicode.node_text(shape, "done?"), uni);
        assert_eq!(Charset::Ascii.node_text(shape, "done?"), asc);
        // Without a label, the mark alone.
        assert_eq!(
            Charset::Unicode.node_text(shape, ""),
            uni.split(' ').next().unwrap_or("")
        );
    }
    // Labels are made terminal-safe.
    assert_eq!(
        Charset::Unicode.node_text(X, "a\u{1b}[2Jb"),
        "◇× a\\x1b[2Jb"
    );
}

#[test]
fn empty_and_isolated() {
    assert_eq!(draw(&[], &[]), "");
    assert_eq!(draw(&[(V, "A"), (V, "Bee")], &[]), "[A]\n\n[Bee]");
}

#[test]
fn canvas_cells_carry_owners() {
    let nodes = [LayoutNode::new(S, 1), LayoutNode::new(E, 1)];
    let l = layout(&nodes, &[(0, 1)]);
    let texts = ["○".to_string(), "●".to_string()];
    let c = Canvas::paint(&l, &texts, Charset::Unicode);
    assert_eq!((c.width(), c.height()), (5, 1));
    let owners: Vec<Owner> = c.row(0).iter().map(|cell| cell.owner).collect();
    assert_eq!(
        owners,
        [
            Owner::Node(0),
            Owner::Empty,
            Owner::Edge(0),
            Owner::Empty,
            Owner::Node(1)
        ]
    );
    assert_eq!(c.get(2, 0).map(|cell| cell.ch), Some('→'));
    assert_eq!(c.get(5, 0), None);
    assert!(c.row(1).is_empty());
}

#[test]
fn wide_and_control_characters() {
    let texts = ["[量子]".to_string(), "[a\u{1b}b]".to_string()];
    let nodes: Vec<LayoutNode> = texts.iter().map(|t| LayoutNode::for_text(V, t)).collect();
    let l = layout(&nodes, &[(0, 1)]);
    let c = Canvas::paint(&l, &texts, Charset::Unicode);
    assert_eq!(c.get(2, 0).map(|cell| cell.ch), Some(Cell::WIDE_TAIL));
    assert_eq!(c.to_text(), "[量子] → [a\u{FFFD}b]");
}

#[test]
fn texts_are_truncated_and_padded_to_the_node() {
    let nodes = [LayoutNode::new(V, 4), LayoutNode::new(V, 6)];
    let l = layout(&nodes, &[(0, 1)]);
    let texts = ["[toolong]".to_string(), "[量]".to_string()];
    assert_eq!(render_text(&l, &texts, Charset::Unicode), "[too → [量]");
    // A missing text leaves the node blank, and a double-width character never half fits.
    let texts = ["[量量]".to_string()];
    assert_eq!(render_text(&l, &texts, Charset::Unicode), "[量  →");
}

mod props {
    use proptest::prelude::*;

    use super::*;
    use crate::workflow::layout::{display_width, layout_with};

    fn label() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                4 => prop::char::range('a', 'z'),
                1 => Just('量'),
                1 => Just('\u{301}'),
                1 => Just('\t'),
                1 => Just('✓'),
            ],
            0..10,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn rendering_stays_inside_the_layout(
            labels in prop::collection::vec((0usize..3, label()), 0..16),
            edges in prop::collection::vec((0usize..18, 0usize..18), 0..40),
            // Widths the caller got wrong must not break the drawing either.
            skew in prop::collection::vec(0usize..3, 16),
            ascii in any::<bool>(),
            window in (0usize..40, 0usize..20, 0usize..40, 0usize..20),
        ) {
            let charset = if ascii { Charset::Ascii } else { Charset::Unicode };
            let shapes = [S, V, E];
            let texts: Vec<String> = labels
                .iter()
                .map(|(s, l)| charset.node_text(shapes[*s], l))
                .collect();
            let nodes: Vec<LayoutNode> = labels
                .iter()
                .zip(&texts)
                .enumerate()
                .map(|(i, ((s, _), t))| {
                    let w = display_width(t);
                    let w = match skew[i] { 0 => w, 1 => w + 2, _ => w / 2 };
                    LayoutNode::new(shapes[*s], w)
                })
                .collect();
            let l = layout_with(&nodes, &edges, &charset.layout_options());
            let text = render_text(&l, &texts, charset);
            prop_assert!(text.lines().count() <= l.height.max(1));
            for line in text.lines() {
                prop_assert!(display_width(line) <= l.width, "{line:?} wider than {}", l.width);
                prop_assert!(!line.ends_with(' '));
            }
            let (x, y, width, height) = window;
            let part = Canvas::paint_window(&l, &texts, charset, Window { x, y, width, height });
            let part_text = part.to_text();
            prop_assert!(part_text.lines().all(|line| display_width(line) <= width));
            let canvas = Canvas::paint(&l, &texts, charset);
            for y in 0..canvas.height() {
                for (x, cell) in canvas.row(y).iter().enumerate() {
                    if let Owner::Node(i) = cell.owner {
                        let p = l.nodes[i];
                        prop_assert!(p.y == y && p.x <= x && x < p.x + p.width);
                    }
                }
            }
        }
    }
}

#[test]
fn window_paints_part_of_the_layout() {
    let texts = [
        "○".to_string(),
        "[量子 Service]".to_string(),
        "●".to_string(),
    ];
    let shapes = [S, V, E];
    let nodes: Vec<LayoutNode> = shapes
        .iter()
        .zip(&texts)
        .map(|(&s, t)| LayoutNode::for_text(s, t))
        .collect();
    let l = layout(&nodes, &[(0, 1), (1, 2)]);
    assert_eq!(
        render_text(&l, &texts, Charset::Unicode),
        "○ → [量子 Service] → ●"
    );
    let window = Window {
        x: 2,
        y: 0,
        width: 4,
        height: 3,
    };
    let c = Canvas::paint_window(&l, &texts, Charset::Unicode, window);
    assert_eq!((c.width(), c.height()), (4, 3));
    // "→ [量" with 量 cut in half by the right edge.
    assert_eq!(c.to_text(), "→ [\n\n");
    assert_eq!(c.get(0, 0).map(|cell| cell.owner), Some(Owner::Edge(0)));
    assert_eq!(c.get(3, 0).map(|cell| cell.owner), Some(Owner::Node(1)));
    let window = Window {
        x: 6,
        width: 30,
        ..window
    };
    let c = Canvas::paint_window(&l, &texts, Charset::Unicode, window);
    assert_eq!(c.to_text(), " 子 Service] → ●\n\n");
}

#[test]
fn shared_cells_belong_to_the_edge_of_highest_rank() {
    // A fork: both edges share the track cells right of A.
    let nodes = [
        LayoutNode::new(V, 3),
        LayoutNode::new(V, 3),
        LayoutNode::new(V, 3),
    ];
    let edges = [(0, 1), (0, 2)];
    let l = layout(&nodes, &edges);
    let texts = ["[A]", "[B]", "[C]"].map(String::from);
    let whole = Window {
        x: 0,
        y: 0,
        width: l.width,
        height: l.height,
    };
    let owners = |c: &Canvas| -> Vec<Owner> {
        (0..c.height())
            .flat_map(|y| c.row(y).iter().map(|cell| cell.owner))
            .filter(|o| matches!(o, Owner::Edge(_)))
            .collect()
    };
    let plain = Canvas::paint_window(&l, &texts, Charset::Unicode, whole);
    let ranked = Canvas::paint_ranked(&l, &texts, Charset::Unicode, whole, |e| (e == 1) as u8);
    // The same drawing either way.
    assert_eq!(plain.to_text(), ranked.to_text());
    let shared = |c: &Canvas, e: usize| owners(c).iter().filter(|o| **o == Owner::Edge(e)).count();
    // Unranked, the first edge owns the shared cells; ranked, the second does.
    assert!(
        shared(&plain, 0) > shared(&ranked, 0),
        "{:?}",
        owners(&plain)
    );
    assert!(shared(&ranked, 1) > shared(&plain, 1));
}

/// A workflow whose `approve` task, `route` gateway and start event stand for BPMN elements
/// wfop does not run (only a BPMN file can say so: set in memory).
fn with_unsupported(marked: &[&str]) -> crate::workflow::Workflow {
    use crate::diag::SourceFile;
    use crate::workflow::check_source;
    use crate::workflow::model::Unsupported;
    let text = r#"{ "name": "u", "nodes": [
        { "id": "start", "type": "start" },
        { "id": "approve", "type": "service", "label": "Approve", "run": { "command": ["true"] } },
        { "id": "route", "type": "exclusive", "label": "ok?" },
        { "id": "end", "type": "end" } ],
      "edges": [ { "from": "start", "to": "approve" }, { "from": "approve", "to": "route" },
                 { "from": "route", "to": "end" } ] }"#;
    let checked = check_source(SourceFile::from_text("u.json", text));
    let mut wf = checked.into_workflow().expect("loads");
    for n in &mut wf.nodes {
        if marked.contains(&n.id.as_str()) {
            n.unsupported = Some(Unsupported {
                element: "userTask".into(),
                reason: "not run".into(),
            });
        }
    }
    wf
}

#[test]
fn nodes_wfop_does_not_run_are_marked() {
    // Without the mark first: the same graph, plain.
    let plain = with_unsupported(&[]);
    assert_eq!(
        workflow_graph_text(&plain, Charset::Unicode),
        "○ → [Approve] → ◇× ok? → ●"
    );
    let wf = with_unsupported(&["start", "approve", "route"]);
    assert_eq!(
        workflow_graph_text(&wf, Charset::Unicode),
        "⊘ ○ → [⊘ Approve] → ◇× ⊘ ok? → ●"
    );
    assert_eq!(
        workflow_graph_text(&wf, Charset::Ascii),
        "(/) o -> [(/) Approve] -> <x> (/) ok? -> @"
    );
}

#[test]
fn services_on_the_hub_are_marked() {
    let mut wf = with_unsupported(&[]);
    wf.nodes[1].run = Some(crate::workflow::Run::Hub(crate::workflow::HubRun {
        url: "https://hub.example/svc/1.0.0".into(),
        auth: crate::workflow::HubAuth::None,
        token_url: None,
        poll: None,
    }));
    assert_eq!(
        workflow_graph_text(&wf, Charset::Unicode),
        "○ → [☁ Approve] → ◇× ok? → ●"
    );
    assert_eq!(
        workflow_graph_text(&wf, Charset::Ascii),
        "o -> [(hub) Approve] -> <x> ok? -> @"
    );
}

#[test]
fn a_label_with_line_breaks_is_drawn_on_one_line() {
    let mut wf = with_unsupported(&[]);
    // As the modeler writes it (`name="Generate&#10;QAOA circuit"`), and worse.
    wf.nodes[1].label = Some("Generate\nQAOA circuit".into());
    wf.nodes[2].label = Some("  Job \r\n\n status?\r".into());
    assert_eq!(wf.nodes[1].line_label(), "Generate QAOA circuit");
    assert_eq!(wf.nodes[2].line_label(), "Job status?");
    assert_eq!(
        workflow_graph_text(&wf, Charset::Unicode),
        "○ → [Generate QAOA circuit] → ◇× Job status? → ●"
    );
    // The TUI's boxes use the same helper.
    let look = crate::ui::tui::graphpane::Look::PENDING;
    assert_eq!(
        crate::ui::tui::graphpane::node_text(&wf.nodes[1], &look, Charset::Unicode),
        "[· Generate QAOA circuit      ]"
    );
    // A label without one is borrowed as it is.
    wf.nodes[1].label = Some("Plain".into());
    assert!(matches!(
        wf.nodes[1].line_label(),
        std::borrow::Cow::Borrowed("Plain")
    ));
}

#[test]
fn a_timer_whose_label_says_its_wait_does_not_say_it_twice() {
    use crate::workflow::NodeKind;
    use crate::workflow::model::Timer;
    let mut wf = with_unsupported(&[]);
    let n = &mut wf.nodes[2];
    n.kind = NodeKind::Timer;
    n.timer = Some(Timer {
        duration: std::time::Duration::from_secs(30),
        text: "PT30S".into(),
        span: 0..1,
    });
    // The label does not say it: the wait follows it.
    n.label = Some("Wait".into());
    assert_eq!(timer_wait(&wf.nodes[2]).as_deref(), Some("30s"));
    assert_eq!(
        workflow_graph_text(&wf, Charset::Unicode),
        "○ → [Approve] → ◷ Wait 30s → ●"
    );
    // A BPMN timer named for its wait.
    wf.nodes[2].label = Some("Wait\n30s".into());
    assert_eq!(timer_wait(&wf.nodes[2]), None);
    assert_eq!(
        workflow_graph_text(&wf, Charset::Unicode),
        "○ → [Approve] → ◷ Wait 30s → ●"
    );
    let look = crate::ui::tui::graphpane::Look::PENDING;
    assert_eq!(
        crate::ui::tui::graphpane::node_text(&wf.nodes[2], &look, Charset::Unicode),
        "◷ · Wait 30s"
    );
    // A number that is not the wait is no reason to leave it out.
    wf.nodes[2].label = Some("Wait 30".into());
    assert_eq!(timer_wait(&wf.nodes[2]).as_deref(), Some("30s"));
    assert!(timer_wait(&wf.nodes[1]).is_none());
}

/// start → Poll → Done? ─Yes→ end, Done? ─Running→ back to Poll (the loop under the graph).
fn labelled_loop(yes: &str, running: &str) -> crate::workflow::Workflow {
    use crate::diag::SourceFile;
    let text = format!(
        r#"{{ "name": "l", "nodes": [
        {{ "id": "start", "type": "start" }},
        {{ "id": "poll", "type": "service", "label": "Poll", "run": {{ "command": ["true"] }} }},
        {{ "id": "done", "type": "exclusive", "label": "Done?" }},
        {{ "id": "end", "type": "end" }} ],
      "edges": [ {{ "from": "start", "to": "poll" }}, {{ "from": "poll", "to": "done" }},
                 {{ "from": "done", "to": "end", "condition": "status = \"DONE\"", "label": {} }},
                 {{ "from": "done", "to": "poll", "default": true, "label": {} }} ] }}"#,
        serde_json::to_string(yes).expect("json"),
        serde_json::to_string(running).expect("json"),
    );
    // Loaded, not checked: the drawing does not need a workflow that runs.
    let (wf, _) = crate::workflow::load::load(&SourceFile::from_text("l.json", &text));
    wf.expect("loads")
}

#[test]
fn edge_labels_are_drawn_where_they_fit() {
    // Without labels first: the plain drawing.
    let plain = labelled_loop("x", "y");
    let mut bare = plain.clone();
    for e in &mut bare.edges {
        e.label = None;
    }
    let unlabelled = workflow_graph_text(&bare, Charset::Unicode);
    assert_eq!(
        unlabelled,
        lines(&[
            "○ ─┬→ [Poll] → ◇× Done? ─┬→ ●",
            "   └─────←───────────────┘"
        ]),
    );
    // "Running" fits on the loop's way back; "Yes" does not fit the short edge to the end.
    let wf = labelled_loop("Yes", "Running");
    assert_eq!(
        workflow_graph_text(&wf, Charset::Unicode),
        lines(&[
            "○ ─┬→ [Poll] → ◇× Done? ─┬→ ●",
            "   └─────←────Running────┘"
        ]),
    );
    assert_eq!(
        workflow_graph_text(&wf, Charset::Ascii),
        lines(&[
            "o -+-> [Poll] -> <x> Done? -+-> @",
            "   +------<-----Running-----+",
        ]),
    );
    // Too long for the run, or a character two cells wide: not drawn, the edge stays whole.
    let long = labelled_loop("Yes", "Still running, try again");
    assert_eq!(workflow_graph_text(&long, Charset::Unicode), unlabelled);
    let wide = labelled_loop("Yes", "再試行");
    assert_eq!(workflow_graph_text(&wide, Charset::Unicode), unlabelled);
    // Control characters are escaped before they are measured.
    let ctl = labelled_loop("Yes", "a\u{1b}b");
    let drawn = workflow_graph_text(&ctl, Charset::Unicode);
    assert!(!drawn.contains('\u{1b}'), "{drawn}");
}
