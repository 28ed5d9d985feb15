//! A running server against bad input: 10,000 malformed frames (mutated valid requests of
//! every served API, oversize and negative sizes, unknown API keys and versions, requests cut
//! off by a disconnect) over as many connections, spread over the three brokers. Afterwards
//! every broker still serves new connections, and a connection opened before them is
//! untouched.

use crate::fuzz::{mutate, valid_frames, Mutation};
use crate::serve::{bind, serve, ServeConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn start(base: u16) -> ServeConfig {
    let config = ServeConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], base)),
    };
    let spec = crate::default_scenario().unwrap().world_spec().unwrap();
    let listeners = bind(&config, spec.brokers).expect("test ports are free");
    let thread_config = config.clone();
    std::thread::spawn(move || {
        serve(
            spec,
            &thread_config,
            listeners,
            std::sync::mpsc::channel(),
            None,
        )
    });
    config
}

fn addr(config: &ServeConfig, broker: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], config.listen.port() + broker - 1))
}

/// Send a valid ApiVersions (v0) and a Metadata (through the world) on `s`; both answered.
fn serves(s: &mut TcpStream, correlation: u8) -> bool {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let api_versions = [0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, correlation, 0xff, 0xff];
    // Metadata v1, all topics (null array).
    let metadata = [
        0,
        0,
        0,
        14,
        0,
        3,
        0,
        1,
        0,
        0,
        0,
        correlation,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
    ];
    for request in [&api_versions[..], &metadata[..]] {
        if s.write_all(request).is_err() {
            return false;
        }
        let mut size = [0u8; 4];
        if s.read_exact(&mut size).is_err() {
            return false;
        }
        let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
        if s.read_exact(&mut body).is_err() || body[3] != correlation {
            return false;
        }
    }
    true
}

fn bad_frame(i: usize) -> Vec<u8> {
    let pick = i / 7;
    let frames = valid_frames(pick);
    let frame = frames[i % frames.len()].clone();
    let n = i.wrapping_mul(2_654_435_761);
    match i % 10 {
        0 => vec![0x7f, 0xff, 0xff, 0xff, 1, 2, 3], // 2 GiB claimed
        1 => vec![0xff, 0xff, 0xff, 0xfe],          // negative size
        2 => mutate(frame, &[Mutation::Overwrite(4, 0x03e7_0000)]), // api key 999
        3 => mutate(frame, &[Mutation::Overwrite(6, 0x7ff0_0000)]), // version far too new
        4 => mutate(frame, &[Mutation::Cut(n % 40 + 2)]), // then the client disconnects
        5 => mutate(frame, &[Mutation::Overwrite(12 + n % 30, i32::MAX)]),
        6 => mutate(frame, &[Mutation::Overwrite(12 + n % 30, -2)]),
        _ => mutate(
            frame,
            &[
                Mutation::Flip(8 + n % 64, (n >> 8) as u8),
                Mutation::Flip(8 + (n >> 3) % 64, (n >> 16) as u8),
                Mutation::Append(vec![(n >> 24) as u8; n % 5]),
            ],
        ),
    }
}

#[test]
fn ten_thousand_malformed_frames_leave_every_broker_serving() {
    let config = start(29152);
    std::thread::sleep(Duration::from_millis(1500));
    let mut bystander = TcpStream::connect(addr(&config, 2)).unwrap();
    assert!(serves(&mut bystander, 1), "serving before");
    for i in 0..10_000usize {
        let broker = (i % 3) as u16 + 1;
        let mut s = TcpStream::connect(addr(&config, broker)).expect("the broker accepts");
        let _ = s.write_all(&bad_frame(i));
        // Dropped: a disconnect, mid-request for the frames cut short.
    }
    for broker in 1..=3 {
        let mut s = TcpStream::connect(addr(&config, broker)).unwrap();
        assert!(
            serves(&mut s, 2),
            "broker-{broker} serves after the bad frames"
        );
    }
    assert!(
        serves(&mut bystander, 3),
        "the connection opened before is untouched"
    );
}
