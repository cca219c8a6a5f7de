//! The RECORD parser (`wagon_core::record::parse`, used by the unpack installer to verify wheels)
//! on arbitrary bytes. Errors are fine; panics are bugs.
//! Every row it keeps has a non-empty path, and a digest it reports is non-empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagon_core::record::parse as parse_record;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = parse_record(data) {
        for (path, expected) in &rows {
            assert!(!path.is_empty(), "an empty path was kept");
            if let Some(expected) = expected {
                assert!(!expected.digest.is_empty(), "{path}: empty digest kept");
            }
        }
    }
});
