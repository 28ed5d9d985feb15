//! The client-history checker, after Jepsen's Kafka checker (`jepsen/tests/kafka.clj`; the kinds
//! are in docs/scenario-format.md, "Finding kinds"). A pure function over the
//! recorded history; the caller gives each finding its verdict.
//!
//! Per partition (Jepsen's "key"), the *version order* is the sorted set of offsets observed by
//! any poll or acknowledged with an offset by a send that must have committed. Offsets may have
//! gaps (transaction markers), so positions are compared by their dense index in that order.
//! A send *must have committed* when it was acknowledged, or when it timed out (`Info`) and its
//! value was read anyway; a failed send never must have.
//!
//! Findings are grouped: one per (partition, kind), its explanation the first case (plus how many
//! more), its records the cases (at most [`MAX_RECORDS`], then a count).
//!
//! Cost: O(n log n) in the number of operations and records read; values are borrowed, not cloned.

use crate::kind::FindingKind;
use crate::world::HistoryRecord;
use broker_core::{
    AutoOffsetReset, HistoryEntry, NodeId, Offset, PositionReason, SendOutcome, TopicPartition,
};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// At most this many records are listed per finding; the rest are counted.
pub const MAX_RECORDS: usize = 20;

/// A finding about the client history, before the caller gives it a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryFinding {
    /// What kind of anomaly.
    pub kind: FindingKind,
    /// The partition it was seen on.
    pub partition: TopicPartition,
    /// One sentence a student can read: the first case, and how many more there are.
    pub explanation: String,
    /// The cases, one line each (at most [`MAX_RECORDS`], then "… and N more").
    pub records: Vec<String>,
    /// Whether an acknowledged send is one of the observations in conflict (for
    /// `inconsistent-offsets`: a read contradicting an acknowledgement, not two reads).
    pub acked: bool,
}

/// What the caller already knows from the final cluster state, so that one loss is reported once.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// Partitions no consumer reads: nothing there can be `unseen` or lost *as seen by reads*.
    pub unread: BTreeSet<TopicPartition>,
    /// Acknowledged values already reported lost because the final committed log lacks them.
    pub lost: BTreeMap<TopicPartition, BTreeSet<Bytes>>,
    /// Offsets the log cleaner removed: a reader that steps over them skipped nothing.
    pub removed: BTreeMap<TopicPartition, BTreeSet<Offset>>,
    /// The clients' names for explanations (`consumer-2`); without one, the node id.
    pub names: BTreeMap<NodeId, String>,
}

/// Check a client history for Jepsen's anomalies: `inconsistent-offsets`, `duplicate`,
/// `lost-write`, `unseen`, `nonmonotonic-send`, `nonmonotonic-poll` and `poll-skip` (consumers
/// in assign mode: no rebalances). Findings come ordered by partition, then by kind.
pub fn check_history(history: &[HistoryRecord]) -> Vec<HistoryFinding> {
    check_history_with(history, &Known::default())
}

/// [`check_history`], leaving out what `known` already accounts for.
pub fn check_history_with(history: &[HistoryRecord], known: &Known) -> Vec<HistoryFinding> {
    let mut findings = Vec::new();
    for (tp, ops) in group(history) {
        Partition::analyze(history, tp, ops, known, &mut findings);
    }
    findings
}

/// An observation of a value at an offset: `(offset, value, index of the history record)`.
type Seen<'h> = (Offset, &'h Bytes, usize);

/// One partition's operations, in history order.
#[derive(Default)]
struct Ops<'h> {
    /// Every record read by a poll.
    reads: Vec<Seen<'h>>,
    /// Acknowledged sends: `(offset if known, value, history index)`.
    acks: Vec<(Option<Offset>, &'h Bytes, usize)>,
    /// Sends that timed out (`Info`): `(value, history index)`.
    infos: Vec<(&'h Bytes, usize)>,
    /// History indices of the non-empty polls, and of position resets (which end a run of
    /// successive polls, as a new assignment does in Jepsen's checker).
    polls: Vec<usize>,
    /// Where each value's send was invoked: `(value, history index)`, sorted by value.
    invoked: Vec<(&'h Bytes, usize)>,
    /// Records read by members of a group: `(group, value, offset, history index)`.
    group_reads: Vec<(&'h str, &'h Bytes, Offset, usize)>,
    /// Who read the partition, and what each was never promised.
    readers: Readers<'h>,
}

/// Who reads a partition as one: a group (its members hand positions over through commits), or
/// a consumer outside any group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reader<'h> {
    Group(&'h str),
    Client(NodeId),
}

/// A range of offsets `[from, to)` a reader jumped over by `auto.offset.reset=latest` (before
/// its first position, or between what it had reached and a later position without a committed
/// offset): never promised to it.
#[derive(Clone, Copy, Debug)]
struct Skip {
    from: Offset,
    to: Offset,
    cause: SkipCause,
}

/// Why a reader was not promised a range of offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SkipCause {
    /// It jumped over them by `auto.offset.reset=latest`.
    Latest,
    /// It threw to the application (`auto.offset.reset=none`: no offset, out of range, or a
    /// truncation it must not skip) and reads no more of the partition.
    Threw,
    /// A real client (`kafka-lab serve`) fetched from further on: the wire does not say why.
    Fetched,
    /// A real client's reads end where it stopped fetching: no drain phase reads on for it.
    Stopped,
}

/// Per reader of one partition: how far it has got (the next offset after what it read or was
/// positioned at), and the ranges it skipped.
#[derive(Default)]
struct Readers<'h> {
    reached: BTreeMap<Reader<'h>, Option<Offset>>,
    skips: BTreeMap<Reader<'h>, Vec<Skip>>,
}

impl<'h> Readers<'h> {
    fn read(&mut self, reader: Reader<'h>, last: Offset) {
        let reached = self.reached.entry(reader).or_default();
        *reached = (*reached).max(Some(last.next()));
    }

    /// A reader took a position: with `auto.offset.reset=latest`, what lies between where it
    /// had got to (nothing, the first time) and that position is skipped.
    fn positioned(&mut self, reader: Reader<'h>, offset: Offset, reason: PositionReason) {
        let reached = self.reached.entry(reader).or_default();
        let from = reached.unwrap_or_default();
        *reached = (*reached).max(Some(offset));
        let cause = match reason {
            PositionReason::AutoOffsetReset(AutoOffsetReset::Latest) => Some(SkipCause::Latest),
            PositionReason::Fetched => Some(SkipCause::Fetched),
            _ => None,
        };
        if let Some(cause) = cause.filter(|_| offset > from) {
            let skip = Skip {
                from,
                to: offset,
                cause,
            };
            self.skips.entry(reader).or_default().push(skip);
        }
    }

