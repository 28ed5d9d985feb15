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

/// Issue 15: from t=0 of leader-failover, at most three presses of `n` reach the new leader
/// (the crash and the election on the way), and the screen shows it.
#[test]
fn n_reaches_the_new_leader_of_leader_failover_in_at_most_three_presses() {
    let mut app = app("leader-failover");
    let mut presses = 0;
    let mut crashed = false;
    while presses < 3 {
        keys(&mut app, "n");
        presses += 1;
        crashed |= app.session.world().status(NodeId::Broker(BrokerId(1))) == sim::Status::Crashed;
        // The published (committed) metadata has no partition before the controller's first
        // fsync: no leader to compare yet.
        let committed = app
            .session
            .world()
            .metadata()
            .is_some_and(|m| !m.partitions.is_empty());
        if !committed {
            continue;
        }
        let (leader, epoch) = leader_of_orders_0(&app);
        if leader != BrokerId(1) && epoch > LeaderEpoch(0) {
            break;
        }
    }
    let (leader, epoch) = leader_of_orders_0(&app);
    assert!(crashed, "the crash was one of the stops");
    assert_ne!(leader, BrokerId(1), "a new leader after {presses} presses");
    assert_eq!(epoch, LeaderEpoch(1));
    let notice = app.notice.clone().unwrap_or_default();
    assert!(notice.contains("leads orders-0 in epoch 1"), "{notice}");
    insta::assert_snapshot!("leader_failover_n_new_leader_120x40", screen(&app, 120, 40));
    insta::assert_snapshot!("leader_failover_n_new_leader_80x24", screen(&app, 80, 24));
}

