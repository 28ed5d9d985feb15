//! Clients: the producer and the consumer, driving the cluster and recording the history.

mod consumer;
#[cfg(test)]
mod consumer_tests;
mod metadata;
pub mod partitioner;
mod producer;
#[cfg(test)]
mod tests;

pub use consumer::Consumer;
pub use producer::Producer;
