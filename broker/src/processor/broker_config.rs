//! The broker's configuration over the wire (mqadmin `getBrokerConfig` / `updateBrokerConfig`,
//! the dashboard's broker config page): GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25) of
//! Java 4.9.8's `AdminBrokerProcessor`, over [`crate::config::Configuration`].
//!
//! GET_BROKER_CONFIG answers SUCCESS, no remark, a `GetBrokerConfigResponseHeader` whose
//! `version` is the configuration's data version (`{"counter":0,"timestamp":…}`, the broker's
//! start time until the first update) and the whole table as properties text: the 178 keys of
//! the recorded answer (s12 m19) in Java's order, with our effective values.
//!
//! UPDATE_BROKER_CONFIG (body = properties text, no header):
//! - no body: SUCCESS and nothing changes;
//! - a body `Properties.load` cannot read (a malformed `\uXXXX`): SYSTEM_ERROR
//!   "string2Properties error";
//! - a key of the black list (`brokerConfigPath`, `rocketmqHome`, `configBlackList` and the
//!   items of the start-time `configBlackList`): NO_PERMISSION "Can not update config in black
//!   list.", nothing changes;
//! - otherwise every pair is set on every config object (unknown keys and unparsable values are
//!   ignored, as `MixAll.properties2Object` does), the data version is bumped, the `-c` file is
//!   rewritten with every property (recorded: `broker.conf.after-updateBrokerConfig`), and the
//!   answer is SUCCESS without remark or extFields (m20). With `brokerPermission` in the body
//!   the topic table's data version is bumped and the broker registers with every namesrv before
//!   answering (Java's `registerBrokerAll(false, false, true)`), so routes carry the new
//!   permission at once.
//!
//! What takes effect on the running broker (Java reads these getters each time):
//! - `brokerPermission` (registration, send to ordered topics, pull), `longPollingEnable`,
//!   `shortPollingTimeMills`, `regionId`, `traceOn`, `rejectTransactionMessage`,
//!   `startAcceptSendRequestTimeStamp`, `notifyConsumerIdsChangedEnable` (on connection close),
//!   `transactionTimeOut`, `transactionCheckMax`, `enableCalcFilterBitMap` (each dispatch);
//! - the store's `fileReservedTime`, `deleteWhen`, `diskMaxUsedSpaceRatio`,
//!   `cleanFileForciblyEnable`, `deleteCommitLogFilesInterval`, `deleteConsumeQueueFilesInterval`,
//!   the flush intervals, least pages and thorough intervals, `syncFlushTimeout`
//!   (`store::MessageStore::update_config`).
//!
//! Everything else is stored, listed and written to the file, and takes effect at the next
//! start. For most of it that is Java's behaviour too (ports, paths, file sizes, flush type,
//! role, thread pools, `messageDelayLevel`, periods of tasks scheduled at start). Differences:
//! Java also applies `maxMessageSize`, the transfer limits, `transactionCheckInterval`,
//! `autoCreateSubscriptionGroup` and the client-manager flags at run time; ours read their
//! start-time values.

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::broker_admin::GetBrokerConfigResponseHeader;
use remoting_codec::protocol::properties_text;
use remoting_codec::RemotingCommand;
use store::MessageStore;

use super::{Refusal, Reply, Route};
use crate::config::Configuration;

/// GET_BROKER_CONFIG.
pub fn get_broker_config(
    configuration: &Configuration,
    request: &RemotingCommand,
) -> RemotingCommand {
    let text = configuration.text();
    let response = RemotingCommand::response_to(request, resp::SUCCESS).with_header(
        &GetBrokerConfigResponseHeader {
            version: configuration.data_version_json(),
        },
    );
    if text.is_empty() {
        response
    } else {
        response.with_body(text.into_bytes())
    }
}

/// What an accepted UPDATE_BROKER_CONFIG changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Updated {
    /// The body named `brokerPermission`: re-register before answering.
    pub broker_permission: bool,
}

/// UPDATE_BROKER_CONFIG's checks and update (see the module notes). `Ok(None)`: no body.
pub fn update_broker_config(
    configuration: &Configuration,
    store: &MessageStore,
    request: &RemotingCommand,
    now: i64,
) -> Result<Option<Updated>, Refusal> {
    if request.body.is_empty() {
        return Ok(None);
    }
    let pairs = properties_text::parse_bytes(&request.body).map_err(|e| {
        tracing::error!("updateBrokerConfig: string2Properties error: {e}");
        Refusal::system_error("string2Properties error")
    })?;
    if configuration.touches_black_list(&pairs) {
        return Err(Refusal::new(
            resp::NO_PERMISSION,
            "Can not update config in black list.",
        ));
    }
    tracing::info!("updateBrokerConfig, new config: {pairs:?}");
    let (invalid, written) = configuration.update(&pairs, now);
    for bad in invalid {
        tracing::warn!("updateBrokerConfig: {bad}");
    }
    if let Err(e) = written {
        tracing::error!(
            "updateBrokerConfig: persist {} failed: {e}",
            configuration.path().display()
        );
    }
    for bad in store.update_config(&pairs) {
        tracing::debug!("updateBrokerConfig (store): {bad}");
    }
    Ok(Some(Updated {
        broker_permission: pairs.iter().any(|(k, _)| k == "brokerPermission"),
    }))
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::GET_BROKER_CONFIG, |cx, r| {
        Ok(get_broker_config(&cx.ctrl.configuration, &r).into())
    }),
    // Rewrites the config file.
    Route::blocking(req::UPDATE_BROKER_CONFIG, |cx, r| {
        tracing::info!("updateBrokerConfig called by {:?}", cx.conn);
        let c = &cx.ctrl;
        let updated = update_broker_config(&c.configuration, &c.store, &r, crate::now_millis())?;
        c.bit_map_calculator
            .set_enabled(c.configuration.broker(|b| b.enable_calc_filter_bit_map));
        let response = RemotingCommand::response_to(&r, resp::SUCCESS);
        if updated.is_some_and(|u| u.broker_permission) {
            c.topic_config_manager.next_data_version();
            let ctrl = c.clone();
            return Ok(Reply::later(async move {
                ctrl.register_broker_all(false).await;
                Ok(Some(response))
            }));
        }
        Ok(response.into())
    }),
];

#[cfg(test)]
#[path = "broker_config_tests.rs"]
mod tests;
