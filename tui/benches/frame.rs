//! `cargo bench -p tui --bench frame`: drawing one frame at 200×60 (the bar: under 5 ms
//! in a release build). Each view is drawn on `quickstart` after 30 simulated seconds and on
//! `leader-failover` after its leader crashed. Wall time is measured here only.
#![allow(clippy::disallowed_methods)] // Instant::now: a benchmark measures wall time.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Instant;
use tui::{App, Msg, View};

const FRAMES: u32 = 200;

fn main() {
    for (name, at_ms) in [("quickstart", 30_000), ("leader-failover", 20_000)] {
        let scenario = scenarios::resolve(name).expect("built-in");
        let mut app = App::new(scenario).expect("starts");
        app.update(Msg::Seek(at_ms));
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("a test terminal");
        for view in [View::Partitions, View::Cluster, View::Flow, View::Consumers] {
            app.update(Msg::View(view));
            let started = Instant::now();
            for _ in 0..FRAMES {
                terminal.draw(|f| tui::view::draw(f, &app)).expect("draws");
            }
            let per_frame = started.elapsed().as_secs_f64() * 1000.0 / f64::from(FRAMES);
            println!(
                "{name:<16} {:<14} 200x60: {per_frame:.3} ms per frame",
                format!("{view:?}")
            );
        }
    }
}
