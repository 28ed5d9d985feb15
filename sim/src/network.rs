//! The simulated network: per-link latency, random loss and duplication, cuts and clogs.
//!
//! Links behave like TCP connections: messages on one `(from, to)` link arrive in the order they
//! were sent while the link is up. The network only decides *when* (or whether) a message
//! arrives; the world schedules the delivery.

use broker_core::{Message, NodeId, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How messages travel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// One-way latency in milliseconds, uniform in `[min, max]`.
    pub latency_ms: (u64, u64),
    /// Probability that a message is lost.
    pub drop_rate: f64,
    /// Probability that a message is delivered twice.
    pub duplicate_rate: f64,
}

/// Why a message was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DropReason {
    /// The link from sender to receiver is cut.
    Cut,
    /// Random loss (`drop_rate`).
    Random,
}

/// What happens to a message sent now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The message is lost.
    Dropped(DropReason),
    /// The message arrives at these times: one, or two when duplicated (the copy not earlier).
    Deliver(Vec<Time>),
    /// An end of the link is clogged: the network keeps the message until it is unclogged.
    Held,
}

/// A message released by an unclog, with its delivery time: `(at, from, to, message)`.
pub type Release = (Time, NodeId, NodeId, Message);

/// The network between all nodes of the world.
#[derive(Clone, Debug)]
pub struct Network {
    config: NetworkConfig,
    /// Cut one-way links `(from, to)`.
    cuts: BTreeSet<(NodeId, NodeId)>,
    /// Nodes whose incoming and outgoing messages are held.
    clogged: BTreeSet<NodeId>,
    /// Held messages in the order they were sent, so releasing them keeps each link's order.
    held: Vec<(NodeId, NodeId, Message)>,
    /// The latest delivery time scheduled per link: later messages never arrive before it.
    last_delivery: BTreeMap<(NodeId, NodeId), Time>,
}

impl Network {
    /// A network with no faults yet.
    pub fn new(config: NetworkConfig) -> Self {
        Network {
            config,
            cuts: BTreeSet::new(),
            clogged: BTreeSet::new(),
            held: Vec::new(),
            last_delivery: BTreeMap::new(),
        }
    }

    /// The current configuration.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Changes latency and loss for messages sent from now on.
    pub fn set_config(&mut self, config: NetworkConfig) {
        self.config = config;
    }

    /// Decides the fate of `message` sent at `now` from `from` to `to`.
    pub fn route(
        &mut self,
        now: Time,
        from: NodeId,
        to: NodeId,
        message: &Message,
        rng: &mut ChaCha8Rng,
    ) -> Route {
        if from == to {
            // Loopback never leaves the host.
            return Route::Deliver(vec![now]);
        }
        if !self.connected(from, to) {
            return Route::Dropped(DropReason::Cut);
        }
        if self.clogged.contains(&from) || self.clogged.contains(&to) {
            self.held.push((from, to, message.clone()));
            return Route::Held;
        }
        if chance(rng, self.config.drop_rate) {
            return Route::Dropped(DropReason::Random);
        }
        let first = self.schedule(now, from, to, rng);
        if chance(rng, self.config.duplicate_rate) {
            let second = self.schedule(now, from, to, rng);
            return Route::Deliver(vec![first, second]);
        }
        Route::Deliver(vec![first])
    }

