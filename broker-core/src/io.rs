//! The inputs a node handles and the outputs it asks its driver to carry out.

use crate::error::ErrorCode;
use crate::metadata::MetadataRecord;
use crate::protocol::Message;
use crate::record::RecordBatch;
use crate::types::*;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Something that happened to a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// The process started; `disk` is what its storage holds (recovery reads it).
    Start {
        /// The storage as the process finds it.
        disk: DiskImage,
        /// A random id for this process incarnation, drawn by the driver.
        incarnation_id: u64,
    },
    /// A message arrived.
    Message {
        /// The sender.
        from: NodeId,
        /// The message.
        message: Message,
    },
    /// The connection to `peer` broke: requests in flight to it will get no answer.
    Disconnected {
        /// The peer.
        peer: NodeId,
    },
    /// A disk operation completed.
    DiskCompleted {
        /// The operation.
        id: DiskOpId,
        /// `false` when the disk failed the operation (an fsync error, say).
        ok: bool,
    },
    /// A controlled shutdown was asked for (SIGTERM).
    Shutdown,
    /// A workload command for a client.
    Command(ClientCommand),
}

/// What a workload write puts in its record's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteKind {
    /// The value itself.
    #[default]
    Value,
    /// A null value (a tombstone: it deletes its key from a compacted log); the write's identity
    /// goes in `record::WRITE_ID_HEADER`.
    Tombstone,
}

/// Workload commands the driver gives clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientCommand {
    /// Producer: send one record.
    Send {
        /// The key, or `None`.
        key: Option<Bytes>,
        /// The value; unique per run so the checker can follow it.
        value: Bytes,
        /// A value, or a tombstone that carries `value` only as its identity.
        #[serde(default)]
        kind: WriteKind,
    },
    /// Producer: stop accepting records and finish what is in flight.
    Close,
    /// Broker: an operator's `Admin.deleteRecords` (KIP-107) for a partition this broker
    /// leads; the answer is an `Event::RecordsDeleted`.
    DeleteRecords {
        /// The partition.
        tp: TopicPartition,
        /// Where its log start moves.
        to: DeleteRecordsTo,
    },
}

/// Where `DeleteRecords` moves a partition's log start (`DeleteRecordsPartition.offset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeleteRecordsTo {
    /// `-1`: the high watermark (`DeleteRecordsRequest.HIGH_WATERMARK`).
    HighWatermark,
    /// Every record below this offset.
    Offset(Offset),
}

/// Something a node asks its driver to do or to record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// Send a message.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        message: Message,
    },
    /// A disk operation; its completion comes back as `Input::DiskCompleted`.
    Disk(DiskOp),
    /// A teaching event for the trace.
    Event(Event),
    /// A client operation for the history.
    History(HistoryEntry),
    /// Close the connection to `peer` (`RequestChannel.CloseConnectionAction`): the driver breaks
    /// it, and both ends get `Input::Disconnected`. A broker does this when an `acks=0` produce
    /// fails, the only way such a client learns of the error (`KafkaApis.handleProduceRequest`).
    CloseConnection {
        /// The other end.
        peer: NodeId,
    },
    /// A controlled shutdown finished: the process exits.
    Stopped,
}

/// A file of a node's storage.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FileName {
    /// A segment file of a partition log, named by its base offset (`00000000000000000042.log`;
    /// its indexes are rebuilt from it, see `log::Segment`).
    Segment(TopicPartition, Offset),
    /// The controller's metadata log.
    MetadataLog,
    /// `quorum-state`: a controller's Raft election state (`FileQuorumStateStore`).
    QuorumState,
    /// `replication-offset-checkpoint`: the high watermarks.
    HighWatermarkCheckpoint,
    /// `log-start-offset-checkpoint`: the log start offsets above 0.
    LogStartOffsetCheckpoint,
    /// `cleaner-offset-checkpoint`: the log cleaner's first dirty offset per compacted partition.
    CleanerOffsetCheckpoint,
    /// `leader-epoch-checkpoint` of a partition.
    LeaderEpochCheckpoint(TopicPartition),
    /// `.kafka_cleanshutdown`: written at the end of a controlled shutdown.
    CleanShutdown,
}

/// An entry of an append-only file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiskEntry {
    /// A record batch of a partition log.
    Batch(RecordBatch),
    /// A metadata record with its offset.
    Metadata(u64, Box<MetadataRecord>),
    /// An entry of the replicated metadata log (KRaft), with its offset.
    Quorum(u64, Box<crate::raft::RaftEntry<MetadataRecord>>),
}

