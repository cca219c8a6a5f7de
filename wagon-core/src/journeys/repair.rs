//! The repair journey (`wagon repair`): the archive's `linux_*` wheels run through a
//! [`WheelRepairer`] (auditwheel) into `manylinux_*` wheels, and the archive rewritten around them —
//! `package.json` (wheel names, digests, platform tags, targets, name) and `pylock.toml` updated,
//! every other wheel and file carried over byte for byte.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::JourneyError;
use super::lock::files_in;
use super::read::{Unpacked, unpack_with};
use crate::archive::{
    Archive, ArchiveError, ArchiveLayout, FILES_DIR, OutputFormat, write_archive,
};
use crate::auditwheel::{ToolError, WheelRepairer};
use crate::manifest::{Manifest, ManifestError, WheelDigest};
use crate::naming::archive_name;
use crate::path_error::PathIoError;
use crate::pylock::{LOCK_FILE, LockError, PyLock};
use crate::python::{self, PlatformTag};
use crate::wheel::{WheelError, WheelInfo};

/// One wheel the repair replaced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub old: String,
    pub new: String,
}

/// What a repair found.
#[derive(Debug)]
pub enum Outcome {
    /// No wheel needed repair; the reason is a sentence for the user.
    NothingToRepair { reason: String },
    /// The repaired archive, ready to write.
    Repaired(Box<Repaired>),
}

/// A repaired archive in scratch: its new manifest and what changed, ready to be written.
#[derive(Debug)]
pub struct Repaired {
    pub changes: Vec<Change>,
    pub manifest: Manifest,
    layout: ArchiveLayout,
    // Kept alive: the layout points at wheels and files inside them.
    _unpacked: Unpacked,
    _repaired: crate::scratch::ScratchDir,
}