    /// Whether the one-way link `from → to` is up (not cut).
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        from == to || !self.cuts.contains(&(from, to))
    }

    /// Cuts every link, both ways, between nodes of different sides. Nodes in no side keep
    /// their links.
    pub fn partition(&mut self, sides: &[Vec<NodeId>]) {
        for (i, side) in sides.iter().enumerate() {
            for other in &sides[i + 1..] {
                for &a in side {
                    for &b in other {
                        self.cut_both(a, b);
                    }
                }
            }
        }
    }

    /// Cuts every link to and from `node`.
    pub fn isolate(&mut self, node: NodeId, all_nodes: &[NodeId]) {
        for &other in all_nodes {
            self.cut_both(node, other);
        }
    }

    /// Cuts the one-way link `from → to`.
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        if from != to {
            self.cuts.insert((from, to));
        }
    }

    fn cut_both(&mut self, a: NodeId, b: NodeId) {
        self.cut(a, b);
        self.cut(b, a);
    }

    /// Removes every cut. Clogs stay: they are a separate fault with their own release.
    pub fn heal(&mut self) {
        self.cuts.clear();
    }

    /// Holds every message to or from `node` from now on (none is lost).
    pub fn clog(&mut self, node: NodeId) {
        self.clogged.insert(node);
    }

    /// Unclogs `node` and releases the held messages whose ends are now both unclogged, with
    /// delivery times that keep each link's order. Held messages whose link was cut meanwhile
    /// are dropped: a cut breaks the connection that carried them.
    pub fn unclog(&mut self, node: NodeId, now: Time, rng: &mut ChaCha8Rng) -> Vec<Release> {
        self.clogged.remove(&node);
        self.release(now, rng)
    }

    /// Unclogs every node and releases every held message (see [`Network::unclog`]).
    pub fn unclog_all(&mut self, now: Time, rng: &mut ChaCha8Rng) -> Vec<Release> {
        self.clogged.clear();
        self.release(now, rng)
    }

    /// The cut one-way links `(from, to)`, in order.
    pub fn cut_links(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.cuts.iter().copied()
    }

    /// The clogged nodes, in order.
    pub fn clogged(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.clogged.iter().copied()
    }

    /// How many messages are held by clogs, for the UI.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    /// The process on `node` died: its connections are gone, so later messages on its links are
    /// not ordered after earlier ones, and messages held for those connections are lost.
    pub fn forget_link_order(&mut self, node: NodeId) {
        self.last_delivery
            .retain(|&(from, to), _| from != node && to != node);
        self.held
            .retain(|(from, to, _)| *from != node && *to != node);
    }

    /// Schedules held messages whose ends are both unclogged, in the order they were sent.
    fn release(&mut self, now: Time, rng: &mut ChaCha8Rng) -> Vec<Release> {
        let held = std::mem::take(&mut self.held);
        let mut released = Vec::new();
        for (from, to, message) in held {
            if self.clogged.contains(&from) || self.clogged.contains(&to) {
                self.held.push((from, to, message));
            } else if self.connected(from, to) {
                let at = self.schedule(now, from, to, rng);
                released.push((at, from, to, message));
            }
        }
        released
    }

    /// A delivery time on `from → to`: random latency, but never before the link's last one.
    fn schedule(&mut self, now: Time, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> Time {
        let (min, max) = self.config.latency_ms;
        // Draw only for a real range, so a fixed latency consumes no randomness.
        let latency = if max > min {
            rng.gen_range(min..=max)
        } else {
            min
        };
        let last = self.last_delivery.entry((from, to)).or_default();
        let at = now.plus_ms(latency).max(*last);
        *last = at;
        at
    }
}

