//! Pending half messages survive a kill -9 (and a clean stop): our broker binary on a free port
//! gets five half messages; one is committed and one rolled back at once, three are left
//! open; the broker is killed (SIGKILL), then restarted on the same store. The restarted broker
//! asks the producer (which heartbeats again, as a Java client reconnecting) about exactly the
//! three open halves; the producer commits them; TxTopic then holds the four committed
//! messages, each once, and no further check comes.
//!
//! The timings leave no race to a loaded machine. Before the kill `transactionTimeOut` is
//! 60 s, so no half can be old enough to check however slowly the test runs (the check
//! service still runs every 500 ms). After the restart it is 1 s with a check every 2 s: a
//! commit, sent as soon as its check arrives, must land before the next pass, or that pass
//! asks again (as Java's would, and a second commit would then deliver the message twice).

mod harness;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use harness::{start_broker, Client, TempDir};
use remoting_codec::code::{request, response};
use remoting_codec::fastjson;
use remoting_codec::message::record::decode_records;
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::client::{HeartbeatData, ProducerData};
use remoting_codec::protocol::pull::PullMessageRequestHeader;
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::protocol::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use remoting_codec::RemotingCommand;

const GROUP: &str = "tx_restart_group";
/// Before the kill: checked every 500 ms, but nothing is old enough for a check.
const BEFORE_KILL: &[&str] = &[
    "brokerClusterName=TestCluster",
    "brokerName=broker-tx",
    "transactionCheckInterval=500",
    "transactionTimeOut=60000",
    "mappedFileSizeCommitLog=1048576",
    "mappedFileSizeConsumeQueue=6000",
];
/// After the restart: every open half is old enough at the first pass.
const AFTER_RESTART: &[&str] = &[
    "brokerClusterName=TestCluster",
    "brokerName=broker-tx",
    "transactionCheckInterval=2000",
    "transactionTimeOut=1000",
    "mappedFileSizeCommitLog=1048576",
    "mappedFileSizeConsumeQueue=6000",
];
const CHECK_INTERVAL: Duration = Duration::from_millis(2000);

fn half(key: &str) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        producer_group: GROUP.into(),
        topic: "TxTopic".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 4, // PREPARED
        born_timestamp: broker::now_millis(),
        flag: 0,
        properties: Some(format!(
            "KEYS\u{1}{key}\u{2}TRAN_MSG\u{1}true\u{2}UNIQ_KEY\u{1}U-{key}\u{2}WAIT\u{1}true\u{2}PGROUP\u{1}{GROUP}\u{2}TAGS\u{1}tx"
        )),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    };
    RemotingCommand::request(request::SEND_MESSAGE_V2, &header)
        .with_body(Bytes::from(format!("body {key}")))
}

fn end(
    commit_log_offset: i64,
    queue_offset: i64,
    kind: i32,
    msg_id: &str,
    from_check: bool,
) -> RemotingCommand {
    RemotingCommand::request(
        request::END_TRANSACTION,
        &EndTransactionRequestHeader {
            topic: None,
            producer_group: GROUP.into(),
            tran_state_table_offset: queue_offset,
            commit_log_offset,
            commit_or_rollback: kind,
            from_transaction_check: from_check,
            msg_id: msg_id.into(),
            transaction_id: Some(msg_id.into()),
        },
    )
    .marked_oneway()
}

fn heartbeat() -> RemotingCommand {
    let body = HeartbeatData {
        client_id: "127.0.0.1@tx-restart".into(),
        producer_data_set: vec![ProducerData {
            group_name: GROUP.into(),
        }],
        ..HeartbeatData::default()
    };
    RemotingCommand::request_without_header(request::HEART_BEAT)
        .with_body(fastjson::to_vec(&body).unwrap())
}

/// Sends a half and returns (commitlog offset, queue offset) from the answer.
async fn send_half(client: &Client, key: &str) -> (i64, i64) {
    let r = client.invoke(half(key)).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let msg_id = r.ext_field("msgId").unwrap();
    let offset = i64::from_str_radix(&msg_id[msg_id.len() - 16..], 16).unwrap();
    (offset, r.ext_field("queueOffset").unwrap().parse().unwrap())
}

