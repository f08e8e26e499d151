//! Bad input against a broker process: each fault gets the Java 4.9.8 broker's code and remark
//! (or, for an undecodable frame, the closing of that one connection), nothing panics, and a
//! second connection opened at the start is served before and after every fault.

mod harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use harness::{start_broker, Client, TempDir};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::send::SendMessageRequestHeader;
use remoting_codec::RemotingCommand;

/// Java's `FAQUrl.suggestTodo(APPLY_TOPIC_URL)`.
const APPLY_TOPIC_TIP: &str = "\nSee http://rocketmq.apache.org/docs/faq/ for further details.";
const MAX_MESSAGE_SIZE: usize = 4096;

fn send(topic: &str, queue_id: i32, body: Vec<u8>) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "bad_input_group".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some("UNIQ_KEY\u{1}0A0000010000000000000000000000\u{2}".into()),
        reconsume_times: Some(0),
        unit_mode: false,
        batch: false,
        max_reconsume_times: None,
        broker_name: None,
    };
    RemotingCommand::request(req::SEND_MESSAGE, &header).with_body(body)
}

/// The witness connection is still served: a GET_ALL_TOPIC_CONFIG answers SUCCESS.
async fn still_serving(witness: &Client) {
    let r = witness
        .invoke(RemotingCommand::request_without_header(
            req::GET_ALL_TOPIC_CONFIG,
        ))
        .await
        .expect("the broker stopped serving the witness connection");
    assert_eq!(r.code, resp::SUCCESS);
}

/// Reads until the broker closes the socket (EOF or reset); panics if it stays open.
fn wait_closed(mut stream: TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("connection not closed by the broker: {e}"),
        }
    }
}

