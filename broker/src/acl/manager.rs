//! Java's `PlainPermissionManager`: the accounts of every ACL file, the global white list, the
//! files' data versions, the check of a request, and the ACL admin changes.
//!
//! Files (4.9.8): `$ROCKETMQ_HOME/conf/plain_acl.yml` (created empty when missing) plus every
//! `.yml`/`.yaml` under `$ROCKETMQ_HOME/conf/acl/`. An access key defined in two files counts
//! in the first only. A full [`load`](PlainPermissionManager::load) rebuilds everything; a
//! changed file is re-read alone ([`load_file`](PlainPermissionManager::load_file)), with
//! Java's quirks kept: the key table is only added to (an account removed from a file by hand
//! then answers "No PlainAccessResource for accessKey=…"), and a file's global white entries
//! replace its old ones only if it had some at the previous full load.
//!
//! The check ([`validate`](PlainPermissionManager::validate)), in Java's order: a global white
//! address passes; no AccessKey; unknown AccessKey; the account's white address passes (no
//! signature needed); the signature; a PUB on RMQ_SYS_TRACE_TOPIC passes; admin-only codes;
//! then each resource against the account's own permission or its default.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use remoting_codec::protocol::common::DataVersion;

use super::access_resource::AccessRequest;
use super::address::RemoteAddressStrategy;
use super::permission::{self, check_permission, is_retry_topic, print_resource};
use super::plain_acl_file::{self, AclFileData, PlainAccessConfig};
use super::signature::cal_signature;
use super::{AclError, Site};

/// One account as the check uses it (`PlainAccessResource` of an owner).
#[derive(Debug, Clone)]
pub struct Account {
    pub access_key: String,
    pub secret_key: String,
    pub admin: bool,
    pub default_topic_perm: u8,
    pub default_group_perm: u8,
    /// `None` when the account lists no topic or group permission.
    pub perms: Option<HashMap<String, u8>>,
    pub white: RemoteAddressStrategy,
}

impl Account {
    /// `buildPlainAccessResource`.
    pub fn build(c: &PlainAccessConfig) -> Result<Account, String> {
        check_plain_access_config(c)?;
        let mut perms: Option<HashMap<String, u8>> = None;
        for (list, is_topic) in [(&c.group_perms, false), (&c.topic_perms, true)] {
            for entry in list.iter().flatten() {
                let (r, p) = permission::parse_resource_perm(entry, is_topic)?;
                perms.get_or_insert_with(HashMap::new).insert(r, p);
            }
        }
        Ok(Account {
            access_key: c.access_key.clone().unwrap_or_default(),
            secret_key: c.secret_key.clone().unwrap_or_default(),
            admin: c.admin,
            default_topic_perm: permission::parse_perm(c.default_topic_perm.as_deref()),
            default_group_perm: permission::parse_perm(c.default_group_perm.as_deref()),
            perms,
            white: RemoteAddressStrategy::parse(c.white_remote_address.as_deref())?,
        })
    }
}

/// `checkPlainAccessConfig`.
pub fn check_plain_access_config(c: &PlainAccessConfig) -> Result<(), String> {
    let short = |s: &Option<String>| s.as_ref().is_none_or(|s| s.chars().count() <= 6);
    if short(&c.access_key) || short(&c.secret_key) {
        return Err(format!(
            "The accessKey={} and secretKey={} cannot be null and length should longer than 6",
            c.access_key.as_deref().unwrap_or("null"),
            c.secret_key.as_deref().unwrap_or("null")
        ));
    }
    Ok(())
}

/// Where the ACL files are.
#[derive(Debug, Clone)]
pub struct AclPaths {
    /// `$ROCKETMQ_HOME`; without it nothing is loaded (every signed request is refused).
    pub home: Option<PathBuf>,
    pub acl_dir: PathBuf,
    pub default_file: PathBuf,
}

impl AclPaths {
    /// `home/conf/acl` and `home/<plain_file>` (`rocketmq.acl.plain.file`, default
    /// `conf/plain_acl.yml`).
    pub fn new(home: Option<&Path>, plain_file: &str) -> AclPaths {
        let base = home.map(Path::to_path_buf).unwrap_or_default();
        AclPaths {
            home: home.map(Path::to_path_buf),
            acl_dir: base.join("conf").join("acl"),
            default_file: base.join(plain_file),
        }
    }