impl DiskEntry {
    /// The last offset the entry spans: a batch's `last_offset`, a metadata record's offset.
    pub fn last_offset(&self) -> Offset {
        match self {
            DiskEntry::Batch(batch) => batch.last_offset(),
            DiskEntry::Metadata(offset, _) | DiskEntry::Quorum(offset, _) => Offset(*offset),
        }
    }
}

/// The contents of a small file rewritten whole (and fsynced, as Kafka's checkpoint files are).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Checkpoint {
    /// High watermark per partition.
    HighWatermarks(BTreeMap<TopicPartition, Offset>),
    /// Log start offset per partition (`LogManager.checkpointLogStartOffsets`).
    LogStartOffsets(BTreeMap<TopicPartition, Offset>),
    /// The cleaner's first dirty offset per partition (`LogCleanerManager.updateCheckpoints`,
    /// an `OffsetCheckpointFile`): below it a log is clean.
    CleanerOffsets(BTreeMap<TopicPartition, Offset>),
    /// The leader-epoch cache: `(epoch, start offset)` entries.
    LeaderEpochs(Vec<(LeaderEpoch, Offset)>),
    /// The broker epoch of the registration that shut down cleanly (`CleanShutdownFileHandler`,
    /// KIP-966); `None` once a start has read it, as Kafka deletes the file (KAFKA-10471).
    CleanShutdown(Option<BrokerEpoch>),
    /// A controller's Raft election state (`quorum-state`).
    QuorumState(crate::raft::ElectionState),
}

/// A disk operation. Operations of one node complete in the order they were issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiskOp {
    /// Append entries to a file (into the page cache).
    Append {
        /// The operation id.
        id: DiskOpId,
        /// The file.
        file: FileName,
        /// The entries.
        entries: Vec<DiskEntry>,
    },
    /// Remove every entry that spans `offset` or later (`LogSegment.truncateTo`): what stays is
    /// the entries before the first one whose last offset is at least `offset`.
    Truncate {
        /// The operation id.
        id: DiskOpId,
        /// The file.
        file: FileName,
        /// The first offset removed.
        offset: Offset,
    },
    /// Delete a file (a segment retention or truncation removed). Durable at once: the lab
    /// does not model a deleted file coming back after a power failure.
    Delete {
        /// The operation id.
        id: DiskOpId,
        /// The file.
        file: FileName,
    },
    /// Replace a checkpoint file, durably.
    WriteCheckpoint {
        /// The operation id.
        id: DiskOpId,
        /// The file.
        file: FileName,
        /// The new contents.
        checkpoint: Checkpoint,
    },
    /// Replace a segment file by the cleaner's rewrite of it, durably and atomically: Kafka
    /// writes `.cleaned`, fsyncs it, renames it `.swap`, then replaces the old segment
    /// (`LogCleaner.cleanSegments`, `UnifiedLog.replaceSegments`); a crash at any point leaves
    /// either the old file or the new one, never a mix, which is what this one step models.
    ReplaceSegment {
        /// The operation id.
        id: DiskOpId,
        /// The segment file.
        file: FileName,
        /// Its new contents.
        entries: Vec<DiskEntry>,
    },
    /// Make every earlier write of this node durable.
    Fsync {
        /// The operation id.
        id: DiskOpId,
    },
}

impl DiskOp {
    /// The operation id.
    pub fn id(&self) -> DiskOpId {
        match self {
            DiskOp::Append { id, .. }
            | DiskOp::Truncate { id, .. }
            | DiskOp::Delete { id, .. }
            | DiskOp::WriteCheckpoint { id, .. }
            | DiskOp::ReplaceSegment { id, .. }
            | DiskOp::Fsync { id } => *id,
        }
    }
}

/// What a process finds on its disk when it starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskImage {
    /// Append-only files.
    pub files: BTreeMap<FileName, Vec<DiskEntry>>,
    /// Checkpoint files.
    pub checkpoints: BTreeMap<FileName, Checkpoint>,
}

/// Why a follower truncated its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TruncationReason {
    /// The leader answered with a diverging epoch (KIP-101/279/320, KAFKA-10554).
    DivergingEpoch,
    /// Pre-KIP-101: a follower truncates to its high watermark.
    HighWatermark,
    /// The leader's log ends before the follower's fetch offset.
    OffsetOutOfRange,
    /// Recovery found a torn or corrupt batch.
    CorruptTail,
    /// The follower's log ended below the leader's log start: it starts over there.
    BelowLogStart,
}

