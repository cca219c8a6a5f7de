//! Opens arbitrary bytes as a wagon archive (zip, tar, tar.gz, tar.zst) and reads it every way
//! the CLI does: `read_manifest`, `digest`, `extract`. Errors are expected; panics are bugs.
//!
//! After an extraction, successful or not, nothing may exist outside the destination, and the
//! destination may hold only plain files and folders (no symlinks). After a successful one, the
//! files on disk are exactly those the walk reported, with the reported sizes and digests.
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use wagon_core::archive::{Archive, Limits};
use wagon_core::plugin::Registry;

const LIMITS: Limits = Limits {
    max_unpacked_bytes: 16 * 1024 * 1024,
    max_entries: 1000,
    max_metadata_bytes: 1024 * 1024,
};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = Registry::new();
        registry.register_compressor(Arc::new(wagon_compress_gzip::Gzip));
        registry.register_compressor(Arc::new(wagon_compress_zstd::Zstd));
        registry
    })
}

/// Every file below `root`, relative and `/`-joined, with its size; panics on anything that is
/// neither a plain file nor a folder.
fn files_below(root: &Path) -> BTreeMap<String, u64> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, u64>) {
        for entry in std::fs::read_dir(dir).expect("read_dir of the destination") {
            let entry = entry.expect("read_dir entry");
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).expect("symlink_metadata");
            let kind = meta.file_type();
            assert!(!kind.is_symlink(), "extract created a symlink: {path:?}");
            assert!(
                path.starts_with(root),
                "extract created {path:?} outside {root:?}"
            );
            if kind.is_dir() {
                walk(root, &path, out);
            } else {
                assert!(kind.is_file(), "extract created a special file: {path:?}");
                let relative = path
                    .strip_prefix(root)
                    .expect("below root")
                    .to_str()
                    .expect("extracted names are UTF-8")
                    .to_string();
                out.insert(relative, meta.len());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let work = tempfile::tempdir().expect("tempdir");
    // The sandbox: the archive and the destination are its only children, and must stay so.
    let sandbox = work.path().join("sandbox");
    std::fs::create_dir(&sandbox).expect("mkdir sandbox");
    let input = sandbox.join("input.wgn");
    std::fs::write(&input, data).expect("write input");
    let dest = sandbox.join("out");
    std::fs::create_dir(&dest).expect("mkdir out");

    let Ok(archive) = Archive::open(&input, registry(), LIMITS) else {
        return;
    };
    let _ = archive.format_name();
    if let Ok(doc) = archive.read_manifest() {
        assert!(
            !doc.top.is_empty(),
            "manifest found under an empty top folder"
        );
        assert!(doc.bytes.len() as u64 <= LIMITS.max_metadata_bytes);
        let _ = doc.parse();
    }
    let digested = archive.digest();
    let extracted = archive.extract(&dest);

    // Whatever happened, nothing escaped the destination.
    let mut children: Vec<String> = std::fs::read_dir(work.path())
        .expect("read_dir work")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(children, ["sandbox"], "extract wrote beside the sandbox");
    children = std::fs::read_dir(&sandbox)
        .expect("read_dir sandbox")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    children.sort();
    assert_eq!(
        children,
        ["input.wgn", "out"],
        "extract wrote beside the destination"
    );
    let on_disk = files_below(&dest);

    if let Ok(extracted) = extracted {
        let top = &extracted.contents.top;
        assert!(!top.is_empty());
        let expected: BTreeMap<String, u64> = extracted
            .contents
            .files
            .iter()
            .map(|(relative, size)| (format!("{top}/{relative}"), *size))
            .collect();
        assert_eq!(
            on_disk, expected,
            "files on disk differ from the walk's report"
        );
        assert_eq!(
            extracted.sha256.len(),
            extracted.contents.files.len(),
            "a file was extracted without a digest"
        );
        if let Ok(digested) = digested {
            assert_eq!(
                digested.sha256, extracted.sha256,
                "digest and extract disagree"
            );
            assert_eq!(digested.contents.files, extracted.contents.files);
        }
    }
});
