//! Comparison of one of our answers with the recorded Java answer (the replay tests).

use std::collections::BTreeMap;

use remoting_codec::code::request as req;
use remoting_codec::fastjson;
use remoting_codec::message::record::decode_records;
use remoting_codec::{RemotingCommand, SerializeType};
use serde_json::Value;
use test_support::capture::sort_arrays_as_sets;

use super::{Frame, RecordedClock};

/// Code, remark, header serialization, `extFields` (presence, names, values; a send's `msgId`
/// exempt, and `offset` may also be `also_allowed_offset`) and body (pulled messages field by
/// field, their `bornTimestamp` less the replay's `clock` shift; JSON as values with arrays
/// as sets).
pub fn compare(
    request: &Frame,
    theirs: &Frame,
    ours: &RemotingCommand,
    also_allowed_offset: Option<&str>,
    clock: RecordedClock,
) -> Result<(), String> {
    if ours.code != theirs.code() || ours.remark.as_deref() != theirs.remark() {
        return Err(format!(
            "code {} remark {:?}, Java {} remark {:?}",
            ours.code,
            ours.remark,
            theirs.code(),
            theirs.remark()
        ));
    }
    if ours.serialize_type != request.to_command().serialize_type {
        return Err("answered in another header serialization".into());
    }
    let code = request.code();
    let exempt = |key: &str| {
        matches!(
            code,
            req::SEND_MESSAGE | req::SEND_MESSAGE_V2 | req::SEND_BATCH_MESSAGE
        ) && key == "msgId"
    };
    let ours_ext: BTreeMap<&str, &str> = ours
        .ext_fields
        .as_ref()
        .map(|e| e.iter().collect())
        .unwrap_or_default();
    let theirs_ext: BTreeMap<&str, &str> = theirs
        .ext_fields()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    if ours_ext.keys().ne(theirs_ext.keys()) {
        return Err(format!("extFields {ours_ext:?}, Java {theirs_ext:?}"));
    }
    for (key, value) in &theirs_ext {
        let mine = ours_ext[key];
        let raced = key == &"offset" && also_allowed_offset == Some(mine);
        if !exempt(key) && mine != *value && !raced {
            return Err(format!("extFields {ours_ext:?}, Java {theirs_ext:?}"));
        }
    }
    // In the binary header an absent and an empty extFields are the same bytes.
    if ours.serialize_type == SerializeType::Json
        && ours.ext_fields.is_some() != theirs.ext_fields().is_some()
    {
        return Err(format!(
            "extFields present: {}, Java: {}",
            ours.ext_fields.is_some(),
            theirs.ext_fields().is_some()
        ));
    }
    if code == req::PULL_MESSAGE {
        return compare_messages(&theirs.body, &ours.body, clock);
    }
    compare_json_body(&theirs.body, &ours.body)
}

pub fn compare_json_body(theirs: &[u8], ours: &[u8]) -> Result<(), String> {
    if theirs.is_empty() || ours.is_empty() {
        return if theirs.is_empty() == ours.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "body {:?}, Java {:?}",
                String::from_utf8_lossy(ours),
                String::from_utf8_lossy(theirs)
            ))
        };
    }
    let normalize = |b: &[u8]| -> Result<Value, String> {
        let mut v = fastjson::from_slice_value(b).map_err(|e| e.to_string())?;
        sort_arrays_as_sets(&mut v);
        Ok(v)
    };
    let (o, t) = (normalize(ours)?, normalize(theirs)?);
    if o != t {
        return Err(format!("body\n  ours: {o}\n  Java: {t}"));
    }
    Ok(())
}

/// The messages of two bodies of records (a pull's, a check's), field by field: store times
/// and addresses exempt, our `bornTimestamp`s taken back to the recorded clock.
pub fn compare_messages(theirs: &[u8], ours: &[u8], clock: RecordedClock) -> Result<(), String> {
    let decode = |b: &[u8], born_shift: i64| -> Result<Vec<String>, String> {
        decode_records(&bytes::Bytes::copy_from_slice(b))
            .map(|m| {
                let m = m.map_err(|e| e.to_string())?;
                // A map: Java writes it in HashMap order, which clients do not depend on.
                let properties: BTreeMap<&str, &str> = m.properties.iter().collect();
                Ok(format!(
                    "{} q{} @{} phy{} flag{} sys{} born{} re{} body{:?} {properties:?}",
                    m.topic,
                    m.queue_id,
                    m.queue_offset,
                    m.commit_log_offset,
                    m.flag,
                    m.sys_flag,
                    m.born_timestamp - born_shift,
                    m.reconsume_times,
                    m.body
                ))
            })
            .collect()
    };
    let (t, o) = (decode(theirs, 0)?, decode(ours, clock.shift_ms())?);
    if t != o {
        return Err(format!("pulled messages\n  ours: {o:?}\n  Java: {t:?}"));
    }
    Ok(())
}
