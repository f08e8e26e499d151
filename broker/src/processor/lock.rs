//! Orderly consumption's queue locks: LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42), Java's
//! `AdminBrokerProcessor.lockBatchMQ/unlockBatchMQ` over the [`RebalanceLockManager`].
//!
//! 4.9.8 ignores the 5.x `onlyThisBroker` flag (it has no other broker to forward to).

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::fastjson;
use remoting_codec::protocol::lock::{
    LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody,
};
use remoting_codec::RemotingCommand;

use super::body::decode_body;
use super::{Refusal, Route};
use crate::lock::RebalanceLockManager;

/// LOCK_BATCH_MQ: the body lists the queues the client asks for; the answer lists the ones it
/// holds afterwards (`lockOKMQSet`).
pub fn lock_batch_mq(
    locks: &RebalanceLockManager,
    request: &RemotingCommand,
    now: i64,
) -> Result<RemotingCommand, Refusal> {
    let body: LockBatchRequestBody = decode_body(request, "LockBatchRequestBody")?;
    let granted = locks.try_lock_batch(&body.consumer_group, &body.mq_set, &body.client_id, now);
    let answer = LockBatchResponseBody {
        lock_ok_mq_set: granted,
    };
    let answer = fastjson::to_vec(&answer)?;
    Ok(RemotingCommand::response_to(request, resp::SUCCESS).with_body(answer))
}

/// UNLOCK_BATCH_MQ: releases the listed queues the client owns.
pub fn unlock_batch_mq(
    locks: &RebalanceLockManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body: UnlockBatchRequestBody = decode_body(request, "UnlockBatchRequestBody")?;
    locks.unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::LOCK_BATCH_MQ, |cx, r| {
        let locks = &cx.ctrl.rebalance_lock_manager;
        Ok(lock_batch_mq(locks, &r, crate::now_millis())?.into())
    }),
    Route::inline(req::UNLOCK_BATCH_MQ, |cx, r| {
        Ok(unlock_batch_mq(&cx.ctrl.rebalance_lock_manager, &r)?.into())
    }),
];

#[cfg(test)]
mod tests {
    use super::*;
    use remoting_codec::protocol::MessageQueue;

    fn lock_request(client: &str, queues: &[i32]) -> RemotingCommand {
        let body = LockBatchRequestBody {
            client_id: client.into(),
            consumer_group: "og".into(),
            mq_set: queues
                .iter()
                .map(|&q| MessageQueue::new("OrderlyTopic", "broker-a", q))
                .collect(),
            only_this_broker: None,
        };
        RemotingCommand::request_without_header(req::LOCK_BATCH_MQ)
            .with_body(fastjson::to_vec(&body).unwrap())
    }

    fn granted(response: &RemotingCommand) -> Vec<i32> {
        assert_eq!(response.code, resp::SUCCESS);
        let body: LockBatchResponseBody = fastjson::from_slice(&response.body).unwrap();
        body.lock_ok_mq_set.iter().map(|mq| mq.queue_id).collect()
    }

    #[test]
    fn lock_expiry_unlock_and_javas_body() {
        let locks = RebalanceLockManager::default();
        let a = lock_batch_mq(&locks, &lock_request("A", &[3]), 0).unwrap();
        // The recorded s04 answer, byte for byte.
        assert_eq!(
            &a.body[..],
            br#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":3,"topic":"OrderlyTopic"}]}"#
        );
        let mut b = granted(&lock_batch_mq(&locks, &lock_request("B", &[0, 3]), 1000).unwrap());
        b.sort();
        assert_eq!(b, [0]);
        // A's lock expires after 60 s without renewal: B takes queue 3.
        assert!(
            granted(&lock_batch_mq(&locks, &lock_request("B", &[3]), 60_000).unwrap()).is_empty()
        );
        assert_eq!(
            granted(&lock_batch_mq(&locks, &lock_request("B", &[3]), 60_001).unwrap()),
            [3]
        );
        // Unlock by B frees both; A gets them back.
        let unlock = UnlockBatchRequestBody {
            client_id: "B".into(),
            consumer_group: "og".into(),
            mq_set: vec![
                MessageQueue::new("OrderlyTopic", "broker-a", 0),
                MessageQueue::new("OrderlyTopic", "broker-a", 3),
            ],
            only_this_broker: None,
        };
        let request = RemotingCommand::request_without_header(req::UNLOCK_BATCH_MQ)
            .with_body(fastjson::to_vec(&unlock).unwrap());
        let r = unlock_batch_mq(&locks, &request).unwrap();
        assert_eq!(
            (r.code, r.body.len(), r.ext_fields.is_none()),
            (resp::SUCCESS, 0, true)
        );
        let mut a = granted(&lock_batch_mq(&locks, &lock_request("A", &[0, 3]), 60_002).unwrap());
        a.sort();
        assert_eq!(a, [0, 3]);
    }

    #[test]
    fn missing_or_garbage_body_fails_the_request() {
        let locks = RebalanceLockManager::default();
        let empty = RemotingCommand::request_without_header(req::LOCK_BATCH_MQ);
        assert!(matches!(
            lock_batch_mq(&locks, &empty, 0),
            Err(Refusal {
                code: remoting_codec::code::response::SYSTEM_ERROR,
                ..
            })
        ));
        let garbage = empty.clone().with_body(&b"{not json"[..]);
        assert!(matches!(
            unlock_batch_mq(&locks, &garbage),
            Err(Refusal {
                code: remoting_codec::code::response::SYSTEM_ERROR,
                ..
            })
        ));
    }
}
