//! ACL 1.0 as the 4.9.8 broker enforces it with `aclEnable=true`: Java's `acl` module
//! (`PlainAccessValidator`, `PlainPermissionManager`, `AclUtils`,
//! `RemoteAddressStrategyFactory`, `Permission`) and the broker's RPC hook.
//!
//! | module | Java |
//! |---|---|
//! | [`permission`] | `Permission`, `PlainAccessResource`'s retry-topic helpers |
//! | [`address`] | `RemoteAddressStrategyFactory`, `AclUtils`' address helpers |
//! | [`signature`] | `AclUtils.combineRequestContent`, `AclSigner.calSignature` |
//! | [`access_resource`] | `PlainAccessValidator.parse` (the per-code resource rules) |
//! | [`plain_acl_file`] | plain_acl.yml read and rewritten as `AclUtils` does |
//! | [`manager`] | `PlainPermissionManager` (load, reload, validate, admin changes) |
//! | [`audit`] | the denied-request log, once per client and resource, rate-limited |
//!
//! The hook: Java registers `validate(parse(request, remoteAddr))` as a server RPC hook on
//! both ports, run before the processor for every request code (unknown codes included). An
//! exception there is answered SYSTEM_ERROR with `RemotingHelper.exceptionSimpleDesc`: the
//! exception's `toString()`, `", "`, and its top stack frame — for an `AclException`,
//! `org.apache.rocketmq.acl.common.AclException: <message>, org.apache.rocketmq.acl.plain.
//! PlainPermissionManager.validate(PlainPermissionManager.java:664)` (the s16 recording has
//! each remark; [`AclError::remark`] writes them). A oneway request gets no answer. Here the
//! processor calls [`PlainAccessValidator::check`] once before its routing table.
//!
//! The name server checks nothing in 4.9.8 (it registers no hook; the recording's unsigned
//! and wrong-secret clients got their routes).
//!
//! The files are watched as Java's `AclFileWatchService` does: every 5 s the list of ACL files
//! and their modification times are compared; a changed count reloads everything, a changed
//! time reloads that file ([`PlainAccessValidator::poll_files`]).

pub mod access_resource;
pub mod address;
pub mod audit;
#[doc(hidden)]
pub mod fuzz;
pub mod manager;
pub mod permission;
pub mod plain_acl_file;
pub mod signature;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime};

use remoting_codec::RemotingCommand;

use access_resource::AccessRequest;
use manager::{Account, AclPaths, PlainPermissionManager};
use plain_acl_file::{read_document, write_document, PlainAccessConfig};

/// Java's `AclFileWatchService.WATCH_INTERVAL`.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(5000);

/// Where an `AclException` was thrown (its top stack frame in Java's remark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// `PlainPermissionManager.validate` at this line.
    Validate(u32),
    /// `PlainPermissionManager.checkPerm` at this line.
    CheckPerm(u32),
    /// `PlainAccessValidator.parse`, line 134.
    Parse,
}

/// An `AclException`: its message and where it was thrown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclError {
    pub message: String,
    pub site: Site,
}

impl AclError {
    pub fn new(message: impl Into<String>, site: Site) -> Self {
        Self {
            message: message.into(),
            site,
        }
    }

    pub fn parse(message: String) -> Self {
        Self::new(message, Site::Parse)
    }

    /// The remark Java's remoting layer answers with.
    pub fn remark(&self) -> String {
        let frame = match self.site {
            Site::Validate(line) => format!(
                "org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:{line})"
            ),
            Site::CheckPerm(line) => format!(
                "org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:{line})"
            ),
            Site::Parse => "org.apache.rocketmq.acl.plain.PlainAccessValidator.parse(PlainAccessValidator.java:134)".into(),
        };
        format!(
            "org.apache.rocketmq.acl.common.AclException: {}, {frame}",
            self.message
        )
    }
}

#[derive(Debug, Default)]
struct WatchState {
    count: usize,
    modified: HashMap<PathBuf, Option<SystemTime>>,
}

/// The broker's ACL: the permission state, the file watch and the audit log.
pub struct PlainAccessValidator {
    manager: RwLock<PlainPermissionManager>,
    watch: Mutex<WatchState>,
    /// Java's admin changes are `synchronized`: one at a time.
    admin: Mutex<()>,
    pub audit: audit::DenialAudit,
}

