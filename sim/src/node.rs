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
}

impl Node {
    fn machine(&mut self) -> &mut dyn StateMachine {
        match self {
            Node::Broker(n) => n,
            Node::Controller(n) => n,
            Node::Producer(n) => n,
            Node::Consumer(n) => n,
        }
    }

    fn machine_ref(&self) -> &dyn StateMachine {
        match self {
            Node::Broker(n) => n,
            Node::Controller(n) => n,
            Node::Producer(n) => n,
            Node::Consumer(n) => n,
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