#[test]
fn bad_input_gets_javas_answers_and_the_broker_keeps_serving() {
    let dir = TempDir::new("bad-input");
    let max = format!("maxMessageSize={MAX_MESSAGE_SIZE}");
    let mut broker = start_broker(
        dir.path(),
        "brokerClusterName=DefaultCluster\nbrokerName=broker-a\n",
        None,
        &["autoCreateTopicEnable=false", &max],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let witness = rt.block_on(Client::connect(broker.addr()));
    rt.block_on(async {
        let client = Client::connect(broker.addr()).await;
        still_serving(&witness).await;

        // A topic to send to (auto-creation is off).
        let create = RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_TOPIC)
            .with_ext_field("topic", "BadInputTopic")
            .with_ext_field("defaultTopic", "TBW102")
            .with_ext_field("readQueueNums", "4")
            .with_ext_field("writeQueueNums", "4")
            .with_ext_field("perm", "6")
            .with_ext_field("topicFilterType", "SINGLE_TAG")
            .with_ext_field("order", "false");
        assert_eq!(client.invoke(create).await.unwrap().code, resp::SUCCESS);
        let ok = client.invoke(send("BadInputTopic", 1, b"fine".to_vec())).await.unwrap();
        assert_eq!(ok.code, resp::SUCCESS, "{:?}", ok.remark);

        // Oversized body.
        let r = client
            .invoke(send("BadInputTopic", 1, vec![b'x'; MAX_MESSAGE_SIZE + 1]))
            .await
            .unwrap();
        assert_eq!(r.code, resp::MESSAGE_ILLEGAL);
        assert_eq!(
            r.remark.as_deref(),
            Some(format!(
                "the message is illegal, maybe msg body or properties length not matched. msg body length limit {MAX_MESSAGE_SIZE}B, msg properties length limit 32KB."
            ).as_str())
        );
        still_serving(&witness).await;

        // Unknown topic, auto-creation off.
        let r = client.invoke(send("NoSuchTopic", 0, b"x".to_vec())).await.unwrap();
        assert_eq!(r.code, resp::TOPIC_NOT_EXIST);
        assert_eq!(
            r.remark.as_deref(),
            Some(format!("topic[NoSuchTopic] not exist, apply first please!{APPLY_TOPIC_TIP}").as_str())
        );

        // Queue id out of range.
        let r = client.invoke(send("BadInputTopic", 9, b"x".to_vec())).await.unwrap();
        assert_eq!(r.code, resp::SYSTEM_ERROR);
        // Java ends the remark with the producer's address (an ephemeral port here).
        let remark = r.remark.unwrap_or_default();
        let expected = "request queueId[9] is illegal, TopicConfig [topicName=BadInputTopic, readQueueNums=4, writeQueueNums=4, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false] Producer: 127.0.0.1:";
        assert!(remark.starts_with(expected), "{remark}");
        assert!(remark[expected.len()..].parse::<u16>().is_ok(), "{remark}");

        // A required header field missing.
        let r = client
            .invoke(
                RemotingCommand::request_without_header(req::QUERY_CONSUMER_OFFSET)
                    .with_ext_field("topic", "BadInputTopic")
                    .with_ext_field("consumerGroup", "g"),
            )
            .await
            .unwrap();
        assert_eq!(r.code, resp::SYSTEM_ERROR);
        assert!(
            r.remark.as_deref().unwrap_or("").contains("the custom field <queueId> is null"),
            "{:?}",
            r.remark
        );

        // An unknown request code.
        let r = client
            .invoke(RemotingCommand::request_without_header(9999))
            .await
            .unwrap();
        assert_eq!(r.code, resp::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(r.remark.as_deref(), Some(" request type 9999 not supported"));

        // A heartbeat whose body is not JSON: an error answer, the connection stays usable.
        let r = client
            .invoke(
                RemotingCommand::request_without_header(req::HEART_BEAT)
                    .with_body(&b"{\"clientID\":\x00\xff garbage"[..]),
            )
            .await
            .unwrap();
        assert_eq!(r.code, resp::SYSTEM_ERROR);
        assert!(r.remark.is_some());
        still_serving(&client).await;
        still_serving(&witness).await;
    });

    // Garbage frames on raw sockets: each closes only its own connection.
    let frames: [&[u8]; 3] = [
        // A header length larger than the frame.
        &[0, 0, 0, 8, 0, 0, 0x7f, 0xff, 1, 2, 3, 4],
        // A frame length beyond the maximum frame size.
        &[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1],
        // A JSON header that is not JSON.
        &[0, 0, 0, 9, 0, 0, 0, 5, b'{', b'n', b'o', b'p', b'e'],
    ];
    for frame in frames {
        let mut raw = TcpStream::connect(broker.addr()).unwrap();
        raw.write_all(frame).unwrap();
        wait_closed(raw);
        rt.block_on(async {
            let fresh = Client::connect(broker.addr()).await;
            still_serving(&fresh).await;
        });
    }
    // The connection opened before all the faults is still served.
    rt.block_on(still_serving(&witness));
    assert!(broker.terminate().success(), "clean stop after bad input");
}

/// Java's `startAcceptSendRequestTimeStamp`: before that time a send is refused with
/// SYSTEM_ERROR and "broker unable to service, until <time>"; 0 (the default) accepts at once.
/// The key is live (UPDATE_BROKER_CONFIG), so one broker shows both sides.
#[test]
fn sends_wait_for_start_accept_send_request_time_stamp() {
    let dir = TempDir::new("start-accept");
    // A day after the test's own clock: the refusal does not depend on the date.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 86_400_000;
    let mut broker = start_broker(
        dir.path(),
        "brokerClusterName=DefaultCluster\nbrokerName=broker-a\n",
        None,
        &[&format!("startAcceptSendRequestTimeStamp={later}")],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(broker.addr()).await;
        let r = client
            .invoke(send("StartAccept", 0, b"early".to_vec()))
            .await
            .unwrap();
        assert_eq!(r.code, resp::SYSTEM_ERROR, "{:?}", r.remark);
        assert_eq!(
            r.remark.as_deref(),
            Some(format!("broker unable to service, until {later}").as_str())
        );
        let update = RemotingCommand::request_without_header(req::UPDATE_BROKER_CONFIG)
            .with_body(b"startAcceptSendRequestTimeStamp=0\n".to_vec());
        assert_eq!(client.invoke(update).await.unwrap().code, resp::SUCCESS);
        let r = client
            .invoke(send("StartAccept", 0, b"now".to_vec()))
            .await
            .unwrap();
        assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
    });
    assert!(broker.terminate().success());
}
