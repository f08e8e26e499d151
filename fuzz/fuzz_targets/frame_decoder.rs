//! Arbitrary bytes into the frame decoder, as a connection's read buffer would hold them.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use remoting_codec::{RemotingCodec, RemotingCommand};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut codec = RemotingCodec::new(1024 * 1024);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(cmd)) = codec.decode(&mut buf) {
        let again = RemotingCommand::decode_frame(cmd.to_frame().slice(4..)).expect("re-decode");
        assert_eq!(again, cmd);
    }
});
