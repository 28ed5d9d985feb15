//! Uniform dispatch over the kinds of node.

use broker_core::{Broker, Consumer, Controller, Input, Output, Producer, StateMachine, Time};

/// A running process of the simulated world.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Node {
    /// A broker.
    Broker(Broker),
    /// The controller.
    Controller(Controller),
    /// A producer client.
    Producer(Producer),
    /// A consumer client.
    Consumer(Consumer),
    /// A real client connected from outside (`kafka-lab serve`): what the world delivers to it
    /// waits here until the server takes it.
    External(External),
}

/// The world's side of one external client connection: no protocol logic (the real client has
/// it), only what arrived for it since the server last looked.
#[derive(Clone, Debug, Default)]
pub struct External {
    arrived: Vec<Input>,
}

impl External {
    /// What arrived (messages and disconnections), oldest first, leaving none.
    pub fn take_arrived(&mut self) -> Vec<Input> {
        std::mem::take(&mut self.arrived)
    }
}

impl StateMachine for External {
    fn handle(&mut self, _now: Time, input: Input) {
        if matches!(input, Input::Message { .. } | Input::Disconnected { .. }) {
            self.arrived.push(input);
        }
    }
    fn handle_timeout(&mut self, _now: Time) {}
    fn poll_output(&mut self) -> Option<Output> {
        None
    }
    fn poll_timeout(&self) -> Option<Time> {
        None
    }
}

impl Node {
    fn machine(&mut self) -> &mut dyn StateMachine {
        match self {
            Node::Broker(n) => n,
            Node::Controller(n) => n,
            Node::Producer(n) => n,
            Node::Consumer(n) => n,
            Node::External(n) => n,
        }
    }

    fn machine_ref(&self) -> &dyn StateMachine {
        match self {
            Node::Broker(n) => n,
            Node::Controller(n) => n,
            Node::Producer(n) => n,
            Node::Consumer(n) => n,
            Node::External(n) => n,
        }
    }

    /// Deliver an input.
    pub fn handle(&mut self, now: Time, input: Input) {
        self.machine().handle(now, input);
    }
    /// Fire deadlines.
    pub fn handle_timeout(&mut self, now: Time) {
        self.machine().handle_timeout(now);
    }
    /// Next output.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.machine().poll_output()
    }
    /// Next deadline.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.machine_ref().poll_timeout()
    }
    /// The broker inside, if it is one.
    pub fn as_broker(&self) -> Option<&Broker> {
        match self {
            Node::Broker(b) => Some(b),
            _ => None,
        }
    }
    /// The controller inside, if it is one.
    pub fn as_controller(&self) -> Option<&Controller> {
        match self {
            Node::Controller(c) => Some(c),
            _ => None,
        }
    }
    /// The consumer inside, if it is one.
    pub fn as_consumer(&self) -> Option<&Consumer> {
        match self {
            Node::Consumer(c) => Some(c),
            _ => None,
        }
    }
    /// The producer inside, if it is one.
    pub fn as_producer(&self) -> Option<&Producer> {
        match self {
            Node::Producer(p) => Some(p),
            _ => None,
        }
    }
}
