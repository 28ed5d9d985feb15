//! `serve --tui`: the UI on a world it does not own (`tui::served::Served`). Real clients show
//! as nodes named by their client ids, fault keys go to the owner (the server's engine, which
//! records them as posted faults), and keys that move time do nothing but say why.

use broker_core::{BrokerId, CorrelationId, Message, NodeId, Time};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use scenarios::Fault;
use std::cell::RefCell;
use std::rc::Rc;
use tui::served::Served;
use tui::{App, Msg, View};

/// A served world with one real client, `pupil#0`, connected to broker-1 and asking it for
/// metadata; faults the UI injects are kept in `injected`.
struct Fake {
    world: sim::World,
    injected: Rc<RefCell<Vec<Fault>>>,
}

impl Served for Fake {
    fn world(&self) -> &sim::World {
        &self.world
    }

    fn pump(&mut self) {
        let to = self.world.now().plus_ms(10);
        self.world.run_until(to);
    }

    fn inject(&mut self, fault: &Fault) -> Result<Time, String> {
        self.injected.borrow_mut().push(fault.clone());
        Ok(self.world.now().plus_ms(1))
    }
}

fn served() -> (App, Rc<RefCell<Vec<Fault>>>) {
    let scenario = scenarios::resolve("quickstart").expect("built-in");
    let mut spec = scenario.world_spec().unwrap();
    spec.trace_messages = true;
    let mut world = sim::World::new(spec);
    world.run_until(Time(2_000));
    let pupil = world.connect_external(0, "client-0 (127.0.0.1:50000)".into());
    world.rename_external(pupil, "pupil#0".into());
    let metadata = Message::Metadata(broker_core::MetadataRequest {
        correlation_id: CorrelationId(1),
    });
    assert!(world.inject_request_at(Time(2_001), pupil, NodeId::Broker(BrokerId(1)), metadata));
    world.run_until(Time(2_100));
    let injected = Rc::new(RefCell::new(Vec::new()));
    let fake = Fake {
        world,
        injected: Rc::clone(&injected),
    };
    (App::served(scenario, Box::new(fake)).unwrap(), injected)
}

fn text(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal.draw(|f| tui::view::draw(f, app)).expect("draws");
    let buffer = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            let line: String = (0..width)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect();
            line.trim_end().to_owned() + "\n"
        })
        .collect()
}

fn key(app: &mut App, c: char) {
    app.update(Msg::Key(KeyEvent::from(KeyCode::Char(c))));
}

#[test]
fn a_real_client_is_a_node_of_the_cluster_and_flow_views_by_its_client_id() {
    let (mut app, _) = served();
    assert_eq!(app.view, View::Cluster);
    for (w, h) in [(120, 40), (80, 24)] {
        let screen = text(&app, w, h);
        assert!(screen.contains("pupil#0"), "{w}x{h}:\n{screen}");
        assert!(screen.contains("● live"), "{w}x{h}:\n{screen}");
    }
    app.update(Msg::View(View::Flow));
    let screen = text(&app, 120, 40);
    assert!(screen.contains("pupil#0"), "{screen}");
    assert!(
        screen.contains("Metadata"),
        "its request is in the flow:\n{screen}"
    );
}

#[test]
fn fault_keys_go_to_the_served_cluster_and_time_keys_say_why_not() {
    let (mut app, injected) = served();
    // The first node is broker-1.
    key(&mut app, 'c');
    let faults = injected.borrow().clone();
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].action, scenarios::FaultAction::Crash);
    assert_eq!(faults[0].target.as_deref(), Some("broker-1"));
    assert_eq!(app.session.actions().len(), 1, "on the timeline");
    let now = app.session.world().now();
    key(&mut app, '.');
    assert_eq!(app.session.world().now(), now, "a step does nothing");
    let notice = app.notice.clone().unwrap_or_default();
    assert!(notice.contains("wall clock"), "{notice}");
}
