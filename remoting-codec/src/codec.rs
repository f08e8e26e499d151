//! Framing: `int32 length | int32 (serializeType << 24 | headerLength) | header | body`, where
//! `length` counts everything after itself. [`RemotingCodec`] is the tokio-util `Decoder` and
//! `Encoder` for it.
//!
//! Like Java's `LengthFieldBasedFrameDecoder` with `com.rocketmq.remoting.frameMaxLength`, a frame
//! whose total size (with the length field) exceeds the limit is an error and nothing is
//! buffered for it; the server then closes that connection.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::command::{RemotingCommand, SerializeType};
use crate::header;

/// Java's default `com.rocketmq.remoting.frameMaxLength`: 16 MiB.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 16 * 1024 * 1024;

/// Why bytes could not be read as a frame. Every variant is a property of the peer's input; the
/// decoder never panics on any input.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid frame length {0}")]
    InvalidFrameLength(i64),
    #[error("frame of {length} bytes exceeds the limit of {max}")]
    FrameTooLarge { length: usize, max: usize },
    #[error("header length {header} exceeds the frame's {available} bytes")]
    HeaderTooLong { header: usize, available: usize },
    #[error("unknown header serialize type {0}")]
    UnknownSerializeType(u8),
    #[error("invalid JSON header: {0}")]
    InvalidJsonHeader(String),
    #[error("binary header truncated in {0}")]
    TruncatedBinaryHeader(&'static str),
    #[error("invalid binary header: {0}")]
    InvalidBinaryHeader(String),
}

/// The tokio-util codec for remoting frames.
#[derive(Clone, Copy, Debug)]
pub struct RemotingCodec {
    max_frame_length: usize,
}

impl Default for RemotingCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_LENGTH)
    }
}

impl RemotingCodec {
    /// A codec refusing frames longer than `max_frame_length` bytes (length field included).
    pub fn new(max_frame_length: usize) -> Self {
        Self { max_frame_length }
    }

    pub fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, CodecError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let length = i32::from_be_bytes(src[..4].try_into().unwrap());
        if length < 4 {
            return Err(CodecError::InvalidFrameLength(length as i64));
        }
        let total = length as usize + 4;
        if total > self.max_frame_length {
            return Err(CodecError::FrameTooLarge {
                length: total,
                max: self.max_frame_length,
            });
        }
        if src.len() < total {
            // Room for what is missing, but no more than 64 KiB ahead of what arrived: a peer
            // that claims a 16 MiB frame and trickles bytes (or none) must not make every such
            // connection hold 16 MiB. Large frames grow the buffer as their bytes come, as
            // Netty's cumulation does.
            src.reserve((total - src.len()).min(64 * 1024));
            return Ok(None);
        }
        let mut frame = src.split_to(total).freeze();
        frame.advance(4);
        RemotingCommand::decode_frame(frame).map(Some)
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = CodecError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
        cmd.encode(dst);
        Ok(())
    }
}

impl Encoder<&RemotingCommand> for RemotingCodec {
    type Error = CodecError;

    fn encode(&mut self, cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
        cmd.encode(dst);
        Ok(())
    }
}

impl RemotingCommand {
    /// Decodes one frame given without its leading length field:
    /// `int32 (type << 24 | headerLength) | header | body`. The body shares `frame`'s memory.
    pub fn decode_frame(frame: Bytes) -> Result<RemotingCommand, CodecError> {
        if frame.len() < 4 {
            return Err(CodecError::InvalidFrameLength(frame.len() as i64));
        }
        let mark = u32::from_be_bytes(frame[..4].try_into().unwrap());
        let type_code = (mark >> 24) as u8;
        let header_len = (mark & 0x00FF_FFFF) as usize;
        let available = frame.len() - 4;
        if header_len > available {
            return Err(CodecError::HeaderTooLong {
                header: header_len,
                available,
            });
        }
        let serialize_type = SerializeType::from_code(type_code)
            .ok_or(CodecError::UnknownSerializeType(type_code))?;
        let header_bytes = &frame[4..4 + header_len];
        let parts = match serialize_type {
            SerializeType::Json => header::read_json(header_bytes)?,
            SerializeType::RocketMq => header::read_binary(header_bytes)?,
        };
        Ok(RemotingCommand {
            code: parts.code,
            language: parts.language,
            version: parts.version,
            opaque: parts.opaque,
            flag: parts.flag,
            remark: parts.remark,
            ext_fields: parts.ext_fields,
            serialize_type,
            body: frame.slice(4 + header_len..),
        })
    }

    /// Appends the whole frame, length field included, in this command's serialize type.
    pub fn encode(&self, dst: &mut BytesMut) {
        let start = dst.len();
        dst.reserve(8 + 256 + self.body.len());
        dst.put_u32(0); // length, patched below
        dst.put_u32(0); // serialize type and header length, patched below
        match self.serialize_type {
            SerializeType::Json => header::write_json(self, dst),
            SerializeType::RocketMq => header::write_binary(self, dst),
        }
        let header_len = dst.len() - start - 8;
        dst.put_slice(&self.body);
        let length = (dst.len() - start - 4) as u32;
        let mark = ((self.serialize_type.code() as u32) << 24) | (header_len as u32 & 0x00FF_FFFF);
        dst[start..start + 4].copy_from_slice(&length.to_be_bytes());
        dst[start + 4..start + 8].copy_from_slice(&mark.to_be_bytes());
    }

    /// The whole frame as bytes.
    pub fn to_frame(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext_fields::ExtFields;

    fn sample(serialize_type: SerializeType) -> RemotingCommand {
        let ext: ExtFields = [("topic", "T\u{1}x\u{2}\"é"), ("queueId", "3")]
            .into_iter()
            .collect();
        RemotingCommand {
            code: 310,
            opaque: 42,
            remark: Some("hi\n".into()),
            ext_fields: Some(ext),
            serialize_type,
            body: Bytes::from_static(b"hello"),
            ..Default::default()
        }
    }

    #[test]
    fn both_serializations_round_trip() {
        for t in [SerializeType::Json, SerializeType::RocketMq] {
            let cmd = sample(t);
            let mut buf = BytesMut::from(&cmd.to_frame()[..]);
            let decoded = RemotingCodec::default().decode(&mut buf).unwrap().unwrap();
            assert_eq!(decoded, cmd);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let frame = sample(SerializeType::Json).to_frame();
        let mut codec = RemotingCodec::default();
        let mut buf = BytesMut::new();
        for (i, b) in frame.iter().enumerate() {
            buf.put_u8(*b);
            let got = codec.decode(&mut buf).unwrap();
            assert_eq!(got.is_some(), i == frame.len() - 1);
        }
    }

    #[test]
    fn malformed_frames_are_errors() {
        let mut codec = RemotingCodec::new(1024);
        let cases: Vec<Vec<u8>> = vec![
            (-1i32).to_be_bytes().to_vec(),
            2i32.to_be_bytes().to_vec(),
            2000i32.to_be_bytes().to_vec(),
            [8i32.to_be_bytes(), 100u32.to_be_bytes(), [0; 4]].concat(),
            [8i32.to_be_bytes(), (5u32 << 24).to_be_bytes(), [0; 4]].concat(),
            [8i32.to_be_bytes(), 4u32.to_be_bytes(), *b"{zz}"].concat(),
            [8i32.to_be_bytes(), ((1u32 << 24) | 4).to_be_bytes(), [0; 4]].concat(),
        ];
        for case in cases {
            let mut buf = BytesMut::from(&case[..]);
            assert!(codec.decode(&mut buf).is_err(), "{case:?}");
        }
    }
}