    /// The ACL files now present (`getAllAclFiles` + the default file), in directory order.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut list = Vec::new();
        collect_yaml(&self.acl_dir, &mut list);
        if self.default_file.exists() && !list.contains(&self.default_file) {
            list.push(self.default_file.clone());
        }
        list
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let name = p.to_string_lossy();
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            out.push(p);
        } else if p.is_dir() {
            collect_yaml(&p, out);
        }
    }
}

/// The permission state (`PlainPermissionManager`'s maps).
#[derive(Debug, Default)]
pub struct PlainPermissionManager {
    pub paths: Option<AclPaths>,
    pub files: Vec<PathBuf>,
    accounts: HashMap<PathBuf, HashMap<String, Account>>,
    key_table: HashMap<String, PathBuf>,
    global_white: Vec<(u64, RemoteAddressStrategy)>,
    global_by_file: HashMap<PathBuf, Vec<u64>>,
    next_id: u64,
    data_versions: BTreeMap<PathBuf, DataVersion>,
    /// The deprecated single version (`version` of GET_BROKER_CLUSTER_ACL_INFO): the default
    /// file's, as of its last (re)load.
    pub data_version: DataVersion,
}

impl PlainPermissionManager {
    /// Loads the files (creating the default one if missing), as the broker starts.
    pub fn start(paths: AclPaths, now_ms: i64) -> Result<Self, String> {
        let mut m = PlainPermissionManager {
            data_version: DataVersion {
                counter: 0,
                state_version: None,
                timestamp: now_ms,
            },
            ..Default::default()
        };
        if paths.home.is_some() && !paths.default_file.exists() {
            std::fs::File::create(&paths.default_file)
                .map_err(|e| format!("{}: {e}", paths.default_file.display()))?;
        }
        m.paths = Some(paths);
        m.load(now_ms)?;
        Ok(m)
    }

    /// Java's `load()`: everything from the files now present.
    pub fn load(&mut self, now_ms: i64) -> Result<(), String> {
        let Some(paths) = self.paths.clone().filter(|p| p.home.is_some()) else {
            return Ok(());
        };
        let mut fresh = PlainPermissionManager {
            paths: Some(paths.clone()),
            files: paths.files(),
            data_version: self.data_version.clone(),
            ..Default::default()
        };
        for file in fresh.files.clone() {
            let Some(doc) = plain_acl_file::read_document(&file)? else {
                tracing::warn!("No data in file {}", file.display());
                continue;
            };
            let data = plain_acl_file::parse_document(&doc);
            let ids = fresh.add_global(&data)?;
            if !ids.is_empty() {
                fresh.global_by_file.insert(file.clone(), ids);
            }
            let mut map = HashMap::new();
            for c in &data.accounts {
                let account = Account::build(c)?;
                if fresh.key_table.contains_key(&account.access_key) {
                    tracing::warn!(
                        "The accessKey {} is repeated in multiple ACL files",
                        account.access_key
                    );
                    continue;
                }
                fresh
                    .key_table
                    .insert(account.access_key.clone(), file.clone());
                map.insert(account.access_key.clone(), account);
            }
            if !map.is_empty() {
                fresh.accounts.insert(file.clone(), map);
            }
            fresh
                .data_versions
                .insert(file.clone(), version_of(&data, now_ms));
        }
        if let Some(v) = fresh.data_versions.get(&paths.default_file) {
            fresh.data_version = v.clone();
        }
        fresh.next_id = self.next_id.max(fresh.next_id);
        *self = fresh;
        Ok(())
    }

    /// Java's `load(aclFilePath)`: one changed file.
    pub fn load_file(&mut self, file: &Path, now_ms: i64) -> Result<(), String> {
        let Some(doc) = plain_acl_file::read_document(file)? else {
            tracing::warn!("No data in {}, skip it", file.display());
            return Ok(());
        };
        let data = plain_acl_file::parse_document(&doc);
        let mut map = HashMap::new();
        let mut keys = Vec::new();
        for c in &data.accounts {
            let account = Account::build(c)?;
            let owner = self.key_table.get(&account.access_key);
            if owner.is_none_or(|o| o == file) {
                keys.push(account.access_key.clone());
                map.insert(account.access_key.clone(), account);
            }
        }
        let ids = self.add_global(&data)?;
        if let Some(old) = self.global_by_file.get(file).cloned() {
            self.global_white.retain(|(id, _)| !old.contains(id));
            self.global_by_file.insert(file.to_path_buf(), ids);
        }
        for k in keys {
            self.key_table.insert(k, file.to_path_buf());
        }
        self.accounts.insert(file.to_path_buf(), map);
        let version = version_of(&data, now_ms);
        if self.paths.as_ref().is_some_and(|p| p.default_file == file) {
            self.data_version = version.clone();
        }
        self.data_versions.insert(file.to_path_buf(), version);
        Ok(())
    }

