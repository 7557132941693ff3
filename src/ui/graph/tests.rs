use super::*;

fn draw(nodes: &[(Shape, &str)], edges: &[(usize, usize)]) -> String {
    render_graph(nodes, edges, Charset::Unicode)
}

#[test]
fn linear() {
    let g = draw(
        &[
            (Shape::Start, ""),
            (Shape::Service, "Orchestrated Service"),
            (Shape::End, ""),
        ],
        &[(0, 1), (1, 2)],
    );
    println!("{g}");
    assert_eq!(g, "○ → [Orchestrated Service] → ●");
}

#[test]
fn fork_join() {
    let g = draw(
        &[
            (Shape::Start, ""),
            (Shape::Service, "Fetch"),
            (Shape::Service, "Classical"),
            (Shape::Service, "Quantum"),
            (Shape::Service, "Report"),
            (Shape::End, ""),
        ],
        &[(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (4, 5)],
    );
    println!("{g}");
}
