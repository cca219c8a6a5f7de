//! The rules every archive entry passes before Wagon reads or writes it: a relative, plain path
//! with no way out of the destination, of a kind Wagon expects, within size limits.

use std::path::{Component, Path, PathBuf};

/// Bounds on what reading one archive may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of all entries once decompressed.
    pub max_unpacked_bytes: u64,
    /// Number of entries.
    pub max_entries: u64,
    /// Size of `package.json` (and other metadata files).
    pub max_metadata_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 16 * 1024 * 1024 * 1024,
            max_entries: 100_000,
            max_metadata_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What kind of entry an archive holds, as far as safety is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    Hardlink,
    /// Devices, FIFOs and anything else that is not data.
    Special,
}

/// An entry name that passed [`safe_relative_path`]: `/`-separated, relative, no `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryPath(String);

impl EntryPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The path below the archive's top folder, if it is inside `top`.
    pub fn strip_top(&self, top: &str) -> Option<&str> {
        self.0
            .strip_prefix(top)
            .and_then(|rest| rest.strip_prefix('/'))
    }

    /// This path as a native relative path.
    pub fn to_path(&self) -> PathBuf {
        self.components().collect()
    }
}

impl std::fmt::Display for EntryPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an entry name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafePath {
    #[error("its name is not UTF-8")]
    NotUtf8,
    #[error("its name is empty")]
    Empty,
    #[error("its name is absolute")]
    Absolute,
    #[error("its name contains `..`, which would leave the destination")]
    ParentDir,
    #[error("its name contains a backslash")]
    Backslash,
    #[error("its name contains a NUL or control character")]
    ControlCharacter,
    #[error("its name contains `{0}`, a name Windows reserves")]
    WindowsReserved(String),
}

/// Turns a raw entry name into a safe relative path, or says why it is not one. `.` components
/// and a trailing `/` are dropped.
pub fn safe_relative_path(raw: &[u8]) -> Result<EntryPath, UnsafePath> {
    let text = std::str::from_utf8(raw).map_err(|_| UnsafePath::NotUtf8)?;
    if text.chars().any(char::is_control) {
        return Err(UnsafePath::ControlCharacter);
    }
    if text.contains('\\') {
        return Err(UnsafePath::Backslash);
    }
    if text.starts_with('/') || has_drive_prefix(text) {
        return Err(UnsafePath::Absolute);
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(UnsafePath::ParentDir),
            name => {
                if is_windows_reserved(name) {
                    return Err(UnsafePath::WindowsReserved(name.to_string()));
                }
                parts.push(name);
            }
        }
    }
    if parts.is_empty() {
        return Err(UnsafePath::Empty);
    }
    // `./C:/x` loses its `./` above: what remains must not start with a drive either.
    if has_drive_prefix(parts[0]) {
        return Err(UnsafePath::Absolute);
    }
    Ok(EntryPath(parts.join("/")))
}

fn has_drive_prefix(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// `CON`, `nul.txt`, `COM1` …: names that on Windows open a device instead of a file.
fn is_windows_reserved(name: &str) -> bool {
    let stem = name
        .split('.')
        .next()
        .unwrap_or(name)
        .trim_end()
        .to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit()
            && stem.as_bytes()[3] != b'0')
}

/// Joins a checked entry path to `root`, asserting (again) that the result stays inside.
pub fn join_inside(root: &Path, entry: &EntryPath) -> Option<PathBuf> {
    let joined = root.join(entry.to_path());
    let inside = joined
        .strip_prefix(root)
        .ok()?
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    inside.then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_names_pass() {
        assert_eq!(
            safe_relative_path(b"./pkg/wheels/a-1-py3-none-any.whl").map(|p| p.0),
            Ok("pkg/wheels/a-1-py3-none-any.whl".to_string())
        );
        assert_eq!(
            safe_relative_path(b"pkg/").map(|p| p.0),
            Ok("pkg".to_string())
        );
    }

    #[test]
    fn escapes_and_oddities_are_refused() {
        assert_eq!(safe_relative_path(b"../evil"), Err(UnsafePath::ParentDir));
        assert_eq!(
            safe_relative_path(b"pkg/../../evil"),
            Err(UnsafePath::ParentDir)
        );
        assert_eq!(
            safe_relative_path(b"/etc/passwd"),
            Err(UnsafePath::Absolute)
        );
        assert_eq!(safe_relative_path(b"C:/x"), Err(UnsafePath::Absolute));
        assert_eq!(safe_relative_path(b"./C:/x"), Err(UnsafePath::Absolute));
        assert_eq!(safe_relative_path(b".//c:x"), Err(UnsafePath::Absolute));
        assert_eq!(
            safe_relative_path(b"pkg\\..\\x"),
            Err(UnsafePath::Backslash)
        );
        assert_eq!(
            safe_relative_path(b"pkg/a\0b"),
            Err(UnsafePath::ControlCharacter)
        );
        assert_eq!(safe_relative_path(b"pkg/\xff"), Err(UnsafePath::NotUtf8));
        assert_eq!(safe_relative_path(b"./"), Err(UnsafePath::Empty));
        assert!(matches!(
            safe_relative_path(b"pkg/CON.txt"),
            Err(UnsafePath::WindowsReserved(_))
        ));
        assert!(matches!(
            safe_relative_path(b"pkg/com1"),
            Err(UnsafePath::WindowsReserved(_))
        ));
        assert!(safe_relative_path(b"pkg/console.txt").is_ok());
    }
}