    fn add_global(&mut self, data: &AclFileData) -> Result<Vec<u64>, String> {
        let mut ids = Vec::new();
        for entry in &data.global_white_remote_addresses {
            let strategy = RemoteAddressStrategy::parse(Some(entry))?;
            self.next_id += 1;
            self.global_white.push((self.next_id, strategy));
            ids.push(self.next_id);
        }
        Ok(ids)
    }

    /// `validate(PlainAccessResource)`.
    pub fn validate(&self, req: &AccessRequest) -> Result<(), AclError> {
        let addr = req.remote_addr.as_deref();
        if self.global_white.iter().any(|(_, s)| s.matches(addr)) {
            return Ok(());
        }
        let Some(key) = req.access_key.as_deref() else {
            return Err(AclError::new(
                "No accessKey is configured",
                Site::Validate(664),
            ));
        };
        let Some(file) = self.key_table.get(key) else {
            return Err(AclError::new(
                format!("No acl config for {key}"),
                Site::Validate(668),
            ));
        };
        let Some(owned) = self.accounts.get(file).and_then(|m| m.get(key)) else {
            return Err(AclError::new(
                format!("No PlainAccessResource for accessKey={key}"),
                Site::Validate(675),
            ));
        };
        if owned.white.matches(addr) {
            return Ok(());
        }
        if req.signature.as_deref() != Some(cal_signature(&req.content, &owned.secret_key).as_str())
        {
            return Err(AclError::new(
                format!("Check signature failed for accessKey={key}"),
                Site::Validate(684),
            ));
        }
        if req.needed("RMQ_SYS_TRACE_TOPIC") == Some(permission::PUB) {
            return Ok(());
        }
        check_perm(req, owned)
    }

    /// Who owns an access key, and its account.
    pub fn account(&self, key: &str) -> Option<(&PathBuf, &Account)> {
        let file = self.key_table.get(key)?;
        Some((file, self.accounts.get(file)?.get(key)?))
    }

    pub fn put_account(&mut self, file: &Path, account: Account) {
        self.key_table
            .insert(account.access_key.clone(), file.to_path_buf());
        self.accounts
            .entry(file.to_path_buf())
            .or_default()
            .insert(account.access_key.clone(), account);
    }

    /// DELETE_ACL_CONFIG forgets the key (the account stays in the file map, as in Java).
    pub fn forget_key(&mut self, key: &str) {
        self.key_table.remove(key);
    }

    pub fn set_data_version(&mut self, file: &Path, v: DataVersion) {
        self.data_versions.insert(file.to_path_buf(), v);
    }

    /// `getDataVersionMap` as fastjson writes it: `{"<path>":{"counter":N,"timestamp":T}}`.
    pub fn data_versions_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self
            .data_versions
            .iter()
            .map(|(p, v)| {
                (
                    p.display().to_string(),
                    serde_json::json!({"counter": v.counter, "timestamp": v.timestamp}),
                )
            })
            .collect();
        serde_json::Value::Object(map).to_string()
    }
}

fn version_of(data: &AclFileData, now_ms: i64) -> DataVersion {
    data.data_version.clone().unwrap_or(DataVersion {
        counter: 0,
        state_version: None,
        timestamp: now_ms,
    })
}

/// `checkPerm(needCheckedAccess, ownedAccess)`.
fn check_perm(req: &AccessRequest, owned: &Account) -> Result<(), AclError> {
    if permission::need_admin_perm(req.code) && !owned.admin {
        return Err(AclError::new(
            format!(
                "Need admin permission for request code={}, but accessKey={} is not",
                req.code, owned.access_key
            ),
            Site::CheckPerm(581),
        ));
    }
    if !req.has_resources() || (owned.perms.is_none() && owned.admin) {
        return Ok(());
    }
    for (resource, needed) in req.resources() {
        let is_group = is_retry_topic(resource);
        let (owned_perm, line) = match owned.perms.as_ref().and_then(|m| m.get(resource)) {
            Some(p) => (*p, 611),
            None if is_group => (owned.default_group_perm, 606),
            None => (owned.default_topic_perm, 606),
        };
        if !check_permission(needed, owned_perm) {
            return Err(AclError::new(
                format!("No default permission for {}", print_resource(resource)),
                Site::CheckPerm(line),
            ));
        }
    }
    Ok(())
}
