//! Java's `PlainAccessValidator.parse`: what a request asks for — who (AccessKey, Signature,
//! the client IP), the signed content, and which resources it needs with which permission.
//!
//! Per-code rules (4.9.8), every other code needs no resource:
//!
//! | code | resources |
//! |---|---|
//! | SEND_MESSAGE 10 | `topic` PUB; a `%RETRY%` topic: SUB on the retry topic of `group` |
//! | SEND_MESSAGE_V2 310 | the same with `b` (topic) and `a` (group) |
//! | CONSUMER_SEND_MSG_BACK 36 | SUB on `%RETRY%<group>` |
//! | PULL_MESSAGE 11 | SUB on `topic`, SUB on `%RETRY%<consumerGroup>` |
//! | QUERY_MESSAGE 12 | SUB on `topic` |
//! | HEART_BEAT 34 | per consumer of the body: SUB on `%RETRY%<groupName>` and on each subscribed topic |
//! | UNREGISTER_CLIENT 35, GET_CONSUMER_LIST_BY_GROUP 38 | SUB on `%RETRY%<consumerGroup>` |
//! | UPDATE_CONSUMER_OFFSET 15 | SUB on `%RETRY%<consumerGroup>`, SUB on `topic` |
//!
//! SEND_BATCH_MESSAGE 320 needs nothing in 4.9.8 (it is not in the switch). An absent field
//! adds no resource (Java's `addResourceAndPerm(null, …)` is a no-op; 4.9.8's header decoding
//! swallows missing fields). The resources are kept in a Java `HashMap`, whose iteration order
//! decides which refusal a request with several denied resources gets: [`AccessRequest::resources`]
//! reproduces it. A HEART_BEAT body Java cannot read throws inside `parse`, answered with
//! the exception's text at `PlainAccessValidator.parse(PlainAccessValidator.java:134)`: for
//! no body, JDK 17's NullPointerException message as Java; for malformed JSON, our reader's
//! message (fastjson's wording is not reproduced).

use remoting_codec::code::request as req;
use remoting_codec::fastjson;
use remoting_codec::message::java_string_hash_code;
use remoting_codec::RemotingCommand;

use super::permission::{is_retry_topic, retry_topic, PUB, SUB};
use super::signature::{combine_request_content, ACCESS_KEY, SIGNATURE};
use super::AclError;

/// What one request asks for (`PlainAccessResource` as `parse` fills it).
#[derive(Debug, Default)]
pub struct AccessRequest {
    pub code: i32,
    /// The client IP (no port), as Java prints it.
    pub remote_addr: Option<String>,
    pub access_key: Option<String>,
    pub signature: Option<String>,
    /// Insertion order; a resource put twice keeps its place and takes the new permission.
    resources: Vec<(String, u8)>,
    pub content: Vec<u8>,
}

impl AccessRequest {
    /// `parse(request, remoteAddr)`.
    pub fn parse(request: &RemotingCommand, remote_addr: Option<String>) -> Result<Self, AclError> {
        let mut r = AccessRequest {
            code: request.code,
            remote_addr,
            ..Default::default()
        };
        let Some(ext) = request.ext_fields.as_ref() else {
            return Ok(r);
        };
        let get = |k: &str| ext.get(k);
        r.access_key = get(ACCESS_KEY).map(str::to_owned);
        r.signature = get(SIGNATURE).map(str::to_owned);
        let retry = |group: Option<&str>| group.map(retry_topic);
        match request.code {
            req::SEND_MESSAGE | req::SEND_MESSAGE_V2 => {
                let (topic, group) = if request.code == req::SEND_MESSAGE {
                    (get("topic"), get("group"))
                } else {
                    (get("b"), get("a"))
                };
                if topic.is_some_and(is_retry_topic) {
                    r.add(retry(group), SUB);
                } else {
                    r.add(topic.map(str::to_owned), PUB);
                }
            }
            req::CONSUMER_SEND_MSG_BACK => r.add(retry(get("group")), SUB),
            req::PULL_MESSAGE => {
                r.add(get("topic").map(str::to_owned), SUB);
                r.add(retry(get("consumerGroup")), SUB);
            }
            req::QUERY_MESSAGE => r.add(get("topic").map(str::to_owned), SUB),
            req::HEART_BEAT => r.add_heartbeat(&request.body)?,
            req::UNREGISTER_CLIENT | req::GET_CONSUMER_LIST_BY_GROUP => {
                r.add(retry(get("consumerGroup")), SUB)
            }
            req::UPDATE_CONSUMER_OFFSET => {
                r.add(retry(get("consumerGroup")), SUB);
                r.add(get("topic").map(str::to_owned), SUB);
            }
            _ => {}
        }
        r.content = combine_request_content(request);
        Ok(r)
    }

    /// A 5.x gRPC call as `parse(GeneratedMessageV3, AuthenticationHeader)` sees it (5.0–5.2
    /// ACL 1.0): the signed content is the `x-mq-date-time` text, the signature the
    /// `authorization` header's hex turned into Base64, and `resources` what the RPC needs
    /// (see [`crate::grpc::auth`]).
    pub fn of_rpc(
        code: i32,
        remote_addr: Option<String>,
        access_key: Option<String>,
        signature: Option<String>,
        content: Vec<u8>,
        resources: &[(String, u8)],
    ) -> Self {
        let mut r = AccessRequest {
            code,
            remote_addr,
            access_key,
            signature,
            content,
            ..Default::default()
        };
        for (resource, perm) in resources {
            r.add(Some(resource.clone()), *perm);
        }
        r
    }

