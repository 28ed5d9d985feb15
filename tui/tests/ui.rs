//! The UI without a terminal: keys drive the model through `App::update`, frames render into a
//! `TestBackend`, snapshots (insta) keep what a class sees, with colours where they carry
//! meaning (leader epochs, guarantee lights, node states).

use broker_core::{BrokerId, LeaderEpoch, NodeId};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;
use tui::{App, Msg, View};

fn app(name: &str) -> App {
    App::new(scenarios::resolve(name).expect("built-in")).expect("starts")
}

fn keys(app: &mut App, keys: &str) {
    for c in keys.chars() {
        let key = KeyEvent::from(KeyCode::Char(c));
        assert!(tui::keys::lookup(key).is_some(), "{c} is a bound key");
        app.update(Msg::Key(key));
    }
}

fn buffer(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal.draw(|f| tui::view::draw(f, app)).expect("draws");
    terminal.backend().buffer().clone()
}

/// The screen as text, then per row the runs of coloured cells (`12..40 Blue`): what colour
/// says (epochs, lights, states) is in the snapshot without the noise of every style.
fn screen(app: &App, width: u16, height: u16) -> String {
    let buffer = buffer(app, width, height);
    let mut text = String::new();
    for y in 0..height {
        let line: String = (0..width)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.push_str("-- colours --\n");
    for y in 0..height {
        let mut runs: Vec<String> = Vec::new();
        let mut x = 0;
        while x < width {
            let fg = buffer[(x, y)].fg;
            let start = x;
            while x < width && buffer[(x, y)].fg == fg {
                x += 1;
            }
            if fg != Color::Reset {
                runs.push(format!("{start}..{x} {fg:?}"));
            }
        }
        if !runs.is_empty() {
            text.push_str(&format!("{y}: {}\n", runs.join(", ")));
        }
    }
    text
}

#[test]
fn snapshots_of_quickstart_at_both_sizes() {
    let mut app = app("quickstart");
    app.update(Msg::Seek(5_000));
    insta::assert_snapshot!("quickstart_5s_120x40", screen(&app, 120, 40));
    insta::assert_snapshot!("quickstart_5s_80x24", screen(&app, 80, 24));
    for view in [View::Cluster, View::Flow, View::Consumers] {
        app.update(Msg::View(view));
        insta::assert_snapshot!(
            format!("quickstart_5s_{view:?}_120x40"),
            screen(&app, 120, 40)
        );
    }
}

#[test]
fn snapshots_of_leader_failover_before_and_after_the_crash() {
    let mut app = app("leader-failover");
    app.update(Msg::Seek(9_000));
    insta::assert_snapshot!("leader_failover_9s_120x40", screen(&app, 120, 40));
    app.update(Msg::Seek(9_000));
    insta::assert_snapshot!("leader_failover_18s_120x40", screen(&app, 120, 40));
    insta::assert_snapshot!("leader_failover_18s_80x24", screen(&app, 80, 24));
}

#[test]
fn crashing_the_leader_shows_a_new_leader_in_a_higher_epoch_and_a_shrunk_isr() {
    let mut app = app("quickstart");
    app.update(Msg::Seek(5_000));
    let before = leader_of_orders_0(&app);
    // Select the leader (brokers come first in the node list) and crash it.
    app.selected = before.0 .0 as usize - 1;
    keys(&mut app, "c");
    assert!(app
        .notice
        .as_deref()
        .is_some_and(|n| n.starts_with("crash broker-")));
    app.update(Msg::Seek(15_000));
    let after = leader_of_orders_0(&app);
    assert_ne!(after.0, before.0, "a new leader");
    assert!(after.1 > before.1, "in a higher epoch");
    let text = screen(&app, 120, 40);
    assert!(
        text.contains(&format!("leader broker-{}  epoch {}", after.0, after.1)),
        "{text}"
    );
    assert!(
        text.contains(&format!("✖▸broker-{}", before.0)),
        "the crashed leader, selected: {text}"
    );
}

fn leader_of_orders_0(app: &App) -> (BrokerId, LeaderEpoch) {
    let world = app.session.world();
    let image = world.metadata().expect("up");
    let state = image.partitions.values().next().expect("a partition");
    (state.leader.expect("a leader"), state.leader_epoch)
}

#[test]
fn a_session_saved_as_a_scenario_replays_to_the_same_fingerprint() {
    let dir = std::env::temp_dir().join(format!("kafka-lab-tui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut app = app("quickstart");
    app.out_dir = dir.clone();
    app.update(Msg::Seek(4_000));
    app.selected = 0; // broker-1
    keys(&mut app, "c");
    app.update(Msg::Seek(6_000));
    keys(&mut app, "r");
    app.selected = app
        .nodes()
        .iter()
        .position(|n| app.session.world().name(*n) == "producer-1")
        .expect("a producer");
    keys(&mut app, "o");
    app.update(Msg::Seek(2_000));
    keys(&mut app, "w");
    let notice = app.notice.clone().expect("wrote");
    assert!(notice.starts_with("wrote"), "{notice}");
    let path = dir.join("quickstart-session.toml");
    let source = std::fs::read_to_string(&path).expect("the file");
    let replayed = scenarios::parse(&source, &path.display().to_string()).expect("parses");
    assert_eq!(
        replayed.faults.len(),
        3,
        "crash, restart, produce: {source}"
    );
    let manual = |history: &[sim::HistoryRecord]| {
        history.iter().any(|r| matches!(&r.entry,
            broker_core::HistoryEntry::SendCompleted { value, .. } if value.starts_with(b"producer-1:manual-0")))
    };
    let outcome = scenarios::run(&replayed, false).expect("runs");
    assert!(outcome.expect_met, "{:?}", outcome.found);
    let session_run = app.session.finished();
    assert_eq!(outcome.world.fingerprint(), session_run.fingerprint());
    assert_eq!(outcome.world.events(), session_run.events());
    assert!(
        manual(outcome.world.history()),
        "the record sent by hand was acknowledged"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn rewinding_gives_the_state_stepping_straight_there_gives() {
    let mut rewound = app("leader-failover");
    rewound.update(Msg::Seek(14_300));
    rewound.update(Msg::Seek(-7_000));
    let mut straight = app("leader-failover");
    straight.update(Msg::Seek(7_300));
    let (a, b) = (rewound.session.world(), straight.session.world());
    assert_eq!(a.now(), b.now());
    assert_eq!(a.events(), b.events());
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.trace(), b.trace());
    assert_eq!(a.history(), b.history());
    // One event back, then forward again, is where it was.
    let events = a.events();
    rewound.update(Msg::StepBack);
    assert_eq!(rewound.session.world().events(), events - 1);
    rewound.update(Msg::Step);
    assert_eq!(
        rewound.session.world().fingerprint(),
        straight.session.world().fingerprint()
    );
}

#[test]
fn next_interesting_stops_at_something_a_class_should_see() {
    let mut app = app("leader-failover");
    app.update(Msg::Seek(5_000));
    let start = app.session.world().trace().len();
    app.update(Msg::NextInteresting);
    let interesting = |app: &App| {
        let trace = &app.session.world().trace()[start..];
        trace.iter().any(|e| tui::app::is_interesting(&e.kind))
    };
    assert!(interesting(&app), "it stopped at something");
    app.update(Msg::StepBack);
    assert!(!interesting(&app), "and at the first such thing");
}

#[test]
fn a_small_terminal_gets_a_message_not_a_broken_layout() {
    let app = app("quickstart");
    let text = screen(&app, 79, 24);
    assert!(
        text.contains("needs a terminal of at least 80×24"),
        "{text}"
    );
    assert!(text.contains("This one is 79×24"));
    assert!(!text.contains("Partitions"), "no layout below the minimum");
}

#[test]
fn help_lists_every_key_of_the_registry_and_the_bar_a_subset() {
    let mut app = app("quickstart");
    keys(&mut app, "?");
    let text = screen(&app, 120, 40);
    for binding in tui::keys::KEYS {
        assert!(text.contains(binding.help), "help lacks {}", binding.help);
    }
    keys(&mut app, "?");
    let text = screen(&app, 120, 40);
    assert!(
        !text.contains("pause / resume selected node"),
        "help closed"
    );
    assert!(text.contains(" q  quit"), "the key bar: {text}");
}

#[test]
fn faults_that_cannot_apply_say_why() {
    let mut app = app("quickstart");
    app.selected = 0;
    keys(&mut app, "x");
    assert!(app
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("mark a node")));
    keys(&mut app, "d");
    assert!(app
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("not a consumer")));
    assert!(app.session.actions().is_empty());
    let broker = app.nodes()[0];
    assert_eq!(broker, NodeId::Broker(BrokerId(1)));
}

#[test]
fn presenter_mode_keeps_the_partition_view_with_double_cells() {
    let mut app = app("quickstart");
    app.update(Msg::Seek(3_000));
    app.update(Msg::View(View::Flow));
    keys(&mut app, "P");
    let text = screen(&app, 120, 40);
    assert!(text.contains("partitions: replicas"), "{text}");
    assert!(text.contains("████"), "cells drawn two wide");
}

#[test]
fn the_scenario_picker_scrolls_to_keep_the_selection_in_view_on_a_small_terminal() {
    let mut app = app("quickstart");
    keys(&mut app, "s");
    let down = tui::keys::lookup(KeyEvent::from(KeyCode::Down)).expect("a bound key");
    let last = scenarios::builtins().len() - 1;
    for _ in 0..last {
        app.update(down);
    }
    let buffer = buffer(&app, 80, 24);
    let selected: Vec<String> = (0..24)
        .filter_map(|y| {
            let row: String = (0..80)
                .filter(|x| {
                    buffer[(*x, y)]
                        .modifier
                        .contains(ratatui::style::Modifier::REVERSED)
                })
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect();
            (!row.trim().is_empty()).then(|| row.trim().to_owned())
        })
        .collect();
    let name = scenarios::builtins()[last].name;
    assert!(
        selected.iter().any(|row| row == name),
        "the last scenario is selected and visible: {selected:?}"
    );
}

/// KIP-966 on screen: the ELR beside the ISR, ELR members marked, and why the partition waits;
/// the historical controller instead elects the broker that lost power.
#[test]
fn the_partition_view_shows_eligible_leader_replicas_and_what_an_offline_partition_waits_for() {
    let mut fixed = app("last-replica-standing-fixed");
    fixed.update(Msg::Seek(20_000));
    let text = screen(&fixed, 120, 40);
    assert!(text.contains("leader none: offline"), "{text}");
    assert!(text.contains("ISR []  ELR [3]"), "{text}");
    assert!(
        text.contains("waiting for an eligible leader replica (ELR [3]) to return"),
        "{text}"
    );
    fixed.update(Msg::Seek(-7_000)); // back to 13 s
    let back = screen(&fixed, 120, 40);
    assert!(back.contains("ISR []  ELR [1,3]"), "{back}");

    let mut bug = app("last-replica-standing");
    bug.update(Msg::Seek(20_000));
    let text = screen(&bug, 120, 40);
    assert!(text.contains("leader broker-1  epoch 2  ISR [1]"), "{text}");
    assert!(!text.contains("ELR"), "no ELR before KIP-966: {text}");
    assert!(
        text.contains("│ pre-KIP-966 RF=3 min.isr=2"),
        "the status bar says: {text}"
    );
}

/// Ctrl-C quits (the terminal is restored on return from `run`), even from the picker, and is
/// never the bare `c` (which crashes the selected broker); a key with a modifier the UI does
/// not bind does nothing.
#[test]
fn ctrl_c_quits_and_modified_keys_are_not_their_bare_letters() {
    let mut app = app("quickstart");
    app.update(Msg::Seek(1_000));
    assert_eq!(app.selected_node(), NodeId::Broker(BrokerId(1)));
    for (code, modifiers) in [
        (KeyCode::Char('c'), KeyModifiers::ALT),
        (KeyCode::Char('p'), KeyModifiers::CONTROL),
        (KeyCode::Char('r'), KeyModifiers::SUPER),
        (KeyCode::Char('q'), KeyModifiers::CONTROL),
        (KeyCode::Char(' '), KeyModifiers::CONTROL),
    ] {
        app.update(Msg::Key(KeyEvent::new(code, modifiers)));
        assert!(
            !app.quit && !app.playing,
            "{code:?} with {modifiers:?} does nothing"
        );
    }
    assert!(app.session.actions().is_empty(), "no fault injected");
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('P'),
        KeyModifiers::SHIFT,
    )));
    assert!(app.presenter, "Shift is part of the character");
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.quit, "Ctrl-C quits");
    assert!(app.session.actions().is_empty(), "and crashes nothing");
    let mut picking = self::app("quickstart");
    picking.update(Msg::Picker);
    let ctrl_c = KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL | KeyModifiers::SHIFT,
    );
    picking.update(Msg::Key(ctrl_c));
    assert!(picking.quit, "Ctrl-C quits from the picker too");
    let mut bare = self::app("quickstart");
    bare.update(Msg::Seek(1_000));
    bare.update(Msg::Key(KeyEvent::from(KeyCode::Char('c'))));
    assert_eq!(
        bare.session.actions().len(),
        1,
        "the bare c crashes broker-1"
    );
}

/// `d` on a consumer without a group (quickstart's assign-mode consumer) says why and injects
/// nothing: `leave` is `LeaveGroup`.
#[test]
fn d_on_a_consumer_without_a_group_says_why() {
    let mut app = app("quickstart");
    app.update(Msg::Seek(1_000));
    let consumer = app
        .nodes()
        .iter()
        .position(|&n| app.session.world().name(n) == "consumer-1")
        .expect("quickstart has consumer-1");
    app.selected = consumer;
    keys(&mut app, "d");
    let notice = app.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("consumer-1 reads without a group"),
        "{notice}"
    );
    assert!(app.session.actions().is_empty());
    app.update(Msg::Seek(1_000));
    assert!(!app.quit);
}
