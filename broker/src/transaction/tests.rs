//! The half/op bookkeeping and the check rules, over a real store and the managers, with a
//! clock of the test's own: the store stamps its puts with it and the check passes read it, so
//! ages, immunities and "stored after the pass began" do not depend on how fast the machine is.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use remoting_codec::message::message_const::*;
use remoting_codec::message::sysflag::message_sys_flag::TRANSACTION_PREPARED_TYPE;
use remoting_codec::message::{MessageProperties, StoredMessage};
use store::{MessageStore, MessageStoreConfig, StoreOptions};

use super::bridge::{parse_half_message_inner, CID_RMQ_SYS_TRANS};
use super::check::{calculate_op_offset, immunity_time, need_discard};
use super::*;
use crate::config::BrokerConfig;
use crate::offset::ConsumerOffsetManager;
use crate::test_util::TempDir;
use crate::topic::validator::{
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC,
};
use crate::topic::TopicConfigManager;

const TIMEOUT: i64 = 6_000;

/// Where the fixture's clock starts (2026-11-21, when the golden stores were written).
const START: i64 = 1_795_243_834_068;

pub(crate) struct Fixture {
    _dir: TempDir,
    pub store: MessageStore,
    pub topics: TopicConfigManager,
    pub offsets: ConsumerOffsetManager,
    /// The store's clock (epoch ms); it moves only when the test moves it.
    clock: Arc<AtomicI64>,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = TempDir::new("tx");
        let root = dir.path().join("store");
        let clock = Arc::new(AtomicI64::new(START));
        let store_clock = clock.clone();
        let store = MessageStore::open_with(
            MessageStoreConfig {
                store_path_root_dir: root.clone(),
                mapped_file_size_commit_log: 64 * 1024,
                mapped_file_size_consume_queue: 50 * 20,
                ..Default::default()
            },
            StoreOptions {
                clock: Arc::new(move || store_clock.load(Ordering::Acquire)),
                ..crate::test_util::store_options()
            },
        )
        .unwrap();
        Fixture {
            store,
            topics: TopicConfigManager::new(&BrokerConfig::default(), &root),
            offsets: ConsumerOffsetManager::new(&root),
            _dir: dir,
            clock,
        }
    }

    /// The store's clock.
    pub fn now(&self) -> i64 {
        self.clock.load(Ordering::Acquire)
    }

    fn set_now(&self, now: i64) {
        self.clock.store(now, Ordering::Release);
    }

    pub fn bridge(&self) -> TransactionalMessageBridge<'_> {
        TransactionalMessageBridge {
            store: &self.store,
            topics: &self.topics,
            offsets: &self.offsets,
            store_host: "127.0.0.1:10911".parse().unwrap(),
        }
    }

    /// Stores a half message as the send handler does; returns its (commitlog, queue) offsets.
    pub fn put_half(&self, key: &str, born: i64, extra: &[(&str, &str)]) -> (i64, i64) {
        let mut msg = half_message(key, born, extra);
        parse_half_message_inner(&mut msg);
        let r = self.store.put_message(msg);
        assert!(r.is_ok(), "{r:?}");
        self.store.wait_dispatched().unwrap();
        let append = r.append.unwrap();
        (append.wrote_offset, append.logics_offset)
    }

    /// One pass on the store's clock (so copies put back during the pass are "fresh" as in
    /// Java), begun 1 ms after everything stored so far; the checks it sent.
    fn check(&self, timeout: i64, check_max: i32) -> Vec<CheckRequest> {
        self.set_now(self.now() + 1);
        self.check_on(&|| self.now(), timeout, check_max)
    }

    fn check_on(&self, now: &dyn Fn() -> i64, timeout: i64, check_max: i32) -> Vec<CheckRequest> {
        let mut sent = Vec::new();
        let config = CheckConfig {
            transaction_timeout_ms: timeout,
            transaction_check_max: check_max,
            file_reserved_hours: 72,
        };
        self.bridge().check(config, now, &mut |r| sent.push(r));
        self.store.wait_dispatched().unwrap();
        sent
    }

    fn offset(&self, topic: &str) -> i64 {
        self.offsets.query_offset(CID_RMQ_SYS_TRANS, topic, 0)
    }

    pub fn read(&self, topic: &str, queue_id: i32) -> Vec<StoredMessage> {
        self.store
            .get_message(topic, queue_id, 0, 100, None)
            .messages
            .iter()
            .map(|b| StoredMessage::decode(b).unwrap())
            .collect()
    }
}