/// A state change that teaches something; the driver stamps it with time and puts it in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Event {
    BrokerRegistered {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    /// The registration did not carry the broker epoch of a clean shutdown (KIP-966): the broker
    /// may have lost unflushed records, so the controller takes it out of every ISR and ELR.
    UncleanShutdownDetected {
        broker: BrokerId,
    },
    BrokerFenced {
        broker: BrokerId,
        reason: String,
    },
    BrokerUnfenced {
        broker: BrokerId,
    },
    /// The controller changed a partition's leader (or took it offline).
    LeaderElected {
        tp: TopicPartition,
        leader: Option<BrokerId>,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        unclean: bool,
        /// Elected as the last known leader with ISR and ELR empty (unclean too).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        last_known_leader: bool,
        /// Eligible leader replicas after the election (KIP-966).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        elr: Vec<BrokerId>,
    },
    /// The controller committed a new ISR.
    IsrChanged {
        tp: TopicPartition,
        isr: Vec<BrokerId>,
        partition_epoch: PartitionEpoch,
        /// Eligible leader replicas after the change (KIP-966).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        elr: Vec<BrokerId>,
    },
    /// A leader proposed an ISR change.
    IsrChangeProposed {
        broker: BrokerId,
        tp: TopicPartition,
        new_isr: Vec<BrokerId>,
        reason: String,
    },
    BecameLeader {
        broker: BrokerId,
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
        log_end_offset: Offset,
        high_watermark: Offset,
    },
    BecameFollower {
        broker: BrokerId,
        tp: TopicPartition,
        leader: Option<BrokerId>,
        leader_epoch: LeaderEpoch,
    },
    HighWatermarkAdvanced {
        broker: BrokerId,
        tp: TopicPartition,
        high_watermark: Offset,
    },
    Truncated {
        broker: BrokerId,
        tp: TopicPartition,
        from: Offset,
        to: Offset,
        reason: TruncationReason,
    },
    LogRecovered {
        broker: BrokerId,
        tp: TopicPartition,
        log_end_offset: Offset,
        high_watermark: Offset,
        torn_batches: u32,
    },
    /// The active segment was full or old: a new one starts at `base_offset`.
    SegmentRolled {
        broker: BrokerId,
        tp: TopicPartition,
        base_offset: Offset,
    },
    /// The controller deleted a topic (`DeleteTopics`): told when its `RemoveTopic` record
    /// commits. The topic's records go with it, whoever read them.
    TopicDeleted {
        topic: Topic,
    },
    /// The leader answered a `DeleteRecords`: its log now starts at `low_watermark`, or `error`
    /// (`OFFSET_OUT_OF_RANGE` above the high watermark, `NOT_LEADER_OR_FOLLOWER`).
    RecordsDeleted {
        broker: BrokerId,
        tp: TopicPartition,
        to: DeleteRecordsTo,
        low_watermark: Offset,
        error: ErrorCode,
    },
    /// Retention deleted whole segments; the log now starts at `log_start_offset`.
    SegmentsDeleted {
        broker: BrokerId,
        tp: TopicPartition,
        cause: crate::log::RetentionCause,
        segments: u32,
        records: u64,
        log_start_offset: Offset,
    },
    /// The log cleaner compacted a replica's log up to `end` (its first dirty offset now).
    LogCleaned {
        broker: BrokerId,
        tp: TopicPartition,
        /// Records removed because a later record of their key is in the log.
        records: u64,
        /// Segment files rewritten or removed.
        segments: u32,
        end: Offset,
    },
    ProduceRejected {
        broker: BrokerId,
        tp: TopicPartition,
        error: ErrorCode,
    },
    ControlledShutdownCompleted {
        broker: BrokerId,
    },
    /// A broker became coordinator of the groups of an offsets partition and loaded them.
    GroupsLoaded {
        broker: BrokerId,
        partition: u32,
        groups: u32,
    },
    /// A group changed state at its coordinator.
    GroupStateChanged {
        broker: BrokerId,
        group: String,
        state: crate::group::GroupState,
        generation: i32,
        members: u32,
    },
    /// A controller's Raft role or epoch changed (`QuorumState`'s transitions, KIP-595): it
    /// became a candidate, the leader (the active controller), a follower, resigned, ... The
    /// trace tells the quorum's story through these.
    RaftRoleChanged {
        controller: ControllerId,
        role: crate::raft::Role,
        epoch: LeaderEpoch,
    },
}

