//! Deciding a commit before it starts: which old files go aside, which folders are created,
//! and what moves where — the record the journal keeps.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::UnpackError;
use crate::installed::{self, Installed};
use crate::layout::Layout;
use crate::unpack::{StagedFile, StagedWheel};

/// Everything the commit will do, decided before it starts and journaled first, so that an
/// install killed at any point can be undone by the next one ([`crate::recovery`]).
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitPlan {
    /// The staging folder (in site-packages) the staged files and the trash live in.
    pub(crate) staging: PathBuf,
    /// Files moved into the trash: old versions' files, and files a new one replaces.
    pub(crate) set_aside: Vec<(PathBuf, PathBuf)>,
    /// Folders to create, parents first.
    pub(crate) created_dirs: Vec<PathBuf>,
    /// Staged files (or whole staged folders) moved to their destinations.
    pub(crate) place: Vec<(PathBuf, PathBuf)>,
}

/// The folders strictly between `root` and `dest`, deepest first.
fn folders_below<'a>(dest: &'a Path, root: &'a Path) -> impl Iterator<Item = &'a Path> + 'a {
    dest.ancestors()
        .skip(1)
        .take_while(move |dir| *dir != root && dir.starts_with(root))
}

/// What stands at a path, as far as the commit cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Nothing,
    Folder,
    /// A file, or anything else that is not a folder.
    File,
    /// A symbolic link: never written through.
    Link,
}

fn found(path: &Path) -> Found {
    match path.symlink_metadata() {
        Err(_) => Found::Nothing,
        Ok(meta) if meta.file_type().is_symlink() => Found::Link,
        Ok(meta) if meta.is_dir() => Found::Folder,
        Ok(_) => Found::File,
    }
}

/// What stands at each folder the commit touches, asking the file system once per folder.
#[derive(Default)]
struct Folders {
    known: HashMap<PathBuf, Found>,
}

impl Folders {
    fn found(&mut self, dir: &Path) -> Found {
        *self
            .known
            .entry(dir.to_path_buf())
            .or_insert_with(|| found(dir))
    }

    fn create(&mut self, plan: &mut CommitPlan, dir: &Path) {
        if self.found(dir) != Found::Folder {
            plan.created_dirs.push(dir.to_path_buf());
            self.known.insert(dir.to_path_buf(), Found::Folder);
        }
    }

    /// Plans `dir` and its missing parents, parents first.
    fn create_missing(&mut self, plan: &mut CommitPlan, dir: &Path) {
        let missing: Vec<&Path> = dir
            .ancestors()
            .take_while(|d| self.found(d) == Found::Nothing)
            .collect();
        for dir in missing.into_iter().rev() {
            self.create(plan, dir);
        }
    }
}

impl CommitPlan {
    /// Plans the commit. A folder the environment lacks and only one wheel fills moves into
    /// place whole, in one rename; elsewhere (existing folders, folders shared by several wheels)
    /// files move one by one, and whatever file already sits at a destination is set aside
    /// first. A file never replaces a folder, nor a folder a file, unless what is replaced
    /// belongs to a version being replaced; nothing is placed through a link.
    pub fn new(
        layout: &Layout,
        staged: &[StagedWheel],
        installed: &BTreeMap<String, Installed>,
        staging: &Path,
    ) -> Result<Self, UnpackError> {
        let roots = layout.roots.roots();
        let mut planner = Planner {
            plan: Self {
                staging: staging.to_path_buf(),
                ..Self::default()
            },
            roots,
            trash: staging.join("trash"),
            aside: BTreeSet::new(),
            replaced: HashSet::new(),
            owners: folder_owners(staged, roots),
            dirs: Folders::default(),
            moved: HashSet::new(),
        };
        planner.set_aside_old_versions(layout, staged, installed)?;
        planner.create_missing_roots(staged);
        for (index, wheel) in staged.iter().enumerate() {
            for file in &wheel.files {
                planner.place_file(index, wheel, file)?;
            }
        }
        Ok(planner.plan)
    }
}

