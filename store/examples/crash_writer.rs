//! Appends messages as fast as it can from several threads and prints one line per
//! acknowledged append: `ack <thread> <seq> <queueId> <queueOffset> <commitLogOffset>`.
//! The crash test kills it with SIGKILL and checks every printed ack after reopening.
//!
//! Usage: crash_writer <storeRoot> <SYNC_FLUSH|ASYNC_FLUSH> [clockShiftMs]
//!
//! `clockShiftMs` moves the store's clock (the store time of every record), so a test can
//! write records that look older than the checkpoint a later run writes. Lines in the
//! environment variable `CRASH_WRITER_CONF` are appended to the store's settings.

use std::io::Write;
use std::sync::Arc;

use remoting_codec::message::{MessageProperties, StoredMessage};
use store::{MessageStore, MessageStoreConfig, PutMessageStatus, StoreOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = format!(
        "storePathRootDir={}\nflushDiskType={}\nmappedFileSizeCommitLog=262144\n\
         mappedFileSizeConsumeQueue=2000\nmaxHashSlotNum=100\nmaxIndexNum=400\n",
        args[1], args[2]
    ) + &std::env::var("CRASH_WRITER_CONF").unwrap_or_default();
    let config = MessageStoreConfig::from_properties_text(&text).expect("config");
    let shift: i64 = args.get(3).map_or(0, |s| s.parse().expect("clockShiftMs"));
    let options = StoreOptions {
        clock: Arc::new(move || store::now_millis() + shift),
        ..Default::default()
    };
    let store = Arc::new(MessageStore::open_with(config, options).expect("open store"));
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (store, out) = (store.clone(), out.clone());
            std::thread::spawn(move || {
                for seq in 0u64.. {
                    let mut props = MessageProperties::new();
                    props.insert("UNIQ_KEY", format!("T{t}S{seq}"));
                    props.insert("TAGS", "crash");
                    let msg = StoredMessage {
                        topic: "CrashTest".into(),
                        queue_id: t % 2,
                        body: vec![(seq % 256) as u8; 64 + (seq as usize * 37) % 900].into(),
                        born_host: "127.0.0.1:1".parse().unwrap(),
                        store_host: "127.0.0.1:10911".parse().unwrap(),
                        properties: props,
                        ..Default::default()
                    };
                    let r = store.put_message(msg);
                    if r.status != PutMessageStatus::PutOk {
                        continue;
                    }
                    let a = r.append.unwrap();
                    let mut o = out.lock().unwrap();
                    let _ = writeln!(
                        o,
                        "ack {t} {seq} {} {} {}",
                        t % 2,
                        a.logics_offset,
                        a.wrote_offset
                    );
                    let _ = o.flush();
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}
