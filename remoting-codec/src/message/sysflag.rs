//! sysFlag bits: of a message (`MessageSysFlag`), of a pull request (`PullSysFlag`) and of a
//! topic (`TopicSysFlag`).

/// `MessageSysFlag`: the `sysFlag` of a send header and of a commitlog record.
///
/// Bits 4 and 5 also choose the layout of a record: an IPv6 born/store host takes 16 + 4 bytes
/// instead of 4 + 4. Bits 8–10 hold the compression type (0 = legacy zlib, 1 LZ4, 2 ZSTD,
/// 3 ZLIB); 4.9.8 and 5.x clients set bit 0 together with 0x300 (zlib), e.g. 769.
pub mod message_sys_flag {
    use crate::message::compression::CompressionType;
    use crate::message::MessageError;

    pub const COMPRESSED_FLAG: i32 = 0x1;
    pub const MULTI_TAGS_FLAG: i32 = 0x1 << 1;
    pub const TRANSACTION_NOT_TYPE: i32 = 0;
    pub const TRANSACTION_PREPARED_TYPE: i32 = 0x1 << 2;
    pub const TRANSACTION_COMMIT_TYPE: i32 = 0x2 << 2;
    pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x3 << 2;
    pub const BORNHOST_V6_FLAG: i32 = 0x1 << 4;
    pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x1 << 5;
    /// 5.x: a batch stored as one record that the consumer must unwrap.
    pub const NEED_UNWRAP_FLAG: i32 = 0x1 << 6;
    /// 5.x: the record is an inner batch (one commitlog record, several queue entries).
    pub const INNER_BATCH_FLAG: i32 = 0x1 << 7;
    pub const COMPRESSION_LZ4_TYPE: i32 = 0x1 << 8;
    pub const COMPRESSION_ZSTD_TYPE: i32 = 0x2 << 8;
    pub const COMPRESSION_ZLIB_TYPE: i32 = 0x3 << 8;
    pub const COMPRESSION_TYPE_COMPARATOR: i32 = 0x7 << 8;

    /// The transaction type bits (one of the `TRANSACTION_*_TYPE` values).
    pub fn get_transaction_value(flag: i32) -> i32 {
        flag & TRANSACTION_ROLLBACK_TYPE
    }

    pub fn reset_transaction_value(flag: i32, transaction_type: i32) -> i32 {
        (flag & !TRANSACTION_ROLLBACK_TYPE) | transaction_type
    }

    pub fn clear_compressed_flag(flag: i32) -> i32 {
        flag & !COMPRESSED_FLAG
    }

    pub fn is_compressed(flag: i32) -> bool {
        flag & COMPRESSED_FLAG != 0
    }

    pub fn has_multi_tags(flag: i32) -> bool {
        flag & MULTI_TAGS_FLAG != 0
    }

    pub fn is_born_host_v6(flag: i32) -> bool {
        flag & BORNHOST_V6_FLAG != 0
    }

    pub fn is_store_host_v6(flag: i32) -> bool {
        flag & STOREHOSTADDRESS_V6_FLAG != 0
    }

    pub fn is_inner_batch(flag: i32) -> bool {
        flag & INNER_BATCH_FLAG != 0
    }

    pub fn needs_unwrap(flag: i32) -> bool {
        flag & NEED_UNWRAP_FLAG != 0
    }

    /// The compression type of bits 8–10 (Java's `getCompressionType`); 4–7 are unknown types.
    pub fn get_compression_type(flag: i32) -> Result<CompressionType, MessageError> {
        CompressionType::find_by_value((flag & COMPRESSION_TYPE_COMPARATOR) >> 8)
    }

    /// Java's `MessageSysFlag.check`: any bit of `expected` set.
    pub fn check(flag: i32, expected: i32) -> bool {
        flag & expected != 0
    }
}

