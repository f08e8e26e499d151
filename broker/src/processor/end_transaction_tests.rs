use remoting_codec::code::response as resp;
use remoting_codec::message::sysflag::message_sys_flag::TRANSACTION_NOT_TYPE;

use super::*;
use crate::topic::validator::{RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC};
use crate::transaction::tests::Fixture;

/// The answer of a store that is no SYNC_MASTER: never a slave wait.
fn end(f: &Fixture, header: &EndTransactionRequestHeader) -> Option<Result<(), Refusal>> {
    let answer = EndTransaction {
        bridge: f.bridge(),
        is_slave: false,
        max_message_size: 4 * 1024 * 1024,
    }
    .end_transaction(header, 1_000);
    no_wait(answer)
}

fn no_wait(answer: Answer) -> Option<Result<(), Refusal>> {
    answer.map(|r| r.map(|wait| assert!(wait.is_none(), "a wait for a slave")))
}

fn header(commit_log_offset: i64, queue_offset: i64, kind: i32) -> EndTransactionRequestHeader {
    EndTransactionRequestHeader {
        topic: None,
        producer_group: "tx_producer_group".into(),
        tran_state_table_offset: queue_offset,
        commit_log_offset,
        commit_or_rollback: kind,
        from_transaction_check: false,
        msg_id: "UNIQ-k".into(),
        transaction_id: None,
    }
}

fn settle(f: &Fixture) {
    f.store.wait_dispatched().unwrap();
}

#[test]
fn commit_stores_the_real_message_and_an_op_message() {
    let f = Fixture::new();
    f.put_half("first", 5, &[]);
    let (cl, qo) = f.put_half("k", 7, &[]);
    let half = f.read(RMQ_SYS_TRANS_HALF_TOPIC, 0).remove(1);
    assert_eq!(
        end(&f, &header(cl, qo, TRANSACTION_COMMIT_TYPE)),
        Some(Ok(()))
    );
    settle(&f);
    let delivered = f.read("TxTopic", 2);
    assert_eq!(delivered.len(), 1);
    let m = &delivered[0];
    assert_eq!(m.sys_flag, TRANSACTION_COMMIT_TYPE);
    assert_eq!(m.prepared_transaction_offset, cl);
    assert_eq!(
        (m.flag, m.born_timestamp, m.born_host),
        (5, 7, half.born_host)
    );
    assert_eq!(m.body, half.body);
    // The half's properties string, byte for byte: TRAN_MSG, REAL_TOPIC, REAL_QID, PGROUP and
    // WAIT stay (Java wrote the string before clearing them from the map).
    assert_eq!(m.properties.encode(), half.properties.encode());
    assert_eq!(m.properties.get("TRAN_MSG"), Some("true"));

    let ops = f.read(RMQ_SYS_TRANS_OP_HALF_TOPIC, 0);
    assert_eq!(ops.len(), 1);
    let op = &ops[0];
    assert_eq!(&op.body[..], b"1", "the half's queue offset");
    // Java's op record: {TAGS=d, WAIT=true} in HashMap order, nothing else (135 bytes with a
    // one-digit body, as in the s07 capture's commitlog offsets).
    assert_eq!(op.properties.encode(), "WAIT\u{1}true\u{2}TAGS\u{1}d");
    assert_eq!(op.encoded_len(), 135);
    assert_eq!((op.sys_flag, op.flag), (TRANSACTION_NOT_TYPE, 0));
    assert_eq!(op.born_host, "127.0.0.1:10911".parse().unwrap());
    assert_eq!(op.born_timestamp, 1_000);
}

#[test]
fn rollback_writes_only_the_op_message() {
    let f = Fixture::new();
    let (cl, qo) = f.put_half("k", 7, &[]);
    assert_eq!(
        end(&f, &header(cl, qo, TRANSACTION_ROLLBACK_TYPE)),
        Some(Ok(()))
    );
    settle(&f);
    assert!(f.read("TxTopic", 2).is_empty());
    let ops = f.read(RMQ_SYS_TRANS_OP_HALF_TOPIC, 0);
    assert_eq!(ops.len(), 1);
    assert_eq!(&ops[0].body[..], b"0");
}

#[test]
fn unknown_and_other_values_do_nothing_and_answer_nothing() {
    let f = Fixture::new();
    let (cl, qo) = f.put_half("k", 7, &[]);
    for kind in [TRANSACTION_NOT_TYPE, 4, 99] {
        for from_check in [false, true] {
            let mut h = header(cl, qo, kind);
            h.from_transaction_check = from_check;
            assert_eq!(end(&f, &h), None);
        }
    }
    settle(&f);
    assert!(f.read("TxTopic", 2).is_empty());
    assert!(f.read(RMQ_SYS_TRANS_OP_HALF_TOPIC, 0).is_empty());
}

#[test]
fn refusals_in_java_s_order() {
    let f = Fixture::new();
    let (cl, qo) = f.put_half("k", 7, &[]);
    let refused = |remark: &str| Some(Err(Refusal::system_error(remark)));

    let mut wrong_group = header(cl, qo, TRANSACTION_COMMIT_TYPE);
    wrong_group.producer_group = "other".into();
    // The group is checked before the offsets.
    wrong_group.tran_state_table_offset = 9;
    assert_eq!(end(&f, &wrong_group), refused("The producer group wrong"));

    let wrong_offset = header(cl, qo + 1, TRANSACTION_ROLLBACK_TYPE);
    assert_eq!(
        end(&f, &wrong_offset),
        refused("The transaction state table offset wrong")
    );

    let nowhere = header(cl + 1_000_000, qo, TRANSACTION_COMMIT_TYPE);
    assert_eq!(
        end(&f, &nowhere),
        refused("Find prepared transaction message failed")
    );
    settle(&f);
    assert!(f.read("TxTopic", 2).is_empty());
    assert!(f.read(RMQ_SYS_TRANS_OP_HALF_TOPIC, 0).is_empty());

    let slave = EndTransaction {
        bridge: f.bridge(),
        is_slave: true,
        max_message_size: 1,
    };
    assert_eq!(
        no_wait(slave.end_transaction(&header(cl, qo, TRANSACTION_COMMIT_TYPE), 0)),
        Some(Err(Refusal::code_only(resp::SLAVE_NOT_AVAILABLE)))
    );
}

#[test]
fn a_commit_that_cannot_be_stored_leaves_the_half_open() {
    let f = Fixture::new();
    let (cl, qo) = f.put_half("k", 7, &[]);
    f.store.shutdown().unwrap();
    assert_eq!(
        end(&f, &header(cl, qo, TRANSACTION_COMMIT_TYPE)),
        Some(Err(Refusal::new(
            resp::SERVICE_NOT_AVAILABLE,
            "Service not available now."
        )))
    );
}
