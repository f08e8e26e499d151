//! Heartbeat, Telemetry and NotifyClientTermination (the proxy's `ClientActivity` and
//! `GrpcClientSettingsManager`).
//!
//! A client's first Telemetry command carries its settings: a producer's publishing topics
//! (each validated, each registering the client as a producer of group = topic) or a consumer's
//! group and subscriptions (registering it as a consumer of the group). No publishing and no
//! subscription closes the stream with INVALID_ARGUMENT, a refused name with INVALID_ARGUMENT
//! too (the proxy's `processTelemetryException` for a 4xxxx code). The answer is the settings
//! with the server's parts merged in: for a producer the retry policy (3 attempts, exponential
//! 10 ms to 1 s, ×2), the largest body (`maxMessageSize`) and whether message types are checked;
//! for a consumer the long-polling batch (32) and timeout (20 s), FIFO when the group consumes
//! orderly, and the group's retries (`retryMaxTimes` + 1 attempts, the default customized
//! backoff 1 s … 2 h). Metrics stay off.
//!
//! Registration is the broker's own HEART_BEAT (producer data, or consumer data with
//! CONSUME_PASSIVELY, CLUSTERING, CONSUME_FROM_LAST_OFFSET and the subscriptions) on the
//! client's session connection; Heartbeat repeats it. Without settings, Heartbeat and
//! NotifyClientTermination answer UNRECOGNIZED_CLIENT_TYPE "cannot find client settings for
//! this client". NotifyClientTermination closes the session (the client leaves every table).

use std::sync::Arc;

use futures::StreamExt;
use grpc::convert::{duration_of_millis, ok, status};
use grpc::v2::{
    retry_policy, settings, telemetry_command, ClientType, Code, CustomizedBackoff,
    ExponentialBackoff, FilterType, HeartbeatRequest, HeartbeatResponse, Language, Metric,
    NotifyClientTerminationRequest, NotifyClientTerminationResponse, RetryPolicy, Settings,
    TelemetryCommand,
};
use remoting_codec::code::request;
use remoting_codec::message::java_string_hash_code;
use remoting_codec::{LanguageCode, RemotingCommand};
use serde_json::json;
use tokio::sync::mpsc;

use super::route::{validate_group, validate_topic};
use super::session::Session;
use super::{Caller, GrpcContext};

/// The customized backoff of a group without its own retry policy (`CustomizedRetryPolicy`).
const DEFAULT_BACKOFF_MS: &[i64] = &[
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

fn unrecognized() -> grpc::v2::Status {
    status(
        Code::UnrecognizedClientType,
        "cannot find client settings for this client",
    )
}

/// The HEART_BEAT body registering the client as its settings say.
fn heartbeat_body(caller: &Caller, settings: &Settings) -> serde_json::Value {
    let mut producers = vec![];
    let mut consumers = vec![];
    match &settings.pub_sub {
        Some(settings::PubSub::Publishing(p)) => {
            for t in &p.topics {
                producers.push(json!({ "groupName": t.name }));
            }
        }
        Some(settings::PubSub::Subscription(s)) => {
            let group = super::name_of(s.group.as_ref());
            let subs: Vec<serde_json::Value> = s
                .subscriptions
                .iter()
                .map(|e| {
                    let topic = super::name_of(e.topic.as_ref());
                    let (kind, expr) = match &e.expression {
                        Some(f) if f.r#type == FilterType::Sql as i32 => {
                            ("SQL92", f.expression.clone())
                        }
                        Some(f) => ("TAG", f.expression.clone()),
                        None => ("TAG", "*".to_owned()),
                    };
                    let expr = if expr.trim().is_empty() {
                        "*".to_owned()
                    } else {
                        expr
                    };
                    let tags: Vec<String> = if kind == "TAG" && expr.trim() != "*" {
                        expr.split("||")
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .map(str::to_owned)
                            .collect()
                    } else {
                        vec![]
                    };
                    let codes: Vec<i32> = tags.iter().map(|t| java_string_hash_code(t)).collect();
                    json!({
                        "classFilterMode": false,
                        "codeSet": codes,
                        "expressionType": kind,
                        "subString": expr,
                        "subVersion": crate::now_millis(),
                        "tagsSet": tags,
                        "topic": topic,
                    })
                })
                .collect();
            consumers.push(json!({
                "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET",
                "consumeType": "CONSUME_PASSIVELY",
                "groupName": group,
                "messageModel": "CLUSTERING",
                "subscriptionDataSet": subs,
                "unitMode": false,
            }));
        }
        None => {}
    }
    json!({
        "clientID": caller.client_id,
        "consumerDataSet": consumers,
        "producerDataSet": producers,
    })
}

