//! `cargo bench -p tui --bench frame`: drawing one frame at 200×60 (the bar: under 5 ms
//! in a release build). Each view is drawn on `quickstart` after 30 simulated seconds and on
//! `leader-failover` after its leader crashed. Wall time is measured here only.
#![allow(clippy::disallowed_methods)] // Instant::now: a benchmark measures wall time.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Instant;
use tui::{App, Msg, View};

const FRAMES: u32 = 200;

/// Seeking in a 10-minute run: to the end, back to the middle, and around (the bar: 200 ms).
fn seeks() {
    let mut scenario = scenarios::resolve("quickstart").expect("built-in");
    scenario
        .apply_set("duration_ms", "600000")
        .expect("a valid setting");
    let mut app = App::new(scenario).expect("starts");
    let mut at = 0i64;
    for to in [599_000i64, 300_000, 450_000, 10_000, 598_500, 123_456] {
        let started = Instant::now();
        app.update(Msg::Seek(to - at));
        at = to;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!("quickstart 10 min: seek to {:>7} ms took {ms:.1} ms", to);
    }
}

fn main() {
    seeks();
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