/// One client operation for the history: invoked, then completed ok, failed or unknown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryEntry {
    /// A producer accepted a record.
    SendInvoked {
        /// The record's value.
        value: Bytes,
        /// The partition chosen.
        tp: TopicPartition,
    },
    /// The send completed.
    SendCompleted {
        /// The record's value.
        value: Bytes,
        /// The partition.
        tp: TopicPartition,
        /// The outcome.
        outcome: SendOutcome,
    },
    /// A consumer read records.
    Polled {
        /// The partition.
        tp: TopicPartition,
        /// `(offset, value)` pairs in order.
        records: Vec<(Offset, Bytes)>,
        /// When the fetch that returned them was sent (the record's own time is its completion).
        invoked: Time,
    },
    /// A consumer's position jumped: what it reads next does not follow what it read before.
    PositionReset {
        /// The partition.
        tp: TopicPartition,
        /// The position before.
        from: Offset,
        /// The position after.
        to: Offset,
        /// Why.
        reason: ResetReason,
    },
    /// A consumer took a position on a partition it had none on (newly assigned, or starting):
    /// where it starts reading, and why. What lies before it was never promised to this reader.
    Positioned {
        /// The partition.
        tp: TopicPartition,
        /// The next offset it reads.
        offset: Offset,
        /// Why there.
        reason: PositionReason,
    },
    /// A group member's assignment changed (boxed: rare, and it would make every history
    /// record larger).
    Rebalanced(Box<Rebalance>),
    /// An offset commit was answered.
    Committed {
        /// The group.
        group: String,
        /// The offsets (the next offset to read per partition).
        offsets: Vec<(TopicPartition, Offset)>,
        /// `NONE` or why the commit failed.
        error: ErrorCode,
    },
    /// The consumer threw an exception to the application (`KafkaConsumer.poll`): it reads
    /// no more from `tp`, or, for a fatal group error (`tp` is `None`), from anything.
    ConsumerError {
        /// The partition, or `None` when the whole consumer stopped.
        tp: Option<TopicPartition>,
        /// The exception.
        error: ConsumerError,
    },
}

/// An exception `KafkaConsumer.poll` throws to the application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerError {
    /// `NoOffsetForPartitionException`: no committed offset and `auto.offset.reset=none`
    /// (`SubscriptionState.resetInitializingPositions`).
    NoOffsetForPartition,
    /// `OffsetOutOfRangeException`: the position is outside the log and
    /// `auto.offset.reset=none` (`FetchCollector.handleInitializeErrors`).
    OffsetOutOfRange {
        /// The position the leader refused.
        offset: Offset,
    },
    /// `LogTruncationException` (KIP-320): the log was truncated below the position and
    /// `auto.offset.reset=none`, so the consumer does not seek on its own
    /// (`SubscriptionState.maybeCompleteValidation`).
    LogTruncation {
        /// The position.
        offset: Offset,
        /// The last epoch both logs share.
        epoch: LeaderEpoch,
        /// Where the leader's log of that epoch ends.
        end_offset: Offset,
    },
    /// A fatal `JoinGroup` error (`INVALID_SESSION_TIMEOUT`, `INCONSISTENT_GROUP_PROTOCOL`,
    /// `FENCED_INSTANCE_ID`: `AbstractCoordinator.JoinGroupResponseHandler`).
    Group {
        /// The error.
        error: ErrorCode,
    },
}

impl std::fmt::Display for ConsumerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsumerError::NoOffsetForPartition => {
                write!(f, "NoOffsetForPartitionException (auto.offset.reset=none)")
            }
            ConsumerError::OffsetOutOfRange { offset } => write!(
                f,
                "OffsetOutOfRangeException at offset {} (auto.offset.reset=none)",
                offset.0
            ),
            ConsumerError::LogTruncation {
                offset,
                epoch,
                end_offset,
            } => write!(
                f,
                "LogTruncationException: position {} but epoch {} ends at {} (auto.offset.reset=none)",
                offset.0, epoch.0, end_offset.0
            ),
            ConsumerError::Group { error } => write!(f, "fatal JoinGroup error {error}"),
        }
    }
}

