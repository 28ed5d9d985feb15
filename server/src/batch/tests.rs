use super::*;
use std::io::Write;

fn record(key: Option<&str>, value: &str, ts: u64) -> Record {
    Record {
        key: key.map(|k| Bytes::from(k.to_owned())),
        value: Some(Bytes::from(value.to_owned())),
        timestamp_ms: ts,
        headers: vec![(Arc::from("h"), Bytes::from_static(b"v"))],
    }
}

fn sample() -> RecordBatch {
    let producer = ProducerFields {
        producer_id: ProducerId(7),
        producer_epoch: 2,
        base_sequence: 10,
    };
    let batch = RecordBatch::new(
        Some(producer),
        vec![record(Some("k"), "a", 1000), record(None, "bb", 1003)],
    );
    with_offsets(batch, 40, 3)
}

fn encoded(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    encode_batch(batch, &mut out);
    out
}

/// Re-encode `wire` with its records section compressed by `codec` and a fresh CRC.
fn compressed(wire: &[u8], codec: u8, compress: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = wire[..HEADER_LEN].to_vec();
    out.extend_from_slice(&compress(&wire[HEADER_LEN..]));
    out[22] = codec;
    let length = (out.len() - 12) as i32;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    let crc = crc32c::crc32c(&out[CRC_START..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    out
}

#[test]
fn a_batch_round_trips_with_producer_fields_and_headers() {
    let batch = sample();
    let decoded = decode_batches(&encoded(&batch)).unwrap();
    assert_eq!(decoded.len(), 1);
    assert_eq!(decoded[0].records, batch.records);
    assert_eq!(decoded[0].producer, batch.producer);
}

#[test]
fn a_null_value_round_trips_as_a_tombstone() {
    let tombstone = Record {
        value: None,
        ..record(Some("k"), "", 1000)
    };
    let batch = with_offsets(RecordBatch::new(None, vec![tombstone]), 5, 1);
    let wire = encoded(&batch);
    let decoded = decode_batches(&wire).unwrap();
    assert_eq!(
        decoded[0].records[0].value, None,
        "a null value, not an empty one"
    );
    assert!(decoded[0].records[0].is_tombstone());
}

#[test]
fn the_crc_is_crc32c_over_attributes_to_the_end() {
    let mut wire = encoded(&sample());
    // Base offset and leader epoch are outside the CRC: rewriting them keeps it valid.
    wire[0..8].copy_from_slice(&99i64.to_be_bytes());
    wire[12..16].copy_from_slice(&5i32.to_be_bytes());
    assert!(decode_batches(&wire).is_ok());
    let last = wire.len() - 1;
    wire[last] ^= 1;
    assert_eq!(decode_batches(&wire), Err(Corrupt("CRC-32C mismatch")));
}

#[test]
fn every_codec_decodes() {
    let wire = encoded(&sample());
    let gzip = compressed(&wire, 1, |b| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    });
    let raw_snappy = compressed(&wire, 2, |b| {
        snap::raw::Encoder::new().compress_vec(b).unwrap()
    });
    let xerial = compressed(&wire, 2, |b| {
        let block = snap::raw::Encoder::new().compress_vec(b).unwrap();
        let mut out = XERIAL_MAGIC.to_vec();
        out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        out.extend_from_slice(&(block.len() as i32).to_be_bytes());
        out.extend_from_slice(&block);
        out
    });
    let lz4 = compressed(&wire, 3, |b| {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    });
    let zstd = compressed(&wire, 4, |b| zstd::encode_all(b, 3).unwrap());
    let all = [
        ("gzip", gzip),
        ("snappy", raw_snappy),
        ("xerial", xerial),
        ("lz4", lz4),
        ("zstd", zstd),
    ];
    for (name, bytes) in all {
        let decoded = decode_batches(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded[0].records, sample().records, "{name}");
    }
    let unknown = compressed(&wire, 5, |b| b.to_vec());
    assert_eq!(
        decode_batches(&unknown),
        Err(BatchError::UnsupportedCodec(5))
    );
}

#[test]
fn a_zip_bomb_stops_at_the_cap() {
    let wire = encoded(&sample());
    let zeros = vec![0u8; DECOMPRESSED_MAX + 10];
    let bomb = compressed(&wire, 4, |_| zstd::encode_all(&zeros[..], 1).unwrap());
    assert!(bomb.len() < 1024 * 1024);
    assert!(matches!(decode_batches(&bomb), Err(Corrupt(_))));
}

#[test]
fn lengths_that_lie_are_corrupt_not_panics() {
    let wire = encoded(&sample());
    for cut in 0..wire.len() {
        assert!(decode_batches(&wire[..cut]).is_err(), "cut at {cut}");
    }
    let mut huge_count = wire.clone();
    huge_count[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    let crc = crc32c::crc32c(&huge_count[CRC_START..]);
    huge_count[17..21].copy_from_slice(&crc.to_be_bytes());
    assert!(decode_batches(&huge_count).is_err());
}

#[test]
fn two_batches_in_one_records_field() {
    let mut wire = encoded(&sample());
    wire.extend(encoded(&sample()));
    assert_eq!(decode_batches(&wire).unwrap().len(), 2);
}

#[test]
fn varlongs_are_zigzag() {
    for v in [0i64, 1, -1, 63, -64, 300, i64::MAX, i64::MIN] {
        let mut out = Vec::new();
        put_varlong(&mut out, v);
        assert_eq!(Cursor { bytes: &out }.varlong().unwrap(), v);
    }
    let mut out = Vec::new();
    put_varlong(&mut out, -1);
    assert_eq!(out, vec![1]);
}