/// The client's language as the producer and consumer tables show it (the proxy's
/// `ClientChannelInfo` takes it from the client's user agent).
fn language_of(settings: &Settings) -> LanguageCode {
    let language = settings.user_agent.as_ref().map_or(0, |ua| ua.language);
    match Language::try_from(language) {
        Ok(Language::Java) => LanguageCode::Java,
        Ok(Language::Cpp) => LanguageCode::Cpp,
        Ok(Language::DotNet) => LanguageCode::DotNet,
        Ok(Language::Golang) => LanguageCode::Go,
        Ok(Language::Rust) => LanguageCode::Rust,
        Ok(Language::Python) => LanguageCode::Python,
        Ok(Language::Php) => LanguageCode::Php,
        Ok(Language::NodeJs) => LanguageCode::NodeJs,
        Ok(Language::Ruby) => LanguageCode::Ruby,
        _ => LanguageCode::Other,
    }
}

/// HEART_BEAT on the session's connection.
async fn register(
    cx: &GrpcContext,
    session: &Session,
    caller: &Caller,
    settings: &Settings,
) -> Result<(), grpc::v2::Status> {
    let body = heartbeat_body(caller, settings).to_string();
    let mut cmd =
        RemotingCommand::request_without_header(request::HEART_BEAT).with_body(body.into_bytes());
    cmd.language = language_of(settings);
    match cx.dispatch(caller, &session.conn, cmd).await? {
        Some(r) if r.code != 0 => Err(grpc::convert::status_of_remoting(
            r.code,
            r.remark.as_deref(),
        )),
        _ => Ok(()),
    }
}

/// `GrpcClientSettingsManager.getClientSettings`: the settings with the server's parts.
fn merged(cx: &GrpcContext, settings: &Settings) -> Settings {
    let mut s = settings.clone();
    match &mut s.pub_sub {
        Some(settings::PubSub::Publishing(p)) => {
            s.backoff_policy = Some(RetryPolicy {
                max_attempts: 3,
                strategy: Some(retry_policy::Strategy::ExponentialBackoff(
                    ExponentialBackoff {
                        initial: Some(duration_of_millis(10)),
                        max: Some(duration_of_millis(1000)),
                        multiplier: 2.0,
                    },
                )),
            });
            p.validate_message_type = cx.ctrl.grpc_config.topic_message_type_check;
            p.max_body_size = cx.ctrl.store.config().max_message_size as i32;
        }
        Some(settings::PubSub::Subscription(sub)) => {
            let group = super::name_of(sub.group.as_ref()).to_owned();
            if let Some(g) = cx
                .ctrl
                .subscription_group_manager
                .find_subscription_group_config(&group)
            {
                sub.receive_batch_size = Some(32);
                sub.long_polling_timeout = Some(duration_of_millis(20_000));
                sub.fifo = Some(g.consume_message_orderly.unwrap_or(false));
                s.backoff_policy = Some(RetryPolicy {
                    max_attempts: g.retry_max_times.saturating_add(1),
                    strategy: Some(retry_policy::Strategy::CustomizedBackoff(
                        CustomizedBackoff {
                            next: DEFAULT_BACKOFF_MS
                                .iter()
                                .map(|&ms| duration_of_millis(ms))
                                .collect(),
                        },
                    )),
                });
            }
        }
        None => {}
    }
    s.metric = Some(Metric {
        on: false,
        endpoints: None,
    });
    s
}

