//! A wheel's contents as an installer sees them: the zip checked before any entry is read, its
//! one `.dist-info` folder, its `WHEEL`, `METADATA` and `RECORD`, and where each entry lands
//! (through [`crate::containment`]). Both installers go through here: the unpack installer
//! while it streams files into place, the pip installer's pre-check before pip sees a wheel.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::archive::safety::{EntryPath, safe_relative_path};
use crate::archive::zip_check;
use crate::containment::{Destination, Scheme, SchemeRoots};
use crate::entry_points::{self, Script};
use crate::python::{self, CoreMetadata, WheelFilename};
use crate::record::{self, Expected};

/// The largest `WHEEL`, `METADATA`, `RECORD` or `entry_points.txt` read.
const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

/// Why a wheel is refused; the message names the entry.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refused(message: impl Into<String>) -> Refused {
    Refused(message.into())
}

/// What an installer does with one entry of the wheel.
#[derive(Debug)]
pub enum EntryRole {
    /// Install it at `dest`, checking it against `expected` (none only for signatures).
    Install {
        dest: Destination,
        is_script: bool,
        expected: Option<Expected>,
    },
    /// The wheel's RECORD, INSTALLER or REQUESTED: the installer writes its own.
    Replaced,
    /// A `.data/<scheme>/` folder entry with no file part.
    Skip,
}

/// An opened, checked wheel: its zip, and what was read out of it.
pub struct WheelContents {
    pub zip: zip::ZipArchive<BufReader<File>>,
    pub facts: WheelFacts,
}

/// What opening a wheel read and checked: everything but the zip itself.
pub struct WheelFacts {
    pub file_name: String,
    pub filename: WheelFilename,
    /// `{name}-{version}.dist-info`, as the wheel spells it.
    pub dist_info: String,
    pub root_is_purelib: bool,
    pub metadata: CoreMetadata,
    record: HashMap<String, Option<Expected>>,
    data_dir: String,
}

impl WheelContents {
    /// Opens the wheel at `path`: its zip checked (names unique, entries disjoint, sizes
    /// plausible and within `max_unpacked` bytes), exactly one `.dist-info` folder naming this
    /// project, `Wheel-Version` 1.x, and METADATA agreeing with the file name.
    pub fn open(path: &Path, max_unpacked: u64) -> Result<Self, Refused> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let filename =
            python::parse_wheel_filename(&file_name).map_err(|e| refused(e.to_string()))?;
        let mut zip = zip_check::open(path, max_unpacked).map_err(|e| refused(e.to_string()))?;
        let dist_info = single_dist_info(zip.file_names(), &filename)?;
        let wheel_meta = read_small(&mut zip, &format!("{dist_info}/WHEEL"))?;
        let root_is_purelib = check_wheel_file(&String::from_utf8_lossy(&wheel_meta))?;
        let metadata_name = format!("{dist_info}/METADATA");
        let metadata = python::parse_core_metadata(
            &read_small(&mut zip, &metadata_name)?,
            &format!("{file_name}/{metadata_name}"),
        )
        .map_err(|e| refused(e.to_string()))?;
        if metadata.name != filename.name || metadata.version != filename.version {
            return Err(refused(format!(
                "its METADATA says {} {}, but its file name says {} {}",
                metadata.name, metadata.version, filename.name, filename.version
            )));
        }
        let record = record::parse(&read_small(&mut zip, &format!("{dist_info}/RECORD"))?)
            .map_err(refused)?;
        let data_dir = format!("{}.data", dist_info.trim_end_matches(".dist-info"));
        Ok(Self {
            zip,
            facts: WheelFacts {
                file_name,
                filename,
                dist_info,
                root_is_purelib,
                metadata,
                record,
                data_dir,
            },
        })
    }

    /// The console and GUI scripts of `entry_points.txt`, each checked, with its destination.
    pub fn scripts(&mut self, roots: &SchemeRoots) -> Result<Vec<(Script, Destination)>, Refused> {
        let name = format!("{}/entry_points.txt", self.facts.dist_info);
        if self.zip.index_for_name(&name).is_none() {
            return Ok(Vec::new());
        }
        let text = read_small(&mut self.zip, &name)?;
        entry_points::scripts(&String::from_utf8_lossy(&text))
            .map_err(|e| refused(e.to_string()))?
            .into_iter()
            .map(|script| {
                let dest = roots
                    .script(&script.name)
                    .map_err(|e| refused(format!("console script: {e}")))?;
                Ok((script, dest))
            })
            .collect()
    }

    /// Checks every entry against the RECORD and `roots`, reading each at most to its declared
    /// size: what the pip installer runs before handing the wheel to pip, which checks neither.
    /// Returns where the wheel's files would land.
    pub fn verify(mut self, roots: &SchemeRoots) -> Result<Vec<PathBuf>, Refused> {
        let scripts = self.scripts(roots)?;
        let mut buffer = vec![0u8; 64 * 1024];
        let mut destinations = std::collections::HashSet::new();
        for index in 0..self.zip.len() {
            let mut entry = self
                .zip
                .by_index(index)
                .map_err(|e| refused(format!("entry {index}: {e}")))?;
            if entry.is_dir() {
                continue;
            }
            let path = WheelFacts::entry_path(entry.name_raw())?;
            let size = entry.size();
            let role = self.facts.role(&path, size, roots)?;
            let EntryRole::Install { dest, expected, .. } = role else {
                continue;
            };
            // pip follows links in the environment; Wagon does not let it.
            roots
                .check_no_links(&dest)
                .map_err(|e| refused(format!("{path}: {e}")))?;
            if !destinations.insert(dest.path.clone()) {
                return Err(refused(format!(
                    "two entries install to {}",
                    dest.path.display()
                )));
            }
            let Some(expected) = expected else { continue };
            let mut hasher = record::Hasher::new(&expected.algorithm).ok_or_else(|| {
                refused(format!(
                    "RECORD uses unknown hash `{}` for {path}",
                    expected.algorithm
                ))
            })?;
            let mut reader = zip_check::Exact::new(&mut entry, size, path.as_str());
            loop {
                let read = reader
                    .read(&mut buffer)
                    .map_err(|e| refused(format!("{path} cannot be read: {e}")))?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
            if hasher.finish() != expected.digest {
                return Err(refused(format!(
                    "{path} does not match the wheel's RECORD: the wheel is damaged or was altered"
                )));
            }
        }
        destinations.extend(scripts.into_iter().map(|(_, dest)| dest.path));
        Ok(destinations.into_iter().collect())
    }
}

