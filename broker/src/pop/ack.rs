//! ACK_MESSAGE, BATCH_ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME of [`PopService`]
//! (`AckMessageProcessor.appendAck` / `ackOrderly`, `ChangeInvisibleTimeProcessor`): an ack
//! record to the handle's revive queue; an orderly handle moves the group's offset through
//! [`super::super::order_info`]; a change writes a new one-message checkpoint, then acks the
//! old handle.

use remoting_codec::code::response;
use remoting_codec::protocol::pop::{
    ChangeInvisibleTimeResponseHeader, ExtraInfo, POP_ORDER_REVIVE_QUEUE,
};

use super::{bad_extra_info, put_ok, AckRequest, ChangeRequest, PopService};
use crate::controller::BrokerController;
use crate::pop::checkpoint::{ack_message, ck_message, AckMsg, PopCheckPoint};
use crate::pop::QueueLocks;
use crate::processor::Refusal;

impl PopService {
    /// The checks ACK_MESSAGE and CHANGE_INVISIBLE_TIME share: topic, queue, offset range
    /// (`inclusive_max`: ACK accepts the max offset, CHANGE does not).
    fn check_ack(
        &self,
        ctrl: &BrokerController,
        a: &AckRequest,
        inclusive_max: bool,
    ) -> Result<(), Refusal> {
        let Some(topic) = ctrl.topic_config_manager.select_topic_config(&a.topic) else {
            return Err(Refusal::new(
                response::TOPIC_NOT_EXIST,
                format!(
                    "topic[{}] not exist, apply first please! {}",
                    a.topic,
                    crate::processor::faq_suggest_todo()
                ),
            ));
        };
        if a.queue_id < 0 || a.queue_id >= topic.read_queue_nums {
            return Err(Refusal::new(
                response::MESSAGE_ILLEGAL,
                format!(
                    "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                    a.queue_id, a.topic, topic.read_queue_nums, a.peer
                ),
            ));
        }
        let min = ctrl.store.min_offset_in_queue(&a.topic, a.queue_id).max(0);
        let max = ctrl.store.max_offset_in_queue(&a.topic, a.queue_id);
        let out_of_range = a.offset < min || a.offset > max || (!inclusive_max && a.offset == max);
        if out_of_range {
            return Err(if inclusive_max {
                Refusal::new(
                    response::NO_MESSAGE,
                    format!(
                        "offset is illegal, key:{}@{}, commit:{}, store:{}~{}",
                        a.topic, a.queue_id, a.offset, min, max
                    ),
                )
            } else {
                Refusal::code_only(response::NO_MESSAGE)
            });
        }
        Ok(())
    }

    /// ACK_MESSAGE (`appendAck` of one handle, `ackOrderly` for an orderly one).
    pub fn ack(&self, ctrl: &BrokerController, a: &AckRequest, now: i64) -> Result<(), Refusal> {
        self.check_ack(ctrl, a, true)?;
        let info = ExtraInfo::parse(&a.extra_info).ok_or_else(|| bad_extra_info(&a.extra_info))?;
        if info.is_order() {
            return self.ack_orderly(
                ctrl, &a.topic, &a.group, a.queue_id, a.offset, &info, &a.peer,
            );
        }
        let ack = AckMsg {
            ack_offset: a.offset,
            ack_offset_list: None,
            broker_name: Some(info.broker_name.clone()),
            consumer_group: Some(a.group.clone()),
            pop_time: info.pop_time,
            queue_id: a.queue_id,
            start_offset: info.ck_queue_offset,
            topic: Some(a.topic.clone()),
        };
        self.put_ack(ctrl, &ack, info.invisible_time, info.revive_qid, now);
        Ok(())
    }

