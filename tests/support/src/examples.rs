//! The example plugins under `examples/`, built once per test process into their own target
//! directory (a cargo test run builds binaries of other packages only as test harnesses).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::sdist::workspace_root;

/// The folder holding `wagon-dirsrc`, `wagon-hello`, `libwagon_example_xor.so`, ….
pub fn examples_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = workspace_root();
        let target = root.join("target").join("examples");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "--quiet",
                "-p",
                "wagon-example-dirsrc",
                "-p",
                "wagon-example-hello",
                "-p",
                "wagon-example-xor",
                "-p",
                "wagon-example-old-protocol",
                "--target-dir",
            ])
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the example plugins failed");
        target.join("debug")
    })
}

/// The dynamic library file of an example crate (`wagon_example_xor`).
pub fn example_library(crate_name: &str) -> PathBuf {
    let file = format!(
        "{}{crate_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    examples_dir().join(file)
}
