//! Where the broker's config files live (Java's `BrokerPathConfigHelper`): all under
//! `<storePathRootDir>/config/`, next to the store's own directories, so a Java broker and ours
//! find each other's files.

use std::path::{Path, PathBuf};

use remoting_codec::protocol::config_files::{
    CONSUMER_FILTER_FILE, CONSUMER_OFFSET_FILE, DELAY_OFFSET_FILE, SUBSCRIPTION_GROUP_FILE,
    TOPICS_FILE,
};

pub fn config_dir(store_root: &Path) -> PathBuf {
    store_root.join("config")
}

pub fn topic_config_path(store_root: &Path) -> PathBuf {
    config_dir(store_root).join(TOPICS_FILE)
}

pub fn subscription_group_path(store_root: &Path) -> PathBuf {
    config_dir(store_root).join(SUBSCRIPTION_GROUP_FILE)
}

pub fn consumer_offset_path(store_root: &Path) -> PathBuf {
    config_dir(store_root).join(CONSUMER_OFFSET_FILE)
}

pub fn delay_offset_path(store_root: &Path) -> PathBuf {
    config_dir(store_root).join(DELAY_OFFSET_FILE)
}

pub fn consumer_filter_path(store_root: &Path) -> PathBuf {
    config_dir(store_root).join(CONSUMER_FILTER_FILE)
}