/// `N` stops at a high-watermark move, which `n` passes over.
#[test]
fn shift_n_stops_at_the_next_high_watermark_move_and_n_does_not() {
    let mut app = app("leader-failover");
    // The topic exists once every replica is unfenced (1.04 s on seed 1 since brokers fetch
    // their metadata).
    app.update(Msg::Seek(2_000));
    let hw = |app: &App| {
        let world = app.session.world();
        let image = world.controller().expect("up").metadata();
        let state = image.partitions.values().next().expect("a partition");
        let leader = world.broker(state.leader.expect("a leader")).expect("up");
        leader
            .replicas()
            .values()
            .next()
            .expect("a replica")
            .log
            .high_watermark()
    };
    let before = hw(&app);
    let start = app.session.world().now();
    keys(&mut app, "N");
    assert!(hw(&app) > before, "the HW moved");
    assert!(
        app.session.world().now().0 < start.0 + 200,
        "soon: 20 records a second"
    );
    keys(&mut app, "n");
    assert!(
        app.session.world().now().0 >= 9_000,
        "n passed the HW moves"
    );
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
    let small = screen(&app, 80, 24);
    assert!(
        small.contains("ctrl-c quit at once"),
        "the last key fits at 80×24: {small}"
    );
    assert!(small.contains("legend █"), "and the legend: {small}");
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

/// Issue 15: presenter mode honours every view key; the partitions view draws cells two wide.
#[test]
fn presenter_mode_honours_every_view_key_and_draws_double_cells() {
    let mut app = app("quickstart");
    app.update(Msg::Seek(3_000));
    keys(&mut app, "P");
    for (key, title) in [
        ("2", "nodes (the controller"),
        ("3", "message flow"),
        ("4", "consumers and groups"),
        ("5", "metadata quorum (KRaft)"),
        ("1", "partitions: replicas"),
    ] {
        keys(&mut app, key);
        let text = screen(&app, 120, 40);
        assert!(text.contains(title), "{key}: {text}");
    }
    assert!(
        screen(&app, 120, 40).contains("████"),
        "cells drawn two wide"
    );
}

/// Issue 15: the legend of the glyphs is in `?`.
#[test]
fn help_has_a_legend_of_the_glyphs() {
    let mut app = app("quickstart");
    keys(&mut app, "?");
    let text = screen(&app, 120, 40);
    for glyph in ["█", "▒", "★", "▸", "✂", "⚡"] {
        let legend = text
            .lines()
            .any(|l| l.contains("legend") || l.contains(&format!("{glyph} ")));
        assert!(legend && text.contains(glyph), "{glyph}: {text}");
    }
    assert!(text.contains("power lost"), "{text}");
    let small = screen(&app, 80, 24);
    assert!(small.contains("✂"), "the legend fits at 80×24 too: {small}");
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

fn select(app: &mut App, name: &str) {
    app.selected = app
        .nodes()
        .iter()
        .position(|n| app.session.world().name(*n) == name)
        .expect("a node of the scenario");
}

fn play(app: &mut App, ms: u64) {
    keys(app, " ");
    app.update(Msg::Tick(ms));
    keys(app, " ");
}

/// Issue 15: rewinding takes a crash back. Crash at 15 s, rewind to 14 s, play to 18 s: the
/// broker is up; `R` puts the crash back while nothing else was injected; a new fault after a
/// rewind drops the taken-back one for good, and `w` writes only the timeline on screen.
#[test]
fn a_rewind_takes_back_later_faults_and_redo_puts_them_back() {
    let broker2 = NodeId::Broker(BrokerId(2));
    let mut app = app("quickstart");
    app.update(Msg::Seek(15_000));
    select(&mut app, "broker-2");
    keys(&mut app, "c");
    play(&mut app, 500);
    assert_eq!(app.session.world().status(broker2), sim::Status::Crashed);
    app.update(Msg::Seek(-1_500)); // 14.0 s
    assert_eq!(app.session.world().now().0, 14_000);
    let notice = app.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("took back crash broker-2 at 15.001s"),
        "{notice}"
    );
    play(&mut app, 4_000);
    assert_eq!(app.session.world().now().0, 18_000);
    assert_eq!(
        app.session.world().status(broker2),
        sim::Status::Up,
        "taken back"
    );
    assert!(app.session.actions().is_empty());
    insta::assert_snapshot!("quickstart_rewound_crash_18s_120x40", screen(&app, 120, 40));

    // Redo: back to 14 s, R, play: the crash happens again.
    app.update(Msg::Seek(-4_000));
    keys(&mut app, "R");
    play(&mut app, 4_000);
    assert_eq!(
        app.session.world().status(broker2),
        sim::Status::Crashed,
        "redone"
    );
    assert_eq!(app.session.actions().len(), 1);

    // Rewind, then another fault: the crash is gone from the future and from `w`.
    app.update(Msg::Seek(-4_000));
    select(&mut app, "broker-3");
    keys(&mut app, "p");
    keys(&mut app, "R");
    assert!(app
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("nothing to redo")));
    play(&mut app, 4_000);
    assert_eq!(app.session.world().status(broker2), sim::Status::Up);
    let written = app.session.to_scenario();
    let injected: Vec<_> = written
        .faults
        .iter()
        .map(|f| (f.action.as_str(), f.target.clone(), f.at_ms))
        .collect();
    assert_eq!(
        injected,
        vec![("power-fail", Some("broker-3".to_owned()), 14_001)],
        "only the timeline on screen"
    );
    let outcome = scenarios::run(&written, false).expect("runs");
    assert_eq!(
        outcome.world.fingerprint(),
        app.session.finished().fingerprint(),
        "the written session replays the branch the user took"
    );
}

