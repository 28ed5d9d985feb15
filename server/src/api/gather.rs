//! A request answered from several internal answers, in order: the group APIs send one
//! internal message per group or member and build the wire response from all the answers.

use super::{correlation_of, Reply};
use crate::request::Frame;
use broker_core::{CorrelationId, Message};

type Finish = Box<dyn FnOnce(Reply, Vec<Message>) -> Frame>;

/// Waiting for the answers to `waiting`, then `finish` builds the response.
pub struct Gather {
    reply: Reply,
    waiting: Vec<CorrelationId>,
    answers: Vec<Option<Message>>,
    finish: Option<Finish>,
}

impl Gather {
    /// Wait for answers to `waiting`.
    pub fn new(reply: Reply, waiting: Vec<CorrelationId>, finish: Finish) -> Gather {
        let answers = waiting.iter().map(|_| None).collect();
        Gather {
            reply,
            waiting,
            answers,
            finish: Some(finish),
        }
    }

    pub(super) fn on_message(&mut self, message: Message) -> Option<Frame> {
        let id = correlation_of(&message)?;
        let index = self.waiting.iter().position(|w| *w == id)?;
        self.answers[index] = Some(message);
        if self.answers.iter().any(Option::is_none) {
            return None;
        }
        let answers = self.answers.drain(..).map(|a| a.expect("all in")).collect();
        let finish = self.finish.take()?;
        Some(finish(self.reply, answers))
    }
}