/// `true` with probability `p`, drawing only when the outcome is uncertain.
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    if p.is_nan() || p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        rng.gen_bool(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::{BrokerId, ClientId, CorrelationId};
    use rand_chacha::rand_core::SeedableRng;

    fn b(id: u32) -> NodeId {
        NodeId::Broker(BrokerId(id))
    }

    fn msg(n: u64) -> Message {
        Message::Metadata(broker_core::MetadataRequest {
            correlation_id: CorrelationId(n),
        })
    }

    fn config(latency_ms: (u64, u64), drop_rate: f64, duplicate_rate: f64) -> NetworkConfig {
        NetworkConfig {
            latency_ms,
            drop_rate,
            duplicate_rate,
        }
    }

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(3)
    }

    fn times(route: Route) -> Vec<Time> {
        match route {
            Route::Deliver(times) => times,
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    #[test]
    fn links_are_fifo_under_random_latency() {
        let mut net = Network::new(config((1, 50), 0.0, 0.0));
        let mut rng = rng();
        let mut last = Time(0);
        let mut saw_clamp = false;
        for n in 0..1000 {
            let now = Time(n / 3);
            let at = times(net.route(now, b(1), b(2), &msg(n), &mut rng))[0];
            assert!(at >= last && at >= now.plus_ms(1) && at <= now.plus_ms(50).max(last));
            saw_clamp |= at > now.plus_ms(1) && at == last;
            last = at;
        }
        assert!(
            saw_clamp,
            "random latency should have needed reordering protection"
        );
    }

    #[test]
    fn drop_rate_one_drops_everything() {
        let mut net = Network::new(config((1, 5), 1.0, 0.0));
        let mut rng = rng();
        for n in 0..100 {
            let route = net.route(Time(n), b(1), b(2), &msg(n), &mut rng);
            assert_eq!(route, Route::Dropped(DropReason::Random));
        }
        // Loopback is never dropped and takes no time.
        let route = net.route(Time(7), b(1), b(1), &msg(0), &mut rng);
        assert_eq!(route, Route::Deliver(vec![Time(7)]));
    }

    #[test]
    fn duplicate_rate_one_delivers_twice() {
        let mut net = Network::new(config((1, 20), 0.0, 1.0));
        let mut rng = rng();
        for n in 0..100 {
            let at = times(net.route(Time(n), b(1), b(2), &msg(n), &mut rng));
            assert_eq!(at.len(), 2);
            assert!(at[1] >= at[0]);
        }
    }

    #[test]
    fn partition_cuts_between_sides_only() {
        let mut net = Network::new(config((1, 1), 0.0, 0.0));
        let client = NodeId::Client(ClientId(1));
        net.partition(&[vec![b(1), b(2)], vec![b(3)]]);
        assert!(!net.connected(b(1), b(3)) && !net.connected(b(3), b(1)));
        assert!(!net.connected(b(2), b(3)) && !net.connected(b(3), b(2)));
        assert!(net.connected(b(1), b(2)) && net.connected(b(2), b(1)));
        assert!(net.connected(client, b(3)) && net.connected(b(1), client));
        let route = net.route(Time(0), b(3), b(1), &msg(0), &mut rng());
        assert_eq!(route, Route::Dropped(DropReason::Cut));
        net.heal();
        assert_eq!(net.cut_links().count(), 0);
        assert!(net.connected(b(1), b(3)) && net.connected(b(3), b(1)));
    }

    #[test]
    fn cut_is_one_way_and_isolate_is_total() {
        let mut net = Network::new(config((1, 1), 0.0, 0.0));
        net.cut(b(1), b(2));
        assert!(!net.connected(b(1), b(2)));
        assert!(net.connected(b(2), b(1)));
        assert_eq!(net.cut_links().collect::<Vec<_>>(), vec![(b(1), b(2))]);
        net.heal();
        net.isolate(b(2), &[b(1), b(2), b(3)]);
        assert_eq!(net.cut_links().count(), 4);
        assert!(!net.connected(b(3), b(2)) && !net.connected(b(2), b(1)));
        assert!(net.connected(b(1), b(3)));
    }

    #[test]
    fn clog_holds_and_unclog_releases_in_order() {
        let mut net = Network::new(config((1, 30), 0.0, 0.0));
        let mut rng = rng();
        net.clog(b(2));
        net.clog(b(3));
        for n in 0..20 {
            let route = net.route(Time(n), b(1), b(2), &msg(n), &mut rng);
            assert_eq!(route, Route::Held);
        }
        net.route(Time(5), b(3), b(1), &msg(99), &mut rng);
        assert_eq!(net.clogged().collect::<Vec<_>>(), vec![b(2), b(3)]);
        let released = net.unclog(b(2), Time(100), &mut rng);
        assert_eq!(released.len(), 20);
        assert_eq!(net.held_count(), 1);
        for (n, window) in released.windows(2).enumerate() {
            assert!(window[0].0 <= window[1].0);
            assert_eq!(window[0].3, msg(n as u64));
        }
        assert!(released.iter().all(|r| r.0 >= Time(101)));
        let rest = net.unclog_all(Time(200), &mut rng);
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].1, rest[0].2), (b(3), b(1)));
    }

    #[test]
    fn forgetting_link_order_drops_held_messages_and_ordering() {
        let mut net = Network::new(config((10, 10), 0.0, 0.0));
        let mut rng = rng();
        let first = times(net.route(Time(0), b(1), b(2), &msg(0), &mut rng));
        assert_eq!(first, vec![Time(10)]);
        net.set_config(config((1, 1), 0.0, 0.0));
        let second = times(net.route(Time(0), b(1), b(2), &msg(1), &mut rng));
        assert_eq!(second, vec![Time(10)]);
        net.forget_link_order(b(2));
        let third = times(net.route(Time(0), b(1), b(2), &msg(2), &mut rng));
        assert_eq!(third, vec![Time(1)]);
        net.clog(b(1));
        net.route(Time(0), b(1), b(2), &msg(3), &mut rng);
        net.forget_link_order(b(1));
        assert_eq!(net.held_count(), 0);
    }

    #[test]
    fn same_seed_gives_same_routes() {
        let run = || {
            let mut net = Network::new(config((1, 40), 0.2, 0.1));
            let mut rng = ChaCha8Rng::seed_from_u64(11);
            (0..500)
                .map(|n| net.route(Time(n), b(1 + (n % 3) as u32), b(4), &msg(n), &mut rng))
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        assert!(a
            .iter()
            .any(|r| matches!(r, Route::Dropped(DropReason::Random))));
        assert!(a
            .iter()
            .any(|r| matches!(r, Route::Deliver(t) if t.len() == 2)));
    }
}
