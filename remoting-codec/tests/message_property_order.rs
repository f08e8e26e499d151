//! The Java broker stores a sent message's properties by writing a `HashMap` built from the
//! send header's properties plus `CLUSTER`, minus `WAIT`. Replaying exactly that on the
//! recorded sends must reproduce, byte for byte, the properties of the records the broker later
//! returned in pull responses.

mod support;

use std::collections::HashMap;

use remoting_codec::message::{decode_records, MessageProperties};
use remoting_codec::RemotingCommand;

#[test]
fn java_hash_map_order_reproduces_the_stored_properties() {
    let frames = support::golden_frames();
    // UNIQ_KEY -> (file, stored properties string) from pulled records of plain sends.
    let mut stored: HashMap<(String, String), String> = HashMap::new();
    for f in frames
        .iter()
        .filter(|f| f.is_response() && f.request_code == Some(11))
    {
        let cmd = RemotingCommand::decode_frame(f.frame.clone()).unwrap();
        if cmd.code != 0 {
            continue;
        }
        for msg in decode_records(&cmd.body).map(Result::unwrap) {
            if let Some(uniq) = msg.properties.uniq_key() {
                stored.insert((f.file.clone(), uniq.to_owned()), msg.properties.encode());
            }
        }
    }
    let mut matched = 0;
    for f in frames
        .iter()
        .filter(|f| !f.is_response() && f.code() == 310)
    {
        let cmd = RemotingCommand::decode_frame(f.frame.clone()).unwrap();
        let Some(text) = cmd.ext_field("i") else {
            continue;
        };
        let mut props = MessageProperties::parse(text);
        // Retried, delayed and transactional messages are stored again with more properties;
        // only first-time plain stores are compared.
        if props.delay_time_level().is_some() || props.transaction_prepared() {
            continue;
        }
        let Some(uniq) = props.uniq_key().map(str::to_owned) else {
            continue;
        };
        let Some(expected) = stored.get(&(f.file.clone(), uniq)) else {
            continue;
        };
        if expected.contains("RETRY_TOPIC") || expected.contains("REAL_TOPIC") {
            continue;
        }
        props.insert("CLUSTER", "DefaultCluster");
        props.remove("WAIT");
        props.set_trailing_separator(false);
        props.sort_in_java_hash_map_order();
        assert_eq!(&props.encode(), expected, "{}", f.describe());
        matched += 1;
    }
    assert!(
        matched > 100,
        "only {matched} sends matched a pulled record"
    );
}