/// `PullSysFlag`: the `sysFlag` of PULL_MESSAGE request headers.
pub mod pull_sys_flag {
    pub const FLAG_COMMIT_OFFSET: i32 = 0x1;
    /// Long polling: the broker may hold the request.
    pub const FLAG_SUSPEND: i32 = 0x1 << 1;
    /// The header carries the subscription expression.
    pub const FLAG_SUBSCRIPTION: i32 = 0x1 << 2;
    pub const FLAG_CLASS_FILTER: i32 = 0x1 << 3;
    /// 5.x lite pull.
    pub const FLAG_LITE_PULL_MESSAGE: i32 = 0x1 << 4;

    pub fn build_sys_flag(
        commit_offset: bool,
        suspend: bool,
        subscription: bool,
        class_filter: bool,
    ) -> i32 {
        let mut flag = 0;
        if commit_offset {
            flag |= FLAG_COMMIT_OFFSET;
        }
        if suspend {
            flag |= FLAG_SUSPEND;
        }
        if subscription {
            flag |= FLAG_SUBSCRIPTION;
        }
        if class_filter {
            flag |= FLAG_CLASS_FILTER;
        }
        flag
    }

    pub fn clear_commit_offset_flag(flag: i32) -> i32 {
        flag & !FLAG_COMMIT_OFFSET
    }

    pub fn has_commit_offset_flag(flag: i32) -> bool {
        flag & FLAG_COMMIT_OFFSET != 0
    }

    pub fn has_suspend_flag(flag: i32) -> bool {
        flag & FLAG_SUSPEND != 0
    }

    pub fn clear_suspend_flag(flag: i32) -> i32 {
        flag & !FLAG_SUSPEND
    }

    pub fn has_subscription_flag(flag: i32) -> bool {
        flag & FLAG_SUBSCRIPTION != 0
    }

    pub fn build_sys_flag_with_subscription(flag: i32) -> i32 {
        flag | FLAG_SUBSCRIPTION
    }

    pub fn has_class_filter_flag(flag: i32) -> bool {
        flag & FLAG_CLASS_FILTER != 0
    }

    pub fn has_lite_pull_flag(flag: i32) -> bool {
        flag & FLAG_LITE_PULL_MESSAGE != 0
    }
}

/// `TopicSysFlag`: the `topicSysFlag` of topic configs and routes (unit deployment marks).
pub mod topic_sys_flag {
    pub const FLAG_UNIT: i32 = 0x1;
    pub const FLAG_UNIT_SUB: i32 = 0x1 << 1;

    pub fn build_sys_flag(unit: bool, has_unit_sub: bool) -> i32 {
        (if unit { FLAG_UNIT } else { 0 }) | (if has_unit_sub { FLAG_UNIT_SUB } else { 0 })
    }

    pub fn set_unit_flag(flag: i32) -> i32 {
        flag | FLAG_UNIT
    }

    pub fn clear_unit_flag(flag: i32) -> i32 {
        flag & !FLAG_UNIT
    }

    pub fn has_unit_flag(flag: i32) -> bool {
        flag & FLAG_UNIT == FLAG_UNIT
    }

    pub fn set_unit_sub_flag(flag: i32) -> i32 {
        flag | FLAG_UNIT_SUB
    }

    pub fn clear_unit_sub_flag(flag: i32) -> i32 {
        flag & !FLAG_UNIT_SUB
    }

    pub fn has_unit_sub_flag(flag: i32) -> bool {
        flag & FLAG_UNIT_SUB == FLAG_UNIT_SUB
    }
}

#[cfg(test)]
mod tests {
    use super::message_sys_flag::*;
    use crate::message::compression::CompressionType;

    #[test]
    fn recorded_compressed_flag() {
        assert!(is_compressed(769));
        assert_eq!(get_compression_type(769), Ok(CompressionType::Zlib));
        assert_eq!(get_compression_type(1), Ok(CompressionType::Zlib));
        assert_eq!(get_compression_type(0x101), Ok(CompressionType::Lz4));
        assert!(get_compression_type(0x401).is_err());
        assert_eq!(get_transaction_value(4 | 1), TRANSACTION_PREPARED_TYPE);
        assert_eq!(reset_transaction_value(4 | 1, TRANSACTION_COMMIT_TYPE), 9);
    }
}
