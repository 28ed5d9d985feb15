//! Kafka's built-in partitioner: the hash of keyed records, exactly as the Java client computes
//! it, and the sticky partition of the others (KIP-794).

/// `org.apache.kafka.common.utils.Utils.murmur2`: 32-bit murmur2 with Kafka's seed.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    // The Java switch falls through from case 3 to case 1.
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> u32 {
    (n & 0x7fff_ffff) as u32
}

/// The partition of a keyed record: `toPositive(murmur2(key)) % numPartitions`
/// (`BuiltInPartitioner.partitionForKey`).
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    assert!(partitions > 0);
    to_positive(murmur2(key)) % partitions
}

/// The sticky partition of records without a key (`BuiltInPartitioner`, KIP-794): records stick
/// to one partition until `batch.size` bytes were produced to it, then move on. The switch waits
/// for the partition's last batch to be full (`RecordAccumulator.append` passes
/// `enableSwitch = allBatchesFull`) unless twice `batch.size` was produced, so that a lingering
/// batch is not cut short.
///
/// Kafka picks the next partition at random (weighted by queue sizes with
/// `partitioner.adaptive.partitioning.enable`); the lab creates no randomness in the client, so
/// it moves on in partition order, which spreads load the same way over time and repeats.
#[derive(Clone, Debug, Default)]
pub(crate) struct StickyPartition {
    /// Counts the switches; the partition is this modulo the partition count.
    switches: u32,
    /// `StickyPartitionInfo.producedBytes`.
    produced_bytes: u64,
}

impl StickyPartition {
    /// The current sticky partition (`peekCurrentPartitionInfo`).
    pub(crate) fn partition(&self, partitions: u32) -> u32 {
        assert!(partitions > 0);
        self.switches % partitions
    }

    /// `updatePartitionInfo`: count `appended_bytes` and maybe switch.
    pub(crate) fn appended(
        &mut self,
        appended_bytes: u64,
        batch_size: u64,
        all_batches_full: bool,
    ) {
        self.produced_bytes += appended_bytes;
        let enough = self.produced_bytes >= batch_size;
        if enough && all_batches_full || self.produced_bytes >= batch_size.saturating_mul(2) {
            self.switches = self.switches.wrapping_add(1);
            self.produced_bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `BuiltInPartitionerTest`: the partition changes once `batch.size` bytes were produced and
    /// the batch is full, or at twice `batch.size` whatever the batch.
    #[test]
    fn the_sticky_partition_moves_on_after_batch_size_bytes() {
        let mut sticky = StickyPartition::default();
        for _ in 0..9 {
            sticky.appended(10, 100, false);
        }
        assert_eq!(sticky.partition(3), 0, "90 bytes: stay");
        sticky.appended(10, 100, false);
        assert_eq!(
            sticky.partition(3),
            0,
            "100 bytes but the batch is not full"
        );
        sticky.appended(10, 100, true);
        assert_eq!(sticky.partition(3), 1, "110 bytes and the batch is full");
        for _ in 0..19 {
            sticky.appended(10, 100, false);
        }
        assert_eq!(sticky.partition(3), 1);
        sticky.appended(10, 100, false);
        assert_eq!(sticky.partition(3), 2, "twice batch.size: switch anyway");
    }

    /// The vectors of Kafka's `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_the_java_client() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn to_positive_clears_the_sign_bit() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX as u32);
        assert_eq!(to_positive(5), 5);
    }
}
