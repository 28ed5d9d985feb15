//! Record batch v2 (magic 2) on the wire, to and from the lab's `RecordBatch`
//! (Kafka's `DefaultRecordBatch` and `DefaultRecord`): CRC-32C over attributes to the end,
//! varint records, and the codecs of the attributes' low three bits — gzip, snappy (raw, as
//! librdkafka writes it, and xerial framing, as the Java client's snappy-java writes it), lz4
//! (the LZ4 frame format, `KafkaLZ4BlockOutputStream`) and zstd. Every length is checked against
//! what is left of the input before it is used; decompression stops at [`DECOMPRESSED_MAX`].

use broker_core::{LeaderEpoch, Offset, ProducerFields, ProducerId, Record, RecordBatch};
use bytes::{BufMut, Bytes};
use std::io::Read;
use std::sync::Arc;

/// The largest records section a batch may decompress to (a zip bomb stops here).
pub const DECOMPRESSED_MAX: usize = 64 * 1024 * 1024;

/// Bytes of the v2 batch header, from the base offset to the record count.
const HEADER_LEN: usize = 61;
/// Offset of the attributes: the CRC covers from here to the end of the batch.
const CRC_START: usize = 21;

/// Why a produce request's records were refused: `CORRUPT_MESSAGE` or
/// `UNSUPPORTED_COMPRESSION_TYPE` on the wire.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Lengths that do not fit, a bad varint, a wrong magic, a CRC mismatch.
    #[error("corrupt record batch: {0}")]
    Corrupt(&'static str),
    /// A codec the lab does not know (attribute values 5..=7).
    #[error("unsupported compression codec {0}")]
    UnsupportedCodec(u8),
    /// Transactional or control batches: the lab has no transactions yet.
    #[error("transactional batches are not supported")]
    Transactional,
}

use BatchError::Corrupt;

/// A cursor over bytes whose every read is checked.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BatchError> {
        if n > self.bytes.len() {
            return Err(Corrupt("a length runs past the end"));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], BatchError> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    fn i8(&mut self) -> Result<i8, BatchError> {
        Ok(i8::from_be_bytes(self.array()?))
    }
    fn i16(&mut self) -> Result<i16, BatchError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    fn i32(&mut self) -> Result<i32, BatchError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, BatchError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    /// A zig-zag varlong (`ByteUtils.readVarlong`), at most 10 bytes.
    fn varlong(&mut self) -> Result<i64, BatchError> {
        let mut raw: u64 = 0;
        for i in 0..10 {
            let b = self.array::<1>()?[0];
            raw |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
            }
        }
        Err(Corrupt("a varint longer than 10 bytes"))
    }
    fn varint(&mut self) -> Result<i32, BatchError> {
        i32::try_from(self.varlong()?).map_err(|_| Corrupt("a varint out of range"))
    }
    /// A varint length then that many bytes; -1 is null.
    fn nullable_bytes(&mut self) -> Result<Option<&'a [u8]>, BatchError> {
        match self.varint()? {
            -1 => Ok(None),
            n if n >= 0 => Ok(Some(self.take(n as usize)?)),
            _ => Err(Corrupt("a negative length")),
        }
    }
}

/// Every batch of a produce request's `records` for one partition, in order.
pub fn decode_batches(mut records: &[u8]) -> Result<Vec<RecordBatch>, BatchError> {
    let mut batches = Vec::new();
    while !records.is_empty() {
        if records.len() < 12 {
            return Err(Corrupt("a batch header cut short"));
        }
        let length = i32::from_be_bytes(records[8..12].try_into().expect("4 bytes"));
        let total = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(12))
            .filter(|t| *t >= HEADER_LEN && *t <= records.len())
            .ok_or(Corrupt("batchLength does not fit"))?;
        batches.push(decode_batch(&records[..total])?);
        records = &records[total..];
    }
    if batches.is_empty() {
        return Err(Corrupt("no record batch"));
    }
    Ok(batches)
}