impl PlainAccessValidator {
    /// Loads the ACL files of `home` (`plain_file` relative to it) at `now_ms`.
    pub fn start(home: Option<&Path>, plain_file: &str, now_ms: i64) -> Result<Self, String> {
        let paths = AclPaths::new(home, plain_file);
        let manager = PlainPermissionManager::start(paths.clone(), now_ms)?;
        let v = PlainAccessValidator {
            manager: RwLock::new(manager),
            watch: Mutex::default(),
            admin: Mutex::default(),
            audit: audit::DenialAudit::new(audit::AUDIT_WINDOW),
        };
        if paths.home.is_some() {
            *v.watch.lock().unwrap() = snapshot(&paths);
        }
        Ok(v)
    }

    /// The hook: `validate(parse(request, remoteAddr))`.
    pub fn check(&self, request: &RemotingCommand, peer: SocketAddr) -> Result<(), AclError> {
        let addr = address::java_host_address(peer.ip());
        let access = AccessRequest::parse(request, Some(addr))?;
        self.manager.read().unwrap().validate(&access)
    }

    /// The hook for a request parsed elsewhere (a 5.x gRPC call, [`AccessRequest::of_rpc`]).
    pub fn check_access(&self, access: &AccessRequest) -> Result<(), AclError> {
        self.manager.read().unwrap().validate(access)
    }

    /// The client IP of `peer` as Java prints it.
    pub fn host_address(peer: SocketAddr) -> String {
        address::java_host_address(peer.ip())
    }

    /// The secret key of an account (the gRPC endpoint verifies 5.x signatures with it).
    pub fn secret_key(&self, access_key: &str) -> Option<String> {
        self.manager
            .read()
            .unwrap()
            .account(access_key)
            .map(|(_, a)| a.secret_key.clone())
    }

    /// One round of the file watch: reloads what changed since the last round.
    pub fn poll_files(&self, now_ms: i64) {
        let paths = self.manager.read().unwrap().paths.clone();
        // Without a home Java loads and watches nothing ("null/conf/…").
        let Some(paths) = paths.filter(|p| p.home.is_some()) else {
            return;
        };
        let now = snapshot(&paths);
        let mut watch = self.watch.lock().unwrap();
        let mut manager = self.manager.write().unwrap();
        let result = if now.count != watch.count {
            tracing::info!(
                "aclFilesNum: {}  realAclFilesNum: {}",
                watch.count,
                now.count
            );
            *watch = now;
            manager.load(now_ms)
        } else {
            let mut result = Ok(());
            for (file, time) in &now.modified {
                if watch.modified.get(file) != Some(time) {
                    watch.modified.insert(file.clone(), *time);
                    result = result.and(manager.load_file(file, now_ms));
                }
            }
            result
        };
        if let Err(e) = result {
            tracing::warn!("AclFileWatchService service has exception. {e}");
        }
    }

    /// `getAclConfigVersion`: the deprecated single version, as JSON.
    pub fn version_json(&self) -> String {
        let v = &self.manager.read().unwrap().data_version;
        format!(
            "{{\"counter\":{},\"timestamp\":{}}}",
            v.counter, v.timestamp
        )
    }

    /// `getAllAclConfigVersion` as JSON.
    pub fn all_versions_json(&self) -> String {
        self.manager.read().unwrap().data_versions_json()
    }

