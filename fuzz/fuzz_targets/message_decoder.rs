//! Arbitrary bytes as a pull-response body (concatenated stored records) and as a batch send body.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use remoting_codec::message::{decode_batch, decode_records};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    for msg in decode_records(&bytes).flatten() {
        let _ = msg.uncompressed_body(1 << 20);
        let encoded = msg.encode().expect("a decoded record re-encodes");
        assert_eq!(decode_records(&encoded).count(), 1);
    }
    let _ = decode_batch(&bytes);
});