/// What a 4.9.8 client's TransactionMQProducer sends, as the send handler has it.
pub(crate) fn half_message(key: &str, born: i64, extra: &[(&str, &str)]) -> StoredMessage {
    let mut properties = MessageProperties::new();
    properties.insert(PROPERTY_KEYS, key);
    properties.insert(PROPERTY_TRANSACTION_PREPARED, "true");
    properties.insert(
        PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        format!("UNIQ-{key}"),
    );
    properties.insert(PROPERTY_WAIT_STORE_MSG_OK, "true");
    properties.insert(PROPERTY_PRODUCER_GROUP, "tx_producer_group");
    properties.insert(PROPERTY_TAGS, "tx");
    properties.insert(PROPERTY_CLUSTER, "DefaultCluster");
    for (k, v) in extra {
        properties.insert(*k, *v);
    }
    StoredMessage {
        topic: "TxTopic".into(),
        queue_id: 2,
        flag: 5,
        sys_flag: TRANSACTION_PREPARED_TYPE,
        born_timestamp: born,
        born_host: "10.0.0.7:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body: bytes::Bytes::from(format!("body of {key}")),
        properties,
        ..StoredMessage::default()
    }
}

#[test]
fn a_half_message_is_stored_in_the_half_queue_with_its_destination() {
    let f = Fixture::new();
    let (_, queue_offset) = f.put_half("k", f.now(), &[]);
    assert_eq!(queue_offset, 0);
    let halves = f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0);
    assert_eq!(halves.len(), 1);
    let h = &halves[0];
    assert_eq!(h.sys_flag, 0, "transaction bits cleared");
    assert_eq!(h.properties.real_topic(), Some("TxTopic"));
    assert_eq!(h.properties.real_queue_id(), Some(2));
    assert_eq!(h.properties.get(PROPERTY_WAIT_STORE_MSG_OK), Some("true"));
    assert!(f.read("TxTopic", 2).is_empty(), "consumers never see it");
}

#[test]
fn a_young_half_is_not_checked_yet() {
    let f = Fixture::new();
    let born = f.now();
    f.put_half("k", born, &[]);
    // Stored before the pass, but younger than transactionTimeOut.
    assert!(f.check_on(&|| born + TIMEOUT - 1, TIMEOUT, 15).is_empty());
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), -1, "nothing walked");
    assert_eq!(f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0).len(), 1);
    // The pass created the half topic as Java's fetchMessageQueues does.
    let config = f
        .topics
        .select_topic_config(RMQ_SYS_TRANS_HALF_TOPIC)
        .unwrap();
    assert_eq!((config.read_queue_nums, config.perm), (1, 6));
}

#[test]
fn a_half_stored_after_the_pass_began_waits() {
    let f = Fixture::new();
    // Born long ago (a producer's clock), but stored now: the pass started "before" it.
    f.put_half("k", f.now() - 60_000, &[]);
    assert!(f.check_on(&|| f.now() - 1_000, TIMEOUT, 15).is_empty());
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), -1);
}

#[test]
fn an_old_open_half_is_put_back_and_checked() {
    let f = Fixture::new();
    let born = f.now() - 10_000;
    let (_, _) = f.put_half("k", born, &[]);
    let sent = f.check(TIMEOUT, 15);
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(r.group.as_deref(), Some("tx_producer_group"));
    // The header names the copy: queue offset 1 and its commitlog offset.
    let halves = f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0);
    assert_eq!(halves.len(), 2);
    let copy = &halves[1];
    assert_eq!(r.header.tran_state_table_offset, 1);
    assert_eq!(r.header.commit_log_offset, copy.commit_log_offset);
    assert_eq!(
        r.header.offset_msg_id.as_deref(),
        Some(&*copy.offset_msg_id())
    );
    assert_eq!(r.header.msg_id.as_deref(), Some("UNIQ-k"));
    assert_eq!(r.header.transaction_id.as_deref(), Some("UNIQ-k"));
    assert_eq!(r.header.topic, None, "4.9.8 sends no topic");
    // The copy: check times 1, WAIT as the half had it, flag not kept (Java's renew).
    assert_eq!(copy.properties.transaction_check_times(), Some(1));
    assert_eq!(
        copy.properties.get(PROPERTY_WAIT_STORE_MSG_OK),
        Some("true")
    );
    assert_eq!((copy.flag, copy.born_timestamp), (0, born));
    // The body: the message under its real topic and queue, the map with WAIT=false.
    let body = StoredMessage::decode(&r.body).unwrap();
    assert_eq!((body.topic.as_str(), body.queue_id), ("TxTopic", 2));
    assert_eq!(body.queue_offset, 1);
    assert_eq!(body.commit_log_offset, copy.commit_log_offset);
    assert_eq!(body.flag, 5, "the body is the half as read");
    assert_eq!(
        body.properties.get(PROPERTY_WAIT_STORE_MSG_OK),
        Some("false")
    );
    assert_eq!(body.properties.transaction_check_times(), Some(1));
    // The half queue moved past the original; the copy is next.
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), 1);

    // The next pass checks the copy again: times 2.
    let sent = f.check(TIMEOUT, 15);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header.tran_state_table_offset, 2);
    let again = StoredMessage::decode(&sent[0].body).unwrap();
    assert_eq!(again.properties.transaction_check_times(), Some(2));
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), 2);
}