impl WheelFacts {
    /// The entry's checked name, from its raw bytes.
    pub fn entry_path(raw: &[u8]) -> Result<EntryPath, Refused> {
        safe_relative_path(raw).map_err(|why| {
            refused(format!(
                "entry `{}` is unsafe: {why}",
                String::from_utf8_lossy(raw).escape_debug()
            ))
        })
    }

    /// What to do with the entry `path` of `zip_size` bytes when installing into `roots`.
    pub fn role(
        &self,
        path: &EntryPath,
        zip_size: u64,
        roots: &SchemeRoots,
    ) -> Result<EntryRole, Refused> {
        let path = path.as_str();
        let in_dist_info = |name: &str| path == format!("{}/{name}", self.dist_info);
        if in_dist_info("RECORD") || in_dist_info("INSTALLER") || in_dist_info("REQUESTED") {
            return Ok(EntryRole::Replaced);
        }
        let is_signature = in_dist_info("RECORD.jws") || in_dist_info("RECORD.p7s");
        let expected = match self.record.get(path) {
            Some(Some(expected)) => Some(expected.clone()),
            Some(None) | None if is_signature => None,
            Some(None) => return Err(refused(format!("RECORD lists {path} without a hash"))),
            None => {
                return Err(refused(format!(
                    "{path} is in the wheel but not in its RECORD"
                )));
            }
        };
        if let Some(size) = expected.as_ref().and_then(|e| e.size)
            && size != zip_size
        {
            return Err(refused(format!(
                "{path} does not match the wheel's RECORD (its zip header says {zip_size} \
                 bytes, RECORD {size}): the wheel is damaged or was altered"
            )));
        }
        let contained = |e: crate::containment::ContainmentError| refused(format!("{path}: {e}"));
        let Some(rest) = path
            .strip_prefix(self.data_dir.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            let lib = if self.root_is_purelib {
                Scheme::Purelib
            } else {
                Scheme::Platlib
            };
            let dest = roots.join(lib, path).map_err(contained)?;
            self.no_foreign_metadata(path, &dest, roots)?;
            return Ok(EntryRole::Install {
                dest,
                is_script: false,
                expected,
            });
        };
        let (folder, inner) = rest.split_once('/').unwrap_or((rest, ""));
        if inner.is_empty() {
            return Ok(EntryRole::Skip);
        }
        let scheme = Scheme::from_data_folder(folder).ok_or_else(|| {
            refused(format!(
                "{path} is in an unknown scheme `{folder}` (expected purelib, platlib, headers, \
                 scripts or data)"
            ))
        })?;
        let dest = match scheme {
            Scheme::Headers => roots.header(&self.metadata.display_name, inner),
            _ => roots.join(scheme, inner),
        }
        .map_err(contained)?;
        self.no_foreign_metadata(path, &dest, roots)?;
        Ok(EntryRole::Install {
            dest,
            is_script: scheme == Scheme::Scripts,
            expected,
        })
    }