async fn pull_all(client: &Client) -> Vec<StoredMessage> {
    let header = PullMessageRequestHeader {
        consumer_group: "CG".into(),
        topic: "TxTopic".into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: 4, // FLAG_SUBSCRIPTION, no suspend
        commit_offset: 0,
        suspend_timeout_millis: 1000,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
    };
    let r = client
        .invoke(RemotingCommand::request(request::PULL_MESSAGE, &header))
        .await
        .unwrap();
    decode_records(&r.body).map(|m| m.unwrap()).collect()
}

fn key(m: &StoredMessage) -> String {
    m.properties.keys().unwrap_or_default().to_owned()
}

#[test]
fn pending_halves_are_checked_and_committed_after_kill_9() {
    restart_with_pending_halves(true);
}

#[test]
fn pending_halves_are_checked_and_committed_after_a_clean_restart() {
    restart_with_pending_halves(false);
}

fn restart_with_pending_halves(kill: bool) {
    let dir = TempDir::new(if kill { "tx-kill9" } else { "tx-clean" });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut broker = start_broker(dir.path(), "", None, BEFORE_KILL);
    rt.block_on(async {
        let client = Client::connect(broker.addr()).await;
        let (cl, qo) = send_half(&client, "c").await;
        client
            .conn
            .invoke_oneway(end(cl, qo, 8, "U-c", false))
            .await
            .unwrap();
        let (cl, qo) = send_half(&client, "r").await;
        client
            .conn
            .invoke_oneway(end(cl, qo, 12, "U-r", false))
            .await
            .unwrap();
        for k in ["u0", "u1", "u2"] {
            send_half(&client, k).await;
        }
        // The commit is applied (a oneway): the message is there before the kill.
        let deadline = Instant::now() + harness::TIMEOUT;
        while pull_all(&client).await.is_empty() {
            assert!(Instant::now() < deadline, "commit not applied");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(client.received.lock().unwrap().is_empty(), "checked early");
    });
    if kill {
        drop(broker); // SIGKILL
        assert!(
            dir.path().join("store/abort").exists(),
            "killed, not stopped"
        );
    } else {
        assert!(broker.terminate().success());
    }

    let mut broker = start_broker(dir.path(), "", None, AFTER_RESTART);
    rt.block_on(async {
        let client = Client::connect(broker.addr()).await;
        let r = client.invoke(heartbeat()).await.unwrap();
        assert_eq!(r.code, response::SUCCESS);
        // Answer every check with a commit until the three open halves were asked about.
        let mut checked: Vec<String> = Vec::new();
        let mut answered = 0;
        let deadline = Instant::now() + harness::TIMEOUT;
        while checked.len() < 3 {
            assert!(Instant::now() < deadline, "checked only {checked:?}");
            let requests: Vec<RemotingCommand> =
                client.received.lock().unwrap()[answered..].to_vec();
            for req in requests {
                answered += 1;
                assert_eq!(req.code, request::CHECK_TRANSACTION_STATE);
                let h: CheckTransactionStateRequestHeader = req.decode_header().unwrap();
                let msg = StoredMessage::decode(&req.body).unwrap();
                assert_eq!(msg.topic, "TxTopic");
                assert_eq!(msg.properties.transaction_check_times(), Some(1));
                checked.push(key(&msg));
                let id = h.msg_id.unwrap();
                client
                    .conn
                    .invoke_oneway(end(
                        h.commit_log_offset,
                        h.tran_state_table_offset,
                        8,
                        &id,
                        true,
                    ))
                    .await
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        checked.sort();
        assert_eq!(checked, ["u0", "u1", "u2"], "only the open halves");
        // The oneway commits land, then two more passes ask nothing, and each message is
        // there once.
        let deadline = Instant::now() + harness::TIMEOUT;
        while pull_all(&client).await.len() < 4 {
            assert!(Instant::now() < deadline, "commits not applied");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(2 * CHECK_INTERVAL).await;
        assert_eq!(client.received.lock().unwrap().len(), 3, "checked again");
        let keys: Vec<String> = pull_all(&client).await.iter().map(key).collect();
        let distinct: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert_eq!(
            distinct.into_iter().collect::<Vec<_>>(),
            ["c", "u0", "u1", "u2"]
        );
    });
    assert!(broker.terminate().success());
}
