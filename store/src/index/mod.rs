//! TEMPORARY stand-in for the `store-aux` branch's index service (replaced at merge).

use std::path::Path;

use crate::checkpoint::StoreCheckpoint;

pub struct IndexRecord<'a> {
    pub topic: &'a str,
    pub keys: Option<&'a str>,
    pub uniq_key: Option<&'a str>,
    pub commit_log_offset: i64,
    pub store_timestamp: i64,
    pub sys_flag: i32,
    pub msg_size: i32,
}

#[derive(Debug, Default)]
pub struct QueryOffsetResult {
    pub phy_offsets: Vec<i64>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phyoffset: i64,
}

pub struct IndexService;

impl IndexService {
    pub fn open(
        _dir: &Path,
        _max_hash_slot_num: u32,
        _max_index_num: u32,
    ) -> std::io::Result<Self> {
        Ok(IndexService)
    }
    pub fn load(&self, _last_exit_ok: bool, _checkpoint: &StoreCheckpoint) -> std::io::Result<()> {
        Ok(())
    }
    pub fn build_index(&self, _rec: &IndexRecord) {}
    pub fn query(
        &self,
        _topic: &str,
        _key: &str,
        _max_num: usize,
        _begin: i64,
        _end: i64,
    ) -> QueryOffsetResult {
        QueryOffsetResult::default()
    }
    pub fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
    pub fn delete_expired_files(&self, _min_phy_offset: i64) {}
}
