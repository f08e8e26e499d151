//! The disk passing `diskSpaceWarningLevelRatio` while a producer and a consumer are live: the
//! broker's 10 s disk check marks the store full, sends are refused with SERVICE_NOT_AVAILABLE
//! and Java's remark (with `diskUtil()`'s `CL: %5.2f CQ: %5.2f INDEX: %5.2f`), pulls go on,
//! and sends are accepted again once the disk is under the ratio. The disk is not really
//! filled: the ratio is moved below and above the disk's real use with UPDATE_BROKER_CONFIG
//! (the store reads it at every check).

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{free_port_pair, pull, pull_header, start_broker, temp_dir, TIMEOUT};
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::message::sysflag::pull_sys_flag::FLAG_SUBSCRIPTION;
use remoting_codec::protocol::offset::{GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader};
use remoting_codec::RemotingCommand;

/// The disk check runs every 10 s (Java's fixed period): a change shows within 30 s on a loaded
/// machine; 90 s before giving up.
const CHECK_DEADLINE: Duration = Duration::from_secs(90);

async fn send(client: &RemotingClient, i: usize) -> RemotingCommand {
    let header = common::send_v2_header("DiskFullTopic", 0, "");
    let cmd = RemotingCommand::request(request::SEND_MESSAGE_V2, &header)
        .with_body(Bytes::from(format!("disk-{i}")));
    client.invoke(cmd, TIMEOUT).await.unwrap()
}

/// Pulls queue 0 from offset 0; the number of records found.
async fn pull_count(client: &RemotingClient) -> usize {
    let r = client
        .invoke(
            pull(&pull_header("DiskFullTopic", 0, 0, FLAG_SUBSCRIPTION)),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "pull: {:?}", r.remark);
    common::records(&r).len()
}

async fn set_warning_ratio(client: &RemotingClient, ratio: u32) {
    let cmd = RemotingCommand::request_without_header(request::UPDATE_BROKER_CONFIG)
        .with_body(format!("diskSpaceWarningLevelRatio={ratio}\n").into_bytes());
    let r = client.invoke(cmd, TIMEOUT).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
}

/// `CL: %5.2f CQ: %5.2f INDEX: %5.2f`: three ratios in [0, 1] (or -1 when unmeasurable),
/// each printed five characters wide with two decimals.
fn check_disk_util(remark: &str) {
    let prefix = "service not available now. It may be caused by one of the following reasons: \
                  the broker's disk is full [";
    let suffix = "], messages are put to the slave, message store has been shut down, etc.";
    let util = remark
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("not Java's remark: {remark:?}"));
    let mut rest = util;
    for label in ["CL: ", " CQ: ", " INDEX: "] {
        rest = rest
            .strip_prefix(label)
            .unwrap_or_else(|| panic!("{label:?} missing in {util:?}"));
        let (number, tail) = rest.split_at(5);
        let value: f64 = number.trim().parse().unwrap();
        assert!(
            value == -1.0 || (0.0..=1.0).contains(&value),
            "{value} in {util:?}"
        );
        assert_eq!(
            number,
            format!("{value:5.2}"),
            "width and precision in {util:?}"
        );
        rest = tail;
    }
    assert!(rest.is_empty(), "{util:?}");
}

#[test]
fn disk_past_warning_ratio_refuses_sends_keeps_pulls_and_recovers() {
    let dir = temp_dir("disk-full");
    let port = free_port_pair();
    let broker = start_broker(dir.path(), port, None, "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let producer = RemotingClient::connect(broker.addr()).await.unwrap();
        let consumer = RemotingClient::connect(broker.addr()).await.unwrap();
        let mut acked = 0;
        for i in 0..10 {
            assert_eq!(send(&producer, i).await.code, response::SUCCESS);
            acked += 1;
        }

        // The disk is used above 1 %: the next check marks it full.
        set_warning_ratio(&producer, 1).await;
        let started = Instant::now();
        let refused = loop {
            let r = send(&producer, acked).await;
            match r.code {
                response::SUCCESS => acked += 1,
                response::SERVICE_NOT_AVAILABLE => break r,
                code => panic!("send answered {code} {:?}", r.remark),
            }
            // The consumer reads meanwhile (the dispatch may trail the last send).
            assert!(pull_count(&consumer).await >= 10);
            assert!(
                started.elapsed() < CHECK_DEADLINE,
                "sends still accepted {CHECK_DEADLINE:?} after the ratio fell below the disk's use"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        check_disk_util(refused.remark.as_deref().unwrap());
        // Full: every send refused, every pull served.
        for i in 0..5 {
            let r = send(&producer, 1_000 + i).await;
            assert_eq!(r.code, response::SERVICE_NOT_AVAILABLE, "{:?}", r.remark);
            assert!(pull_count(&consumer).await >= 10);
        }

        // Space "returns": the next check clears the flag.
        set_warning_ratio(&producer, 99).await;
        let started = Instant::now();
        loop {
            let r = send(&producer, acked).await;
            if r.code == response::SUCCESS {
                acked += 1;
                break;
            }
            assert_eq!(r.code, response::SERVICE_NOT_AVAILABLE, "{:?}", r.remark);
            assert!(
                started.elapsed() < CHECK_DEADLINE,
                "sends still refused {CHECK_DEADLINE:?} after the ratio went back to 99"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Everything acknowledged is there, nothing refused was stored.
        let deadline = Instant::now() + TIMEOUT;
        while pull_count(&consumer).await.min(32) < acked.min(32) {
            assert!(Instant::now() < deadline, "acknowledged sends missing");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let r = consumer
            .invoke(
                RemotingCommand::request(
                    request::GET_MAX_OFFSET,
                    &GetMaxOffsetRequestHeader {
                        topic: "DiskFullTopic".into(),
                        queue_id: 0,
                        committed: None,
                    },
                ),
                TIMEOUT,
            )
            .await
            .unwrap();
        let max = r
            .decode_header::<GetMaxOffsetResponseHeader>()
            .unwrap()
            .offset;
        assert_eq!(
            max, acked as i64,
            "queue holds exactly the acknowledged sends"
        );
    });
}
