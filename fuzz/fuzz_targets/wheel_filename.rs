//! Wheel file names and archive entry names: `parse_wheel_filename` on UTF-8 input and
//! `safe_relative_path` on raw bytes. What `safe_relative_path` accepts must be a plain
//! relative path: no `..`, `.` or empty component, no leading `/`, no backslash, no NUL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagon_core::archive::safety::{join_inside, safe_relative_path};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(wheel) = wagon_core::python::parse_wheel_filename(text) {
            // Display gives a name that parses back to the same wheel.
            let shown = wheel.to_string();
            let again = wagon_core::python::parse_wheel_filename(&shown).unwrap_or_else(|err| {
                panic!("{text:?} parsed, but its display {shown:?} does not: {err}")
            });
            assert_eq!(again, wheel, "{text:?} → {shown:?} changed the wheel");
        }
    }

    if let Ok(path) = safe_relative_path(data) {
        let text = path.as_str();
        assert!(!text.is_empty(), "{data:?}: accepted an empty path");
        assert!(
            !text.starts_with('/'),
            "{data:?}: accepted an absolute path {text:?}"
        );
        assert!(!text.contains('\\'), "{data:?}: accepted a backslash");
        assert!(!text.contains('\0'), "{data:?}: accepted a NUL");
        for part in path.components() {
            assert!(
                !part.is_empty() && part != "." && part != "..",
                "{data:?}: accepted the component {part:?} in {text:?}"
            );
        }
        // Checking twice changes nothing.
        assert_eq!(safe_relative_path(text.as_bytes()).as_ref(), Ok(&path));
        let root = std::path::Path::new("/fuzz-root");
        let joined = join_inside(root, &path)
            .unwrap_or_else(|| panic!("{data:?}: accepted but join_inside refuses {text:?}"));
        assert!(joined.starts_with(root) && joined != root);
    }
});