/// Issue 15: keys are visible. In anatomy-keys-and-partitions the message-flow view labels each
/// Produce with its keys and partition (`Produce k3 → orders-1`).
#[test]
fn the_flow_view_shows_the_keys_a_produce_carries() {
    let mut app = app("anatomy-keys-and-partitions");
    app.update(Msg::Seek(3_000));
    keys(&mut app, "3");
    let text = screen(&app, 120, 40);
    let keyed = (0..4).any(|k| text.contains(&format!("Produce k{k} → orders-")));
    assert!(keyed, "a keyed Produce on screen: {text}");
    assert!(
        text.contains("Produce null → orders-"),
        "and an unkeyed one: {text}"
    );
    insta::assert_snapshot!("anatomy_flow_keys_3s_120x40", text);
    // At 80×24, fewer rows: step until the next keyed Produce is sent (10 a second).
    let keyed = |text: &str| (0..4).any(|k| text.contains(&format!("k{k} → orders-")));
    let shown = (0..400).any(|_| {
        app.update(Msg::Step);
        keyed(&screen(&app, 80, 24))
    });
    assert!(
        shown,
        "at 80×24 too, without the API name: {}",
        screen(&app, 80, 24)
    );
}

/// Issue 15: `tui --compare BUG FIX` shows both in two panes on one clock; a key drives both.
#[test]
fn compare_shows_the_bug_and_its_fix_in_two_panes_driven_by_one_key() {
    let bug = scenarios::resolve("kip-101-hw-truncation").expect("built-in");
    let fix = scenarios::resolve("kip-101-hw-truncation-fixed").expect("built-in");
    let mut app = App::compare(bug, fix).expect("starts");
    let right = tui::keys::lookup(KeyEvent::from(KeyCode::Right)).expect("bound");
    for _ in 0..25 {
        app.update(right);
    }
    let small = screen(&app, 80, 24);
    assert!(
        small.starts_with("t=25.000s │ ‖ paused │ kip-101-hw-truncation vs"),
        "{small}"
    );
    let other = app.other.as_deref().expect("the fix's pane");
    assert_eq!(app.session.world().now().0, 25_000);
    assert_eq!(other.world().now().0, 25_000, "one clock");
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("kip-101-hw-truncation vs kip-101-hw-truncation-fixed"),
        "{text}"
    );
    let titles: Vec<&str> = text.lines().filter(|l| l.starts_with('┌')).collect();
    assert_eq!(titles.len(), 2, "two panes: {text}");
    assert!(titles[0].contains(" kip-101-hw-truncation "), "{text}");
    assert!(
        titles[1].contains(" kip-101-hw-truncation-fixed ● kept"),
        "{text}"
    );
    insta::assert_snapshot!("compare_kip_101_25s_120x40", text);
    // A fault goes to both, and a rewind takes it back from both.
    select(&mut app, "broker-3");
    keys(&mut app, "c");
    let other = app.other.as_deref().expect("the fix's pane");
    assert_eq!(app.session.actions().len(), 1);
    assert_eq!(other.actions(), app.session.actions(), "the same fault");
    app.update(Msg::Seek(-1_000));
    let other = app.other.as_deref().expect("the fix's pane");
    assert!(other.actions().is_empty() && app.session.actions().is_empty());
    assert_eq!(other.world().now().0, 24_000);
}

/// Issue 15: loss on screen. In kip-101-hw-truncation broker-3 truncates below the committed
/// offset (✂ on its row, the cut offsets drawn), and when it leads without them the banner
/// says how many committed records were lost and the light turns at that instant.
#[test]
fn a_truncation_of_committed_records_and_their_loss_are_on_screen_when_they_happen() {
    let mut app = app("kip-101-hw-truncation");
    let mut cut_seen = None;
    let mut lost_seen = None;
    for _ in 0..40 {
        app.update(Msg::Seek(1_000));
        let text = screen(&app, 120, 40);
        if cut_seen.is_none() && text.contains(" committed ") && text.contains("✂") {
            let row = text
                .lines()
                .find(|l| l.contains(" committed "))
                .expect("the row");
            assert!(
                row.matches('✂').count() >= 2,
                "the cut offsets drawn: {text}"
            );
            cut_seen = Some(app.session.world().now());
        }
        if text.contains(" lost (offsets ") {
            // Allowed here (the scenario shows a historical bug), but the light turns.
            assert!(
                text.contains("◆ 1 allowed"),
                "the light turned with the banner: {text}"
            );
            lost_seen = Some(app.session.world().now());
            insta::assert_snapshot!("kip_101_loss_120x40", text);
            insta::assert_snapshot!("kip_101_loss_80x24", screen(&app, 80, 24));
            break;
        }
        assert!(
            text.contains("● kept │"),
            "the light unchanged before the loss: {text}"
        );
    }
    let (cut, lost) = (
        cut_seen.expect("a cut shown"),
        lost_seen.expect("a loss shown"),
    );
    assert!(cut < lost, "the cut comes first ({cut} < {lost})");
    let mut fixed = self::app("kip-101-hw-truncation-fixed");
    fixed.update(Msg::Seek(40_000));
    let text = screen(&fixed, 120, 40);
    assert!(
        !text.contains(" lost (offsets ") && !text.contains("✂"),
        "{text}"
    );
    assert!(text.contains("● kept │"), "{text}");
}

