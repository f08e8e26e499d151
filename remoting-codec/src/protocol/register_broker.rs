//! The REGISTER_BROKER (103) body, in its JSON and its compressed form, and the `bodyCrc32`
//! check.
//!
//! # Compressed form (header `compressed=true`)
//! A zlib stream (Java's `DeflaterOutputStream`, best compression) of, all integers 4-byte
//! big-endian:
//!
//! ```text
//! len | DataVersion JSON
//! count
//! count × ( len | "topicName readQueueNums writeQueueNums perm topicFilterType[ attributes]" )
//! len | filterServerList JSON array
//! 5.x (broker version ≥ V5_0_0) only:
//! count
//! count × ( len | TopicQueueMappingInfo JSON )
//! ```
//!
//! A topic line is Java's `TopicConfig.encode()`: fields joined by single spaces. 4.x writes
//! exactly five fields (and 4.x readers reject more); 5.x always adds a sixth separator,
//! followed by the attributes as JSON when the topic has any. `order` and `topicSysFlag` are
//! not carried: a reader gets `false` and 0. Java brokers send `compressed=false` unless
//! `compressedRegister` is set.
//!
//! Inflating is bounded ([`RegisterBrokerBody::decode_compressed`]'s `max_inflated`), as a
//! zlib stream can expand a thousandfold.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

use super::common::{DataVersion, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType};
use crate::code::version;
use crate::fastjson::{self, JsonError};
use serde::ser::Error as _;

/// Default limit of the inflated size of a compressed body: far above the ~100 bytes per topic
/// of a real broker, far below what a hostile stream could claim.
pub const DEFAULT_MAX_INFLATED: usize = 64 * 1024 * 1024;

/// `RegisterBrokerBody`: a broker's topic table (with its data version; in 5.x also the
/// static-topic mappings) and its filter servers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    #[serde(default)]
    pub filter_server_list: Vec<String>,
    #[serde(default)]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

/// Why a REGISTER_BROKER body could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RegisterBrokerBodyError {
    #[error("REGISTER_BROKER body: {0}")]
    Json(#[from] JsonError),
    #[error("compressed REGISTER_BROKER body is not a zlib stream: {0}")]
    Inflate(String),
    #[error("compressed REGISTER_BROKER body inflates to more than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("compressed REGISTER_BROKER body ends inside {what}")]
    Truncated { what: &'static str },
    #[error("compressed REGISTER_BROKER body has a negative length {len} for {what}")]
    NegativeLength { what: &'static str, len: i32 },
    #[error("compressed REGISTER_BROKER body has an invalid topic line {line:?}")]
    TopicLine { line: String },
    #[error("compressed REGISTER_BROKER body has a topic queue mapping without a topic")]
    MappingWithoutTopic,
}

impl RegisterBrokerBody {
    /// Reads a body as the name server does: JSON, or the compressed form when the header says
    /// `compressed`. `broker_version` is the request's `version` (it decides whether a
    /// compressed body has the 5.x mapping section).
    pub fn decode(
        body: &[u8],
        compressed: bool,
        broker_version: i32,
    ) -> Result<Self, RegisterBrokerBodyError> {
        if compressed {
            Self::decode_compressed(body, broker_version, DEFAULT_MAX_INFLATED)
        } else {
            Ok(fastjson::from_slice(body)?)
        }
    }

    /// Writes a body as a Java broker of `broker_version` does: fastjson JSON, or the
    /// compressed form.
    pub fn encode(&self, compress: bool, broker_version: i32) -> Result<Vec<u8>, JsonError> {
        if compress {
            self.encode_compressed(broker_version)
        } else {
            fastjson::to_vec(self)
        }
    }

    /// The compressed form (see the module docs); 4.x layout below [`version::V5_0_0`].
    pub fn encode_compressed(&self, broker_version: i32) -> Result<Vec<u8>, JsonError> {
        let five = broker_version >= version::V5_0_0;
        let wrapper = &self.topic_config_serialize_wrapper;
        let mut raw = Vec::new();
        put_block(&mut raw, &fastjson::to_vec(&wrapper.data_version)?);
        put_len(&mut raw, wrapper.topic_config_table.len());
        for config in wrapper.topic_config_table.values() {
            put_block(&mut raw, topic_line(config, five)?.as_bytes());
        }
        put_block(&mut raw, &fastjson::to_vec(&self.filter_server_list)?);
        if five {
            let infos: Vec<&serde_json::Value> = match &wrapper.topic_queue_mapping_info_map {
                Some(serde_json::Value::Object(map)) => map.values().collect(),
                _ => Vec::new(),
            };
            put_len(&mut raw, infos.len());
            for info in infos {
                put_block(&mut raw, &fastjson::to_vec(info)?);
            }
        }
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&raw)
            .and_then(|()| encoder.finish())
            .map_err(|e| JsonError::custom(e.to_string()))
    }

    /// Reads the compressed form, refusing streams that inflate beyond `max_inflated` bytes.
    /// Data after the last section is ignored, as Java does.
    pub fn decode_compressed(
        body: &[u8],
        broker_version: i32,
        max_inflated: usize,
    ) -> Result<Self, RegisterBrokerBodyError> {
        let raw = inflate(body, max_inflated)?;
        let mut input = Cursor { rest: &raw };
        let data_version: DataVersion = fastjson::from_slice(input.block("the data version")?)?;
        let count = input.len("the topic count")?;
        let mut topic_config_table = BTreeMap::new();
        for _ in 0..count {
            let line = input.block("a topic config")?;
            let config = parse_topic_line(&String::from_utf8_lossy(line))?;
            topic_config_table.insert(config.topic_name.clone(), config);
        }
        // Java logs an unreadable filter server list and goes on with an empty one.
        let filter_server_list =
            fastjson::from_slice::<Option<Vec<String>>>(input.block("the filter server list")?)
                .ok()
                .flatten()
                .unwrap_or_default();
        let mut topic_queue_mapping_info_map = None;
        if broker_version >= version::V5_0_0 {
            let count = input.len("the topic queue mapping count")?;
            let mut map = serde_json::Map::new();
            for _ in 0..count {
                let info = fastjson::from_slice_value(input.block("a topic queue mapping")?)?;
                let topic = info
                    .get("topic")
                    .and_then(serde_json::Value::as_str)
                    .ok_or(RegisterBrokerBodyError::MappingWithoutTopic)?
                    .to_owned();
                map.insert(topic, info);
            }
            topic_queue_mapping_info_map = Some(serde_json::Value::Object(map));
        }
        Ok(RegisterBrokerBody {
            filter_server_list,
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version,
                topic_config_table,
                topic_queue_mapping_info_map,
                ..TopicConfigSerializeWrapper::default()
            },
        })
    }
}