    fn add(&mut self, resource: Option<String>, perm: u8) {
        let Some(resource) = resource else { return };
        match self.resources.iter_mut().find(|(r, _)| *r == resource) {
            Some(slot) => slot.1 = perm,
            None => self.resources.push((resource, perm)),
        }
    }

    fn add_heartbeat(&mut self, body: &[u8]) -> Result<(), AclError> {
        let parse_error = |m: String| AclError::parse(m);
        let value = if body.is_empty() {
            serde_json::Value::Null
        } else {
            fastjson::from_slice_value(body).map_err(|e| parse_error(e.to_string()))?
        };
        if value.is_null() {
            // HeartbeatData.decode of no body is null; JDK 17's helpful NullPointerException.
            return Err(parse_error(
                "Cannot invoke \"org.apache.rocketmq.common.protocol.heartbeat.HeartbeatData.getConsumerDataSet()\" because \"heartbeatData\" is null".into(),
            ));
        }
        let consumers = value.get("consumerDataSet").and_then(|v| v.as_array());
        for consumer in consumers.into_iter().flatten() {
            let group = consumer.get("groupName").and_then(|g| g.as_str());
            self.add(group.map(retry_topic), SUB);
            let subs = consumer
                .get("subscriptionDataSet")
                .and_then(|v| v.as_array());
            for sub in subs.into_iter().flatten() {
                let topic = sub.get("topic").and_then(|t| t.as_str());
                self.add(topic.map(str::to_owned), SUB);
            }
        }
        Ok(())
    }

    /// The resources in the order Java's `HashMap<String, Byte>` iterates them: by bucket
    /// (`(h ^ h >>> 16) & (capacity - 1)`, capacity 16 doubled while more than ¾ full), then
    /// by insertion within a bucket.
    pub fn resources(&self) -> Vec<(&str, u8)> {
        let mut capacity = 16usize;
        while self.resources.len() * 4 > capacity * 3 {
            capacity *= 2;
        }
        let bucket = |s: &str| {
            let h = java_string_hash_code(s) as u32;
            ((h ^ (h >> 16)) as usize) & (capacity - 1)
        };
        let mut ordered: Vec<(&str, u8)> = self
            .resources
            .iter()
            .map(|(r, p)| (r.as_str(), *p))
            .collect();
        ordered.sort_by_key(|(r, _)| bucket(r));
        ordered
    }

    pub fn has_resources(&self) -> bool {
        !self.resources.is_empty()
    }

    pub fn needed(&self, resource: &str) -> Option<u8> {
        self.resources
            .iter()
            .find(|(r, _)| r == resource)
            .map(|(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(code: i32, fields: &[(&str, &str)]) -> RemotingCommand {
        fields.iter().fold(
            RemotingCommand::request_without_header(code),
            |c, (k, v)| c.with_ext_field(*k, *v),
        )
    }

    #[test]
    fn per_code_resources() {
        let r = AccessRequest::parse(&cmd(310, &[("a", "g"), ("b", "T")]), None).unwrap();
        assert_eq!(r.resources(), vec![("T", PUB)]);
        let r = AccessRequest::parse(&cmd(310, &[("a", "g"), ("b", "%RETRY%x")]), None).unwrap();
        assert_eq!(r.resources(), vec![("%RETRY%g", SUB)]);
        let r = AccessRequest::parse(&cmd(11, &[("topic", "T"), ("consumerGroup", "g")]), None)
            .unwrap();
        assert_eq!(r.needed("T"), Some(SUB));
        assert_eq!(r.needed("%RETRY%g"), Some(SUB));
        let r = AccessRequest::parse(&cmd(320, &[("b", "T")]), None).unwrap();
        assert!(!r.has_resources());
        let r = AccessRequest::parse(&cmd(35, &[("producerGroup", "p")]), None).unwrap();
        assert!(!r.has_resources());
    }

    #[test]
    fn heartbeat_body() {
        let body = br#"{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"T"},{"topic":"%RETRY%g"}]}],"producerDataSet":[]}"#;
        let signed = [("AccessKey", "k")];
        let r = AccessRequest::parse(&cmd(34, &signed).with_body(&body[..]), None).unwrap();
        assert_eq!(r.resources().len(), 2);
        // No extFields at all: Java returns before looking at the body.
        let r = AccessRequest::parse(&cmd(34, &[]), None).unwrap();
        assert!(!r.has_resources() && r.access_key.is_none());
        let e = AccessRequest::parse(&cmd(34, &signed), None).unwrap_err();
        assert!(e
            .remark()
            .ends_with("PlainAccessValidator.parse(PlainAccessValidator.java:134)"));
    }

    #[test]
    fn hash_map_order() {
        // Java: new HashMap() with "AclTopic" then "%RETRY%acl_group" iterates
        // by bucket index.
        let r = AccessRequest::parse(
            &cmd(11, &[("topic", "AclTopic"), ("consumerGroup", "acl_group")]),
            None,
        )
        .unwrap();
        let order: Vec<&str> = r.resources().into_iter().map(|(n, _)| n).collect();
        let b = |s: &str| {
            let h = java_string_hash_code(s) as u32;
            ((h ^ (h >> 16)) & 15) as usize
        };
        assert!(b(order[0]) <= b(order[1]));
    }
}
