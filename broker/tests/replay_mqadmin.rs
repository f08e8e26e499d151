//! The admin plane: every recorded mqadmin command (4.9.8 mqadmin, `s12-mqadmin/mNN-*.jsonl`;
//! 5.3.3 mqadmin, `s13-client5/mqadmin5-*.jsonl`) replayed against our namesrv and broker as
//! processes, each answer compared with the Java 4.9.8 servers' recorded answer.
//!
//! One test per command file. Each starts a namesrv and a broker on the world's recorded
//! broker.conf and brings them to the state Java's were in (`harness::admin`):
//! - s12: the live producer's 8 sends to AdminTopic (keys AK-0..7) at Java's queues and
//!   commitlog offsets (checked), its heartbeat; the live consumer's heartbeat, its first
//!   pulls (all 8 messages) and its first offset commit; then every earlier command file
//!   replayed without comparison (the state they change: topics, groups, KV, write perm,
//!   offsets, messages, the live clients' own traffic recorded in them);
//! - s13: the 5.3.3 quickstart and transaction clients' traffic (`c5-*.jsonl`) replayed.
//!
//! The file itself is then replayed: each client→server request of the run's clients (mqadmin;
//! to the namesrv or the broker, as recorded) and of the live clients (for the state), in
//! capture order, each once the answers Java had given before it are in (and ours to the same
//! mqadmin connection's earlier requests Java answered before this one: Java handled those
//! first). The live consumer's first offset persist of a file, when it sent nothing before it,
//! goes first: it repeats the one it made between the two captures. Compared for every
//! answer to mqadmin: code, remark, header serialization, `extFields` names and values, body
//! (stored records message by message as `compare_messages`; JSON as values, arrays as sets).
//! Compared too: the requests our broker sends the live consumer (RESET_CONSUMER_CLIENT_OFFSET
//! 220, GET_CONSUMER_RUNNING_INFO 307, CONSUME_MESSAGE_DIRECTLY 309: header, body), which our
//! live consumer answers with the recorded client answers.
//!
//! Exceptions, all of them (each narrow: one code, one field; each compared for shape; a value
//! equal to Java's always passes):
//! - everywhere: our broker's address (`127.0.0.1:<free port>`) is read as Java's
//!   `127.0.0.1:10911` in bodies (namesrv routes and cluster info), and the live clients'
//!   connections (`127.0.0.1:<ephemeral port>`) as Java's in connection lists (203, 204);
//! - GET_BROKER_CONFIG: the settings our broker.conf sets unlike Java's (free ports, the test's
//!   paths, the namesrv address, ROCKETMQ_HOME, the disk tolerance and the transaction check
//!   interval of the tests) must be listed with our value and are then read as Java's
//!   (`haListenPort` is `listenPort + 1` in both); `brokerIP2` is the machine's address (an
//!   IPv4 address); the `version` extField is a DataVersion whose timestamp is the broker's
//!   start (a time of our run; the counter is compared);
//! - store times in stats answers, each a time of our run where Java has a time: GET_TOPIC_
//!   STATS_INFO `lastUpdateTimestamp`, GET_CONSUME_STATS and GET_BROKER_CONSUME_STATS
//!   `lastTimestamp`;
//! - rates over the stats manager's sampling windows (the replay runs in seconds what Java ran
//!   in minutes): GET_CONSUME_STATS and GET_BROKER_CONSUME_STATS `consumeTps` (a decimal),
//!   VIEW_BROKER_STATS_DATA `statsMinute` sum / tps / avgpt (a count, decimals);
//! - GET_TOPIC_CONFIG (351), a 5.x code a 4.9.8 broker does not serve: ours serves it as a
//!   5.3.3 broker (deliberately); where Java answered REQUEST_CODE_NOT_SUPPORTED, ours must
//!   answer SUCCESS with the asked topic's config;
//! - SEND_MESSAGE_V2 answer `msgId`: the offsetMsgId encodes the store host's port; IP and
//!   commitlog offset are compared;
//! - QUERY_MESSAGE answer `indexLastUpdateTimestamp`: a store time (an integer);
//! - stored records (pull, query, view, consume directly): store timestamps, born and store
//!   hosts (ports); properties as a map;
//! - GET_BROKER_RUNTIME_INFO `table`: bootTimestamp, runtime, disk ratios and capacity (and
//!   the disk-ratio key naming the store path), remainHowManyDataToFlush, the five tps
//!   strings, putMessageDistributeTime, putLatency99/999, put/getMessageEntireTimeMax,
//!   pageCacheLockTimeMills: machine, clock and timing (the full list with the shape of each
//!   in `harness::admin_compare::EXCEPTIONS`);
//! - INVOKE_BROKER_TO_RESET_OFFSET `timestamp` (the request) and the broker's
//!   RESET_CONSUMER_CLIENT_OFFSET `timestamp`: a store time, sent shifted by how much later
//!   our broker stored the first message than Java's, and compared with the shift taken off.