/// Why an archive could not be repaired.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error(transparent)]
    Journey(#[from] JourneyError),
    #[error(
        "{archive} is built for `{platform}`, not Linux: auditwheel repairs Linux wheels only. \
         Repair Linux archives only, or rebuild this one on its own platform."
    )]
    NotLinux { archive: String, platform: String },
    #[error("cannot repair {wheel}: {source}")]
    Tool {
        wheel: String,
        #[source]
        source: ToolError,
    },
    #[error(
        "auditwheel left {found} wheels for {wheel} where one was expected; nothing was \
         written. Check the auditwheel on PATH (or remove it, so that Wagon installs its own)."
    )]
    Output { wheel: String, found: usize },
    #[error(
        "auditwheel turned {old} into {new}, which is another project or version; nothing was \
         written. Check the auditwheel on PATH (or remove it, so that Wagon installs its own)."
    )]
    NotTheSameProject { old: String, new: String },
    #[error(
        "the repaired wheel {new} (from {old}) has the name of a wheel the archive already \
         holds; nothing was written. Remove one of the two from the archive and repair again."
    )]
    Clash { old: String, new: String },
    #[error(transparent)]
    Wheel(#[from] WheelError),
    #[error(transparent)]
    Io(#[from] PathIoError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("cannot create a scratch directory: {0}")]
    Scratch(#[source] std::io::Error),
}

impl Repaired {
    /// Writes the repaired archive to `destination` atomically (it may be the archive itself).
    pub fn write(&self, format: &OutputFormat, destination: &Path) -> Result<(), RepairError> {
        write_archive(&self.layout, format, destination)?;
        Ok(())
    }
}

/// Whether a wheel platform tag is a plain `linux_<arch>` one: built here, for this machine's
/// libraries only, and what auditwheel repairs.
fn is_plain_linux(tag: &PlatformTag) -> bool {
    matches!(tag, PlatformTag::Linux { .. })
}

/// Whether a platform tag is any Linux's (plain, manylinux, musllinux).
fn is_linux_family(tag: &PlatformTag) -> bool {
    tag.to_string().contains("linux")
}

/// Repairs `archive`'s `linux_*` wheels with `repairer`. Nothing is written: the result is
/// [`Repaired::write`]n by the caller, who chooses where.
pub fn repair(archive: &Archive, repairer: &dyn WheelRepairer) -> Result<Outcome, RepairError> {
    let unpacked = unpack_with(archive, true)?;
    let name = archive.path().display().to_string();
    let to_repair: Vec<&WheelInfo> = unpacked
        .wheels
        .iter()
        .filter(|w| w.filename.platform_tags().iter().any(is_plain_linux))
        .collect();
    if to_repair.is_empty() {
        return nothing_to_repair(&unpacked, name);
    }
    let work = crate::scratch::tempdir("wagon-repair-").map_err(RepairError::Scratch)?;
    let held: BTreeSet<&str> = unpacked
        .manifest
        .wheels
        .iter()
        .map(String::as_str)
        .collect();
    let mut repaired: Vec<(Change, WheelInfo, WheelDigest)> = Vec::new();
    for (index, wheel) in to_repair.iter().enumerate() {
        let out_dir = work.path().join(index.to_string());
        std::fs::create_dir_all(&out_dir).map_err(PathIoError::doing("create", &out_dir))?;
        tracing::info!("repairing {}", wheel.file_name);
        repairer
            .repair_wheel(&wheel.path, &out_dir)
            .map_err(|source| RepairError::Tool {
                wheel: wheel.file_name.clone(),
                source,
            })?;
        let new = only_wheel_in(&out_dir, &wheel.file_name)?;
        let info = WheelInfo::read(&new)?;
        if info.filename.name != wheel.filename.name
            || info.filename.version != wheel.filename.version
        {
            return Err(RepairError::NotTheSameProject {
                old: wheel.file_name.clone(),
                new: info.file_name,
            });
        }
        if held.contains(info.file_name.as_str()) {
            return Err(RepairError::Clash {
                old: wheel.file_name.clone(),
                new: info.file_name,
            });
        }
        let (sha256, size) =
            crate::wheel::sha256_file(&new).map_err(PathIoError::doing("read", &new))?;
        let change = Change {
            old: wheel.file_name.clone(),
            new: info.file_name.clone(),
        };
        repaired.push((change, info, WheelDigest { sha256, size }));
    }
    let wheels: Vec<WheelInfo> = unpacked
        .wheels
        .iter()
        .map(|w| {
            repaired
                .iter()
                .find(|(change, ..)| change.old == w.file_name)
                .map_or_else(|| w.clone(), |(_, info, _)| info.clone())
        })
        .collect();
    let manifest = updated_manifest(&unpacked.manifest, &unpacked.wheels, &wheels, &repaired);
    let lock = unpacked
        .lock
        .as_ref()
        .map(|lock| updated_lock(lock, &repaired));
    let top = unpacked.dir.path().join(&unpacked.top);
    let mut metadata_files = Vec::new();
    if let Some(lock) = &lock {
        metadata_files.push((LOCK_FILE.to_string(), lock.to_toml()?.into_bytes()));
    }
    let layout = ArchiveLayout {
        top: unpacked.top.clone(),
        manifest: manifest.to_json()?,
        metadata_files,
        wheels: wheels
            .iter()
            .map(|w| (w.file_name.clone(), w.path.clone()))
            .collect(),
        files: files_in(&top.join(FILES_DIR))?,
    };
    Ok(Outcome::Repaired(Box::new(Repaired {
        changes: repaired.into_iter().map(|(change, ..)| change).collect(),
        manifest,
        layout,
        _unpacked: unpacked,
        _repaired: work,
    })))
}

/// Why there is nothing to do — or, for an archive of another OS's wheels, the error.
fn nothing_to_repair(unpacked: &Unpacked, archive: String) -> Result<Outcome, RepairError> {
    let platform_tags: Vec<PlatformTag> = unpacked
        .wheels
        .iter()
        .flat_map(|w| w.filename.platform_tags().iter().cloned())
        .filter(|t| !t.is_any())
        .collect();
    let platform = &unpacked.manifest.supported_platform;
    if platform_tags.is_empty() && (platform == "any" || platform.contains("linux")) {
        return Ok(Outcome::NothingToRepair {
            reason: format!("{archive} holds only pure-Python wheels: nothing to repair"),
        });
    }
    if platform_tags.iter().all(is_linux_family) && platform.contains("linux") {
        return Ok(Outcome::NothingToRepair {
            reason: format!(
                "every platform wheel of {archive} is already manylinux or musllinux: nothing to \
                 repair"
            ),
        });
    }
    Err(RepairError::NotLinux {
        archive,
        platform: platform.clone(),
    })
}

/// The one wheel auditwheel wrote into `out_dir` for `wheel`.
fn only_wheel_in(out_dir: &Path, wheel: &str) -> Result<PathBuf, RepairError> {
    let entries = std::fs::read_dir(out_dir).map_err(PathIoError::doing("read", out_dir))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(PathIoError::doing("read", out_dir))?;
        found.push(entry.path());
    }
    match found.as_slice() {
        [one] if one.extension().is_some_and(|e| e == "whl") && one.is_file() => Ok(one.clone()),
        _ => Err(RepairError::Output {
            wheel: wheel.to_string(),
            found: found.len(),
        }),
    }
}

/// `manifest` with the repaired wheels: names, digests (when the archive records them), exact
/// platform tags, targets' wheel lists, and — unless it was overridden — `supported_platform`
/// and the archive name.
fn updated_manifest(
    manifest: &Manifest,
    old_wheels: &[WheelInfo],
    new_wheels: &[WheelInfo],
    repaired: &[(Change, WheelInfo, WheelDigest)],
) -> Manifest {
    let renamed = |file: &str| {
        repaired
            .iter()
            .find(|(change, ..)| change.old == file)
            .map_or_else(|| file.to_string(), |(change, ..)| change.new.clone())
    };
    let mut updated = manifest.clone();
    updated.wheels = manifest.wheels.iter().map(|w| renamed(w)).collect();
    updated.wheels.sort();
    if !manifest.wheel_digests.is_empty() {
        for (change, _, digest) in repaired {
            updated.wheel_digests.remove(&change.old);
            updated
                .wheel_digests
                .insert(change.new.clone(), digest.clone());
        }
    }
    if !manifest.platform_tags.is_empty() || manifest.wagon_format_version.is_some() {
        updated.platform_tags = new_wheels
            .iter()
            .flat_map(|w| python::platform_tags_of(&w.filename))
            .filter(|t| t != "any")
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    for target in &mut updated.targets {
        target.wheels = target.wheels.iter().map(|w| renamed(w)).collect();
    }
    if manifest.targets.is_empty() {
        // What create would have computed from the old wheels: if the archive says otherwise,
        // the user chose it (`--supported-platform`), and it stays.
        let computed = |wheels: &[WheelInfo]| {
            crate::pack::shared_platform(wheels).map(|p| p.supported_platform)
        };
        if let (Ok(old), Ok(new)) = (computed(old_wheels), computed(new_wheels))
            && old == manifest.supported_platform
        {
            updated.supported_platform = new;
        }
        let name_for = |platform: &str| {
            archive_name(
                &manifest.package_name,
                &manifest.package_version,
                manifest.package_build_tag.as_deref(),
                &manifest.supported_python_versions,
                platform,
            )
        };
        if manifest.archive_name == name_for(&manifest.supported_platform) {
            let platform = manylinux_platform(new_wheels)
                .unwrap_or_else(|| updated.supported_platform.clone());
            updated.archive_name = name_for(&platform);
        }
    }
    updated
}

/// The one manylinux platform every platform wheel fits, as wagon 1.0's repair named its
/// archives: `manylinux_X_Y_ARCH` with the highest glibc any wheel needs. `None` when a platform
/// wheel is not manylinux (musllinux, say) or the wheels are of several architectures.
fn manylinux_platform(wheels: &[WheelInfo]) -> Option<String> {
    let mut needed: Option<(u16, u16, String)> = None;
    for wheel in wheels {
        let tags = wheel.filename.platform_tags();
        if tags.iter().all(PlatformTag::is_any) {
            continue;
        }
        // The wheel installs where any of its tags fits: it needs the lowest glibc it names.
        let lowest = tags
            .iter()
            .map(manylinux_glibc)
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .min()?;
        match &needed {
            Some((.., arch)) if *arch != lowest.2 => return None,
            Some(current) if *current >= lowest => {}
            _ => needed = Some(lowest),
        }
    }
    needed.map(|(major, minor, arch)| format!("manylinux_{major}_{minor}_{arch}"))
}

/// A manylinux tag's glibc version and architecture (`manylinux2014_x86_64` is glibc 2.17).
fn manylinux_glibc(tag: &PlatformTag) -> Option<(u16, u16, String)> {
    let (major, minor, arch) = match tag {
        PlatformTag::Manylinux { major, minor, arch } => (*major, *minor, arch),
        PlatformTag::Manylinux1 { arch } => (2, 5, arch),
        PlatformTag::Manylinux2010 { arch } => (2, 12, arch),
        PlatformTag::Manylinux2014 { arch } => (2, 17, arch),
        _ => return None,
    };
    Some((major, minor, arch.to_string()))
}

/// `lock` naming the repaired wheels: file name, path, size and hash.
fn updated_lock(lock: &PyLock, repaired: &[(Change, WheelInfo, WheelDigest)]) -> PyLock {
    let mut updated = lock.clone();
    for wheel in updated
        .packages
        .iter_mut()
        .flat_map(|p| p.wheels.iter_mut())
    {
        let Some((change, _, digest)) = wheel
            .file_name()
            .and_then(|file| repaired.iter().find(|(change, ..)| change.old == file))
        else {
            continue;
        };
        if wheel.name.is_some() {
            wheel.name = Some(change.new.clone());
        }
        if let Some(path) = &wheel.path {
            let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
            wheel.path = Some(if folder.is_empty() {
                change.new.clone()
            } else {
                format!("{folder}/{}", change.new)
            });
        }
        wheel.size = Some(digest.size);
        wheel.hashes = [("sha256".to_string(), digest.sha256.clone())].into();
    }
    updated
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use wagon_test_support::wheel::WheelBuilder;

    use super::*;
    use crate::archive::Limits;
    use crate::pack::{PackRequest, prepare};
    use crate::plugin::Registry;

    const REPAIRED_TAG: &str = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64";

    /// Stands in for auditwheel: writes `fast 2.0` tagged `tag`, counting its calls, or fails.
    struct FakeRepairer {
        tag: &'static str,
        fail: bool,
        calls: Cell<usize>,
    }

    impl FakeRepairer {
        fn new(tag: &'static str) -> Self {
            Self {
                tag,
                fail: false,
                calls: Cell::new(0),
            }
        }
    }

    impl WheelRepairer for FakeRepairer {
        fn repair_wheel(&self, _wheel: &Path, out_dir: &Path) -> Result<(), ToolError> {
            self.calls.set(self.calls.get() + 1);
            if self.fail {
                return Err(ToolError::Failed {
                    command: "auditwheel repair".to_string(),
                    status: "exit status: 1".to_string(),
                    tail: "  cannot repair".to_string(),
                });
            }
            WheelBuilder::new("fast", "2.0")
                .tag(self.tag)
                .module("fast", "REPAIRED = True\n")
                .build(out_dir);
            Ok(())
        }
    }

    /// A zip archive of `demo-app` (pure) and `fast 2.0` tagged `fast_tag`, with its lock.
    fn archive_with(dir: &Path, fast_tag: &str) -> Archive {
        let wheels = vec![
            WheelBuilder::new("demo-app", "1.0")
                .module("demo_app", "")
                .requires_dist("fast")
                .build(dir),
            WheelBuilder::new("fast", "2.0")
                .tag(fast_tag)
                .module("fast", "")
                .build(dir),
        ];
        let request = PackRequest {
            package_name: "demo-app".to_string(),
            package_version: "1.0".to_string(),
            python_tags: vec!["py311".to_string()],
            source: "demo-app".to_string(),
            wheels,
            ..PackRequest::default()
        };
        let mut prepared = prepare(&request).unwrap();
        if let Ok(lock) = PyLock::for_environment(
            &prepared.manifest,
            &prepared.wheels,
            &[],
            &crate::testing::linux(),
        ) {
            prepared
                .layout
                .metadata_files
                .push((LOCK_FILE.to_string(), lock.to_toml().unwrap().into_bytes()));
        }
        let path = dir.join("demo.zip.wgn");
        write_archive(&prepared.layout, &OutputFormat::Zip, &path).unwrap();
        Archive::open(&path, &Registry::new(), Limits::default()).unwrap()
    }

    #[test]
    fn linux_wheels_are_replaced_and_the_metadata_follows() {
        let dir = tempfile::tempdir().unwrap();
        let archive = archive_with(dir.path(), "cp311-cp311-linux_x86_64");
        let before = std::fs::read(archive.path()).unwrap();
        let fake = FakeRepairer::new(REPAIRED_TAG);
        let Outcome::Repaired(repaired) = repair(&archive, &fake).unwrap() else {
            panic!("nothing repaired");
        };
        let new = "fast-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
        assert_eq!(
            repaired.changes,
            [Change {
                old: "fast-2.0-cp311-cp311-linux_x86_64.whl".to_string(),
                new: new.to_string()
            }]
        );
        let manifest = &repaired.manifest;
        assert_eq!(manifest.wheels, ["demo_app-1.0-py3-none-any.whl", new]);
        assert_eq!(
            manifest.platform_tags,
            ["manylinux2014_x86_64", "manylinux_2_17_x86_64"]
        );
        // Wagon 1.0's installer compares this with sysconfig: it stays the Linux name.
        assert_eq!(manifest.supported_platform, "linux_x86_64");
        assert_eq!(
            manifest.archive_name,
            "demo_app-1.0-py311-none-manylinux_2_17_x86_64.wgn"
        );
        assert!(
            !manifest
                .wheel_digests
                .contains_key(&repaired.changes[0].old)
        );

        // Written, the archive reads back whole: digests and lock agree with the new wheel.
        let out = dir.path().join("repaired.zip.wgn");
        repaired.write(&OutputFormat::Zip, &out).unwrap();
        let reread = Archive::open(&out, &Registry::new(), Limits::default()).unwrap();
        let unpacked = super::super::read::unpack(&reread).unwrap();
        assert_eq!(&unpacked.manifest, manifest);
        let lock = unpacked.lock.expect("the lock is carried over");
        let named: Vec<_> = lock
            .packages
            .iter()
            .flat_map(|p| &p.wheels)
            .filter_map(|w| w.file_name())
            .collect();
        assert!(named.contains(&new), "{named:?}");
        // The original is untouched.
        assert_eq!(std::fs::read(archive.path()).unwrap(), before);
    }

    #[test]
    fn nothing_to_repair_runs_no_tool() {
        let dir = tempfile::tempdir().unwrap();
        let archive = archive_with(dir.path(), REPAIRED_TAG);
        let fake = FakeRepairer::new(REPAIRED_TAG);
        match repair(&archive, &fake).unwrap() {
            Outcome::NothingToRepair { reason } => {
                assert!(reason.contains("already manylinux"), "{reason}")
            }
            Outcome::Repaired(_) => panic!("repaired a manylinux archive"),
        }
        assert_eq!(fake.calls.get(), 0);
    }

    #[test]
    fn other_platforms_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let archive = archive_with(dir.path(), "cp311-cp311-win_amd64");
        let fake = FakeRepairer::new(REPAIRED_TAG);
        match repair(&archive, &fake) {
            Err(RepairError::NotLinux { platform, .. }) => assert_eq!(platform, "win_amd64"),
            other => panic!("{other:?}"),
        }
        assert_eq!(fake.calls.get(), 0);
    }

    #[test]
    fn a_tool_failure_names_the_wheel() {
        let dir = tempfile::tempdir().unwrap();
        let archive = archive_with(dir.path(), "cp311-cp311-linux_x86_64");
        let mut fake = FakeRepairer::new(REPAIRED_TAG);
        fake.fail = true;
        let err = repair(&archive, &fake).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("cannot repair fast-2.0-cp311-cp311-linux_x86_64.whl"),
            "{message}"
        );
        assert!(message.contains("`auditwheel repair` exited"), "{message}");
    }

    #[test]
    fn a_tool_making_another_project_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wheels = dir.path().join("in");
        std::fs::create_dir_all(&wheels).unwrap();
        let archive = archive_with(&wheels, "cp311-cp311-linux_x86_64");
        struct Impostor;
        impl WheelRepairer for Impostor {
            fn repair_wheel(&self, _: &Path, out_dir: &Path) -> Result<(), ToolError> {
                WheelBuilder::new("evil", "2.0")
                    .tag(REPAIRED_TAG)
                    .build(out_dir);
                Ok(())
            }
        }
        assert!(matches!(
            repair(&archive, &Impostor),
            Err(RepairError::NotTheSameProject { .. })
        ));
    }

    #[test]
    fn the_archive_is_named_for_the_highest_glibc_any_wheel_needs() {
        let wheel = |tags: &str| {
            crate::testing::wheel_file(&format!("w-1.0-cp311-cp311-{tags}.whl"), "w", &[], None)
        };
        let pure = crate::testing::wheel("p", "1.0", &[]);
        assert_eq!(
            manylinux_platform(&[
                pure.clone(),
                wheel("manylinux1_x86_64.manylinux_2_5_x86_64"),
                wheel("manylinux_2_28_x86_64"),
                wheel("manylinux2014_x86_64"),
            ])
            .as_deref(),
            Some("manylinux_2_28_x86_64")
        );
        assert_eq!(manylinux_platform(std::slice::from_ref(&pure)), None);
        assert_eq!(
            manylinux_platform(&[
                wheel("manylinux_2_17_x86_64"),
                wheel("musllinux_1_2_x86_64")
            ]),
            None
        );
        assert_eq!(
            manylinux_platform(&[
                wheel("manylinux_2_17_x86_64"),
                wheel("manylinux_2_17_aarch64")
            ]),
            None
        );
    }
}