fn decode_batch(bytes: &[u8]) -> Result<RecordBatch, BatchError> {
    let mut c = Cursor { bytes };
    let _base_offset = c.i64()?;
    let _length = c.i32()?;
    let _leader_epoch = c.i32()?;
    if c.i8()? != 2 {
        return Err(Corrupt("magic is not 2 (Kafka 4 removed v0 and v1)"));
    }
    let crc = u32::from_be_bytes(c.array()?);
    if crc32c::crc32c(&bytes[CRC_START..]) != crc {
        return Err(Corrupt("CRC-32C mismatch"));
    }
    let attributes = c.i16()?;
    if attributes & 0x30 != 0 {
        return Err(BatchError::Transactional);
    }
    let _last_offset_delta = c.i32()?;
    let base_timestamp = c.i64()?;
    let _max_timestamp = c.i64()?;
    let producer_id = c.i64()?;
    let producer_epoch = c.i16()?;
    let base_sequence = c.i32()?;
    let count = c.i32()?;
    if count <= 0 {
        return Err(Corrupt("a batch without records"));
    }
    let body = decompress((attributes & 0x7) as u8, c.bytes)?;
    let mut c = Cursor { bytes: &body };
    let mut records = Vec::new();
    for _ in 0..count {
        records.push(decode_record(&mut c, base_timestamp)?);
    }
    if !c.bytes.is_empty() {
        return Err(Corrupt("bytes after the last record"));
    }
    let producer = (producer_id >= 0).then(|| ProducerFields {
        producer_id: ProducerId(producer_id as u64),
        producer_epoch: producer_epoch.max(0) as u16,
        base_sequence,
    });
    Ok(RecordBatch::new(producer, records))
}

fn decode_record(c: &mut Cursor<'_>, base_timestamp: i64) -> Result<Record, BatchError> {
    let length = c.varint()?;
    let mut r = Cursor {
        bytes: c.take(usize::try_from(length).map_err(|_| Corrupt("a negative record length"))?)?,
    };
    let _attributes = r.i8()?;
    let timestamp = base_timestamp.saturating_add(r.varlong()?);
    let _offset_delta = r.varint()?;
    let key = r.nullable_bytes()?.map(Bytes::copy_from_slice);
    // A null value is a tombstone.
    let value = r.nullable_bytes()?.map(Bytes::copy_from_slice);
    let header_count = r.varint()?;
    let mut headers = Vec::new();
    for _ in 0..header_count.max(0) {
        let name = r.nullable_bytes()?.ok_or(Corrupt("a null header key"))?;
        let name = std::str::from_utf8(name).map_err(|_| Corrupt("a header key not UTF-8"))?;
        let value = Bytes::copy_from_slice(r.nullable_bytes()?.unwrap_or_default());
        headers.push((Arc::from(name), value));
    }
    if !r.bytes.is_empty() {
        return Err(Corrupt("a record longer than its fields"));
    }
    Ok(Record {
        key,
        value,
        timestamp_ms: timestamp.max(0) as u64,
        headers,
    })
}

/// The records section, decompressed by the codec of the attributes.
fn decompress(codec: u8, body: &[u8]) -> Result<Vec<u8>, BatchError> {
    let out = match codec {
        0 => return Ok(body.to_vec()),
        1 => read_bounded(flate2::read::MultiGzDecoder::new(body)),
        2 => snappy(body),
        3 => read_bounded(lz4_flex::frame::FrameDecoder::new(body)),
        4 => zstd::stream::read::Decoder::with_buffer(body)
            .map_err(|_| Corrupt("zstd"))
            .and_then(read_bounded),
        other => return Err(BatchError::UnsupportedCodec(other)),
    }?;
    Ok(out)
}

fn read_bounded(reader: impl Read) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::new();
    reader
        .take(DECOMPRESSED_MAX as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| Corrupt("the compressed records do not decompress"))?;
    if out.len() > DECOMPRESSED_MAX {
        return Err(Corrupt("the records decompress past 64 MiB"));
    }
    Ok(out)
}

/// snappy-java's stream header (`SnappyCodec.MAGIC_HEADER`), then version and compatible version.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";

