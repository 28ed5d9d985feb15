//! Frames on the wire: a 4-byte big-endian size, then that many bytes (Kafka's
//! `NetworkReceive`). The size is checked against `socket.request.max.bytes` before a byte of
//! the body is read, and the body grows only as bytes actually arrive, so a frame that claims
//! 2 GiB costs nothing until it is sent.

use bytes::Bytes;
use std::io::Read;

/// `socket.request.max.bytes`: Kafka's default, 100 MiB (`SocketServerConfigs`).
pub const SOCKET_REQUEST_MAX_BYTES: u32 = 100 * 1024 * 1024;

/// Why a connection's byte stream is unusable: the connection is closed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A negative size or one over the limit (Kafka's `InvalidReceiveException`).
    #[error("frame size {size} is outside 0..={max} (socket.request.max.bytes)")]
    BadSize {
        /// The size the frame claimed.
        size: i32,
        /// The limit.
        max: u32,
    },
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed after {got} of {want} bytes of a frame")]
    Truncated {
        /// Bytes read.
        got: usize,
        /// Bytes claimed.
        want: usize,
    },
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// Read one frame. `Ok(None)` when the peer closed the connection between frames.
pub fn read_frame(reader: &mut impl Read, max: u32) -> Result<Option<Bytes>, FrameError> {
    let mut size = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match reader.read(&mut size[got..])? {
            0 if got == 0 => return Ok(None),
            0 => return Err(FrameError::Truncated { got, want: 4 }),
            n => got += n,
        }
    }
    let size = i32::from_be_bytes(size);
    let want = match u32::try_from(size) {
        Ok(s) if s <= max => s as usize,
        _ => return Err(FrameError::BadSize { size, max }),
    };
    let mut body = Vec::new();
    let got = reader.take(want as u64).read_to_end(&mut body)?;
    if got < want {
        return Err(FrameError::Truncated { got, want });
    }
    Ok(Some(Bytes::from(body)))
}

/// A response frame: the size, then `body` (header and message, already encoded).
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_frames_and_a_clean_close() {
        let mut input: &[u8] = &[0, 0, 0, 2, 7, 8, 0, 0, 0, 0];
        assert_eq!(read_frame(&mut input, 10).unwrap().unwrap(), vec![7u8, 8]);
        assert_eq!(read_frame(&mut input, 10).unwrap().unwrap().len(), 0);
        assert!(read_frame(&mut input, 10).unwrap().is_none());
    }

    #[test]
    fn an_oversize_or_negative_frame_is_refused_before_its_body() {
        // 2 GiB - 1 claimed, nothing sent: refused without allocating.
        let mut input: &[u8] = &[0x7f, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut input, SOCKET_REQUEST_MAX_BYTES),
            Err(FrameError::BadSize { .. })
        ));
        let mut input: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut input, 10),
            Err(FrameError::BadSize { .. })
        ));
        let mut input: &[u8] = &[0, 0, 0, 11];
        assert!(matches!(
            read_frame(&mut input, 10),
            Err(FrameError::BadSize { .. })
        ));
    }

    #[test]
    fn a_frame_cut_short_is_an_error() {
        let mut input: &[u8] = &[0, 0, 0, 5, 1, 2];
        assert!(matches!(
            read_frame(&mut input, 10),
            Err(FrameError::Truncated { got: 2, want: 5 })
        ));
        let mut input: &[u8] = &[0, 0];
        assert!(matches!(
            read_frame(&mut input, 10),
            Err(FrameError::Truncated { .. })
        ));
    }
}
