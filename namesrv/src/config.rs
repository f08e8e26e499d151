//! `NamesrvConfig` and the server part of `NettyServerConfig`: Java's keys and defaults, read
//! from a Java-style `namesrv.conf` (`-c`), overridden by flags, printed by `-p`, read and
//! changed at run time by GET_/UPDATE_NAMESRV_CONFIG.
//!
//! The settings are kept as Java's `Configuration` keeps them: one property table (every key
//! of both config objects, plus any other key of the `-c` file), typed getters for the keys we
//! act on. GET_NAMESRV_CONFIG returns the whole table; UPDATE_NAMESRV_CONFIG changes only keys
//! already in it and then rewrites `configStorePath`.

use std::path::{Path, PathBuf};

use remoting_codec::protocol::properties_text;

/// Java's `MixAll.ROCKETMQ_HOME_ENV`.
pub const ROCKETMQ_HOME_ENV: &str = "ROCKETMQ_HOME";

/// Keys UPDATE_NAMESRV_CONFIG may never change (Java adds `rocketmqHome` and the configured
/// `configBlackList` entries to these at start).
const FIXED_BLACK_LIST: [&str; 4] = [
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];

/// The name server's effective settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamesrvConfig {
    /// Every property, in the order `-p` prints them.
    entries: Vec<(String, String)>,
    /// The address given by `--bindAddress`. Not a property: 4.9.8's NettyServerConfig has no
    /// `bindAddress` (it always binds 0.0.0.0), so GET_NAMESRV_CONFIG does not list one.
    bind_address: Option<String>,
}

impl NamesrvConfig {
    /// Java's defaults. `user_home` is Java's `user.home` (`$HOME`), `rocketmq_home` the
    /// `ROCKETMQ_HOME` environment variable.
    pub fn with_defaults(user_home: &Path, rocketmq_home: Option<&str>) -> Self {
        let namesrv_dir = user_home.join("namesrv");
        let path = |file: &str| namesrv_dir.join(file).to_string_lossy().into_owned();
        let mut entries: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| entries.push((k.to_owned(), v));
        // NamesrvConfig. `rocketmqHome` is absent when unset, as a null field is in Java.
        if let Some(home) = rocketmq_home {
            put("rocketmqHome", home.to_owned());
        }
        put("kvConfigPath", path("kvConfig.json"));
        put("configStorePath", path("namesrv.properties"));
        put("productEnvName", "center".into());
        put("clusterTest", "false".into());
        put("orderMessageEnable", "false".into());
        put(
            "configBlackList",
            "configBlackList;configStorePath;kvConfigPath".into(),
        );
        // NettyServerConfig (server side), 4.9.8's: no `bindAddress` (see `bind_address`).
        put("listenPort", "9876".into());
        put("serverWorkerThreads", "8".into());
        put("serverCallbackExecutorThreads", "0".into());
        put("serverSelectorThreads", "3".into());
        put("serverOnewaySemaphoreValue", "256".into());
        put("serverAsyncSemaphoreValue", "64".into());
        put("serverChannelMaxIdleTimeSeconds", "120".into());
        put("serverSocketSndBufSize", "0".into());
        put("serverSocketRcvBufSize", "0".into());
        put("writeBufferHighWaterMark", "0".into());
        put("writeBufferLowWaterMark", "0".into());
        put("serverSocketBacklog", "1024".into());
        put("serverPooledByteBufAllocatorEnable", "true".into());
        put("useEpollNativeSelector", "false".into());
        Self {
            entries,
            bind_address: None,
        }
    }

