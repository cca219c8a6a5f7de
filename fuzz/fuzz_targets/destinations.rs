//! Destination computation (`wagon_core::containment`, the one place the installers compute
//! where a file lands): whatever a wheel entry name, an installed RECORD line, a console-script
//! line or a METADATA `Name` says, every destination accepted lies strictly inside one of the
//! environment's scheme roots, in plain components, and is never the interpreter, `pyvenv.cfg`
//! or a `.wagon-*` name at a root. Input: four fields separated by newlines.
#![no_main]

use std::path::{Component, Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use wagon_core::containment::{ContainmentError, Destination, Scheme, SchemeRoots};

fn venv() -> SchemeRoots {
    let v = Path::new("/fuzz/venv");
    let site = v.join("lib/python3.11/site-packages");
    SchemeRoots::new(
        &site,
        &site,
        &v.join("bin"),
        v,
        &v.join("include/site/python3.11"),
        &[v.join("bin/python3.11")],
    )
}

fn assert_inside(roots: &SchemeRoots, input: &str, result: Result<Destination, ContainmentError>) {
    let Ok(dest) = result else { return };
    let root: &PathBuf = &roots.roots()[dest.root];
    let relative = dest
        .path
        .strip_prefix(root)
        .unwrap_or_else(|_| panic!("{input:?} → {:?} is not below its root", dest.path));
    let parts: Vec<_> = relative.components().collect();
    assert!(!parts.is_empty(), "{input:?} → the root itself");
    for part in &parts {
        assert!(
            matches!(part, Component::Normal(_)),
            "{input:?} → {:?} has a {part:?} component",
            dest.path
        );
        let text = part.as_os_str().to_string_lossy();
        assert!(!text.contains(['\0', '\\']), "{input:?} → {:?}", dest.path);
    }
    let first = parts[0].as_os_str().to_string_lossy();
    assert!(!first.starts_with(".wagon-"), "{input:?} → {:?} is Wagon's", dest.path);
    let name = dest.path.file_name().unwrap_or_default().to_string_lossy();
    assert!(
        !(dest.path.parent() == Some(Path::new("/fuzz/venv/bin")) && name.starts_with("python") && name[6..].chars().all(|c| c.is_ascii_digit() || c == '.')),
        "{input:?} → {:?} replaces the interpreter",
        dest.path
    );
    assert_ne!(dest.path, Path::new("/fuzz/venv/pyvenv.cfg"), "{input:?}");
    // Accepted once, accepted again unchanged.
    assert_eq!(roots.contain(&dest.path).as_ref(), Ok(&dest), "{input:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.splitn(4, '\n');
    let entry = fields.next().unwrap_or_default();
    let record_line = fields.next().unwrap_or_default();
    let script_line = fields.next().unwrap_or_default();
    let name = fields.next().unwrap_or_default();
    let roots = venv();
    for scheme in [
        Scheme::Purelib,
        Scheme::Platlib,
        Scheme::Scripts,
        Scheme::Data,
        Scheme::Headers,
    ] {
        assert_inside(&roots, entry, roots.join(scheme, entry));
    }
    let base = roots.root(Scheme::Purelib).to_path_buf();
    assert_inside(&roots, record_line, roots.recorded(&base, record_line));
    let scripts = format!("[console_scripts]\n{script_line}\n");
    if let Ok(scripts) = wagon_core::entry_points::scripts(&scripts) {
        for script in scripts {
            assert_inside(&roots, script_line, roots.script(&script.name));
        }
    }
    let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n");
    if let Ok(parsed) = wagon_core::python::parse_core_metadata(metadata.as_bytes(), "fuzz") {
        assert_inside(&roots, name, roots.header(&parsed.display_name, entry));
    }
    assert_inside(&roots, name, roots.header(name, entry));
});