    /// The reader threw to the application on this partition: from where it had got to on,
    /// nothing was promised to it (other readers are judged as before).
    fn threw(&mut self, reader: Reader<'h>) {
        self.promised_no_more(reader, SkipCause::Threw);
    }

    /// Nothing from where `reader` had got to on is promised to it, for `cause`.
    fn promised_no_more(&mut self, reader: Reader<'h>, cause: SkipCause) {
        let from = self.reached.entry(reader).or_default().unwrap_or_default();
        let skip = Skip {
            from,
            to: Offset(u64::MAX),
            cause,
        };
        self.skips.entry(reader).or_default().push(skip);
    }

    /// A real client's reader: from where it had got to on, nothing was promised to it (its
    /// reads are what it chose to fetch, and nobody reads on for it after the session).
    fn stopped(&mut self, reader: Reader<'h>) {
        self.promised_no_more(reader, SkipCause::Stopped);
    }

    /// Why the readers skipped records, in words, for a record of unknown offset.
    fn why_skipped(&self) -> String {
        let causes: BTreeSet<SkipCause> = self.skips.values().flatten().map(|s| s.cause).collect();
        let words: Vec<&str> = causes
            .iter()
            .map(|c| match c {
                SkipCause::Latest => "skipped records (auto.offset.reset=latest)",
                SkipCause::Threw => {
                    "stopped at an exception to the application (auto.offset.reset=none)"
                }
                SkipCause::Fetched => "fetched from an offset of its own choosing (a real client)",
                SkipCause::Stopped => {
                    "stopped fetching (a real client, read only as far as it fetched)"
                }
            })
            .collect();
        format!("every reader {}", words.join(" or "))
    }

    /// Whether every reader (and there is one) skipped `offset`: a record nobody was promised.
    fn unpromised(&self, offset: Offset) -> bool {
        let skipped = |reader| {
            self.skips
                .get(reader)
                .is_some_and(|skips| skips.iter().any(|s| s.from <= offset && offset < s.to))
        };
        !self.reached.is_empty() && self.reached.keys().all(skipped)
    }

    /// Whether every reader skipped something: then a record of unknown offset may have been
    /// before where they read, or not.
    fn all_skipped(&self) -> bool {
        !self.reached.is_empty() && self.reached.keys().all(|r| self.skips.contains_key(r))
    }
}

fn group(history: &[HistoryRecord]) -> BTreeMap<&TopicPartition, Ops<'_>> {
    let mut parts: BTreeMap<&TopicPartition, Ops<'_>> = BTreeMap::new();
    // The group of each subscribed consumer, from its first rebalance on.
    let mut member_of: BTreeMap<NodeId, &str> = BTreeMap::new();
    for (at, record) in history.iter().enumerate() {
        match &record.entry {
            HistoryEntry::SendInvoked { value, tp } => {
                parts.entry(tp).or_default().invoked.push((value, at));
            }
            HistoryEntry::SendCompleted { value, tp, outcome } => {
                let ops = parts.entry(tp).or_default();
                match outcome {
                    SendOutcome::Ok(offset) => ops.acks.push((*offset, value, at)),
                    SendOutcome::Info(_) => ops.infos.push((value, at)),
                    SendOutcome::Fail(_) => {}
                }
            }
            HistoryEntry::Polled { tp, records, .. } if !records.is_empty() => {
                let ops = parts.entry(tp).or_default();
                ops.polls.push(at);
                let reader = reader_of(&member_of, record.client);
                if let Some((last, _)) = records.last() {
                    ops.readers.read(reader, *last);
                }
                ops.reads.extend(records.iter().map(|(o, v)| (*o, v, at)));
                if let Some(group) = member_of.get(&record.client) {
                    let reads = records.iter().map(|(o, v)| (*group, v, *o, at));
                    ops.group_reads.extend(reads);
                }
            }
            HistoryEntry::Polled { .. } => {}
            HistoryEntry::PositionReset { tp, .. } => parts.entry(tp).or_default().polls.push(at),
            HistoryEntry::Positioned { tp, offset, reason } => {
                let ops = parts.entry(tp).or_default();
                ops.polls.push(at);
                let reader = reader_of(&member_of, record.client);
                ops.readers.positioned(reader, *offset, *reason);
            }
            // A new assignment starts a new run of polls (Jepsen's subscribe mode).
            HistoryEntry::Rebalanced(r) => {
                member_of.insert(record.client, &r.group);
                for tp in r.assigned.iter().chain(&r.revoked).chain(&r.lost) {
                    parts.entry(tp).or_default().polls.push(at);
                }
            }
            HistoryEntry::Committed { .. } => {}
            // An exception to the application about one partition: its reader reads no more
            // of it. One about the whole group (a fatal JoinGroup error) comes before any
            // partition: `findings::abandoned` takes its topics from the spec.
            HistoryEntry::ConsumerError { tp: Some(tp), .. } => {
                let reader = reader_of(&member_of, record.client);
                parts.entry(tp).or_default().readers.threw(reader);
            }
            HistoryEntry::ConsumerError { tp: None, .. } => {}
        }
    }
    // A group with a real client among its members (`kafka-lab serve`).
    let real_groups: BTreeSet<&str> = member_of
        .iter()
        .filter(|(id, _)| crate::World::is_external(**id))
        .map(|(_, group)| *group)
        .collect();
    for ops in parts.values_mut() {
        ops.invoked.sort_unstable();
        // A real client's reads, or its group's, promise nothing past where it stopped (see
        // `Readers::stopped`): no drain phase reads on for them.
        let external: Vec<Reader<'_>> = ops
            .readers
            .reached
            .keys()
            .copied()
            .filter(|r| match r {
                Reader::Client(id) => crate::World::is_external(*id),
                Reader::Group(group) => real_groups.contains(group),
            })
            .collect();
        for reader in external {
            ops.readers.stopped(reader);
        }
    }
    parts
}

/// The reader a client reads for: its group from its first rebalance on, else itself.
fn reader_of<'h>(member_of: &BTreeMap<NodeId, &'h str>, client: NodeId) -> Reader<'h> {
    match member_of.get(&client) {
        Some(group) => Reader::Group(group),
        None => Reader::Client(client),
    }
}

/// A write that must have committed: `(offset if known, value, history index)`.
type Committed<'h> = (Option<Offset>, &'h Bytes, usize);

