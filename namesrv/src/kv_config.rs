//! `KVConfigManager`: namespaced key/value settings (order-topic configs in namespace
//! `ORDER_TOPIC_CONFIG`, anything mqadmin `updateKvConfig` puts), persisted to
//! `kvConfig.json` after every change and reloaded at start.
//!
//! The file is what Java writes: `{"configTable":{ns:{key:value}}}` in fastjson's compact
//! form (`KVConfigSerializeWrapper.toJson()`, not pretty), written the way `MixAll.string2File`
//! does: new content to `kvConfig.json.tmp`, the previous content copied to
//! `kvConfig.json.bak`, then the temp file renamed over the real one. Unlike Java we fsync
//! the temp file before the rename, so a crash leaves either the old or the new file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use remoting_codec::fastjson;
use remoting_codec::protocol::route::KVConfigSerializeWrapper;
use remoting_codec::protocol::KvTable;

/// The KV namespace whose entries are `orderTopicConf` of routes and the body of the
/// REGISTER_BROKER response (`NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`).
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

type Table = BTreeMap<String, BTreeMap<String, String>>;

pub struct KvConfigManager {
    path: PathBuf,
    table: RwLock<Table>,
}

impl KvConfigManager {
    /// Loads `path` if it exists. A missing file is an empty table; an unreadable one is an
    /// error (Java logs and starts empty, which would then overwrite the operator's file at
    /// the first change: we refuse to start instead).
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, String> {
        let path = path.into();
        let table = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Table::new(),
            Ok(bytes) => {
                fastjson::from_slice::<KVConfigSerializeWrapper>(&bytes)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                    .config_table
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Table::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        tracing::info!(
            "KV config: {} namespace(s) from {}",
            table.len(),
            path.display()
        );
        Ok(Self {
            path,
            table: RwLock::new(table),
        })
    }

    pub fn put(&self, namespace: &str, key: &str, value: &str) -> std::io::Result<()> {
        let mut table = self.write();
        let prev = table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        tracing::info!(
            "putKVConfig {} config item, Namespace: {} Key: {} Value: {}",
            if prev.is_some() {
                "update"
            } else {
                "create new"
            },
            namespace,
            key,
            value
        );
        self.persist(&table)
    }

    /// Removes a key; the namespace stays even when emptied, as in Java.
    pub fn delete(&self, namespace: &str, key: &str) -> std::io::Result<()> {
        let mut table = self.write();
        if let Some(kv) = table.get_mut(namespace) {
            let value = kv.remove(key);
            tracing::info!(
                "deleteKVConfig delete a config item, Namespace: {} Key: {} Value: {:?}",
                namespace,
                key,
                value
            );
        }
        self.persist(&table)
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.read().get(namespace)?.get(key).cloned()
    }

    /// The `KVTable` body of a namespace, `None` when the namespace does not exist.
    pub fn list_by_namespace(&self, namespace: &str) -> Option<Vec<u8>> {
        let table = self.read();
        let kv = table.get(namespace)?;
        // A KvTable of strings always serializes.
        fastjson::to_vec(&KvTable { table: kv.clone() }).ok()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn persist(&self, table: &Table) -> std::io::Result<()> {
        let wrapper = KVConfigSerializeWrapper {
            config_table: table.clone(),
        };
        let content = fastjson::to_vec(&wrapper).map_err(std::io::Error::other)?;
        write_file_like_java(&self.path, &content).inspect_err(|e| {
            tracing::error!("persist kvconfig Exception, {}: {}", self.path.display(), e)
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// `MixAll.string2File`: `<file>.tmp` with the new content, `<file>.bak` with the previous
/// one, then the temp file renamed to `<file>`. Parent directories are created.
pub fn write_file_like_java(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let tmp = with_suffix(".tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(content)?;
    file.sync_all()?;
    drop(file);
    match std::fs::read(path) {
        Ok(prev) => std::fs::write(with_suffix(".bak"), prev)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_like_java_and_reloads() {
        let dir = std::env::temp_dir().join(format!("namesrv-kv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("namesrv").join("kvConfig.json");
        let kv = KvConfigManager::load(&path).unwrap();
        kv.put("ORDER_TOPIC_CONFIG", "T", "broker-a:4").unwrap();
        assert!(!dir.join("namesrv/kvConfig.json.bak").exists());
        kv.put("ns", "k", "v").unwrap();
        kv.delete("ns", "k").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"},"ns":{}}}"#
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("namesrv/kvConfig.json.bak")).unwrap(),
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"},"ns":{"k":"v"}}}"#
        );
        assert!(!dir.join("namesrv/kvConfig.json.tmp").exists());

        let again = KvConfigManager::load(&path).unwrap();
        assert_eq!(
            again.get("ORDER_TOPIC_CONFIG", "T").as_deref(),
            Some("broker-a:4")
        );
        assert_eq!(again.list_by_namespace("ns").unwrap(), br#"{"table":{}}"#);
        assert_eq!(again.list_by_namespace("none"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unreadable_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("namesrv-kv-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kvConfig.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(KvConfigManager::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