    /// `updateAccessConfig`: `Ok(true)` once written, `Err` with Java's message.
    pub fn update_access_config(&self, c: &PlainAccessConfig, now_ms: i64) -> Result<bool, String> {
        let _one = self.admin.lock().unwrap();
        manager::check_plain_access_config(c)?;
        permission::check_resource_perms(c.topic_perms.as_deref().unwrap_or_default())?;
        permission::check_resource_perms(c.group_perms.as_deref().unwrap_or_default())?;
        let key = c.access_key.clone().unwrap_or_default();
        let (file, existing) = {
            let m = self.manager.read().unwrap();
            let default = m
                .paths
                .as_ref()
                .map(|p| p.default_file.clone())
                .unwrap_or_default();
            match m.account(&key) {
                Some((file, _)) => (file.clone(), true),
                None => (default, false),
            }
        };
        let mut doc = read_document(&file)?.unwrap_or_default();
        let mut accounts = match doc.get("accounts") {
            Some(serde_norway::Value::Sequence(s)) => s.clone(),
            _ => Vec::new(),
        };
        let position = accounts
            .iter()
            .position(|a| plain_acl_file::is_account_of(a, &key));
        let updated = match position.filter(|_| existing) {
            Some(i) => {
                // Java removes the entry and appends it again, changed in place.
                let old = accounts.remove(i).as_mapping().cloned();
                plain_acl_file::account_map(old, c)?
            }
            None => plain_acl_file::account_map(None, c)?,
        };
        accounts.push(serde_norway::Value::Mapping(updated));
        doc.insert("accounts".into(), serde_norway::Value::Sequence(accounts));
        let account = Account::build(c)?;
        let version = plain_acl_file::next_version(&mut doc, now_ms);
        write_document(&file, &doc)?;
        let mut m = self.manager.write().unwrap();
        m.put_account(&file, account);
        m.set_data_version(&file, version);
        Ok(true)
    }

    /// `deleteAccessConfig`: `Ok(false)` when the key is unknown.
    pub fn delete_access_config(&self, key: Option<&str>, now_ms: i64) -> Result<bool, String> {
        let _one = self.admin.lock().unwrap();
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            return Ok(false);
        };
        let Some(file) = self
            .manager
            .read()
            .unwrap()
            .account(key)
            .map(|(f, _)| f.clone())
        else {
            return Ok(false);
        };
        let Some(mut doc) = read_document(&file)? else {
            return Ok(true);
        };
        let mut accounts = match doc.get("accounts") {
            Some(serde_norway::Value::Sequence(s)) => s.clone(),
            _ => return Ok(false),
        };
        let Some(i) = accounts
            .iter()
            .position(|a| plain_acl_file::is_account_of(a, key))
        else {
            return Ok(false);
        };
        accounts.remove(i);
        doc.insert("accounts".into(), serde_norway::Value::Sequence(accounts));
        let version = plain_acl_file::next_version(&mut doc, now_ms);
        write_document(&file, &doc)?;
        let mut m = self.manager.write().unwrap();
        m.forget_key(key);
        m.set_data_version(&file, version);
        Ok(true)
    }

    /// `updateGlobalWhiteAddrsConfig(list, file)`: writes the file; the watch applies it.
    pub fn update_global_white_addrs(
        &self,
        list: Option<Vec<String>>,
        file: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, String> {
        let _one = self.admin.lock().unwrap();
        let paths = self
            .manager
            .read()
            .unwrap()
            .paths
            .clone()
            .unwrap_or_else(|| AclPaths::new(None, ""));
        let file = match file.filter(|f| !f.is_empty()) {
            Some(f) => PathBuf::from(f),
            None => paths.default_file.clone(),
        };
        let Some(list) = list else { return Ok(false) };
        if !file.exists() || file.is_dir() {
            return Ok(false);
        }
        let home = paths.home.unwrap_or_default();
        if !file.to_string_lossy().starts_with(&*home.to_string_lossy()) {
            return Ok(false);
        }
        let mut doc = read_document(&file)?.unwrap_or_default();
        let entries = list.into_iter().map(serde_norway::Value::String).collect();
        doc.insert(
            "globalWhiteRemoteAddresses".into(),
            serde_norway::Value::Sequence(entries),
        );
        let version = plain_acl_file::next_version(&mut doc, now_ms);
        write_document(&file, &doc)?;
        self.manager
            .write()
            .unwrap()
            .set_data_version(&file, version);
        Ok(true)
    }
}

fn snapshot(paths: &AclPaths) -> WatchState {
    let tools = paths.acl_dir.join("tools.yml");
    let files: Vec<PathBuf> = paths.files().into_iter().filter(|f| *f != tools).collect();
    WatchState {
        count: files.len(),
        modified: files
            .into_iter()
            .map(|f| {
                let t = std::fs::metadata(&f).and_then(|m| m.modified()).ok();
                (f, t)
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