/// A group member's assignment change: `revoked` were given up in a rebalance (committed first
/// when the consumer could), `lost` were taken away without a chance to commit (the member was
/// expelled), `assigned` are new. Ends the member's run of polls on each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rebalance {
    /// The group.
    pub group: String,
    /// The generation the member is in.
    pub generation: i32,
    /// Its member id.
    pub member_id: String,
    /// Partitions gained.
    pub assigned: Vec<TopicPartition>,
    /// Partitions given up.
    pub revoked: Vec<TopicPartition>,
    /// Partitions taken away.
    pub lost: Vec<TopicPartition>,
}

/// Why a consumer's position moved other than by reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetReason {
    /// The leader answered `OFFSET_OUT_OF_RANGE`; `auto.offset.reset` chose a new position.
    OffsetOutOfRange,
    /// The log was truncated below the position (KIP-320): the leader's log ends `epoch` at
    /// `end_offset`, before what this consumer had read.
    LogTruncation {
        /// The last epoch the consumer read from, as the leader knows it.
        epoch: LeaderEpoch,
        /// Where the leader's log of that epoch ends.
        end_offset: Offset,
    },
}

/// Why a consumer started reading a partition where it did (`KafkaConsumer`'s
/// `SubscriptionState`: a committed offset, else the `auto.offset.reset` policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PositionReason {
    /// The group's committed offset (`OffsetFetch`).
    Committed,
    /// No committed offset (or no group): `auto.offset.reset` chose it with `ListOffsets`.
    AutoOffsetReset(crate::config::AutoOffsetReset),
    /// A real client (`kafka-lab serve`) fetched from here: the wire says where, not why (a
    /// committed offset, a reset policy, a seek). What lies before it is not promised to it.
    Fetched,
}

impl std::fmt::Display for PositionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PositionReason::Committed => f.write_str("its group's committed offset"),
            PositionReason::AutoOffsetReset(policy) => {
                let name = match policy {
                    crate::config::AutoOffsetReset::Earliest => "earliest",
                    crate::config::AutoOffsetReset::Latest => "latest",
                    crate::config::AutoOffsetReset::None => "none",
                };
                write!(f, "auto.offset.reset={name}")
            }
            PositionReason::Fetched => f.write_str("where its client chose to fetch"),
        }
    }
}

/// How a send ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendOutcome {
    /// Acknowledged at this offset (unknown for acks=0).
    Ok(Option<Offset>),
    /// Failed with a Kafka error: it was not written, as far as the client knows.
    Fail(ErrorCode),
    /// Timed out: it may or may not have been written.
    Info(ErrorCode),
}

/// The shape every node has (ARCHITECTURE.md, `broker-core`). Call protocol: `handle` or `handle_timeout`, then
/// `poll_output` until `None`, then `poll_timeout`; time never goes backwards.
pub trait StateMachine {
    /// Handle one input.
    fn handle(&mut self, now: Time, input: Input);
    /// Fire the deadlines that have come.
    fn handle_timeout(&mut self, now: Time);
    /// The next output, if any.
    fn poll_output(&mut self) -> Option<Output>;
    /// The next deadline.
    fn poll_timeout(&self) -> Option<Time>;
}

/// Implement `StateMachine` by forwarding to a node's inherent methods of the same names.
macro_rules! state_machine {
    ($($node:ty),*) => {$(
        impl StateMachine for $node {
            fn handle(&mut self, now: Time, input: Input) {
                <$node>::handle(self, now, input)
            }
            fn handle_timeout(&mut self, now: Time) {
                <$node>::handle_timeout(self, now)
            }
            fn poll_output(&mut self) -> Option<Output> {
                <$node>::poll_output(self)
            }
            fn poll_timeout(&self) -> Option<Time> {
                <$node>::poll_timeout(self)
            }
        }
    )*};
}

state_machine!(
    crate::Broker,
    crate::Controller,
    crate::Producer,
    crate::Consumer
);

/// Drain a node in a unit test: outputs go to `out`; disk operations complete in order, at
/// once, unless `hold_disk` (then they wait in `disk`).
#[cfg(test)]
pub(crate) fn drain_for_test<N: StateMachine>(
    node: &mut N,
    now: Time,
    hold_disk: bool,
    disk: &mut std::collections::VecDeque<DiskOpId>,
    out: &mut Vec<Output>,
) {
    loop {
        while let Some(output) = node.poll_output() {
            if let Output::Disk(op) = &output {
                disk.push_back(op.id());
            }
            out.push(output);
        }
        if hold_disk {
            return;
        }
        let Some(id) = disk.pop_front() else { return };
        node.handle(now, Input::DiskCompleted { id, ok: true });
    }
}
