//! END_TRANSACTION's commit on a SYNC_MASTER (Java 4.9.8: `sendFinalMessage` is a blocking
//! `putMessage`, whose `submitReplicaRequest` waits for the slave when the message's WAIT is
//! true — the half's, i.e. the client's; FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE are
//! answered SUCCESS, and the op message follows the wait):
//! - live slave: SUCCESS, and at that moment the slave's commitlog already holds the final
//!   message;
//! - frozen slave (SIGSTOP): SUCCESS after slaveTimeout (3 s);
//! - no slave: SUCCESS at once (SLAVE_NOT_AVAILABLE is not an error for the commit);
//! - every commit's op message is written.
//!
//! The other internal puts (send-back, the schedule service's delivery, the transaction
//! check's put-backs, op messages) set WAIT=false in 4.9.8 and never wait; see
//! ARCHITECTURE.md.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::ha::{conf, start, wait_for};
use common::*;
use remoting::RemotingClient;
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::protocol::transaction::EndTransactionRequestHeader;
use remoting_codec::RemotingCommand;

const GROUP: &str = "PG_TX_HA";

fn body(key: &str) -> String {
    format!("end-transaction body {key} (unique)")
}

/// A half message as a Java transactional producer sends it (WAIT=true).
fn half(key: &str) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        producer_group: GROUP.into(),
        sys_flag: 4, // PREPARED
        ..send_v2_header(
            "TxTopic",
            0,
            &format!(
                "KEYS\u{1}{key}\u{2}TRAN_MSG\u{1}true\u{2}UNIQ_KEY\u{1}U-{key}\u{2}WAIT\u{1}true\u{2}PGROUP\u{1}{GROUP}\u{2}TAGS\u{1}tx"
            ),
        )
    };
    RemotingCommand::request(req::SEND_MESSAGE_V2, &header).with_body(Bytes::from(body(key)))
}

/// Sends a half (stored whatever the slave code) and returns its commit request.
async fn half_then_commit(c: &RemotingClient, key: &str) -> RemotingCommand {
    let r = c.invoke(half(key), TIMEOUT).await.unwrap();
    assert!(
        [resp::SUCCESS, resp::SLAVE_NOT_AVAILABLE].contains(&r.code),
        "{} {:?}",
        r.code,
        r.remark
    );
    let msg_id = r.ext_field("msgId").unwrap().to_owned();
    RemotingCommand::request(
        req::END_TRANSACTION,
        &EndTransactionRequestHeader {
            topic: None,
            producer_group: GROUP.into(),
            tran_state_table_offset: r.ext_field("queueOffset").unwrap().parse().unwrap(),
            commit_log_offset: i64::from_str_radix(&msg_id[msg_id.len() - 16..], 16).unwrap(),
            commit_or_rollback: 8, // COMMIT
            from_transaction_check: false,
            msg_id: msg_id.clone(),
            transaction_id: Some(msg_id),
        },
    )
}

async fn max_offset(c: &RemotingClient, topic: &str) -> i64 {
    let r = c
        .invoke(
            RemotingCommand::request_without_header(req::GET_MAX_OFFSET)
                .with_ext_field("topic", topic)
                .with_ext_field("queueId", "0"),
            TIMEOUT,
        )
        .await
        .unwrap();
    r.ext_field("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(-1)
}

/// How many times `needle` occurs in the commitlog files under `dir`.
fn occurrences(dir: &Path, needle: &[u8]) -> usize {
    let Ok(files) = std::fs::read_dir(dir.join("store/commitlog")) else {
        return 0;
    };
    files
        .flatten()
        .filter_map(|f| std::fs::read(f.path()).ok())
        .map(|bytes| bytes.windows(needle.len()).filter(|w| *w == needle).count())
        .sum()
}

#[test]
fn sync_master_commit_waits_for_the_slave_and_answers_as_java() {
    let dir = temp_dir("ha-endtx");
    let (mdir, sdir) = (dir.path().join("master"), dir.path().join("slave"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ns = start_namesrv(dir.path()).await;
        let (mport, sport) = (free_port_pair(), free_port_pair());
        let master = start(&mdir, &conf(&mdir, mport, ns.addr, "SYNC_MASTER", 0));
        let mut slave = start(&sdir, &conf(&sdir, sport, ns.addr, "SLAVE", 1));
        let m = master.client().await;
        wait_for("the slave to be in sync", async || {
            let r = m
                .invoke(send_v2("HaTopic", 0, "T", b"warm-up"), TIMEOUT)
                .await
                .unwrap();
            r.code == resp::SUCCESS
        })
        .await;

        // Live slave: the answer comes once the slave has the final message (half + final).
        let commit = half_then_commit(&m, "live").await;
        let r = m.invoke(commit, TIMEOUT).await.unwrap();
        assert_eq!((r.code, r.remark), (resp::SUCCESS, None));
        assert_eq!(occurrences(&sdir, body("live").as_bytes()), 2);

        // Frozen slave: SUCCESS (FLUSH_SLAVE_TIMEOUT is not an error here) after slaveTimeout.
        let commit = half_then_commit(&m, "frozen").await;
        slave.signal(libc::SIGSTOP);
        let begin = Instant::now();
        let r = m.invoke(commit, Duration::from_secs(30)).await.unwrap();
        let waited = begin.elapsed();
        assert_eq!((r.code, r.remark), (resp::SUCCESS, None));
        assert!(waited >= Duration::from_millis(2900), "{waited:?}");
        slave.signal(libc::SIGCONT);

        // No slave: SLAVE_NOT_AVAILABLE at once, answered SUCCESS.
        slave.terminate();
        wait_for("SLAVE_NOT_AVAILABLE", async || {
            let r = m
                .invoke(
                    send_v2("HaTopic", 0, "T", b"probe"),
                    Duration::from_secs(30),
                )
                .await
                .unwrap();
            r.code == resp::SLAVE_NOT_AVAILABLE
        })
        .await;
        let commit = half_then_commit(&m, "absent").await;
        let r = m.invoke(commit, TIMEOUT).await.unwrap();
        assert_eq!((r.code, r.remark), (resp::SUCCESS, None));

        // Every commit stored its message and its op message.
        wait_for("three final messages and three op messages", async || {
            max_offset(&m, "TxTopic").await == 3
                && max_offset(&m, "RMQ_SYS_TRANS_OP_HALF_TOPIC").await == 3
        })
        .await;
        drop(ns);
    });
}