/// Sends that must have committed: every acknowledged one, and the timed-out ones whose value was
/// read. `read_values` is sorted.
fn must_have_committed<'h>(ops: &Ops<'h>, read_values: &[&Bytes]) -> Vec<Committed<'h>> {
    let was_read = |v: &&Bytes| read_values.binary_search(v).is_ok();
    let mut committed = ops.acks.clone();
    committed.extend(
        ops.infos
            .iter()
            .filter(|(v, _)| was_read(v))
            .map(|&(v, at)| (None, v, at)),
    );
    committed
}

/// What the analysis of one partition needs.
struct Partition<'a, 'h> {
    history: &'h [HistoryRecord],
    tp: &'h TopicPartition,
    /// The version order: distinct offsets, sorted. An offset's position is its dense index.
    order: Vec<Offset>,
    known: &'a Known,
    findings: &'a mut Vec<HistoryFinding>,
}

impl<'a, 'h> Partition<'a, 'h> {
    fn analyze(
        history: &'h [HistoryRecord],
        tp: &'h TopicPartition,
        ops: Ops<'h>,
        known: &'a Known,
        findings: &'a mut Vec<HistoryFinding>,
    ) {
        let mut read_values: Vec<&Bytes> = ops.reads.iter().map(|r| r.1).collect();
        read_values.sort_unstable();
        read_values.dedup();
        let committed = must_have_committed(&ops, &read_values);
        let mut seen: Vec<Seen<'h>> = ops.reads.clone();
        seen.extend(
            committed
                .iter()
                .filter_map(|&(o, v, at)| o.map(|o| (o, v, at))),
        );
        seen.sort_unstable();
        let mut order: Vec<Offset> = seen.iter().map(|s| s.0).collect();
        order.dedup();
        let mut this = Partition {
            history,
            tp,
            order,
            known,
            findings,
        };
        this.inconsistent_offsets(&seen);
        seen.sort_unstable_by(|a, b| (a.1, a.0, a.2).cmp(&(b.1, b.0, b.2)));
        this.duplicates(&seen);
        drop(seen);
        let max_read = ops.reads.iter().map(|r| r.0).max();
        this.lost_and_unseen(&committed, &read_values, max_read, &ops.readers);
        this.nonmonotonic_sends(&ops.acks, &ops.invoked);
        this.polls(&ops.polls);
        this.redeliveries(ops.group_reads);
    }