mod harness;

use harness::admin::{AdminCluster, Outcome, World};

/// Differences from Java found by this replay and not fixed on this branch: (file, request
/// code, what). A difference at a listed (file, code) is tolerated, and each listed one must
/// still occur (the entry goes when it is fixed). Reported to the integrator.
const KNOWN_DIFFERENCES: &[(&str, i32, &str)] = &[];

/// Replays `file` on fresh servers: every difference from Java must be a [`KNOWN_DIFFERENCES`]
/// entry of the file, and each entry of the file must still occur.
fn check_file(file: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = rt.block_on(run(file));
    let report = |outcome: &Outcome| {
        outcome
            .mismatches
            .iter()
            .map(|m| format!("{}: {}", m.at, m.text))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let known = |code: i32| {
        KNOWN_DIFFERENCES
            .iter()
            .any(|(f, c, _)| *f == file && *c == code)
    };
    for (f, code, what) in KNOWN_DIFFERENCES.iter().filter(|(f, _, _)| *f == file) {
        assert!(
            outcome.mismatches.iter().any(|m| m.code == *code),
            "{f}: the known difference at code {code} is gone ({what}): remove the entry"
        );
    }
    let other: Vec<_> = outcome
        .mismatches
        .iter()
        .filter(|m| !known(m.code))
        .collect();
    assert!(
        other.is_empty(),
        "{file}: {} unexpected differences from Java:\n{}",
        other.len(),
        report(&outcome)
    );
    assert!(outcome.compared > 0, "{file}: nothing compared");
    println!(
        "{file}: compared {} answers and broker requests",
        outcome.compared
    );
}

/// The first s12 file mqadmin ran after the Java broker's first transaction check.
///
/// The replay runs in seconds what Java ran in five minutes. The one timer of the broker whose
/// effect the answers show is the transaction check service: its first pass, one
/// `transactionCheckInterval` (60 s) after start, creates RMQ_SYS_TRANS_HALF_TOPIC, which is
/// in the namesrv's topic list from then on. mqadmin's client ids are its start times: m07
/// ran 54 s after the broker's `bootTimestamp`, m08 62 s after. So for this file and the later
/// ones our broker runs with `transactionCheckInterval=1000` and the replay waits for the topic
/// on our namesrv before replaying the first of them (the earlier files run before any check).
const FIRST_FILE_AFTER_TRANSACTION_CHECK: &str = "s12-mqadmin/m08-updateTopicPerm.jsonl";

async fn run(file: &str) -> Outcome {
    let world = World::of(file);
    let name = file.rsplit('/').next().unwrap().trim_end_matches(".jsonl");
    let checked = world == World::S12 && file >= FIRST_FILE_AFTER_TRANSACTION_CHECK;
    let extra: &[&str] = if checked {
        &["transactionCheckInterval=1000"]
    } else {
        &[]
    };
    let mut cluster = AdminCluster::start(world, name, extra).await;
    cluster.seed().await;
    if world == World::S12 {
        for earlier in harness::admin::s12_files() {
            if earlier.as_str() >= file {
                break;
            }
            if earlier == FIRST_FILE_AFTER_TRANSACTION_CHECK {
                cluster.wait_for_route("RMQ_SYS_TRANS_HALF_TOPIC").await;
            }
            cluster.replay(&earlier, false).await;
        }
        if file == FIRST_FILE_AFTER_TRANSACTION_CHECK {
            cluster.wait_for_route("RMQ_SYS_TRANS_HALF_TOPIC").await;
        }
    }
    let outcome = cluster.replay(file, true).await;
    assert!(cluster.broker.terminate().success(), "broker stop");
    outcome
}

macro_rules! command_files {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check_file($file);
            }
        )*

        /// Every command file, for the table check.
        const FILES: &[&str] = &[$($file),*];
    };
}