/// The walk reads on into the copies it puts back and stops at the first (stored after the
/// pass began). Java's read races its dispatcher thread; in the recorded runs it found the
/// copy, which the broker's gets count (s13's mqadmin5 `msgGetTotalTodayNow`: the half and
/// its copy, 2 for the pass). Ours waits for the copy's dispatch, so it always does. The
/// fixture's store dispatches only when asked: without that wait the copy is never found here.
#[test]
fn the_walk_reads_the_copy_it_put_back() {
    let f = Fixture::new();
    f.put_half("k", f.now() - 10_000, &[]);
    let gets = f.store.stats().get_transferred_total();
    f.set_now(f.now() + 1);
    let config = CheckConfig {
        transaction_timeout_ms: TIMEOUT,
        transaction_check_max: 15,
        file_reserved_hours: 72,
    };
    let mut sent = Vec::new();
    f.bridge().check(config, &|| f.now(), &mut |r| sent.push(r));
    assert_eq!(sent.len(), 1);
    assert_eq!(
        f.store.stats().get_transferred_total() - gets,
        2,
        "the half, then its copy"
    );
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), 1);
}

#[test]
fn halves_with_an_op_message_are_passed_over() {
    let f = Fixture::new();
    let born = f.now() - 10_000;
    let (_, q0) = f.put_half("done", born, &[]);
    let (_, _q1) = f.put_half("open", born, &[]);
    let halves = f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0);
    f.bridge().put_op_message(&halves[0], born);
    f.store.wait_dispatched().unwrap();
    let ops = f.read(RMQ_SYS_TRANS_OP_HALF_TOPIC, 0);
    assert_eq!(ops.len(), 1);
    assert_eq!(&ops[0].body[..], q0.to_string().as_bytes());
    assert_eq!(ops[0].tags(), Some("d"));

    let sent = f.check(TIMEOUT, 15);
    let keys: Vec<_> = sent
        .iter()
        .map(|r| StoredMessage::decode(&r.body).unwrap())
        .map(|m| m.properties.keys().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["open"], "only the open half is checked");
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), 2);
    assert_eq!(
        f.offset(RMQ_SYS_TRANS_OP_HALF_TOPIC),
        1,
        "the op queue moved too"
    );
}

#[test]
fn an_op_message_for_an_already_walked_half_only_moves_the_op_queue() {
    let f = Fixture::new();
    let born = f.now() - 10_000;
    f.put_half("k", born, &[]);
    assert_eq!(f.check(TIMEOUT, 15).len(), 1);
    // The producer rolls back the original (offset 0) late: its op message names offset 0,
    // below the half queue's progress (1): done bookkeeping. The copy (offset 1) is still open.
    let original = f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0).remove(0);
    f.bridge().put_op_message(&original, born);
    f.store.wait_dispatched().unwrap();
    let sent = f.check(TIMEOUT, 15);
    assert_eq!(sent.len(), 1, "the copy has no op message of its own");
    assert_eq!(f.offset(RMQ_SYS_TRANS_OP_HALF_TOPIC), 1);
}

#[test]
fn after_check_max_checks_the_half_goes_to_trans_check_max_time_topic() {
    let f = Fixture::new();
    let born = f.now() - 10_000;
    f.put_half("k", born, &[(PROPERTY_TRANSACTION_CHECK_TIMES, "3")]);
    assert!(f.check(TIMEOUT, 3).is_empty());
    let discarded = f.read(RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, 0);
    assert_eq!(discarded.len(), 1);
    assert_eq!(discarded[0].properties.transaction_check_times(), Some(3));
    assert_eq!(discarded[0].flag, 5);
    assert_eq!(&discarded[0].body[..], b"body of k");
    let config = f
        .topics
        .select_topic_config(RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC)
        .unwrap();
    assert_eq!((config.read_queue_nums, config.perm), (1, 6));
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), 1);
    assert_eq!(f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0).len(), 1, "not put back");
}