    /// Defaults from the process environment: `$HOME` and `$ROCKETMQ_HOME`.
    pub fn from_env() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let rocketmq_home = std::env::var(ROCKETMQ_HOME_ENV).ok();
        Self::with_defaults(&home, rocketmq_home.as_deref())
    }

    /// Applies a `namesrv.conf` as Java's `-c` does: every entry is set (keys Java does not
    /// know are kept too, they show in GET_NAMESRV_CONFIG), and `configStorePath` becomes the
    /// file itself, so that UPDATE_NAMESRV_CONFIG rewrites it.
    pub fn load_file(&mut self, file: &Path) -> Result<(), String> {
        let bytes =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let entries = properties_text::parse_bytes(&bytes)
            .map_err(|e| format!("cannot parse {}: {e}", file.display()))?;
        for (k, v) in entries {
            self.set(&k, v.trim());
        }
        self.set("configStorePath", &file.to_string_lossy());
        Ok(())
    }

    /// Sets a property, adding it when new.
    pub fn set(&mut self, key: &str, value: &str) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.entries.push((key.to_owned(), value.to_owned())),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The table as `key=value` lines (`MixAll.properties2String`): the body of
    /// GET_NAMESRV_CONFIG and the content of `configStorePath`.
    pub fn to_properties_text(&self) -> String {
        properties_text::write(self.entries.iter().map(|(k, v)| (k, v)))
    }

    /// UPDATE_NAMESRV_CONFIG: whether any key is black-listed (then nothing changes).
    pub fn touches_black_list(&self, update: &[(String, String)]) -> bool {
        let configured = self.get("configBlackList").unwrap_or_default().to_owned();
        let black: Vec<&str> = FIXED_BLACK_LIST
            .iter()
            .copied()
            .chain(configured.split(';'))
            .collect();
        update.iter().any(|(k, _)| black.contains(&k.as_str()))
    }

    /// UPDATE_NAMESRV_CONFIG: Java's `mergeIfExist`, only keys already present change.
    pub fn merge_existing(&mut self, update: &[(String, String)]) {
        for (k, v) in update {
            if let Some(entry) = self.entries.iter_mut().find(|(key, _)| key == k) {
                entry.1 = v.clone();
            }
        }
    }

    pub fn listen_port(&self) -> Result<u16, String> {
        let raw = self.get("listenPort").unwrap_or("9876");
        raw.trim()
            .parse()
            .map_err(|_| format!("listenPort {raw:?} is not a port number"))
    }

    /// The address to bind: `--bindAddress`, else a `bindAddress` key of the `-c` file (kept
    /// and listed as any key Java does not know), else 0.0.0.0 as 4.9.8 binds.
    pub fn bind_address(&self) -> &str {
        self.bind_address
            .as_deref()
            .or(self.get("bindAddress"))
            .unwrap_or("0.0.0.0")
    }

    /// `--bindAddress`: where to listen, without adding a property.
    pub fn set_bind_address(&mut self, addr: &str) {
        self.bind_address = Some(addr.to_owned());
    }

    pub fn kv_config_path(&self) -> PathBuf {
        PathBuf::from(self.get("kvConfigPath").unwrap_or("kvConfig.json"))
    }

    pub fn config_store_path(&self) -> PathBuf {
        PathBuf::from(self.get("configStorePath").unwrap_or("namesrv.properties"))
    }

    pub fn rocketmq_home(&self) -> Option<&str> {
        self.get("rocketmqHome")
    }

    /// Java's `Boolean.parseBoolean`: only "true" (any case) is true.
    pub fn order_message_enable(&self) -> bool {
        self.get("orderMessageEnable")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> NamesrvConfig {
        NamesrvConfig::with_defaults(Path::new("/home/u"), Some("/opt/rocketmq"))
    }

    #[test]
    fn java_defaults() {
        let c = defaults();
        assert_eq!(c.listen_port(), Ok(9876));
        assert_eq!(
            c.kv_config_path(),
            Path::new("/home/u/namesrv/kvConfig.json")
        );
        assert_eq!(
            c.config_store_path(),
            Path::new("/home/u/namesrv/namesrv.properties")
        );
        assert!(!c.order_message_enable());
        assert_eq!(c.get("serverChannelMaxIdleTimeSeconds"), Some("120"));
    }

    /// 4.9.8's GET_NAMESRV_CONFIG (s12 m31) lists no `bindAddress`: the flag binds without
    /// becoming a property; a key of the `-c` file is kept (listed) and used.
    #[test]
    fn bind_address_is_not_a_4_9_8_property() {
        let mut c = defaults();
        assert_eq!(c.bind_address(), "0.0.0.0");
        assert_eq!(c.get("bindAddress"), None);
        c.set_bind_address("127.0.0.1");
        assert_eq!(c.bind_address(), "127.0.0.1");
        assert!(!c.to_properties_text().contains("bindAddress"));
        let mut c = defaults();
        c.set("bindAddress", "127.0.0.2");
        assert_eq!(c.bind_address(), "127.0.0.2");
        assert!(c.to_properties_text().contains("bindAddress=127.0.0.2"));
    }

    #[test]
    fn conf_file_overrides_and_keeps_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("namesrv-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("namesrv.conf");
        std::fs::write(
            &file,
            "# c\nlistenPort = 9999\norderMessageEnable=true\nfoo=bar\n",
        )
        .unwrap();
        let mut c = defaults();
        c.load_file(&file).unwrap();
        assert_eq!(c.listen_port(), Ok(9999));
        assert!(c.order_message_enable());
        assert_eq!(c.get("foo"), Some("bar"));
        assert_eq!(c.config_store_path(), file);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn updates_respect_black_list_and_existing_keys() {
        let mut c = defaults();
        let kv = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert!(c.touches_black_list(&kv("kvConfigPath", "/x")));
        assert!(c.touches_black_list(&kv("rocketmqHome", "/x")));
        assert!(!c.touches_black_list(&kv("orderMessageEnable", "true")));
        c.merge_existing(&kv("orderMessageEnable", "true"));
        c.merge_existing(&kv("unknownKey", "1"));
        assert!(c.order_message_enable());
        assert_eq!(c.get("unknownKey"), None);
    }
}