pub async fn heartbeat(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: HeartbeatRequest,
) -> HeartbeatResponse {
    let answer = |s| HeartbeatResponse { status: Some(s) };
    let Some(session) = cx.sessions.get(&caller.client_id) else {
        return answer(unrecognized());
    };
    session.touch();
    let Some(settings) = session.settings() else {
        return answer(unrecognized());
    };
    match ClientType::try_from(settings.client_type.unwrap_or(0)) {
        Ok(ClientType::Producer) => {}
        Ok(ClientType::PushConsumer | ClientType::SimpleConsumer) => {
            if let Err(i) = validate_group(super::name_of(req.group.as_ref())) {
                return answer(i.status());
            }
        }
        other => {
            let name = other.map_or("UNRECOGNIZED", |t| t.as_str_name());
            return answer(status(Code::UnrecognizedClientType, name));
        }
    }
    match register(cx, &session, caller, &settings).await {
        Ok(()) => answer(ok()),
        Err(s) => answer(s),
    }
}

pub async fn notify_client_termination(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: NotifyClientTerminationRequest,
) -> NotifyClientTerminationResponse {
    let answer = |s| NotifyClientTerminationResponse { status: Some(s) };
    let Some(settings) = cx
        .sessions
        .get(&caller.client_id)
        .and_then(|s| s.settings())
    else {
        return answer(unrecognized());
    };
    if matches!(
        ClientType::try_from(settings.client_type.unwrap_or(0)),
        Ok(ClientType::PushConsumer | ClientType::SimpleConsumer)
    ) {
        if let Err(i) = validate_group(super::name_of(req.group.as_ref())) {
            return answer(i.status());
        }
    }
    cx.sessions.close(&cx.ctrl, &caller.client_id);
    answer(ok())
}

/// One Telemetry command from the client; `Err` ends the stream with that gRPC status.
async fn on_command(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    cmd: TelemetryCommand,
    tx: &mpsc::Sender<Result<TelemetryCommand, tonic::Status>>,
) -> Result<(), tonic::Status> {
    let settings = match cmd.command {
        Some(telemetry_command::Command::Settings(settings)) => settings,
        Some(answer) => {
            // Thread stack traces and verify results answer relayed admin requests.
            super::relay::report(cx, cmd.status.as_ref(), &answer);
            return Ok(());
        }
        None => return Ok(()),
    };
    let invalid = |i: grpc::convert::Invalid| {
        tonic::Status::invalid_argument(format!(
            "process client telemetryCommand failed. {}",
            i.message
        ))
    };
    match &settings.pub_sub {
        Some(settings::PubSub::Publishing(p)) => {
            for t in &p.topics {
                validate_topic(&t.name).map_err(invalid)?;
            }
        }
        Some(settings::PubSub::Subscription(s)) => {
            validate_group(super::name_of(s.group.as_ref())).map_err(invalid)?;
        }
        None => {
            return Err(tonic::Status::invalid_argument(
                "there is no publishing or subscription data in settings",
            ))
        }
    }
    let session = cx.sessions.get_or_open(cx, &caller.client_id, caller.peer);
    session.set_telemetry(Some(tx.clone()));
    register(cx, &session, caller, &settings)
        .await
        .map_err(|s| tonic::Status::internal(s.message))?;
    let merged = merged(cx, &settings);
    session.set_settings(merged.clone());
    let reply = TelemetryCommand {
        status: Some(ok()),
        command: Some(telemetry_command::Command::Settings(merged)),
    };
    tx.send(Ok(reply))
        .await
        .map_err(|_| tonic::Status::cancelled("telemetry stream closed"))
}

/// The Telemetry stream: the client's commands are read on a task; the server's (settings
/// answers, transaction check-backs) go out through the returned receiver. The stream ends when
/// the client ends its side or its session closes (termination, idle, the broker stopping).
pub fn telemetry(
    cx: Arc<GrpcContext>,
    caller: Caller,
    mut inbound: tonic::Streaming<TelemetryCommand>,
) -> mpsc::Receiver<Result<TelemetryCommand, tonic::Status>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut session: Option<Arc<Session>> = None;
        loop {
            let closed = async {
                match &session {
                    Some(s) => s.conn.closed().await,
                    None => std::future::pending().await,
                }
            };
            let next = tokio::select! {
                next = inbound.next() => next,
                _ = closed => break,
            };
            let Some(Ok(cmd)) = next else { break };
            if let Err(status) = on_command(&cx, &caller, cmd, &tx).await {
                let _ = tx.send(Err(status)).await;
                break;
            }
            if session.is_none() {
                session = cx.sessions.get(&caller.client_id);
            }
        }
        if let Some(s) = session {
            s.clear_telemetry_if(&tx);
        }
    });
    rx
}
