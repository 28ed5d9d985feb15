//! A topic's log configuration (`LogConfig`): segments, retention and cleanup, by Kafka's topic
//! config names, defaults and `ConfigDef` ranges.

use crate::config::{ConfigError, Reader};
use serde::{Deserialize, Serialize};

/// `cleanup.policy` (`LogConfig`: LIST, `ValidList.in("compact", "delete")`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CleanupPolicy {
    /// `delete`: retention deletes whole old segments.
    Delete,
    /// `compact`: the cleaner keeps the latest record of every key.
    Compact,
    /// `compact,delete`: both.
    CompactDelete,
}

impl CleanupPolicy {
    /// Whether retention deletes segments (`LogConfig.delete`).
    pub fn deletes(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }

    /// Whether the cleaner compacts the log (`LogConfig.compact`).
    pub fn compacts(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }
}

/// `min.cleanable.dirty.ratio` in millionths (`LogConfig`: DOUBLE, `between(0, 1)`), so that a
/// config stays `Eq` and a run never depends on float rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DirtyRatio(pub u32);

impl DirtyRatio {
    /// One, in millionths.
    pub const ONE: u32 = 1_000_000;
}

/// Segment, retention and cleanup settings of a topic (`LogConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    /// `segment.bytes`: the active segment rolls when the next batch would pass this size.
    pub segment_bytes: u64,
    /// `segment.ms`: the active segment rolls when its first batch is this old.
    pub segment_ms: u64,
    /// `index.interval.bytes`: bytes appended between two offset-index entries.
    pub index_interval_bytes: u64,
    /// `retention.ms`; `None` for -1 (keep forever).
    pub retention_ms: Option<u64>,
    /// `retention.bytes`; `None` for a negative value (no size limit).
    pub retention_bytes: Option<u64>,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `min.cleanable.dirty.ratio`.
    pub min_cleanable_dirty_ratio: DirtyRatio,
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag_ms: u64,
    /// `max.compaction.lag.ms`.
    pub max_compaction_lag_ms: u64,
    /// `delete.retention.ms`: how long a tombstone stays after its segment was cleaned.
    pub delete_retention_ms: u64,
}

impl Default for LogConfig {
    /// Kafka's defaults (`LogConfig.DEFAULT_*`, `ServerLogConfigs`).
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            index_interval_bytes: 4096,
            retention_ms: Some(7 * 24 * 60 * 60 * 1000),
            retention_bytes: None,
            cleanup_policy: CleanupPolicy::Delete,
            min_cleanable_dirty_ratio: DirtyRatio(500_000),
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX as u64,
            delete_retention_ms: 24 * 60 * 60 * 1000,
        }
    }
}

impl LogConfig {
    /// Read the log configs of a topic config map, on top of `defaults`. The ranges are
    /// `LogConfig`'s `ConfigDef` (Kafka 4.x `storage/.../log/LogConfig.java`).
    pub(crate) fn read(r: &mut Reader<'_>, defaults: &LogConfig) -> Result<LogConfig, ConfigError> {
        let long = i64::MAX;
        let config = LogConfig {
            // INT, atLeast(LegacyRecord.RECORD_OVERHEAD_V0 = 14).
            segment_bytes: r.int(
                "segment.bytes",
                defaults.segment_bytes as i64,
                14,
                i64::from(i32::MAX),
            )? as u64,
            // LONG, atLeast(1).
            segment_ms: r.int("segment.ms", defaults.segment_ms as i64, 1, long)? as u64,
            // INT, atLeast(0).
            index_interval_bytes: r.int(
                "index.interval.bytes",
                defaults.index_interval_bytes as i64,
                0,
                i64::from(i32::MAX),
            )? as u64,
            // LONG, atLeast(-1); -1 keeps forever.
            retention_ms: non_negative(r.int(
                "retention.ms",
                defaults.retention_ms.map_or(-1, |v| v as i64),
                -1,
                long,
            )?),
            // LONG, no validator: any negative value means no limit.
            retention_bytes: non_negative(r.int(
                "retention.bytes",
                defaults.retention_bytes.map_or(-1, |v| v as i64),
                i64::MIN,
                long,
            )?),
            cleanup_policy: cleanup_policy(r, defaults.cleanup_policy)?,
            min_cleanable_dirty_ratio: dirty_ratio(r, defaults.min_cleanable_dirty_ratio)?,
            // LONG, atLeast(0).
            min_compaction_lag_ms: r.int(
                "min.compaction.lag.ms",
                defaults.min_compaction_lag_ms as i64,
                0,
                long,
            )? as u64,
            // LONG, atLeast(1).
            max_compaction_lag_ms: r.int(
                "max.compaction.lag.ms",
                defaults.max_compaction_lag_ms as i64,
                1,
                long,
            )? as u64,
            // LONG, atLeast(0).
            delete_retention_ms: r.int(
                "delete.retention.ms",
                defaults.delete_retention_ms as i64,
                0,
                long,
            )? as u64,
        };
        // `LogConfig.validateValues`.
        if config.min_compaction_lag_ms > config.max_compaction_lag_ms {
            return Err(Reader::invalid(
                "min.compaction.lag.ms",
                "must be at most max.compaction.lag.ms",
            ));
        }
        Ok(config)
    }

    /// `LogConfig.maxSegmentMs`: a compacted topic rolls by `max.compaction.lag.ms` too, so that
    /// no record waits in the active segment (which the cleaner never touches) longer than that.
    pub fn max_segment_ms(&self) -> u64 {
        if self.cleanup_policy.compacts() {
            self.segment_ms.min(self.max_compaction_lag_ms)
        } else {
            self.segment_ms
        }
    }
}