#[test]
fn a_half_older_than_the_reserved_time_is_discarded() {
    let f = Fixture::new();
    f.put_half("k", f.now() - 73 * 3600 * 1000, &[]);
    assert!(f.check(TIMEOUT, 15).is_empty());
    assert_eq!(f.read(RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, 0).len(), 1);
}

#[test]
fn check_immunity_delays_the_first_check() {
    let f = Fixture::new();
    let born = f.now() - 500;
    f.put_half("k", born, &[(PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, "1")]);
    // Past a 100 ms transactionTimeOut but immune for 1 s: Java puts it back, naming its
    // first offset, and moves on without a check.
    assert!(f.check(100, 15).is_empty());
    let halves = f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0);
    assert_eq!(halves.len(), 2);
    let copy = &halves[1];
    assert_eq!(copy.properties.tran_prepared_queue_offset(), Some(0));
    assert_eq!(
        copy.properties.get(PROPERTY_WAIT_STORE_MSG_OK),
        Some("false"),
        "this string is made after WAIT=false went into the shared map"
    );
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), 1);
    // Past the immunity: the copy is checked.
    f.set_now(born + 1_000);
    let sent = f.check(100, 15);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header.tran_state_table_offset, 2);
}

#[test]
fn an_immune_copy_whose_first_offset_has_an_op_message_is_passed_over() {
    let f = Fixture::new();
    let born = f.now() - 500;
    // A copy (as the immunity rule writes it) of the half that was at queue offset 3, and an
    // op message for offset 3.
    f.put_half(
        "k",
        born,
        &[
            (PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, "60"),
            (PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET, "3"),
        ],
    );
    let mut original = f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0).remove(0);
    original.queue_offset = 3;
    f.bridge().put_op_message(&original, born);
    f.store.wait_dispatched().unwrap();
    assert!(f.check(100, 15).is_empty());
    assert_eq!(f.offset(RMQ_SYS_TRANS_HALF_TOPIC), 1, "passed over");
    assert_eq!(f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0).len(), 1, "not put back");
    assert_eq!(
        f.offset(RMQ_SYS_TRANS_OP_HALF_TOPIC),
        1,
        "its op message is done"
    );
}

#[test]
fn check_times_immunity_and_op_offset_rules() {
    let mut msg = half_message("k", 0, &[]);
    assert!(!need_discard(&mut msg, 15));
    assert_eq!(msg.properties.transaction_check_times(), Some(1));
    msg.properties
        .insert(PROPERTY_TRANSACTION_CHECK_TIMES, "14");
    assert!(!need_discard(&mut msg, 15));
    assert_eq!(msg.properties.transaction_check_times(), Some(15));
    assert!(need_discard(&mut msg, 15));
    // Java's getInt: an unparsable count is -1, then + 1.
    msg.properties.insert(PROPERTY_TRANSACTION_CHECK_TIMES, "x");
    assert!(!need_discard(&mut msg, 15));
    assert_eq!(msg.properties.transaction_check_times(), Some(0));

    assert_eq!(immunity_time("30", TIMEOUT), 30_000);
    assert_eq!(immunity_time("-1", TIMEOUT), TIMEOUT);
    assert_eq!(immunity_time("soon", TIMEOUT), TIMEOUT);

    assert_eq!(calculate_op_offset(&mut [7, 5, 6, 9], 5), 8);
    assert_eq!(calculate_op_offset(&mut [6, 7], 5), 5);
    assert_eq!(calculate_op_offset(&mut [], 5), 5);
}

#[test]
fn offsets_are_kept_under_java_s_keys() {
    let f = Fixture::new();
    let born = f.now() - 10_000;
    f.put_half("a", born, &[]);
    let half = f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0).remove(0);
    f.bridge().put_op_message(&half, born);
    f.store.wait_dispatched().unwrap();
    f.check(TIMEOUT, 15);
    let text = f.offsets.encode_pretty();
    assert!(
        text.contains("\"RMQ_SYS_TRANS_HALF_TOPIC@CID_RMQ_SYS_TRANS\":{0:1"),
        "{text}"
    );
    assert!(
        text.contains("\"RMQ_SYS_TRANS_OP_HALF_TOPIC@CID_RMQ_SYS_TRANS\":{0:1"),
        "{text}"
    );
}