/// Snappy: xerial framing (blocks of a 4-byte length and a raw block) or one raw block.
fn snappy(body: &[u8]) -> Result<Vec<u8>, BatchError> {
    if !body.starts_with(XERIAL_MAGIC) {
        return snappy_block(body, 0);
    }
    let mut c = Cursor {
        bytes: body.get(16..).ok_or(Corrupt("a xerial header cut short"))?,
    };
    let mut out = Vec::new();
    while !c.bytes.is_empty() {
        let len = usize::try_from(c.i32()?).map_err(|_| Corrupt("a negative xerial block"))?;
        let block = snappy_block(c.take(len)?, out.len())?;
        out.extend_from_slice(&block);
    }
    Ok(out)
}

fn snappy_block(block: &[u8], already: usize) -> Result<Vec<u8>, BatchError> {
    let len = snap::raw::decompress_len(block).map_err(|_| Corrupt("snappy"))?;
    if already + len > DECOMPRESSED_MAX {
        return Err(Corrupt("the records decompress past 64 MiB"));
    }
    snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|_| Corrupt("snappy"))
}

/// A batch as a fetch response carries it: uncompressed, its offsets and leader epoch as the
/// log holds them, a fresh CRC-32C.
pub fn encode_batch(batch: &RecordBatch, out: &mut Vec<u8>) {
    let base_timestamp = batch.records.first().map_or(0, |r| r.timestamp_ms as i64);
    let max_timestamp = batch.records.iter().map(|r| r.timestamp_ms as i64).max();
    let mut records = Vec::new();
    for (delta, record) in batch.records.iter().enumerate() {
        encode_record(record, delta as i64, base_timestamp, &mut records);
    }
    let start = out.len();
    out.put_i64(batch.base_offset.0 as i64);
    out.put_i32(0); // batchLength, filled below
    out.put_i32(batch.leader_epoch.0 as i32);
    out.put_i8(2);
    out.put_u32(0); // crc, filled below
    out.put_i16(0); // attributes: no codec, create time, not transactional
    out.put_i32(batch.len() as i32 - 1);
    out.put_i64(base_timestamp);
    out.put_i64(max_timestamp.unwrap_or(base_timestamp));
    let (id, epoch, sequence) = batch.producer.map_or((-1, -1, -1), |p| {
        (
            p.producer_id.0 as i64,
            p.producer_epoch as i16,
            p.base_sequence,
        )
    });
    out.put_i64(id);
    out.put_i16(epoch);
    out.put_i32(sequence);
    out.put_i32(batch.len() as i32);
    out.extend_from_slice(&records);
    let length = (out.len() - start - 12) as i32;
    out[start + 8..start + 12].copy_from_slice(&length.to_be_bytes());
    let crc = crc32c::crc32c(&out[start + CRC_START..]);
    out[start + 17..start + 21].copy_from_slice(&crc.to_be_bytes());
}

fn encode_record(record: &Record, offset_delta: i64, base_timestamp: i64, out: &mut Vec<u8>) {
    let mut body = Vec::new();
    body.put_i8(0);
    put_varlong(&mut body, record.timestamp_ms as i64 - base_timestamp);
    put_varlong(&mut body, offset_delta);
    match &record.key {
        Some(key) => put_bytes(&mut body, key),
        None => put_varlong(&mut body, -1),
    }
    match &record.value {
        Some(value) => put_bytes(&mut body, value),
        None => put_varlong(&mut body, -1),
    }
    put_varlong(&mut body, record.headers.len() as i64);
    for (name, value) in &record.headers {
        put_bytes(&mut body, name.as_bytes());
        put_bytes(&mut body, value);
    }
    put_varlong(out, body.len() as i64);
    out.extend_from_slice(&body);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varlong(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

fn put_varlong(out: &mut Vec<u8>, value: i64) {
    let mut raw = ((value << 1) ^ (value >> 63)) as u64;
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

/// The offsets of a batch as the log assigned them (for tests and the fetch path).
pub fn with_offsets(mut batch: RecordBatch, base: u64, epoch: u32) -> RecordBatch {
    batch.base_offset = Offset(base);
    batch.leader_epoch = LeaderEpoch(epoch);
    batch
}

#[cfg(test)]
mod tests;