command_files! {
    m01_cluster_list => "s12-mqadmin/m01-clusterList.jsonl",
    m02_topic_list => "s12-mqadmin/m02-topicList.jsonl",
    m03_topic_list_c => "s12-mqadmin/m03-topicList-c.jsonl",
    m04_topic_route => "s12-mqadmin/m04-topicRoute.jsonl",
    m05_topic_status => "s12-mqadmin/m05-topicStatus.jsonl",
    m06_topic_cluster_list => "s12-mqadmin/m06-topicClusterList.jsonl",
    m07_update_topic => "s12-mqadmin/m07-updateTopic.jsonl",
    m08_update_topic_perm => "s12-mqadmin/m08-updateTopicPerm.jsonl",
    m09_delete_topic => "s12-mqadmin/m09-deleteTopic.jsonl",
    m10_update_sub_group => "s12-mqadmin/m10-updateSubGroup.jsonl",
    m11_delete_sub_group => "s12-mqadmin/m11-deleteSubGroup.jsonl",
    m12_consumer_progress => "s12-mqadmin/m12-consumerProgress.jsonl",
    m13_consumer_progress_g => "s12-mqadmin/m13-consumerProgress-g.jsonl",
    m14_consumer_connection => "s12-mqadmin/m14-consumerConnection.jsonl",
    m15_producer_connection => "s12-mqadmin/m15-producerConnection.jsonl",
    m16_consumer_status => "s12-mqadmin/m16-consumerStatus.jsonl",
    m18_broker_status => "s12-mqadmin/m18-brokerStatus.jsonl",
    m19_get_broker_config => "s12-mqadmin/m19-getBrokerConfig.jsonl",
    m20_update_broker_config => "s12-mqadmin/m20-updateBrokerConfig.jsonl",
    m21_query_msg_by_id => "s12-mqadmin/m21-queryMsgById.jsonl",
    m22_query_msg_by_key => "s12-mqadmin/m22-queryMsgByKey.jsonl",
    m23_query_msg_by_unique_key => "s12-mqadmin/m23-queryMsgByUniqueKey.jsonl",
    m24_query_msg_by_offset => "s12-mqadmin/m24-queryMsgByOffset.jsonl",
    m25_reset_offset_by_time => "s12-mqadmin/m25-resetOffsetByTime.jsonl",
    m26_clone_group_offset => "s12-mqadmin/m26-cloneGroupOffset.jsonl",
    m27_stats_all => "s12-mqadmin/m27-statsAll.jsonl",
    m28_broker_consume_stats => "s12-mqadmin/m28-brokerConsumeStats.jsonl",
    m29_update_kv_config => "s12-mqadmin/m29-updateKvConfig.jsonl",
    m30_delete_kv_config => "s12-mqadmin/m30-deleteKvConfig.jsonl",
    m31_get_namesrv_config => "s12-mqadmin/m31-getNamesrvConfig.jsonl",
    m32_wipe_write_perm => "s12-mqadmin/m32-wipeWritePerm.jsonl",
    m33_add_write_perm => "s12-mqadmin/m33-addWritePerm.jsonl",
    m34_clean_expired_cq => "s12-mqadmin/m34-cleanExpiredCQ.jsonl",
    m35_allocate_mq => "s12-mqadmin/m35-allocateMQ.jsonl",
    m36_check_msg_send_rt => "s12-mqadmin/m36-checkMsgSendRT.jsonl",
    m37_query_msg_by_id_consume_directly => "s12-mqadmin/m37-queryMsgById-consumeDirectly.jsonl",
    m38_consume_message => "s12-mqadmin/m38-consumeMessage.jsonl",
    mqadmin5_cluster_list => "s13-client5/mqadmin5-clusterList.jsonl",
    mqadmin5_topic_list => "s13-client5/mqadmin5-topicList.jsonl",
    mqadmin5_broker_status => "s13-client5/mqadmin5-brokerStatus.jsonl",
    mqadmin5_topic_status => "s13-client5/mqadmin5-topicStatus.jsonl",
}

/// Every recorded command file has its test, and every KNOWN_DIFFERENCES entry names one.
#[test]
fn every_command_file_is_replayed() {
    let mut recorded = harness::admin::s12_files();
    recorded.extend(
        ["clusterList", "topicList", "brokerStatus", "topicStatus"]
            .map(|c| format!("s13-client5/mqadmin5-{c}.jsonl")),
    );
    let ours: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
    assert_eq!(ours, recorded);
    for (file, _, _) in KNOWN_DIFFERENCES {
        assert!(FILES.contains(file), "KNOWN_DIFFERENCES names {file}");
    }
}
