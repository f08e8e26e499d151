//! The file mechanics of the broker's JSON config files (Java's `ConfigManager`): topics.json,
//! subscriptionGroup.json, consumerOffset.json, delayOffset.json, consumerFilter.json. Their
//! owners render the text (fastjson pretty) and parse it; this module only writes and reads.
//!
//! Java 4.x persists by writing `<file>.tmp`, copying the previous content of `<file>` to
//! `<file>.bak`, deleting `<file>` and renaming the temp file; it loads `<file>` and falls back
//! to `<file>.bak` when `<file>` is missing, empty or fails to parse.
//!
//! [`persist`] keeps the same files but replaces `<file>` with an atomic `rename` over it
//! instead of delete + rename, and forces data where a crash could otherwise lose it:
//!
//! 1. write `<file>.tmp` and fsync it: after a crash here, `<file>` is untouched;
//! 2. copy the current `<file>` to `<file>.bak` and fsync it: `<file>` is still untouched, so a
//!    torn `.bak` is never read;
//! 3. rename `<file>.tmp` over `<file>`: POSIX rename replaces the name atomically, so `<file>`
//!    is always either the complete old or the complete new text; the new text's data was
//!    already on disk (step 1), so the rename cannot expose an empty file (the delayed-allocation
//!    trap of rename without fsync);
//! 4. fsync the directory so the rename itself survives a power loss.
//!
//! A store that a Java broker left mid-persist (`<file>` deleted, `.tmp` not yet renamed, or 5.x's
//! in-place overwrite torn to an empty or partial file) loads from `.bak` through [`load_with`].

use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Neither the file nor its backup could be parsed. Unlike Java, a corrupt file with no usable
    /// backup is an error rather than an empty table: starting empty would overwrite the corrupt
    /// file (and then its backup) at the next persist and lose what it held for good.
    #[error("cannot parse {path} ({main}) and no usable backup {bak_path} ({bak})")]
    Unparsable {
        path: PathBuf,
        main: String,
        bak_path: PathBuf,
        bak: String,
    },
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// `<file>.bak`.
pub fn bak_path(path: &Path) -> PathBuf {
    with_suffix(path, ".bak")
}

/// `<file>.tmp`.
pub fn tmp_path(path: &Path) -> PathBuf {
    with_suffix(path, ".tmp")
}

fn write_synced(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Replaces the content of `path` with `text`, keeping the previous content in `<file>.bak`
/// (see the module notes for the crash argument). Creates the parent directory if needed.
pub fn persist(path: impl AsRef<Path>, text: &str) -> io::Result<()> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;

    let tmp = tmp_path(path);
    write_synced(&tmp, text.as_bytes())?;

    match std::fs::read(path) {
        Ok(previous) => write_synced(&bak_path(path), &previous)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }

    std::fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

/// What reading one file gave.
enum Read<T> {
    Parsed(T),
    /// Missing or empty.
    Absent,
    Bad(String),
}

fn read_and_parse<T, E: Display>(
    path: &Path,
    parse: &mut impl FnMut(&str) -> Result<T, E>,
) -> Result<Read<T>, ConfigFileError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Read::Absent),
        Err(source) => {
            return Err(ConfigFileError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if bytes.is_empty() {
        return Ok(Read::Absent);
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => return Ok(Read::Bad(format!("not UTF-8: {e}"))),
    };
    Ok(match parse(text) {
        Ok(v) => Read::Parsed(v),
        Err(e) => Read::Bad(e.to_string()),
    })
}

/// Loads `path` with `parse`, falling back to `<file>.bak` when the file is missing, empty or
/// unparsable (Java's `ConfigManager.load`). `Ok(None)`: neither file has content, so the owner
/// starts from its defaults.
pub fn load_with<T, E: Display>(
    path: impl AsRef<Path>,
    mut parse: impl FnMut(&str) -> Result<T, E>,
) -> Result<Option<T>, ConfigFileError> {
    let path = path.as_ref();
    let main_error = match read_and_parse(path, &mut parse)? {
        Read::Parsed(v) => return Ok(Some(v)),
        Read::Absent => None,
        Read::Bad(e) => {
            tracing::warn!(
                "{} failed to parse ({e}), trying the backup",
                path.display()
            );
            Some(e)
        }
    };
    let bak = bak_path(path);
    match (read_and_parse(&bak, &mut parse)?, main_error) {
        (Read::Parsed(v), _) => {
            tracing::info!(
                "loaded {} from its backup {}",
                path.display(),
                bak.display()
            );
            Ok(Some(v))
        }
        (Read::Absent, None) => Ok(None),
        (Read::Absent, Some(main)) => Err(ConfigFileError::Unparsable {
            path: path.to_path_buf(),
            main,
            bak_path: bak,
            bak: "missing or empty".into(),
        }),
        (Read::Bad(bak_err), main) => Err(ConfigFileError::Unparsable {
            path: path.to_path_buf(),
            main: main.unwrap_or_else(|| "missing or empty".into()),
            bak_path: bak,
            bak: bak_err,
        }),
    }
}