    /// Refuses a file landing in another project's metadata folder at the top of a library
    /// root (`other-1.0.dist-info/RECORD`, through `.data/purelib` too): an installer would later
    /// trust it when replacing that project. Vendored copies deeper down are fine.
    fn no_foreign_metadata(
        &self,
        path: &str,
        dest: &Destination,
        roots: &SchemeRoots,
    ) -> Result<(), Refused> {
        for lib in [Scheme::Purelib, Scheme::Platlib] {
            let Ok(relative) = dest.path.strip_prefix(roots.root(lib)) else {
                continue;
            };
            let first = relative
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            let metadata = first.ends_with(".dist-info") || first.ends_with(".egg-info");
            if metadata && first != self.dist_info.to_ascii_lowercase() {
                return Err(refused(format!(
                    "{path} lands in {first}, another project's metadata folder; a wheel has \
                     exactly one .dist-info folder"
                )));
            }
        }
        Ok(())
    }

    /// The folder the wheel's `.dist-info` is installed into.
    pub fn lib_scheme(&self) -> Scheme {
        if self.root_is_purelib {
            Scheme::Purelib
        } else {
            Scheme::Platlib
        }
    }
}

/// The first file of one wheel that would land where another file of the same install needs a
/// folder (`wheels` holds each wheel's name and destinations), as a message.
pub fn file_over_folder(wheels: &[(String, Vec<PathBuf>)]) -> Option<String> {
    let files: HashMap<&Path, &str> = wheels
        .iter()
        .flat_map(|(name, files)| files.iter().map(move |f| (f.as_path(), name.as_str())))
        .collect();
    wheels.iter().find_map(|(name, dests)| {
        dests.iter().find_map(|dest| {
            dest.ancestors().skip(1).find_map(|dir| {
                files.get(dir).map(|owner| {
                    format!(
                        "{owner}: {} is a folder of another wheel of this install ({name}); a \
                         file cannot replace it",
                        dir.display()
                    )
                })
            })
        })
    })
}

/// The wheel's one top-level `.dist-info` folder, which must name its project. Two would let a
/// wheel plant another project's RECORD (and so steer that project's later uninstall).
fn single_dist_info<'a>(
    entries: impl Iterator<Item = &'a str>,
    filename: &WheelFilename,
) -> Result<String, Refused> {
    let mut found: Vec<&str> = entries
        .filter_map(|entry| entry.split('/').next().filter(|_| entry.contains('/')))
        .filter(|top| top.ends_with(".dist-info"))
        .collect();
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [one] => {
            let named = crate::wheel::dist_info_dir(
                std::iter::once(format!("{one}/x").as_str()),
                &filename.name,
                "x",
            );
            named.ok_or_else(|| {
                refused(format!(
                    "its .dist-info folder `{one}` is not for {}",
                    filename.name
                ))
            })
        }
        [] => Err(refused(format!(
            "it has no {}-{}.dist-info folder",
            filename.name.as_dist_info_name(),
            filename.version
        ))),
        many => Err(refused(format!(
            "it has {} .dist-info folders ({}); a wheel has exactly one",
            many.len(),
            many.join(", ")
        ))),
    }
}

fn read_small<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<u8>, Refused> {
    let mut entry = zip
        .by_name(name)
        .map_err(|_| refused(format!("{name} is missing")))?;
    let mut bytes = Vec::new();
    (&mut entry)
        .take(MAX_METADATA_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| refused(format!("{name} cannot be read: {e}")))?;
    Ok(bytes)
}

/// Checks `Wheel-Version` (major 1) and returns `Root-Is-Purelib`.
fn check_wheel_file(text: &str) -> Result<bool, Refused> {
    let field = |key: &str| {
        text.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim().to_string())
        })
    };
    let version = field("Wheel-Version").ok_or_else(|| refused("WHEEL has no Wheel-Version"))?;
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if major != Some(1) {
        return Err(refused(format!(
            "Wheel-Version {version} is not supported (Wagon installs 1.x)"
        )));
    }
    if version != "1.0" {
        tracing::warn!("Wheel-Version {version} is newer than 1.0; installing anyway");
    }
    Ok(field("Root-Is-Purelib").is_some_and(|v| v.eq_ignore_ascii_case("true")))
}