/// The wheel (by index in `staged`) filling each folder below a root, or `None` when several
/// share it.
fn folder_owners<'a>(
    staged: &'a [StagedWheel],
    roots: &'a [PathBuf],
) -> HashMap<&'a Path, Option<usize>> {
    let mut owners: HashMap<&Path, Option<usize>> = HashMap::new();
    for (index, wheel) in staged.iter().enumerate() {
        for file in &wheel.files {
            for dir in folders_below(&file.dest, &roots[file.root]) {
                owners
                    .entry(dir)
                    .and_modify(|owner| {
                        if *owner != Some(index) {
                            *owner = None;
                        }
                    })
                    .or_insert(Some(index));
            }
        }
    }
    owners
}

/// A commit plan being decided, and what deciding it remembers along the way.
struct Planner<'a> {
    plan: CommitPlan,
    roots: &'a [PathBuf],
    trash: PathBuf,
    /// Everything set aside so far, so that nothing is set aside twice.
    aside: BTreeSet<PathBuf>,
    /// The files of the versions being replaced.
    replaced: HashSet<PathBuf>,
    owners: HashMap<&'a Path, Option<usize>>,
    dirs: Folders,
    /// The folders planned to move into place whole.
    moved: HashSet<&'a Path>,
}

impl<'a> Planner<'a> {
    /// Plans `file` to go into the trash, once, under the next free number.
    fn set_aside(&mut self, file: PathBuf) {
        if self.aside.insert(file.clone()) {
            let kept = self.trash.join(self.plan.set_aside.len().to_string());
            self.plan.set_aside.push((file, kept));
        }
    }

    /// Sets aside every file of the installed versions the staged wheels replace, and
    /// remembers them as replaceable.
    fn set_aside_old_versions(
        &mut self,
        layout: &Layout,
        staged: &[StagedWheel],
        installed: &BTreeMap<String, Installed>,
    ) -> Result<(), UnpackError> {
        for wheel in staged {
            if let Some(old) = installed.get(wheel.name.as_str()) {
                tracing::info!("replacing {} {}", wheel.name, old.version);
                for file in installed::files(layout, old)? {
                    self.set_aside(file);
                }
            }
        }
        self.replaced = self.plan.set_aside.iter().map(|(f, _)| f.clone()).collect();
        Ok(())
    }

    /// Plans every root a staged file goes into, and its missing parents, to be created.
    fn create_missing_roots(&mut self, staged: &[StagedWheel]) {
        let used_roots: BTreeSet<usize> = staged
            .iter()
            .flat_map(|w| &w.files)
            .map(|f| f.root)
            .collect();
        for root in used_roots {
            self.dirs.create_missing(&mut self.plan, &self.roots[root]);
        }
    }

    /// Plans `file` of the `index`th wheel into place: inside a folder that moves whole, or on
    /// its own, after whatever file stands at its destination is set aside.
    fn place_file(
        &mut self,
        index: usize,
        wheel: &StagedWheel,
        file: &'a StagedFile,
    ) -> Result<(), UnpackError> {
        if self.place_folders(index, wheel, file)? {
            return Ok(());
        }
        if self.owners.contains_key(file.dest.as_path()) {
            return Err(conflict(
                wheel,
                format!(
                    "{} is a folder of another wheel of this install; a file cannot \
                     replace it",
                    file.dest.display()
                ),
            ));
        }
        match found(&file.dest) {
            Found::Nothing => {}
            Found::Folder => {
                return Err(conflict(
                    wheel,
                    format!(
                        "{} is a folder in the environment; a file cannot replace it",
                        file.dest.display()
                    ),
                ));
            }
            Found::File | Found::Link => self.set_aside(file.dest.clone()),
        }
        self.plan
            .place
            .push((file.staged.clone(), file.dest.clone()));
        Ok(())
    }

