//! Captions never contradict the screen: the UI shows the scenario's captions while the run
//! keeps to its script, and says where it left it once the teacher injects a fault.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tui::{App, Msg};

fn screen(app: &App) -> String {
    // Wide enough that no caption wraps.
    let mut terminal = Terminal::new(TestBackend::new(240, 40)).expect("terminal");
    terminal.draw(|f| tui::view::draw(f, app)).expect("draws");
    let buffer = terminal.backend().buffer().clone();
    (0..40)
        .map(|y| {
            (0..240)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

#[test]
fn an_injected_crash_takes_the_run_off_script_and_rewinding_before_it_brings_captions_back() {
    let scenario = scenarios::resolve("leader-failover").expect("built-in");
    let later = "its writes commit again"; // the 18 s caption
    let mut app = App::new(scenario).expect("starts");
    app.update(Msg::Seek(12_000));
    assert!(
        screen(&app).contains("the controller still counts it alive"),
        "on script at 12 s"
    );
    // The teacher crashes broker-2, the broker that would have become leader.
    app.selected = 1;
    app.update(Msg::Key(KeyEvent::from(KeyCode::Char('c'))));
    assert_eq!(app.session.actions().len(), 1, "{:?}", app.notice);
    app.update(Msg::Seek(7_000));
    let text = screen(&app);
    assert!(
        !text.contains(later),
        "a caption of the script after a crash it did not have"
    );
    assert!(
        text.contains("off the scenario's script since 12."),
        "{text}"
    );
    assert!(text.contains("crash broker-2, injected"), "{text}");
    // Before the injected fault the run is the scenario's again.
    app.update(Msg::Seek(-8_000));
    assert!(app.session.world().now().0 < 12_000);
    assert!(
        screen(&app).contains("the controller still counts it alive"),
        "on script before 12 s"
    );
}

#[test]
fn a_set_that_changes_the_run_shows_no_caption_from_the_start() {
    let mut scenario = scenarios::resolve("kip-101-hw-truncation").expect("built-in");
    scenario
        .apply_set("protocol.truncation", "leader-epoch")
        .expect("valid");
    let mut app = App::new(scenario.clone()).expect("starts");
    app.update(Msg::Seek(24_000));
    let text = screen(&app);
    assert!(
        text.contains("--set protocol.truncation=leader-epoch changes what it runs"),
        "{text}"
    );
    for caption in &scenario.captions {
        let start: String = caption.text.chars().take(40).collect();
        assert!(!text.contains(&start), "narrates the bug: {start}");
    }
}
