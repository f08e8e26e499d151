//! Message lookup: QUERY_MESSAGE (12, by key or uniq key through the index) and
//! VIEW_MESSAGE_BY_ID (33, by commit-log offset). Both answer with stored records as the body.

use crate::remoting_header;

/// `extFields` key outside the header class: `_UNIQUE_KEY_QUERY=true` makes QUERY_MESSAGE look up
/// `key` as a message's uniq key (`UNIQ_KEY` property) instead of a business key; the client then
/// sends `maxNum=32` and keeps only exact matches. Java's `MixAll.UNIQUE_MSG_QUERY_FLAG`.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

remoting_header! {
    /// `QueryMessageRequestHeader` (QUERY_MESSAGE 12): up to `max_num` messages of `topic`
    /// indexed under `key`, stored between the two timestamps (milliseconds). See
    /// [`UNIQUE_KEY_QUERY`] for the uniq-key variant.
    pub struct QueryMessageRequestHeader {
        required topic: String = "topic",
        required key: String = "key",
        required max_num: i32 = "maxNum",
        required begin_timestamp: i64 = "beginTimestamp",
        required end_timestamp: i64 = "endTimestamp",
    }
}

remoting_header! {
    /// `QueryMessageResponseHeader` (QUERY_MESSAGE 12): how current the index is.
    pub struct QueryMessageResponseHeader {
        required index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        required index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

remoting_header! {
    /// `ViewMessageRequestHeader` (VIEW_MESSAGE_BY_ID 33): the commit-log `offset` decoded from an
    /// offsetMsgId; the client sends it to the store host embedded in that id. `topic` is 5.x only.
    pub struct ViewMessageRequestHeader {
        optional topic: String = "topic",
        required offset: i64 = "offset",
    }
}

/// The name the code table uses for [`ViewMessageRequestHeader`].
pub type ViewMessageByIdRequestHeader = ViewMessageRequestHeader;