    /// Checks the folders between `file`'s root and `file` top-down, planning each one
    /// missing to be created, until the first that is new and this wheel's alone: that one is
    /// planned to move whole. Returns whether `file` is placed already, inside a folder that
    /// moves whole.
    fn place_folders(
        &mut self,
        index: usize,
        wheel: &StagedWheel,
        file: &'a StagedFile,
    ) -> Result<bool, UnpackError> {
        let below: Vec<&Path> = folders_below(&file.dest, &self.roots[file.root]).collect();
        for (depth, dir) in below.iter().rev().enumerate() {
            if self.moved.contains(dir) {
                return Ok(true);
            }
            match self.dirs.found(dir) {
                Found::Folder => continue,
                Found::Link => {
                    return Err(conflict(
                        wheel,
                        format!(
                            "{} lies below {}, a symbolic link: Wagon does not install \
                             through links in an environment",
                            file.dest.display(),
                            dir.display()
                        ),
                    ));
                }
                Found::File if !self.replaced.contains(*dir) => {
                    return Err(conflict(
                        wheel,
                        format!(
                            "{} needs a folder at {}, where a file of another project \
                             stands",
                            file.dest.display(),
                            dir.display()
                        ),
                    ));
                }
                Found::File | Found::Nothing => {}
            }
            if self.owners.get(dir) == Some(&Some(index)) {
                // `staged` mirrors `dest` below the root: the folder's staged twin is
                // as many levels above the staged file as `dir` is above `dest`.
                let levels = below.len() - depth;
                let Some(twin) = file.staged.ancestors().nth(levels) else {
                    return Ok(false);
                };
                self.plan
                    .place
                    .push((twin.to_path_buf(), dir.to_path_buf()));
                self.moved.insert(dir);
                return Ok(true);
            }
            self.dirs.create(&mut self.plan, dir);
        }
        Ok(false)
    }
}