    /// BATCH_ACK_MESSAGE for one `BatchAck` of the body: the offsets `start + bit` in range.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_ack(
        &self,
        ctrl: &BrokerController,
        group: &str,
        topic_in_body: &str,
        retry: &str,
        queue_id: i32,
        revive_qid: i32,
        start_offset: i64,
        pop_time: i64,
        invisible_time: i64,
        bits: &[usize],
        broker_name: Option<&str>,
        peer: &str,
        now: i64,
    ) {
        let topic = match retry {
            "1" => remoting_codec::protocol::pop::pop_retry_topic_v1(topic_in_body, group),
            "2" => remoting_codec::protocol::pop::pop_retry_topic_v2(topic_in_body, group),
            _ => topic_in_body.to_owned(),
        };
        let min = ctrl.store.min_offset_in_queue(&topic, queue_id);
        let max = ctrl.store.max_offset_in_queue(&topic, queue_id);
        if min == -1 || max == -1 {
            return;
        }
        let in_range: Vec<i64> = bits
            .iter()
            .map(|&b| start_offset + b as i64)
            .filter(|o| *o >= min && *o <= max)
            .collect();
        if revive_qid == POP_ORDER_REVIVE_QUEUE {
            let info = ExtraInfo {
                ck_queue_offset: start_offset,
                pop_time,
                invisible_time,
                revive_qid,
                retry: retry.to_owned(),
                broker_name: broker_name.unwrap_or_default().to_owned(),
                queue_id,
                queue_offset: None,
            };
            for o in in_range {
                let _ = self.ack_orderly(ctrl, &topic, group, queue_id, o, &info, peer);
            }
            return;
        }
        if in_range.is_empty() {
            return;
        }
        let ack = AckMsg {
            ack_offset: -1,
            ack_offset_list: Some(in_range),
            broker_name: broker_name.map(str::to_owned),
            consumer_group: Some(group.to_owned()),
            pop_time,
            queue_id,
            start_offset,
            topic: Some(topic),
        };
        self.put_ack(ctrl, &ack, invisible_time, revive_qid, now);
    }

    fn put_ack(&self, ctrl: &BrokerController, ack: &AckMsg, invisible: i64, rqid: i32, now: i64) {
        self.ensure_revive_topic(ctrl);
        let msg = ack_message(
            ack,
            invisible,
            &self.revive_topic,
            rqid,
            ctrl.store_host,
            now,
        );
        let put = ctrl.store.put_message(msg);
        if !put_ok(put.status) {
            tracing::error!("put ack msg error: {:?} {ack:?}", put.status);
        }
    }

    /// `ackOrderly`.
    #[allow(clippy::too_many_arguments)]
    fn ack_orderly(
        &self,
        ctrl: &BrokerController,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
        info: &ExtraInfo,
        peer: &str,
    ) -> Result<(), Refusal> {
        let offsets = &ctrl.consumer_offset_manager;
        let key = QueueLocks::key(topic, group, queue_id);
        if offset < offsets.query_offset(group, topic, queue_id) {
            return Ok(());
        }
        let _guard = self.locks.lock(key.clone());
        let old = offsets.query_offset(group, topic, queue_id);
        if offset < old {
            return Ok(());
        }
        let next = self
            .order_info
            .commit_and_next(topic, group, queue_id, offset, info.pop_time);
        if next > -1 {
            offsets.commit_offset(peer, group, topic, queue_id, next);
            if !self.order_info.check_block(
                None,
                topic,
                group,
                queue_id,
                info.invisible_time,
                crate::now_millis(),
            ) {
                self.polling.wake(topic);
            }
        } else if next == -1 {
            return Err(Refusal::new(
                response::MESSAGE_ILLEGAL,
                format!(
                    "offset is illegal, key:{key}, old:{old}, commit:{offset}, next:{next}, {peer}"
                ),
            ));
        }
        Ok(())
    }

    /// CHANGE_MESSAGE_INVISIBLETIME: a new checkpoint of the one message from now, then an ack
    /// of the old one (orderly: the offset's next visible time).
    pub fn change_invisible_time(
        &self,
        ctrl: &BrokerController,
        c: &ChangeRequest,
        now: i64,
    ) -> Result<ChangeInvisibleTimeResponseHeader, Refusal> {
        let a = &c.ack;
        self.check_ack(ctrl, a, false)?;
        let info = ExtraInfo::parse(&a.extra_info).ok_or_else(|| bad_extra_info(&a.extra_info))?;
        if info.is_order() {
            let offsets = &ctrl.consumer_offset_manager;
            let mut header = ChangeInvisibleTimeResponseHeader {
                pop_time: 0,
                invisible_time: 0,
                revive_qid: 0,
            };
            if a.offset < offsets.query_offset(&a.group, &a.topic, a.queue_id) {
                return Ok(header);
            }
            let _guard = self
                .locks
                .lock(QueueLocks::key(&a.topic, &a.group, a.queue_id));
            let next_visible = now + c.invisible_time;
            self.order_info.update_next_visible_time(
                &a.topic,
                &a.group,
                a.queue_id,
                a.offset,
                info.pop_time,
                next_visible,
            );
            header = ChangeInvisibleTimeResponseHeader {
                pop_time: info.pop_time,
                invisible_time: next_visible - info.pop_time,
                revive_qid: info.revive_qid,
            };
            return Ok(header);
        }
        let ck = PopCheckPoint::new(
            &a.group,
            &a.topic,
            a.queue_id,
            a.offset,
            &[a.offset],
            now,
            c.invisible_time,
            &info.broker_name,
        );
        self.ensure_revive_topic(ctrl);
        let put = ctrl.store.put_message(ck_message(
            &ck,
            &self.revive_topic,
            info.revive_qid,
            ctrl.store_host,
            now,
        ));
        if !put_ok(put.status) {
            return Err(Refusal::code_only(response::SYSTEM_ERROR));
        }
        let ack = AckMsg {
            ack_offset: a.offset,
            ack_offset_list: None,
            broker_name: Some(info.broker_name.clone()),
            consumer_group: Some(a.group.clone()),
            pop_time: info.pop_time,
            queue_id: a.queue_id,
            start_offset: info.ck_queue_offset,
            topic: Some(a.topic.clone()),
        };
        self.put_ack(ctrl, &ack, info.invisible_time, info.revive_qid, now);
        Ok(ChangeInvisibleTimeResponseHeader {
            pop_time: now,
            invisible_time: c.invisible_time,
            revive_qid: info.revive_qid,
        })
    }
}
