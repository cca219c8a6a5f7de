//! RECORD files (the installed-projects spec): reading a wheel's to verify what it ships, and
//! writing the one of an installed project.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::Digest as _;

/// One RECORD row's digest: the algorithm and the urlsafe-base64 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub algorithm: String,
    pub digest: String,
    pub size: Option<u64>,
}

/// Parses a RECORD (CSV: path, `algo=digest`, size) into a map by path.
pub fn parse(bytes: &[u8]) -> Result<HashMap<String, Option<Expected>>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = HashMap::new();
    for row in reader.records() {
        let row = row.map_err(|e| format!("RECORD is not valid CSV: {e}"))?;
        let path = row.get(0).unwrap_or_default().to_string();
        if path.is_empty() {
            continue;
        }
        let hash = row.get(1).unwrap_or_default();
        let expected = match hash.split_once('=') {
            Some((algorithm, digest)) if !digest.is_empty() => Some(Expected {
                algorithm: algorithm.to_string(),
                digest: digest.to_string(),
                size: row.get(2).and_then(|s| s.parse().ok()),
            }),
            _ => None,
        };
        rows.insert(path, expected);
    }
    Ok(rows)
}

/// A running hash in one of the algorithms RECORD files use.
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(algorithm: &str) -> Option<Self> {
        match algorithm {
            "sha256" => Some(Self::Sha256(sha2::Sha256::new())),
            "sha384" => Some(Self::Sha384(sha2::Sha384::new())),
            "sha512" => Some(Self::Sha512(sha2::Sha512::new())),
            _ => None,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::Sha384(h) => h.update(bytes),
            Self::Sha512(h) => h.update(bytes),
        }
    }

    /// The urlsafe base64 digest without padding, as RECORD writes it.
    pub fn finish(self) -> String {
        let bytes = match self {
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha384(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// The sha256 RECORD digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let mut hasher = Hasher::Sha256(sha2::Sha256::new());
    hasher.update(bytes);
    hasher.finish()
}

/// A RECORD row for an installed file, its path relative to `lib_dir` as pip writes it: CSV as
/// Python's `csv` module writes it (fields holding `,`, `"`, `\r` or `\n` quoted, `"` doubled),
/// ending in `\n`.
pub fn row(lib_dir: &Path, installed: &Path, hash: Option<&str>, size: Option<u64>) -> String {
    let relative = relative_path(lib_dir, installed);
    let path = relative.to_string_lossy().replace('\\', "/");
    let (hash, size) = match (hash, size) {
        (Some(hash), Some(size)) => (format!("sha256={hash}"), size.to_string()),
        _ => (String::new(), String::new()),
    };
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing into a Vec cannot fail; the fallback only keeps a failure from panicking.
    let written = writer
        .write_record([path.as_str(), &hash, &size])
        .ok()
        .and_then(|()| writer.into_inner().ok());
    written.map_or_else(
        || format!("{path},{hash},{size}\n"),
        |bytes| String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// `os.path.relpath(path, base)`, for absolute paths.
pub fn relative_path(base: &Path, path: &Path) -> PathBuf {
    pathdiff::diff_paths(path, base).unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_match_os_path_relpath() {
        let lib = Path::new("/v/lib/python3.11/site-packages");
        assert_eq!(
            relative_path(lib, Path::new("/v/bin/demo")),
            PathBuf::from("../../../bin/demo")
        );
        assert_eq!(
            relative_path(lib, Path::new("/v/lib/python3.11/site-packages/a/b.py")),
            PathBuf::from("a/b.py")
        );
        assert_eq!(relative_path(lib, lib), PathBuf::new());
        assert_eq!(
            relative_path(lib, Path::new("/")),
            PathBuf::from("../../../..")
        );
    }

    #[test]
    fn rows_quote_as_pythons_csv_module() {
        // Python's `csv.writer` (pip's RECORD writer, its default dialect) writes these fields
        // as `"we,i""rd\r\n.py",sha256=abc,3` and `"cr\ronly.py",,`; Wagon ends rows in `\n`.
        let lib = Path::new("/v/lib/python3.11/site-packages");
        let weird = "we,i\"rd\r\n.py";
        let line = row(lib, &lib.join(weird), Some("abc"), Some(3));
        assert_eq!(line, "\"we,i\"\"rd\r\n.py\",sha256=abc,3\n");
        let bare_cr = row(lib, &lib.join("cr\ronly.py"), None, None);
        assert_eq!(bare_cr, "\"cr\ronly.py\",,\n");
        let plain = row(lib, Path::new("/v/bin/demo"), None, None);
        assert_eq!(plain, "../../../bin/demo,,\n");
        // And each reads back exactly, as Python's `csv.reader` reads them.
        let rows = parse(format!("{line}{bare_cr}{plain}").as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[weird].as_ref().map(|e| e.size), Some(Some(3)));
        assert_eq!(rows["cr\ronly.py"], None);
        assert_eq!(rows["../../../bin/demo"], None);
    }

    #[test]
    fn parses_quoted_rows() {
        let rows = parse(b"a.py,sha256=abc,3\n\"we,ird.py\",sha256=def,4\nx.dist-info/RECORD,,\n")
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows["we,ird.py"].as_ref().map(|e| e.digest.as_str()),
            Some("def")
        );
        assert_eq!(rows["x.dist-info/RECORD"], None);
    }
}