    /// `redelivery`: a group read the same record twice (by two members, or by one member
    /// after a rebalance). Allowed under at-least-once; counted so the class sees it.
    fn redeliveries(&mut self, mut reads: Vec<(&'h str, &'h Bytes, Offset, usize)>) {
        let mut cases = Cases::new(FindingKind::Redelivery);
        reads.sort_unstable();
        for again in reads.chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2)) {
            let [(group, value, offset, first), .., (_, _, _, last)] = again else {
                continue;
            };
            cases.add(|| {
                format!(
                    "group {group} read {} at {} offset {offset} {} times: first {}, again {}",
                    show(value),
                    self.tp,
                    again.len(),
                    self.who(*first),
                    self.who(*last)
                )
            });
        }
        self.finish(cases);
    }

    /// `seen` is sorted by offset, then value.
    fn inconsistent_offsets(&mut self, seen: &[Seen<'h>]) {
        let mut cases = Cases::new(FindingKind::InconsistentOffsets);
        for group in seen.chunk_by(|a, b| a.0 == b.0) {
            if group.first().map(|s| s.1) == group.last().map(|s| s.1) {
                continue;
            }
            cases.acked |= group.iter().any(|s| self.is_send(s.2));
            cases.add(|| {
                let values: Vec<String> = group
                    .chunk_by(|a, b| a.1 == b.1)
                    .map(|same| format!("{} ({})", show(same[0].1), self.who(same[0].2)))
                    .collect();
                format!(
                    "{} offset {} was observed with {} different values: {}",
                    self.tp,
                    group[0].0,
                    values.len(),
                    values.join(", ")
                )
            });
        }
        self.finish(cases);
    }

    /// `seen` is sorted by value, then offset.
    fn duplicates(&mut self, seen: &[Seen<'h>]) {
        let mut cases = Cases::new(FindingKind::Duplicate);
        for group in seen.chunk_by(|a, b| a.1 == b.1) {
            if group.first().map(|s| s.0) == group.last().map(|s| s.0) {
                continue;
            }
            cases.add(|| {
                let offsets: Vec<String> = group
                    .chunk_by(|a, b| a.0 == b.0)
                    .map(|same| format!("{} ({})", same[0].0, self.who(same[0].2)))
                    .collect();
                format!(
                    "value {} appears at {} offsets {}",
                    show(group[0].1),
                    self.tp,
                    offsets.join(" and ")
                )
            });
        }
        self.finish(cases);
    }

    /// `lost-write`: a write that must have committed, at or below the highest offset read, never
    /// read. `unseen`: one never read that is above it, or whose offset is unknown. A write that
    /// every reader skipped by `auto.offset.reset=latest` was promised to none of them: it is
    /// neither (the final-log check still finds it if the log lost it).
    fn lost_and_unseen(
        &mut self,
        committed: &[Committed<'h>],
        read_values: &[&Bytes],
        max_read: Option<Offset>,
        readers: &Readers<'h>,
    ) {
        let mut lost = Cases::new(FindingKind::LostWrite);
        let mut unseen = Cases::new(FindingKind::Unseen);
        let read_up_to = || match max_read {
            Some(m) => format!("consumers read up to offset {m}"),
            None => "no consumer read the partition".to_owned(),
        };
        if self.known.unread.contains(self.tp) {
            return;
        }
        let reported = self.known.lost.get(self.tp);
        for &(offset, value, at) in committed {
            if read_values.binary_search(&value).is_ok()
                || reported.is_some_and(|lost| lost.contains(value))
            {
                continue;
            }
            if offset.is_some_and(|o| readers.unpromised(o)) {
                continue;
            }
            let at_offset = || match offset {
                Some(o) => format!("at {} offset {o}", self.tp),
                None => format!("to {} (offset unknown)", self.tp),
            };
            let describe = || {
                let record = &self.history[at];
                format!(
                    "value {} was acknowledged {} to {} at {} but never read",
                    show(value),
                    at_offset(),
                    self.name(record.client),
                    record.time
                )
            };
            match (offset, max_read) {
                (Some(o), Some(m)) if o <= m => {
                    lost.add(|| format!("{}, though {}", describe(), read_up_to()));
                }
                (None, _) if readers.all_skipped() => unseen.add(|| {
                    format!(
                        "{}; {}; {}, so whether this one was promised to any is not known",
                        describe(),
                        read_up_to(),
                        readers.why_skipped()
                    )
                }),
                _ => unseen.add(|| format!("{}; {}", describe(), read_up_to())),
            }
        }
        self.finish(lost);
        self.finish(unseen);
    }

    /// A client's successive acknowledged sends whose offsets go backwards (or repeat).
    /// "Successive" is the order the client *invoked* the sends: an asynchronous producer has
    /// several in flight, and their acknowledgements may come back in any order.
    fn nonmonotonic_sends(
        &mut self,
        acks: &[(Option<Offset>, &'h Bytes, usize)],
        invoked: &[(&'h Bytes, usize)],
    ) {
        let mut cases = Cases::new(FindingKind::NonmonotonicSend);
        let invoked_at =
            |value: &Bytes, at: usize| match invoked.binary_search_by(|(v, _)| (*v).cmp(value)) {
                Ok(i) => invoked[i].1,
                Err(_) => at,
            };
        let mut in_send_order: Vec<(usize, Option<Offset>, &'h Bytes, usize)> = acks
            .iter()
            .map(|&(offset, value, at)| (invoked_at(value, at), offset, value, at))
            .collect();
        in_send_order.sort_unstable_by_key(|a| a.0);
        let mut last: BTreeMap<NodeId, (Offset, &Bytes, usize)> = BTreeMap::new();
        for (_, offset, value, at) in in_send_order {
            let Some(offset) = offset else { continue };
            let client = self.history[at].client;
            if let Some((prev, prev_value, prev_at)) = last.insert(client, (offset, value, at)) {
                let client = self.name(client);
                if offset <= prev {
                    cases.add(|| {
                        format!(
                            "{client}'s send of {} was acknowledged at {} offset {offset} ({}), after its send of {} at offset {prev} ({})",
                            show(value),
                            self.tp,
                            self.history[at].time,
                            show(prev_value),
                            self.history[prev_at].time
                        )
                    });
                }
            }
        }
        self.finish(cases);
    }

    /// `poll-skip` and `nonmonotonic-poll`, within one poll and between a client's successive
    /// polls, by dense index in the version order.
    fn polls(&mut self, polls: &[usize]) {
        let mut skips = Cases::new(FindingKind::PollSkip);
        let mut backs = Cases::new(FindingKind::NonmonotonicPoll);
        // Per client: (index, offset, history index) of the last record it read.
        let mut last: BTreeMap<NodeId, (usize, Offset, usize)> = BTreeMap::new();
        for &at in polls {
            let record = &self.history[at];
            let HistoryEntry::Polled { records, .. } = &record.entry else {
                // A reset position: the next poll starts afresh, like after a new assignment.
                last.remove(&record.client);
                continue;
            };
            let mut prev = last.get(&record.client).copied();
            for &(offset, _) in records {
                let index = self.index(offset);
                if let Some((prev_index, prev_offset, prev_at)) = prev {
                    let step = Step {
                        client: record.client,
                        from: prev_offset,
                        from_at: prev_at,
                        to: offset,
                        to_at: at,
                    };
                    if index > prev_index + 1 && !self.all_removed(prev_index + 1..index) {
                        let (first, last) = (self.order[prev_index + 1], self.order[index - 1]);
                        let skipped = index - prev_index - 1;
                        skips.add(|| {
                            format!(
                                "{}, skipping {skipped} known offset(s) {first}..={last}",
                                self.step(&step)
                            )
                        });
                    } else if index <= prev_index {
                        backs.add(|| format!("{}, going backwards", self.step(&step)));
                    }
                }
                prev = Some((index, offset, at));
            }
            if let Some(p) = prev {
                last.insert(record.client, p);
            }
        }
        self.finish(backs);
        self.finish(skips);
    }

    /// Whether every offset at these dense indexes was removed by the cleaner.
    fn all_removed(&self, indexes: std::ops::Range<usize>) -> bool {
        let removed = self.known.removed.get(self.tp);
        removed.is_some_and(|r| self.order[indexes].iter().all(|o| r.contains(o)))
    }

    /// The dense index of an offset of the version order.
    fn index(&self, offset: Offset) -> usize {
        self.order.partition_point(|o| *o < offset)
    }

    fn step(&self, s: &Step) -> String {
        let to_time = self.history[s.to_at].time;
        if s.from_at == s.to_at {
            format!(
                "{}'s poll of {} at {to_time} read offset {} then offset {}",
                self.name(s.client),
                self.tp,
                s.from,
                s.to
            )
        } else {
            format!(
                "{}'s poll of {} at {to_time} started at offset {} after its previous poll (at {}) ended at offset {}",
                self.name(s.client), self.tp, s.to, self.history[s.from_at].time, s.from
            )
        }
    }

    /// Whether history record `at` is a send (an acknowledgement), not a read.
    fn is_send(&self, at: usize) -> bool {
        matches!(self.history[at].entry, HistoryEntry::SendCompleted { .. })
    }

    /// "read by client-4 at 1.200s" or "acknowledged to client-1 at 1.100s".
    fn who(&self, at: usize) -> String {
        let record = &self.history[at];
        let verb = if self.is_send(at) {
            "acknowledged to"
        } else {
            "read by"
        };
        format!("{verb} {} at {}", self.name(record.client), record.time)
    }

    /// A client's name, as the scenario gives it.
    fn name(&self, id: NodeId) -> String {
        match self.known.names.get(&id) {
            Some(name) => name.clone(),
            None => id.to_string(),
        }
    }

    fn finish(&mut self, cases: Cases) {
        let Some(first) = cases.records.first() else {
            return;
        };
        let explanation = match cases.count {
            1 => first.clone(),
            n => format!("{first} ({} more such case(s) on {})", n - 1, self.tp),
        };
        let mut records = cases.records;
        if cases.count > MAX_RECORDS {
            records.push(format!("… and {} more", cases.count - MAX_RECORDS));
        }
        self.findings.push(HistoryFinding {
            kind: cases.kind,
            partition: self.tp.clone(),
            explanation,
            records,
            acked: cases.acked,
        });
    }
}

/// Two successive records read by one client.
struct Step {
    client: NodeId,
    from: Offset,
    from_at: usize,
    to: Offset,
    to_at: usize,
}

/// The cases of one kind on one partition; only the first [`MAX_RECORDS`] are described.
struct Cases {
    kind: FindingKind,
    records: Vec<String>,
    count: usize,
    acked: bool,
}

impl Cases {
    fn new(kind: FindingKind) -> Cases {
        Cases {
            kind,
            records: Vec::new(),
            count: 0,
            acked: false,
        }
    }

    fn add(&mut self, describe: impl FnOnce() -> String) {
        self.count += 1;
        if self.records.len() < MAX_RECORDS {
            self.records.push(describe());
        }
    }
}

fn show(value: &Bytes) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::{ClientId, ErrorCode, Time, Topic};

    fn tp(p: u32) -> TopicPartition {
        TopicPartition::new(&Topic::new("orders"), p)
    }

    fn client(n: u32) -> NodeId {
        NodeId::Client(ClientId(n))
    }

    /// A hand-made history; every operation one millisecond after the previous.
    #[derive(Default)]
    struct H(Vec<HistoryRecord>);

    impl H {
        fn push(&mut self, c: u32, entry: HistoryEntry) -> &mut H {
            let time = Time(self.0.len() as u64);
            self.0.push(HistoryRecord {
                time,
                client: client(c),
                entry,
            });
            self
        }

        fn send(&mut self, c: u32, p: u32, value: &str, outcome: SendOutcome) -> &mut H {
            let value = Bytes::copy_from_slice(value.as_bytes());
            self.push(
                c,
                HistoryEntry::SendInvoked {
                    value: value.clone(),
                    tp: tp(p),
                },
            );
            self.push(
                c,
                HistoryEntry::SendCompleted {
                    value,
                    tp: tp(p),
                    outcome,
                },
            )
        }

        fn ok(&mut self, c: u32, p: u32, value: &str, offset: u64) -> &mut H {
            self.send(c, p, value, SendOutcome::Ok(Some(Offset(offset))))
        }

        fn info(&mut self, c: u32, p: u32, value: &str) -> &mut H {
            self.send(c, p, value, SendOutcome::Info(ErrorCode::REQUEST_TIMED_OUT))
        }

        fn poll(&mut self, c: u32, p: u32, records: &[(u64, &str)]) -> &mut H {
            let records = records
                .iter()
                .map(|&(o, v)| (Offset(o), Bytes::copy_from_slice(v.as_bytes())))
                .collect();
            let invoked = Time(self.0.len() as u64);
            self.push(
                c,
                HistoryEntry::Polled {
                    tp: tp(p),
                    records,
                    invoked,
                },
            )
        }

        fn kinds(&self) -> Vec<FindingKind> {
            check_history(&self.0).iter().map(|f| f.kind).collect()
        }

        fn only(&self, kind: FindingKind) -> HistoryFinding {
            let findings = check_history(&self.0);
            assert_eq!(
                findings.iter().map(|f| f.kind).collect::<Vec<_>>(),
                vec![kind],
                "{findings:#?}"
            );
            findings.into_iter().next().unwrap()
        }
    }

    /// Producer 1 writes a0..a3 at offsets 0..3 of partition 0.
    fn four_acked() -> H {
        let mut h = H::default();
        for i in 0..4 {
            h.ok(1, 0, &format!("a{i}"), i);
        }
        h
    }

    #[test]
    fn a_clean_history_has_no_findings() {
        let mut h = four_acked();
        h.ok(1, 1, "b0", 0)
            .poll(2, 0, &[(0, "a0"), (1, "a1")])
            .poll(2, 0, &[])
            .poll(2, 0, &[(2, "a2"), (3, "a3")])
            .poll(3, 0, &[(0, "a0")])
            .poll(3, 1, &[(0, "b0")]);
        assert_eq!(h.kinds(), vec![]);
    }

    #[test]
    fn inconsistent_offsets() {
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")])
            .poll(3, 0, &[(0, "a0"), (1, "x1")]);
        let f = h.only(FindingKind::InconsistentOffsets);
        assert_eq!(f.partition, tp(0));
        assert!(
            f.explanation
                .contains("orders-0 offset 1 was observed with 2 different values"),
            "{}",
            f.explanation
        );
        assert!(f.explanation.contains("a1 (acknowledged to client-1"));
        assert!(f.explanation.contains("x1 (read by client-3"));
        // x1 is also a value read at one offset only; a1 was read, so nothing is lost.
    }

    #[test]
    fn one_offset_seen_often_with_one_value_is_consistent() {
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")])
            .poll(3, 0, &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")])
            // Another partition's offset 1 holds another value: a different key.
            .ok(1, 1, "b1", 1)
            .poll(2, 1, &[(1, "b1")]);
        assert_eq!(h.kinds(), vec![]);
    }

    #[test]
    fn duplicate() {
        let mut h = four_acked();
        h.ok(1, 0, "a4", 4)
            .poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")])
            .poll(2, 0, &[(4, "a2")]);
        let findings = check_history(&h.0);
        let kinds: Vec<_> = findings.iter().map(|f| f.kind).collect();
        // Offset 4 also holds two values (a4 acknowledged, a2 read), and a4 was never read.
        assert_eq!(
            kinds,
            vec![
                FindingKind::InconsistentOffsets,
                FindingKind::Duplicate,
                FindingKind::LostWrite
            ]
        );
        assert_eq!(
            findings[1].explanation,
            "value a2 appears at orders-0 offsets 2 (acknowledged to client-1 at 0.005s) and 4 (read by client-2 at 0.011s)"
        );
    }

    #[test]
    fn a_value_read_twice_at_one_offset_is_no_duplicate() {
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")])
            .poll(3, 0, &[(2, "a2"), (3, "a3")]);
        assert_eq!(h.kinds(), vec![]);
    }

    #[test]
    fn lost_write() {
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0")])
            .poll(2, 0, &[(2, "a2"), (3, "a3")]);
        let findings = check_history(&h.0);
        let kinds: Vec<_> = findings.iter().map(|f| f.kind).collect();
        // a1 is acknowledged at offset 1 but never read, though offsets 2 and 3 were: lost.
        // Offset 1 is in the version order (from the acknowledgement), so client-2's polls
        // skipped it: Jepsen reports a poll-skip too.
        assert_eq!(kinds, [FindingKind::LostWrite, FindingKind::PollSkip]);
        assert_eq!(
            findings[0].explanation,
            "value a1 was acknowledged at orders-0 offset 1 to client-1 at 0.003s but never read, though consumers read up to offset 3"
        );
    }

    #[test]
    fn no_lost_write_for_writes_that_need_not_have_committed() {
        let mut h = four_acked();
        h.info(1, 0, "t1")
            .send(
                1,
                0,
                "f1",
                SendOutcome::Fail(ErrorCode::NOT_ENOUGH_REPLICAS),
            )
            .ok(1, 0, "a4", 4)
            .poll(
                2,
                0,
                &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3"), (4, "a4")],
            );
        assert_eq!(h.kinds(), vec![]);
    }

    #[test]
    fn unseen() {
        let mut h = four_acked();
        h.send(1, 0, "n4", SendOutcome::Ok(None))
            .poll(2, 0, &[(0, "a0"), (1, "a1")]);
        let f = h.only(FindingKind::Unseen);
        assert_eq!(
            f.explanation,
            "value a2 was acknowledged at orders-0 offset 2 to client-1 at 0.005s but never read; consumers read up to offset 1 (2 more such case(s) on orders-0)"
        );
        assert_eq!(f.records.len(), 3);
        assert!(f.records[2].contains("n4 was acknowledged to orders-0 (offset unknown)"));
        // With no reads at all, everything acknowledged is unseen.
        let f = four_acked().only(FindingKind::Unseen);
        assert!(f.records[0].ends_with("no consumer read the partition"));
    }

    #[test]
    fn timed_out_sends_never_read_are_not_unseen() {
        let mut h = four_acked();
        h.info(1, 0, "t4")
            .poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")]);
        assert_eq!(h.kinds(), vec![]);
    }

    #[test]
    fn timed_out_sends_that_were_read_must_have_committed() {
        let mut h = four_acked();
        h.info(1, 0, "t4")
            .info(1, 0, "t5")
            .send(
                1,
                0,
                "f6",
                SendOutcome::Fail(ErrorCode::NOT_ENOUGH_REPLICAS),
            )
            .poll(2, 0, &[(4, "t4")]);
        let ops = group(&h.0).remove(&tp(0)).unwrap();
        let mut read: Vec<&Bytes> = ops.reads.iter().map(|r| r.1).collect();
        read.sort_unstable();
        let committed: Vec<String> = must_have_committed(&ops, &read)
            .iter()
            .map(|c| show(c.1).into_owned())
            .collect();
        // t5 timed out and was never read; f6 failed: neither must have committed.
        assert_eq!(committed, ["a0", "a1", "a2", "a3", "t4"]);
        // t4 was read at offset 4, so a0..a3, below it and never read, are lost.
        let f = h.only(FindingKind::LostWrite);
        assert_eq!(f.records.len(), 4);
        // Once another consumer reads them, the history is clean; t5 is not unseen.
        h.poll(3, 0, &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")]);
        assert_eq!(h.kinds(), vec![]);
    }

    #[test]
    fn poll_skip() {
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0"), (1, "a1")])
            .poll(2, 0, &[(3, "a3")])
            .poll(3, 0, &[(0, "a0"), (2, "a2")]);
        let f = h.only(FindingKind::PollSkip);
        assert_eq!(f.records.len(), 2, "{f:#?}");
        assert_eq!(
            f.records[0],
            "client-2's poll of orders-0 at 0.009s started at offset 3 after its previous poll (at 0.008s) ended at offset 1, skipping 1 known offset(s) 2..=2"
        );
        assert_eq!(
            f.records[1],
            "client-3's poll of orders-0 at 0.010s read offset 0 then offset 2, skipping 1 known offset(s) 1..=1"
        );
    }

    #[test]
    fn offset_gaps_nobody_saw_are_no_poll_skip() {
        // Offsets 1 and 4 are transaction markers: never acknowledged, never read.
        let mut h = H::default();
        h.ok(1, 0, "a0", 0)
            .ok(1, 0, "a2", 2)
            .ok(1, 0, "a3", 3)
            .ok(1, 0, "a5", 5)
            .poll(2, 0, &[(0, "a0"), (2, "a2")])
            .poll(2, 0, &[(3, "a3"), (5, "a5")]);
        assert_eq!(h.kinds(), vec![]);
    }

    #[test]
    fn nonmonotonic_poll() {
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0"), (1, "a1")])
            .poll(2, 0, &[(1, "a1"), (2, "a2")])
            .poll(3, 0, &[(3, "a3"), (0, "a0")]);
        let f = h.only(FindingKind::NonmonotonicPoll);
        assert_eq!(f.records.len(), 2, "{f:#?}");
        assert!(f.records[0].starts_with("client-2's poll of orders-0 at 0.009s started at offset 1 after its previous poll (at 0.008s) ended at offset 1"));
        assert!(f.records[1].contains(
            "client-3's poll of orders-0 at 0.010s read offset 3 then offset 0, going backwards"
        ));
        // Different clients and different partitions are independent.
        let mut h = four_acked();
        h.ok(1, 1, "b0", 0)
            .poll(2, 0, &[(0, "a0"), (1, "a1")])
            .poll(3, 0, &[(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")])
            .poll(2, 1, &[(0, "b0")])
            .poll(2, 0, &[(2, "a2"), (3, "a3")]);
        assert_eq!(h.kinds(), vec![]);
    }

    fn rebalanced(h: &mut H, c: u32, assigned: &[u32], revoked: &[u32]) {
        let entry = HistoryEntry::Rebalanced(Box::new(broker_core::Rebalance {
            group: "g1".into(),
            generation: 1,
            member_id: format!("m{c}"),
            assigned: assigned.iter().map(|p| tp(*p)).collect(),
            revoked: revoked.iter().map(|p| tp(*p)).collect(),
            lost: Vec::new(),
        }));
        h.push(c, entry);
    }

    #[test]
    fn a_group_reading_again_after_a_rebalance_is_redelivery_not_a_poll_anomaly() {
        let mut h = four_acked();
        rebalanced(&mut h, 2, &[0], &[]);
        rebalanced(&mut h, 3, &[], &[]);
        h.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2")]);
        // consumer 2 crashed before committing: consumer 3 takes over from offset 1.
        rebalanced(&mut h, 3, &[0], &[]);
        h.poll(3, 0, &[(1, "a1"), (2, "a2"), (3, "a3")]);
        // consumer 2 comes back and is given the partition again from offset 3.
        rebalanced(&mut h, 3, &[], &[0]);
        rebalanced(&mut h, 2, &[0], &[]);
        h.poll(2, 0, &[(3, "a3")]);
        let f = h.only(FindingKind::Redelivery);
        assert_eq!(f.records.len(), 3, "a1, a2 and a3 were read twice: {f:#?}");
        assert!(f
            .explanation
            .starts_with("group g1 read a1 at orders-0 offset 1 2 times"));
        // Without the rebalances, client 2's second poll would go backwards and skip.
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2")]).poll(
            2,
            0,
            &[(1, "a1"), (2, "a2"), (3, "a3")],
        );
        assert_eq!(h.kinds(), vec![FindingKind::NonmonotonicPoll]);
    }

    #[test]
    fn a_group_that_never_reads_an_acknowledged_write_loses_it() {
        let mut h = four_acked();
        rebalanced(&mut h, 2, &[0], &[]);
        h.poll(2, 0, &[(0, "a0"), (1, "a1")]);
        rebalanced(&mut h, 3, &[0], &[]);
        h.poll(3, 0, &[(3, "a3")]);
        assert_eq!(
            h.only(FindingKind::LostWrite).records.len(),
            1,
            "a2 was never read"
        );
    }

    /// A real client (`kafka-lab serve`) that fetches from an earlier offset chose to (a seek,
    /// a committed offset): a new position, not a going back; a lab consumer doing the same
    /// without a reset goes back. And a real reader is promised only as far as it fetched:
    /// what it never got to is neither `unseen` nor lost, while a record it fetched past without
    /// seeing still is.
    #[test]
    fn a_real_readers_positions_are_its_own_and_its_reads_end_where_it_stopped() {
        let real = crate::external::EXTERNAL_BASE + 1;
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2")]);
        h.poll(2, 0, &[(1, "a1")]);
        assert_eq!(
            h.kinds(),
            vec![FindingKind::Unseen, FindingKind::NonmonotonicPoll],
            "a lab reader is promised a3 and cannot go back"
        );
        let mut h = four_acked();
        positioned(&mut h, real, 0, PositionReason::Fetched);
        h.poll(real, 0, &[(0, "a0"), (1, "a1"), (2, "a2")]);
        positioned(&mut h, real, 1, PositionReason::Fetched);
        h.poll(real, 0, &[(1, "a1")]);
        assert_eq!(h.kinds(), vec![], "a3 lies past where it stopped");
        let mut h = four_acked();
        positioned(&mut h, real, 0, PositionReason::Fetched);
        h.poll(real, 0, &[(0, "a0"), (1, "a1"), (3, "a3")]);
        assert!(
            h.kinds().contains(&FindingKind::LostWrite),
            "a2 was fetched past: {:?}",
            h.kinds()
        );
    }

    fn positioned(h: &mut H, c: u32, offset: u64, reason: PositionReason) {
        let entry = HistoryEntry::Positioned {
            tp: tp(0),
            offset: Offset(offset),
            reason,
        };
        h.push(c, entry);
    }

    const LATEST: PositionReason = PositionReason::AutoOffsetReset(AutoOffsetReset::Latest);
    const EARLIEST: PositionReason = PositionReason::AutoOffsetReset(AutoOffsetReset::Earliest);

    #[test]
    fn records_before_a_group_started_at_latest_were_never_promised_to_it() {
        let mut h = four_acked();
        rebalanced(&mut h, 2, &[0], &[]);
        positioned(&mut h, 2, 2, LATEST);
        h.poll(2, 0, &[(2, "a2"), (3, "a3")]);
        assert_eq!(h.kinds(), vec![], "a0 and a1 came before the group's start");
    }

    fn threw(h: &mut H, c: u32, p: u32, offset: u64) {
        let tp = TopicPartition::new(&Topic::new("orders"), p);
        let error = broker_core::ConsumerError::OffsetOutOfRange {
            offset: Offset(offset),
        };
        h.push(
            c,
            HistoryEntry::ConsumerError {
                tp: Some(tp),
                error,
            },
        );
    }

    #[test]
    fn a_reader_that_threw_is_promised_nothing_more_but_others_still_are() {
        // The only reader read a0 and a1, then threw (auto.offset.reset=none): a2 and a3
        // were promised to nobody.
        let mut h = four_acked();
        positioned(&mut h, 2, 0, PositionReason::Committed);
        h.poll(2, 0, &[(0, "a0"), (1, "a1")]);
        threw(&mut h, 2, 0, 2);
        assert_eq!(h.kinds(), vec![], "nothing past the exception was promised");
        // Another reader still owes what it skipped: its reads judge the partition.
        let mut h = four_acked();
        positioned(&mut h, 2, 0, PositionReason::Committed);
        h.poll(2, 0, &[(0, "a0"), (1, "a1")]);
        threw(&mut h, 2, 0, 2);
        positioned(&mut h, 3, 0, EARLIEST);
        h.poll(3, 0, &[(0, "a0"), (1, "a1")]);
        h.poll(3, 0, &[(3, "a3")]);
        let findings = check_history(&h.0);
        let lost = findings
            .iter()
            .find(|f| f.kind == FindingKind::LostWrite)
            .expect("a2 was promised to the second reader");
        assert!(lost.explanation.contains("a2"), "{}", lost.explanation);
    }

    #[test]
    fn a_record_after_a_latest_start_that_nobody_read_is_still_lost() {
        let mut h = four_acked();
        rebalanced(&mut h, 2, &[0], &[]);
        positioned(&mut h, 2, 1, LATEST);
        h.poll(2, 0, &[(1, "a1")]);
        h.poll(2, 0, &[(3, "a3")]);
        let findings = check_history(&h.0);
        let lost = findings
            .iter()
            .find(|f| f.kind == FindingKind::LostWrite)
            .expect("a2 came after the start and was never read");
        assert_eq!(lost.records.len(), 1, "{lost:?}");
        assert!(lost.explanation.contains("a2"), "{}", lost.explanation);
    }

    #[test]
    fn a_reader_that_started_earliest_was_promised_what_a_latest_group_skipped() {
        let mut h = four_acked();
        rebalanced(&mut h, 2, &[0], &[]);
        positioned(&mut h, 2, 2, LATEST);
        h.poll(2, 0, &[(2, "a2"), (3, "a3")]);
        positioned(&mut h, 3, 0, EARLIEST);
        h.poll(3, 0, &[(1, "a1"), (2, "a2"), (3, "a3")]);
        let lost = h.only(FindingKind::LostWrite);
        assert!(lost.explanation.contains("a0"), "{}", lost.explanation);
    }

    #[test]
    fn a_group_repositioned_at_latest_skips_only_past_what_it_had_reached() {
        let mut h = H::default();
        for i in 0..6 {
            h.ok(1, 0, &format!("a{i}"), i);
        }
        rebalanced(&mut h, 2, &[0], &[]);
        positioned(&mut h, 2, 1, LATEST);
        h.poll(2, 0, &[(1, "a1"), (2, "a2")]);
        // No commit before the partition moved: the next owner starts at the end again.
        rebalanced(&mut h, 2, &[], &[0]);
        rebalanced(&mut h, 3, &[0], &[]);
        positioned(&mut h, 3, 5, LATEST);
        h.poll(3, 0, &[(5, "a5")]);
        assert_eq!(
            h.kinds(),
            vec![],
            "a0 before the start, a3 and a4 skipped by latest"
        );
        // From a committed offset nothing is skipped: a record past it nobody read is lost.
        let mut h = H::default();
        for i in 0..6 {
            h.ok(1, 0, &format!("a{i}"), i);
        }
        rebalanced(&mut h, 2, &[0], &[]);
        positioned(&mut h, 2, 0, EARLIEST);
        h.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2")]);
        rebalanced(&mut h, 2, &[], &[0]);
        rebalanced(&mut h, 3, &[0], &[]);
        positioned(&mut h, 3, 4, PositionReason::Committed);
        h.poll(3, 0, &[(4, "a4"), (5, "a5")]);
        let lost = h.only(FindingKind::LostWrite);
        assert!(lost.explanation.contains("a3"), "{}", lost.explanation);
    }

    #[test]
    fn a_record_of_unknown_offset_says_what_the_checker_does_not_know() {
        let mut h = H::default();
        h.send(1, 0, "x", SendOutcome::Ok(None));
        h.ok(1, 0, "a1", 1);
        positioned(&mut h, 2, 1, LATEST);
        h.poll(2, 0, &[(1, "a1")]);
        let unseen = h.only(FindingKind::Unseen);
        assert!(
            unseen.explanation.contains("auto.offset.reset=latest")
                && unseen.explanation.contains("not known"),
            "{}",
            unseen.explanation
        );
    }

    #[test]
    fn nonmonotonic_send() {
        let mut h = H::default();
        h.ok(1, 0, "a5", 5)
            .ok(1, 0, "a3", 3)
            .poll(2, 0, &[(3, "a3"), (5, "a5")]);
        let f = h.only(FindingKind::NonmonotonicSend);
        assert_eq!(
            f.explanation,
            "client-1's send of a3 was acknowledged at orders-0 offset 3 (0.003s), after its send of a5 at offset 5 (0.001s)"
        );
        // Two producers interleaving, each monotonic, are fine.
        let mut h = H::default();
        h.ok(1, 0, "a1", 1)
            .ok(2, 0, "b0", 0)
            .ok(1, 0, "a2", 2)
            .ok(2, 0, "b3", 3)
            .poll(3, 0, &[(0, "b0"), (1, "a1"), (2, "a2"), (3, "b3")]);
        assert_eq!(h.kinds(), vec![]);
    }

    #[test]
    fn a_position_reset_ends_a_run_of_polls() {
        let mut h = four_acked();
        h.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2")]);
        let reset = HistoryEntry::PositionReset {
            tp: tp(0),
            from: Offset(3),
            to: Offset(1),
            reason: broker_core::ResetReason::OffsetOutOfRange,
        };
        h.push(2, reset);
        h.poll(2, 0, &[(1, "a1"), (2, "a2"), (3, "a3")]);
        assert_eq!(
            h.kinds(),
            vec![],
            "going back after a recorded reset is no anomaly"
        );
        let mut unexplained = four_acked();
        unexplained.poll(2, 0, &[(0, "a0"), (1, "a1"), (2, "a2")]);
        unexplained.poll(2, 0, &[(1, "a1"), (2, "a2"), (3, "a3")]);
        assert_eq!(unexplained.kinds(), vec![FindingKind::NonmonotonicPoll]);
    }

    #[test]
    fn records_are_capped() {
        let mut h = H::default();
        for i in 0..30 {
            h.ok(1, 0, &format!("a{i}"), i);
        }
        h.poll(2, 0, &[(30, "z")]);
        let f = h.only(FindingKind::LostWrite);
        assert_eq!(f.records.len(), MAX_RECORDS + 1);
        assert_eq!(f.records[MAX_RECORDS], "… and 10 more");
        assert!(f
            .explanation
            .ends_with("(29 more such case(s) on orders-0)"));
    }

    /// 1,000,000 operations on 8 partitions: 4 producers send 100,000 records each (invoked and
    /// completed: 800,000 operations); 4 consumers read them in 200,000 polls of 2 records.
    #[test]
    fn a_million_clean_operations() {
        const PARTITIONS: u32 = 8;
        const SENDS: u64 = 100_000;
        const PER_POLL: u64 = 2;
        let mut history = Vec::with_capacity(1_000_000);
        let tps: Vec<TopicPartition> = (0..PARTITIONS).map(tp).collect();
        let value = |i: u64| Bytes::from(format!("producer:{i}"));
        let mut next = vec![0u64; PARTITIONS as usize];
        let mut log: Vec<Vec<Bytes>> = vec![Vec::new(); PARTITIONS as usize];
        let mut time = 0;
        let mut push = |history: &mut Vec<HistoryRecord>, c: u32, entry| {
            time += 1;
            history.push(HistoryRecord {
                time: Time(time),
                client: client(c),
                entry,
            });
        };
        for producer in 0..4u32 {
            for i in 0..SENDS {
                let n = u64::from(producer) * SENDS + i;
                let p = (n % u64::from(PARTITIONS)) as usize;
                let v = value(n);
                let entry = HistoryEntry::SendInvoked {
                    value: v.clone(),
                    tp: tps[p].clone(),
                };
                push(&mut history, producer + 1, entry);
                let offset = Offset(next[p]);
                next[p] += 1;
                log[p].push(v.clone());
                let outcome = SendOutcome::Ok(Some(offset));
                let entry = HistoryEntry::SendCompleted {
                    value: v,
                    tp: tps[p].clone(),
                    outcome,
                };
                push(&mut history, producer + 1, entry);
            }
        }
        // Consumer 10 + c reads partitions c and c + 4, in polls of 2 records.
        for (p, values) in log.iter().enumerate() {
            for (chunk_index, chunk) in values.chunks(PER_POLL as usize).enumerate() {
                let base = chunk_index as u64 * PER_POLL;
                let records = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (Offset(base + i as u64), v.clone()))
                    .collect();
                let entry = HistoryEntry::Polled {
                    tp: tps[p].clone(),
                    records,
                    invoked: Time(0),
                };
                push(&mut history, 10 + (p % 4) as u32, entry);
            }
        }
        assert_eq!(history.len(), 1_000_000);
        assert_eq!(check_history(&history), vec![]);
    }
}
