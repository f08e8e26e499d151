//! Java's `SlaveSynchronize` (broker/slave): a SLAVE copies its master's metadata every 10 s
//! (first run 3 s after start), each round four requests with no header fields and no body:
//!
//! | code | to | applied |
//! |---|---|---|
//! | GET_ALL_TOPIC_CONFIG 21 | the master's VIP port (`listenPort - 2`, Java's `brokerVIPChannel`) | when the master's data version differs from ours: the table and version replaced, topics.json written |
//! | GET_ALL_CONSUMER_OFFSET 43 | the master's port | merged (`putAll`): offsets only the slave has stay |
//! | GET_ALL_DELAY_OFFSET 45 | the master's port | the text written to delayOffset.json as it came |
//! | GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201 | the master's port | as topics |
//!
//! The master address is the `masterAddr` of the first answer to the slave's REGISTER_BROKER
//! ([`SlaveSynchronize::set_master_addr`] after every registration): when the master is gone
//! the namesrv answers without it and the rounds stop until a registration brings it back
//! (the s15-ha recording). A round with no master address, or the broker's own address, does
//! nothing. Each request uses one cached connection per address (one for the VIP port, one
//! for the main port, as the recording shows), remade after a failure.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use remoting::RemotingClient;
use remoting_codec::code::{request, response, version};
use remoting_codec::fastjson;
use remoting_codec::protocol::config_files::ConsumerOffsetSerializeWrapper;
use remoting_codec::protocol::group_admin::SubscriptionGroupWrapper;
use remoting_codec::protocol::TopicConfigSerializeWrapper;
use remoting_codec::RemotingCommand;

use crate::controller::BrokerController;

/// Java's `syncAll` timing.
pub const FIRST_SYNC_DELAY: Duration = Duration::from_secs(3);
pub const SYNC_PERIOD: Duration = Duration::from_secs(10);
/// Java's timeout of these calls.
const CALL_TIMEOUT: Duration = Duration::from_millis(3000);

#[derive(Default)]
pub struct SlaveSynchronize {
    master_addr: Mutex<Option<String>>,
    clients: tokio::sync::Mutex<HashMap<String, RemotingClient>>,
}

impl SlaveSynchronize {
    pub fn set_master_addr(&self, addr: Option<String>) {
        let mut current = self.master_addr.lock().unwrap_or_else(|e| e.into_inner());
        if *current != addr {
            tracing::info!(old = ?*current, new = ?addr, "update master address");
            *current = addr;
        }
    }

    pub fn master_addr(&self) -> Option<String> {
        self.master_addr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Java's `syncAll`: the four copies in order; a failed one is logged and the next runs.
    pub async fn sync_all(&self, ctrl: &BrokerController) {
        let Some(master) = self.master_addr().filter(|m| *m != ctrl.broker_addr()) else {
            return;
        };
        match self
            .call(&vip_addr(&master), request::GET_ALL_TOPIC_CONFIG)
            .await
        {
            Ok(body) => match fastjson::from_slice::<TopicConfigSerializeWrapper>(&body) {
                Ok(w) => {
                    if ctrl.topic_config_manager.apply_master_table(w) {
                        tracing::info!("Update slave topic config from master, {master}");
                    }
                }
                Err(e) => tracing::error!("SyncTopicConfig: bad body from {master}: {e}"),
            },
            Err(e) => tracing::error!("SyncTopicConfig Exception, {master}: {e}"),
        }
        match self.call(&master, request::GET_ALL_CONSUMER_OFFSET).await {
            Ok(body) => match fastjson::from_slice::<ConsumerOffsetSerializeWrapper>(&body) {
                Ok(w) => {
                    ctrl.consumer_offset_manager.merge_from_master(w);
                    tracing::info!("Update slave consumer offset from master, {master}");
                }
                Err(e) => tracing::error!("SyncConsumerOffset: bad body from {master}: {e}"),
            },
            Err(e) => tracing::error!("SyncConsumerOffset Exception, {master}: {e}"),
        }
        match self.call(&master, request::GET_ALL_DELAY_OFFSET).await {
            Ok(body) => match std::str::from_utf8(&body) {
                Ok(text) => {
                    ctrl.schedule_message_service.write_master_offsets(text);
                    tracing::info!("Update slave delay offset from master, {master}");
                }
                Err(e) => tracing::error!("SyncDelayOffset: bad body from {master}: {e}"),
            },
            Err(e) => tracing::error!("SyncDelayOffset Exception, {master}: {e}"),
        }
        match self
            .call(&master, request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG)
            .await
        {
            Ok(body) => match fastjson::from_slice::<SubscriptionGroupWrapper>(&body) {
                Ok(w) => {
                    if ctrl.subscription_group_manager.apply_master_table(w) {
                        tracing::info!("Update slave Subscription Group from master, {master}");
                    }
                }
                Err(e) => tracing::error!("SyncSubscriptionGroup: bad body from {master}: {e}"),
            },
            Err(e) => tracing::error!("SyncSubscriptionGroup Exception, {master}: {e}"),
        }
    }

    /// One request; the body of a SUCCESS answer.
    async fn call(&self, addr: &str, code: i32) -> Result<bytes::Bytes, String> {
        let client = self.client(addr).await?;
        let mut req = RemotingCommand::request_without_header(code);
        req.version = version::V4_9_8;
        match client.invoke(req, CALL_TIMEOUT).await {
            Ok(resp) if resp.code == response::SUCCESS => Ok(resp.body),
            Ok(resp) => Err(format!("code {} {:?}", resp.code, resp.remark)),
            Err(e) => {
                client.close();
                self.clients.lock().await.remove(addr);
                Err(e.to_string())
            }
        }
    }

    async fn client(&self, addr: &str) -> Result<RemotingClient, String> {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(addr).filter(|c| !c.connection().is_closed()) {
            return Ok(c.clone());
        }
        use std::net::ToSocketAddrs;
        let sock = addr
            .to_socket_addrs()
            .map_err(|e| format!("bad master address {addr}: {e}"))?
            .next()
            .ok_or_else(|| format!("master address {addr} resolves to nothing"))?;
        let c = tokio::time::timeout(CALL_TIMEOUT, RemotingClient::connect(sock))
            .await
            .map_err(|_| format!("connect to {addr} timed out"))?
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        clients.insert(addr.to_owned(), c.clone());
        Ok(c)
    }
}

/// Java's `MixAll.brokerVIPChannel(true, addr)`: the same host, port − 2.
pub fn vip_addr(addr: &str) -> String {
    match addr.rsplit_once(':') {
        Some((host, port)) => match port.parse::<i32>() {
            Ok(p) => format!("{host}:{}", p - 2),
            Err(_) => addr.to_owned(),
        },
        None => addr.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vip_channel_is_two_ports_down() {
        assert_eq!(vip_addr("127.0.0.1:10911"), "127.0.0.1:10909");
        assert_eq!(vip_addr("nohost"), "nohost");
    }
}