fn non_negative(value: i64) -> Option<u64> {
    u64::try_from(value).ok()
}

fn cleanup_policy(
    r: &mut Reader<'_>,
    default: CleanupPolicy,
) -> Result<CleanupPolicy, ConfigError> {
    let key = "cleanup.policy";
    let Some(value) = r.raw(key) else {
        return Ok(default);
    };
    let text = match value {
        crate::config::ConfigValue::Str(s) => s.clone(),
        other => {
            return Err(Reader::invalid(
                key,
                format!("expected a list, got {other}"),
            ))
        }
    };
    let (mut compact, mut delete) = (false, false);
    for item in text.split(',').map(str::trim) {
        match item.to_ascii_lowercase().as_str() {
            "compact" => compact = true,
            "delete" => delete = true,
            _ => {
                return Err(Reader::invalid(
                    key,
                    format!("\"{item}\" is not one of compact, delete"),
                ))
            }
        }
    }
    match (compact, delete) {
        (true, true) => Ok(CleanupPolicy::CompactDelete),
        (true, false) => Ok(CleanupPolicy::Compact),
        (false, true) => Ok(CleanupPolicy::Delete),
        // Kafka 4.x accepts an empty list (KIP-1030: no cleanup); the lab has no such mode.
        (false, false) => Err(Reader::invalid(key, "expected compact, delete or both")),
    }
}

fn dirty_ratio(r: &mut Reader<'_>, default: DirtyRatio) -> Result<DirtyRatio, ConfigError> {
    let key = "min.cleanable.dirty.ratio";
    let value = match r.raw(key) {
        None => return Ok(default),
        Some(crate::config::ConfigValue::Float(x)) => *x,
        Some(crate::config::ConfigValue::Int(i)) => *i as f64,
        Some(crate::config::ConfigValue::Str(s)) => s
            .trim()
            .parse()
            .map_err(|_| Reader::invalid(key, format!("expected a number, got \"{s}\"")))?,
        Some(other) => {
            return Err(Reader::invalid(
                key,
                format!("expected a number, got {other}"),
            ))
        }
    };
    // DOUBLE, between(0, 1).
    if !(0.0..=1.0).contains(&value) {
        return Err(Reader::invalid(
            key,
            format!("{value} is out of range 0..=1"),
        ));
    }
    Ok(DirtyRatio(
        (value * f64::from(DirtyRatio::ONE)).round() as u32
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigMap, ConfigValue, TopicConfig};

    fn parse(pairs: &[(&str, ConfigValue)]) -> Result<LogConfig, ConfigError> {
        let map: ConfigMap = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let defaults = TopicConfig::parse(&ConfigMap::new(), &default_topic()).unwrap();
        TopicConfig::parse(&map, &defaults).map(|t| t.log)
    }

    fn default_topic() -> TopicConfig {
        crate::config::ClusterConfig::parse(&ConfigMap::new(), Default::default())
            .unwrap()
            .topic_defaults
    }

    fn key_of(result: Result<LogConfig, ConfigError>) -> String {
        match result {
            Err(ConfigError::InvalidValue { key, .. }) => key,
            other => panic!("expected an invalid value, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_kafkas() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.segment_bytes, 1_073_741_824);
        assert_eq!(c.retention_ms, Some(604_800_000));
        assert_eq!(c.retention_bytes, None);
        assert_eq!(c.cleanup_policy, CleanupPolicy::Delete);
        assert_eq!(c.min_cleanable_dirty_ratio, DirtyRatio(500_000));
        assert_eq!(c.delete_retention_ms, 86_400_000);
    }

    #[test]
    fn ranges_follow_log_config() {
        let int = ConfigValue::Int;
        assert_eq!(
            key_of(parse(&[("segment.bytes", int(13))])),
            "segment.bytes"
        );
        assert_eq!(
            parse(&[("segment.bytes", int(14))]).unwrap().segment_bytes,
            14
        );
        assert_eq!(key_of(parse(&[("segment.ms", int(0))])), "segment.ms");
        assert_eq!(key_of(parse(&[("retention.ms", int(-2))])), "retention.ms");
        assert_eq!(
            parse(&[("retention.ms", int(-1))]).unwrap().retention_ms,
            None
        );
        assert_eq!(
            parse(&[("retention.bytes", int(-7))])
                .unwrap()
                .retention_bytes,
            None
        );
        let ratio = ConfigValue::Float(1.5);
        assert_eq!(
            key_of(parse(&[("min.cleanable.dirty.ratio", ratio)])),
            "min.cleanable.dirty.ratio"
        );
        let lag = [
            ("min.compaction.lag.ms", int(10)),
            ("max.compaction.lag.ms", int(5)),
        ];
        assert_eq!(key_of(parse(&lag)), "min.compaction.lag.ms");
    }

    #[test]
    fn cleanup_policy_is_a_list() {
        let policy = |s: &str| parse(&[("cleanup.policy", ConfigValue::Str(s.into()))]);
        assert_eq!(
            policy("compact").unwrap().cleanup_policy,
            CleanupPolicy::Compact
        );
        assert_eq!(
            policy("delete, compact").unwrap().cleanup_policy,
            CleanupPolicy::CompactDelete
        );
        assert_eq!(key_of(policy("shred")), "cleanup.policy");
        let compacted = policy("compact").unwrap();
        assert_eq!(compacted.max_segment_ms(), compacted.segment_ms);
    }
}