/// The `bodyCrc32` a Java broker puts in the REGISTER_BROKER header: CRC32 of the body bytes as
/// sent (compressed or not), masked to 31 bits (`UtilAll.crc32`).
pub fn body_crc32(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// The name server's check: a header value of 0 is not checked; otherwise it must match.
/// (A Java name server answers a mismatch with SYSTEM_ERROR "crc32 not match".)
pub fn body_crc32_matches(header_crc32: i32, body: &[u8]) -> bool {
    header_crc32 == 0 || header_crc32 == body_crc32(body)
}

fn topic_filter_type_name(t: TopicFilterType) -> &'static str {
    match t {
        TopicFilterType::SingleTag => "SINGLE_TAG",
        TopicFilterType::MultiTag => "MULTI_TAG",
    }
}

/// Java's `TopicConfig.encode()` of 4.x (five fields) or 5.x (a sixth, maybe empty).
fn topic_line(config: &TopicConfig, five: bool) -> Result<String, JsonError> {
    let mut line = format!(
        "{} {} {} {} {}",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        config.perm,
        topic_filter_type_name(config.topic_filter_type)
    );
    if five {
        line.push(' ');
        if let Some(attributes) = &config.attributes {
            line.push_str(&fastjson::to_string(attributes)?);
        }
    }
    Ok(line)
}

/// Java's `TopicConfig.decode`, except that the attributes are the whole rest of the line
/// (Java takes only up to the next space and drops attributes it then cannot parse).
fn parse_topic_line(line: &str) -> Result<TopicConfig, RegisterBrokerBodyError> {
    let bad = || RegisterBrokerBodyError::TopicLine {
        line: line.to_owned(),
    };
    let mut parts = line.splitn(6, ' ');
    let mut next = || parts.next().ok_or_else(bad);
    let topic_name = next()?.to_owned();
    let read_queue_nums = next()?.parse().map_err(|_| bad())?;
    let write_queue_nums = next()?.parse().map_err(|_| bad())?;
    let perm = next()?.parse().map_err(|_| bad())?;
    let topic_filter_type = match next()? {
        "SINGLE_TAG" => TopicFilterType::SingleTag,
        "MULTI_TAG" => TopicFilterType::MultiTag,
        _ => return Err(bad()),
    };
    let attributes = parts
        .next()
        .filter(|rest| !rest.is_empty())
        .and_then(|rest| fastjson::from_str::<BTreeMap<String, String>>(rest).ok());
    if topic_name.is_empty() {
        return Err(bad());
    }
    Ok(TopicConfig {
        attributes,
        read_queue_nums,
        write_queue_nums,
        perm,
        topic_filter_type,
        ..TopicConfig::new(topic_name)
    })
}

fn inflate(body: &[u8], max_inflated: usize) -> Result<Vec<u8>, RegisterBrokerBodyError> {
    let mut raw = Vec::new();
    let limit = u64::try_from(max_inflated)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    ZlibDecoder::new(body)
        .take(limit)
        .read_to_end(&mut raw)
        .map_err(|e| RegisterBrokerBodyError::Inflate(e.to_string()))?;
    if raw.len() > max_inflated {
        return Err(RegisterBrokerBodyError::TooLarge {
            limit: max_inflated,
        });
    }
    Ok(raw)
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Java's lengths are ints; a body beyond 2 GiB is not something a broker can send.
    let len = i32::try_from(len).unwrap_or(i32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
}

fn put_block(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], RegisterBrokerBodyError> {
        if self.rest.len() < n {
            return Err(RegisterBrokerBodyError::Truncated { what });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn len(&mut self, what: &'static str) -> Result<usize, RegisterBrokerBodyError> {
        let bytes = self.take(4, what)?;
        let len = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        usize::try_from(len).map_err(|_| RegisterBrokerBodyError::NegativeLength { what, len })
    }

    fn block(&mut self, what: &'static str) -> Result<&'a [u8], RegisterBrokerBodyError> {
        let len = self.len(what)?;
        self.take(len, what)
    }
}
