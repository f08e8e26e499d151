//! Property tests: any command survives encode → decode in both header serializations.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use remoting_codec::{ExtFields, LanguageCode, RemotingCodec, RemotingCommand, SerializeType};
use tokio_util::codec::{Decoder, Encoder};

fn language() -> impl Strategy<Value = LanguageCode> {
    (0u8..=13).prop_map(LanguageCode::from_code)
}

/// Strings as peers send them: any Unicode, control characters (the 0x01/0x02 property
/// separators) included. Empty strings are excluded from binary-header remarks, which Java
/// cannot represent (a zero length means null).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zA-Z0-9%@#_\\-\\x01\\x02 ]{0,40}"]
}

prop_compose! {
    fn command()(
        code in any::<i16>(),
        language in language(),
        version in any::<i16>(),
        opaque in any::<i32>(),
        flag in 0i32..4,
        remark in proptest::option::of(text().prop_filter("non-empty", |s| !s.is_empty())),
        ext in proptest::option::of(proptest::collection::vec((text(), text()), 0..12)),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        binary in any::<bool>(),
    ) -> RemotingCommand {
        RemotingCommand {
            code: code as i32,
            language,
            version: version as i32,
            opaque,
            flag,
            remark,
            ext_fields: ext.map(|pairs| pairs.into_iter().collect::<ExtFields>()),
            serialize_type: if binary { SerializeType::RocketMq } else { SerializeType::Json },
            body: Bytes::from(body),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn command_round_trips(cmd in command()) {
        let mut cmd = cmd;
        // Binary headers have no way to say "empty map" apart from "no map".
        if cmd.serialize_type == SerializeType::RocketMq && cmd.ext_fields.as_ref().is_some_and(|e| e.is_empty()) {
            cmd.ext_fields = None;
        }
        let mut buf = BytesMut::new();
        RemotingCodec::default().encode(&cmd, &mut buf).unwrap();
        let decoded = RemotingCodec::default().decode(&mut buf).unwrap().unwrap();
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, cmd);
    }

    #[test]
    fn a_stream_of_commands_splits_back_at_any_chunking(
        cmds in proptest::collection::vec(command(), 1..6),
        chunk in 1usize..64,
    ) {
        let cmds: Vec<_> = cmds.into_iter().map(|mut c| {
            if c.serialize_type == SerializeType::RocketMq && c.ext_fields.as_ref().is_some_and(|e| e.is_empty()) {
                c.ext_fields = None;
            }
            c
        }).collect();
        let mut wire = BytesMut::new();
        for c in &cmds {
            c.encode(&mut wire);
        }
        let mut codec = RemotingCodec::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(c) = codec.decode(&mut buf).unwrap() {
                out.push(c);
            }
        }
        prop_assert_eq!(out, cmds);
    }
}
