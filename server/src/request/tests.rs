use super::*;
use kafka_protocol::protocol::StrBytes;

/// A request frame body (no size prefix) as a client encodes it.
pub(crate) fn encode_request(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &impl Encodable,
) -> Bytes {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("test")))
        .encode(&mut buf, api.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    buf.freeze()
}

#[test]
fn a_served_request_decodes_with_its_header() {
    let frame = encode_request(ApiKey::ApiVersions, 3, 42, &ApiVersionsRequest::default());
    let request = decode(frame).unwrap();
    assert_eq!(request.header.correlation_id, 42);
    assert_eq!(request.api(), ApiKey::ApiVersions);
    assert!(matches!(request.body, Body::ApiVersions(_)));
}

#[test]
fn a_too_new_api_versions_gets_its_correlation_id_back() {
    let frame = encode_request(ApiKey::ApiVersions, 3, 7, &ApiVersionsRequest::default());
    let mut bytes = frame.to_vec();
    bytes[2..4].copy_from_slice(&99i16.to_be_bytes());
    assert_eq!(
        decode(Bytes::from(bytes)).unwrap_err(),
        RequestError::ApiVersionsTooNew {
            correlation_id: 7,
            version: 99
        }
    );
}

#[test]
fn unknown_keys_and_versions_are_errors() {
    let frame = encode_request(ApiKey::Metadata, 12, 1, &MetadataRequest::default());
    let mut bytes = frame.to_vec();
    bytes[0..2].copy_from_slice(&999i16.to_be_bytes());
    let decoded = decode(Bytes::from(bytes.clone()));
    assert_eq!(decoded.unwrap_err(), RequestError::UnknownApi(999));
    // SaslHandshake (17) exists in Kafka but is not served.
    bytes[0..2].copy_from_slice(&17i16.to_be_bytes());
    let decoded = decode(Bytes::from(bytes.clone()));
    assert_eq!(decoded.unwrap_err(), RequestError::UnknownApi(17));
    bytes[0..2].copy_from_slice(&(ApiKey::Fetch as i16).to_be_bytes());
    bytes[2..4].copy_from_slice(&13i16.to_be_bytes());
    assert!(matches!(
        decode(Bytes::from(bytes)),
        Err(RequestError::UnsupportedVersion { version: 13, .. })
    ));
    let short = decode(Bytes::from_static(&[0, 3, 0]));
    assert_eq!(short.unwrap_err(), RequestError::Short);
}

#[test]
fn advertised_ranges_stay_inside_the_codecs() {
    for (api, min, max, codec) in SUPPORTED {
        let (lo, hi) = supported(*api).unwrap();
        assert!(lo >= codec.min && hi <= codec.max, "{api:?}");
        assert!(lo >= *min && hi <= *max, "{api:?}");
        assert!(lo <= hi, "{api:?}");
    }
    let response = api_versions_response(0);
    let fetch = response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Fetch as i16)
        .unwrap();
    assert_eq!((fetch.min_version, fetch.max_version), (4, 12));
}

#[test]
fn an_api_versions_response_header_is_v0_even_when_flexible() {
    let bytes = encode_response(ApiKey::ApiVersions, 3, 5, &api_versions_response(0)).unwrap();
    // size, then correlation id 5, then the body's error code 0: no tagged-fields byte between.
    assert_eq!(&bytes[4..8], &5i32.to_be_bytes());
    assert_eq!(&bytes[8..10], &0i16.to_be_bytes());
}

#[test]
fn a_frame_claiming_huge_arrays_is_malformed_not_an_abort() {
    // Metadata v1: header, then a topics array claiming i32::MAX entries and holding none.
    // Upstream kafka-protocol reserved the claimed length (gigabytes; the allocator aborts);
    // the vendored copy grows as entries decode (vendor/kafka-protocol/PATCHES.md).
    let frame = encode_request(ApiKey::Metadata, 1, 3, &MetadataRequest::default());
    let mut bytes = frame[..frame.len() - 4].to_vec();
    bytes.extend_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(
        decode(Bytes::from(bytes)),
        Err(RequestError::Malformed { .. })
    ));
    // The same for a compact (flexible) array: Metadata v9, length varint 0xffffffff.
    let frame = encode_request(ApiKey::Metadata, 9, 3, &MetadataRequest::default());
    let header_len = frame.len() - MetadataRequest::default().compute_size(9).unwrap();
    let mut bytes = frame[..header_len].to_vec();
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        decode(Bytes::from(bytes)),
        Err(RequestError::Malformed { .. })
    ));
}
