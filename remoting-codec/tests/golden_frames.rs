//! Every recorded Java frame decodes; binary headers re-encode byte for byte and JSON headers
//! re-encode to JSON with the same values.

mod support;

use bytes::BytesMut;
use remoting_codec::{RemotingCodec, RemotingCommand, SerializeType};
use serde_json::Value;
use tokio_util::codec::Decoder;

#[test]
fn every_recorded_frame_decodes_and_re_encodes() {
    let frames = support::golden_frames();
    assert!(frames.len() > 2900, "only {} frames", frames.len());
    let (mut json, mut binary) = (0, 0);
    for f in &frames {
        // Through the streaming decoder, as a server reads it.
        let mut buf = BytesMut::from(&f.whole_frame()[..]);
        let cmd = RemotingCodec::default()
            .decode(&mut buf)
            .unwrap_or_else(|e| panic!("{}: {e}", f.describe()))
            .unwrap_or_else(|| panic!("{}: incomplete", f.describe()));
        assert!(buf.is_empty(), "{}", f.describe());

        let h = support::recorded_header(&f.record);
        assert_eq!(
            cmd.code as i64,
            h["code"].as_i64().unwrap(),
            "{}",
            f.describe()
        );
        assert_eq!(
            cmd.opaque as i64,
            h["opaque"].as_i64().unwrap(),
            "{}",
            f.describe()
        );
        assert_eq!(
            cmd.flag as i64,
            h["flag"].as_i64().unwrap(),
            "{}",
            f.describe()
        );
        assert_eq!(
            cmd.version as i64,
            h["version"].as_i64().unwrap(),
            "{}",
            f.describe()
        );
        assert_eq!(
            cmd.language.name(),
            h["language"].as_str().unwrap(),
            "{}",
            f.describe()
        );
        assert_eq!(cmd.remark.as_deref(), f.remark(), "{}", f.describe());
        assert_eq!(cmd.is_response(), f.is_response(), "{}", f.describe());
        assert_eq!(&cmd.body[..], &f.body[..], "{}", f.describe());
        let recorded_ext: Vec<(String, String)> = f
            .ext_fields()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let decoded_ext: Vec<(String, String)> = cmd
            .ext_fields
            .as_ref()
            .map(|e| {
                e.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(decoded_ext, recorded_ext, "{}", f.describe());

        let encoded = cmd.to_frame();
        if f.is_binary() {
            binary += 1;
            assert_eq!(cmd.serialize_type, SerializeType::RocketMq);
            assert_eq!(
                &encoded[..],
                &f.whole_frame()[..],
                "{}: binary re-encode differs",
                f.describe()
            );
        } else {
            json += 1;
            assert_eq!(cmd.serialize_type, SerializeType::Json);
            let again = RemotingCommand::decode_frame(encoded.slice(4..)).unwrap();
            assert_eq!(again, cmd, "{}", f.describe());
            let header_len =
                (u32::from_be_bytes(encoded[4..8].try_into().unwrap()) & 0xFF_FFFF) as usize;
            let ours: Value = serde_json::from_slice(&encoded[8..8 + header_len]).unwrap();
            assert_eq!(
                ours,
                Value::Object(h.clone()),
                "{}: JSON re-encode differs",
                f.describe()
            );
        }
    }
    assert!(json > 2800 && binary > 100, "json {json} binary {binary}");
}