/// Issue 15: `w` never overwrites (the second file is numbered, and named after its stem), and
/// its confirmation is on screen at 80×24 under a two-line caption.
#[test]
fn w_numbers_its_files_and_its_confirmation_is_visible_under_a_long_caption() {
    let dir = std::env::temp_dir().join(format!("kafka-lab-tui-w-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut app = app("leader-failover");
    app.out_dir = dir.clone();
    app.update(Msg::Seek(9_000));
    keys(&mut app, "w");
    let first = std::fs::read_to_string(dir.join("leader-failover-session.toml")).expect("written");
    keys(&mut app, "w");
    let second_path = dir.join("leader-failover-session-2.toml");
    let second = std::fs::read_to_string(&second_path).expect("numbered");
    assert_eq!(
        first,
        std::fs::read_to_string(dir.join("leader-failover-session.toml")).unwrap(),
        "the first file is untouched"
    );
    let parsed = scenarios::parse(&second, &second_path.display().to_string()).expect("parses");
    assert_eq!(
        parsed.name, "leader-failover-session-2",
        "named after its stem"
    );
    let text = screen(&app, 80, 24);
    let title = text
        .lines()
        .find(|l| l.starts_with('┌'))
        .unwrap_or_default();
    assert!(
        title.ends_with("─┐"),
        "the view's title is not cut: {title}"
    );
    assert!(text.contains("about to crash"), "the caption: {text}");
    assert!(text.contains("» wrote"), "the confirmation: {text}");
    assert!(
        text.contains("leader-failover-session-2.toml"),
        "not cut: {text}"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Issue 15, smaller items: no blank panel at t=0, and at 80×24 the cluster view cuts no word.
#[test]
fn t0_says_the_cluster_is_starting_and_the_cluster_view_fits_80_columns() {
    let mut app = app("leader-failover");
    let text = screen(&app, 80, 24);
    assert!(text.contains("the cluster is starting"), "{text}");
    app.update(Msg::Seek(5_000));
    keys(&mut app, "2");
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("★ active controller: elects leaders"),
        "{text}"
    );
    assert!(text.contains("leads 1, under-replicated 0"), "{text}");
    insta::assert_snapshot!("leader_failover_cluster_5s_80x24", text);
}

/// Issue 15: the record inspector (`v`) shows a record's key, value, leader epoch and producer;
/// in anatomy-keys-and-partitions the keyed producer's keys (`k0`…) are on screen.
#[test]
fn the_record_inspector_shows_key_value_epoch_and_producer() {
    let mut app = app("anatomy-keys-and-partitions");
    app.update(Msg::Seek(5_000));
    keys(&mut app, "v");
    let offset = app.inspect.expect("open");
    let text = screen(&app, 120, 40);
    assert!(
        text.contains(&format!("record inspector: offset {offset}")),
        "{text}"
    );
    let keyed = (0..4).any(|k| text.contains(&format!("key k{k}  value \"keyed:")));
    assert!(keyed, "a key k0..k3 and its value on screen: {text}");
    assert!(text.contains("leader epoch 0"), "{text}");
    keys(&mut app, "<");
    assert_eq!(app.inspect, Some(offset - 1));
    insta::assert_snapshot!("anatomy_inspector_5s_120x40", screen(&app, 120, 40));
    keys(&mut app, "v");
    assert_eq!(app.inspect, None);
}

/// Issue 15: `e` tells what just happened to the partition, in `run --explain`'s words: after
/// leader-failover's election, the crash (✖, not ⚡: not a power failure) and the new leader.
#[test]
fn e_tells_what_just_happened_to_the_partition() {
    let mut app = app("leader-failover");
    app.update(Msg::Seek(16_000));
    keys(&mut app, "e");
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("what just happened to orders-0: leader broker-2, epoch 1"),
        "{text}"
    );
    assert!(text.contains("✖ crash broker-1"), "{text}");
    assert!(
        text.contains("broker-2 elected in epoch 1, ISR [2,3]"),
        "{text}"
    );
    assert!(
        !text.contains("⚡"),
        "⚡ is for power failures only: {text}"
    );
    insta::assert_snapshot!("leader_failover_explain_16s_120x40", text);
    keys(&mut app, "e");
    assert!(!screen(&app, 120, 40).contains("what just happened"));
}

/// Issue 15: step through a message. The inspector on the next offset to be written, then `j`:
/// appended on the leader, fetched by each follower, committed, acknowledged, each a jump.
#[test]
fn j_follows_a_record_from_the_leader_to_its_acknowledgement() {
    let mut app = app("leader-failover");
    app.update(Msg::Seek(5_000));
    keys(&mut app, "v>");
    let mut told = Vec::new();
    let mut last = app.session.world().now();
    for _ in 0..6 {
        keys(&mut app, "j");
        let notice = app.notice.clone().unwrap_or_default();
        if notice.contains("reached every step") {
            break;
        }
        let now = app.session.world().now();
        assert!(now > last, "each step is a jump forward: {notice}");
        last = now;
        told.push(notice);
    }
    let all = told.join("\n");
    let at = |words: &str| {
        all.find(words)
            .unwrap_or_else(|| panic!("{words:?} in {all}"))
    };
    assert!(
        at("appended on the leader, broker-1") < at("the HW passed it"),
        "{all}"
    );
    assert!(at("fetched by broker-2") < at("the HW passed it"), "{all}");
    assert!(
        at("fetched by broker-3") < at("the HW passed it"),
        "acks=all: {all}"
    );
    assert!(
        at("the HW passed it") <= at("acknowledged to its producer"),
        "{all}"
    );
}

#[test]
fn the_partition_view_shows_segments_and_the_log_start_and_the_bar_the_next_retention_run() {
    let mut app = app("retention-by-size");
    app.update(Msg::Seek(5_000));
    let before = screen(&app, 160, 40);
    assert!(before.contains("retention check in 25.000s"), "{before}");
    assert!(
        !before.contains("start 0 │") || before.contains("seg "),
        "{before}"
    );
    app.update(Msg::Seek(36_000));
    let after = screen(&app, 160, 40);
    let row = after
        .lines()
        .find(|l| l.contains("broker-1") && l.contains("seg "))
        .unwrap_or_else(|| panic!("a replica row lists its segments: {after}"));
    let start: u64 = row
        .split(" start ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("the log start is shown");
    assert!(start > 0, "retention moved the log start: {row}");
    assert!(row.contains('*'), "the active segment is marked: {row}");
}

/// Issue 16: the quorum view (5) shows each controller's Raft role, epoch, vote, leader, log
/// end and high watermark, and the brokers as observers with their heartbeat target; the
/// cluster view marks the active controller. At 14 s in controller-prevote-off the old
/// active controller, cut off, campaigns alone in a higher epoch than the new leader's.
#[test]
fn the_quorum_view_shows_each_controllers_raft_state_and_the_observers() {
    let mut app = app("controller-prevote-off");
    app.update(Msg::Seek(14_000));
    keys(&mut app, "5");
    assert_eq!(app.view, View::Quorum);
    let text = screen(&app, 120, 40);
    let world = app.session.world();
    let active = world.active_controller().expect("a new leader by 14 s");
    let leader_line = text
        .lines()
        .find(|l| l.contains(&format!("{active} ")) && l.contains("★ leader"))
        .unwrap_or_else(|| panic!("the leader's line: {text}"));
    let status = world
        .controllers()
        .find(|c| NodeId::Controller(c.id()) == active)
        .and_then(|c| c.quorum_status())
        .expect("a quorum status");
    assert!(
        leader_line.contains(&format!("{:>5}", status.epoch.0)),
        "{leader_line}"
    );
    assert!(
        text.contains("! candidate"),
        "the cut-off one campaigns: {text}"
    );
    for b in 1..=3 {
        let broker = world.broker(BrokerId(b)).expect("up");
        let target = broker.controller_channel().active();
        let line = text
            .lines()
            .find(|l| l.contains(&format!("broker-{b} ")) && l.contains("◌ observer"))
            .unwrap_or_else(|| panic!("broker-{b} as an observer: {text}"));
        assert!(line.contains(&format!("→ {target}")), "{line}");
        // The observer's metadata log in the controllers' columns, asked of the core.
        let status = broker.metadata_observer().expect("started").status();
        let columns = format!("{:>7}{:>6}", status.log_end.0, status.high_watermark.0);
        assert!(line.contains(&columns), "{line}");
        // A broker still aiming at the cut-off controller is told apart from the active one.
        assert_eq!(line.contains("(not active)"), target != active, "{line}");
    }
    insta::assert_snapshot!("controller_prevote_off_quorum_14s_120x40", text);
    insta::assert_snapshot!(
        "controller_prevote_off_quorum_14s_80x24",
        screen(&app, 80, 24)
    );
    keys(&mut app, "2");
    let cluster = screen(&app, 120, 40);
    let marked = cluster
        .lines()
        .find(|l| l.contains("★ active controller"))
        .expect("the active controller is marked");
    assert!(marked.contains(&active.to_string()), "{marked}");
    assert_eq!(cluster.matches("★ active controller").count(), 1);
}

/// Issue 17: the partition view marks what the next retention check deletes (▓, as the core's
/// `PartitionLog::deleted_next` says) and the records the cleaner removed (·), and `?` says so.
#[test]
fn the_partition_view_marks_what_retention_deletes_next_and_what_compaction_removed() {
    let source = r#"name = "retention-next"
title = "What retention deletes next"
duration_ms = 40000
[cluster]
brokers = 3
config = { "min.insync.replicas" = 2, "log.retention.check.interval.ms" = 3000 }
[[topics]]
name = "events"
partitions = 1
replication_factor = 3
config = { "retention.ms" = 6000, "segment.bytes" = 400 }
[[producers]]
name = "producer-1"
topic = "events"
rate_per_s = 5
config = { acks = "all" }
"#;
    let scenario = scenarios::parse(source, "retention-next.toml").expect("valid");
    let mut retention = App::new(scenario).expect("starts");
    // Past the first retention check (log.initial.task.delay.ms, 30 s), before the next.
    play(&mut retention, 34_000);
    let text = screen(&retention, 120, 40);
    assert!(text.contains('▓'), "{text}");
    insta::assert_snapshot!("retention_next_34s_120x40", text);
    insta::assert_snapshot!("retention_next_34s_80x24", screen(&retention, 80, 24));
    let mut app = app("compaction-latest-value");
    play(&mut app, 8_000);
    let text = screen(&app, 120, 40);
    assert!(text.contains('·'), "{text}");
    insta::assert_snapshot!("compaction_gaps_8s_120x40", text);
    insta::assert_snapshot!("compaction_gaps_8s_80x24", screen(&app, 80, 24));
    keys(&mut app, "?");
    let help = screen(&app, 120, 40);
    assert!(
        help.contains("▓ retention deletes next") && help.contains("· removed by compaction"),
        "{help}"
    );
}