/// An error naming the staged wheel that cannot be placed.
fn conflict(wheel: &StagedWheel, message: String) -> UnpackError {
    UnpackError::wheel(&format!("{} {}", wheel.name, wheel.version), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::installed;
    use crate::testing::Env;

    fn plan(env: &Env, staged: &[StagedWheel], staging: &Path) -> Result<CommitPlan, String> {
        let installed = installed::scan(&env.layout);
        CommitPlan::new(&env.layout, staged, &installed, staging).map_err(|e| e.to_string())
    }

    #[test]
    fn a_folder_the_environment_lacks_moves_in_one_rename() {
        let env = Env::new();
        let staging = env.staging();
        let staged = env.stage(
            &staging,
            0,
            "demo",
            "1.0",
            &[
                ("demo/__init__.py", "v1"),
                ("demo/sub/x.py", "x"),
                ("demo-1.0.dist-info/RECORD", ""),
            ],
        );
        let plan = plan(&env, &[staged], &staging).unwrap();
        let twin = |name: &str| staging.join("0/0").join(name);
        assert_eq!(
            plan.place,
            vec![
                (twin("demo"), env.site.join("demo")),
                (
                    twin("demo-1.0.dist-info"),
                    env.site.join("demo-1.0.dist-info")
                ),
            ],
            "each new folder is one rename, not one per file"
        );
        assert!(plan.created_dirs.is_empty());
        assert!(plan.set_aside.is_empty());
    }

    #[test]
    fn files_move_one_by_one_into_an_existing_folder_and_replace_what_stands_there() {
        let env = Env::new();
        env.write("shared/keep.py", "kept");
        env.write("shared/x.py", "old x");
        let staging = env.staging();
        let staged = env.stage(
            &staging,
            0,
            "demo",
            "1.0",
            &[("shared/x.py", "new x"), ("shared/new.py", "new")],
        );
        let plan = plan(&env, &[staged], &staging).unwrap();
        assert_eq!(
            plan.place,
            vec![
                (
                    staging.join("0/0/shared/x.py"),
                    env.site.join("shared/x.py")
                ),
                (
                    staging.join("0/0/shared/new.py"),
                    env.site.join("shared/new.py")
                ),
            ]
        );
        assert_eq!(
            plan.set_aside,
            vec![(env.site.join("shared/x.py"), staging.join("trash/0"))],
            "the file a new one replaces goes to the trash first"
        );
    }

    #[test]
    fn a_new_folder_two_wheels_share_is_created_and_filled_file_by_file() {
        let env = Env::new();
        let staging = env.staging();
        let a = env.stage(&staging, 0, "a", "1.0", &[("ns/a/__init__.py", "a")]);
        let b = env.stage(&staging, 1, "b", "1.0", &[("ns/b/__init__.py", "b")]);
        let plan = plan(&env, &[a, b], &staging).unwrap();
        assert_eq!(plan.created_dirs, vec![env.site.join("ns")]);
        assert_eq!(
            plan.place,
            vec![
                (staging.join("0/0/ns/a"), env.site.join("ns/a")),
                (staging.join("1/0/ns/b"), env.site.join("ns/b")),
            ],
            "below the shared folder, each wheel's own folder still moves whole"
        );
    }

    #[test]
    fn a_file_never_replaces_a_folder() {
        let env = Env::new();
        env.write("demo/inside.py", "");
        let staging = env.staging();
        let staged = env.stage(&staging, 0, "demo", "1.0", &[("demo", "a file")]);
        let err = plan(&env, &[staged], &staging).unwrap_err();
        assert!(err.contains("is a folder in the environment"), "{err}");

        // Nor a folder another wheel of the same install brings.
        let a = env.stage(&staging, 1, "a", "1.0", &[("thing", "a file")]);
        let b = env.stage(&staging, 2, "b", "1.0", &[("thing/y.py", "")]);
        let err = plan(&env, &[b, a], &staging).unwrap_err();
        assert!(err.contains("is a folder of another wheel"), "{err}");
        assert_eq!(env.read("demo/inside.py").as_deref(), Some(""));
    }

    #[test]
    fn a_folder_never_replaces_another_projects_file() {
        let env = Env::new();
        env.write("demo", "someone's file");
        let staging = env.staging();
        let staged = env.stage(&staging, 0, "demo", "1.0", &[("demo/__init__.py", "")]);
        let err = plan(&env, &[staged], &staging).unwrap_err();
        assert!(
            err.contains("where a file of another project stands"),
            "{err}"
        );
    }

    #[test]
    fn a_folder_replaces_a_file_of_the_version_it_replaces() {
        let env = Env::new();
        env.install("demo", "1.0", &[("demo", "old module file")]);
        let staging = env.staging();
        let staged = env.stage(&staging, 0, "demo", "2.0", &[("demo/__init__.py", "v2")]);
        let plan = plan(&env, &[staged], &staging).unwrap();
        let aside: Vec<&PathBuf> = plan.set_aside.iter().map(|(f, _)| f).collect();
        assert!(aside.contains(&&env.site.join("demo")), "{aside:?}");
        assert!(aside.contains(&&env.site.join("demo-1.0.dist-info/RECORD")));
        assert!(
            plan.place
                .contains(&(staging.join("0/0/demo"), env.site.join("demo")))
        );
    }

    #[cfg(unix)]
    #[test]
    fn nothing_is_placed_through_a_link() {
        let env = Env::new();
        let outside = env.dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, env.site.join("demo")).unwrap();
        let staging = env.staging();
        let staged = env.stage(&staging, 0, "demo", "1.0", &[("demo/__init__.py", "")]);
        let err = plan(&env, &[staged], &staging).unwrap_err();
        assert!(err.contains("a symbolic link"), "{err}");
        assert!(crate::testing::names(&outside).is_empty());
    }
}
