//! The pip builder plugin: fills a wheelhouse with `python -m pip wheel`, in two steps.
//!
//! First the package alone (`--no-deps`) into its own folder, so the package's wheel — and with
//! it the archive's name and version — is known for certain, whatever the source was. Then one
//! resolve of that wheel together with the requirements files, so the whole closure comes from a
//! single consistent resolution. pip's own configuration (index, extra index, certificates,
//! proxies) applies throughout; the `--index-url`, `--extra-index-url` and `--find-links` flags and
//! any arguments after `--` are added to it.

use std::path::{Path, PathBuf};
use std::process::Command;

use wagon_core::plugin::{BuildError, BuildOutput, BuildRequest, Builder, Fetched, IndexOptions};
use wagon_core::process::{render, run_logged};

/// Builds with pip.
#[derive(Debug, Default, Clone, Copy)]
pub struct PipWheel;

const NAME: &str = "pip";

impl Builder for PipWheel {
    fn name(&self) -> &str {
        NAME
    }

    fn build(&self, request: &BuildRequest<'_>) -> Result<BuildOutput, BuildError> {
        // pip resolves for the interpreter that runs it (and evaluates markers there even with
        // --platform, pypa/pip#11273): it serves the host alone.
        if let Some(foreign) = request.targets.iter().find(|t| !t.host) {
            return Err(failure(format!(
                "pip resolves for the build interpreter only, so it cannot build for the target \
                 {}; use Wagon's own resolver (--resolver wagon) for other machines",
                foreign.tag
            )));
        }
        let root = match request.root {
            None => None,
            Some(Fetched::Wheels(given)) => {
                let mut package = None;
                for wheel in &given.paths {
                    let name = wheel
                        .file_name()
                        .ok_or_else(|| failure(format!("{} is not a file", wheel.display())))?;
                    let target = request.work_dir.join(name);
                    fs_err::copy(wheel, &target).map_err(|e| io_failure(&e))?;
                    if *wheel == given.package {
                        package = Some(target);
                    }
                }
                let package = package.ok_or_else(|| {
                    failure(format!(
                        "the package's wheel {} is not among the given wheels",
                        given.package.display()
                    ))
                })?;
                Some((package, String::new()))
            }
            Some(Fetched::Requirement(requirement)) => {
                let extras = extras_of(requirement);
                Some((build_alone(request, requirement)?, extras))
            }
            Some(Fetched::Project(dir)) => Some((
                build_alone(request, &dir.display().to_string())?,
                String::new(),
            )),
        };

        let mut command = pip(request, "wheel");
        if let Some(Fetched::Wheels(given)) = request.root
            && !given.indexes
        {
            given_wheels_only(&mut command);
        }
        command.arg("--wheel-dir").arg(request.wheel_dir);
        command.arg("--find-links").arg(request.wheel_dir);
        command.arg("--find-links").arg(request.work_dir);
        for file in request.requirement_files {
            command.arg("--requirement").arg(file);
        }
        if let Some((wheel, extras)) = &root {
            command.arg(format!("{}{extras}", wheel.display()));
        }
        run(&mut command)?;
        let root_wheel = match &root {
            Some((wheel, _)) => {
                let placed = request
                    .wheel_dir
                    .join(wheel.file_name().unwrap_or_default());
                if !placed.is_file() {
                    return Err(failure(format!(
                        "pip did not place {} in the wheelhouse",
                        placed.display()
                    )));
                }
                Some(placed)
            }
            None => None,
        };
        // Every wheel pip put in the wheelhouse is the host's closure.
        let closures = if request.targets.is_empty() {
            Vec::new()
        } else {
            let mut wheels: Vec<String> = fs_err::read_dir(request.wheel_dir)
                .map_err(|e| io_failure(&e))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".whl"))
                .collect();
            wheels.sort();
            vec![wheels; request.targets.len()]
        };
        Ok(BuildOutput {
            root_wheel,
            closures,
            resolved: false,
        })
    }
}

/// Keeps pip to the wheels a source gave (copied beside the package's, found by
/// `--find-links`): no index from flags, environment or configuration files is asked for any
/// name, so a private project's dependency names never reach a public index.
fn given_wheels_only(command: &mut Command) {
    command.arg("--no-index");
    for variable in ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"] {
        command.env_remove(variable);
    }
    // pip reads no configuration file when this names the null device.
    command.env(
        "PIP_CONFIG_FILE",
        if cfg!(windows) { "nul" } else { "/dev/null" },
    );
}

/// `pip wheel --no-deps` of one source into a fresh folder; returns the one wheel it made.
fn build_alone(request: &BuildRequest<'_>, source: &str) -> Result<PathBuf, BuildError> {
    let wheel = build_one(&Pip::of(request), source, &request.work_dir.join("package"))?;
    let target = request.work_dir.join(wheel.file_name().unwrap_or_default());
    fs_err::rename(&wheel, &target).map_err(|e| io_failure(&e))?;
    Ok(target)
}

/// How pip is run: the interpreter, the user's indexes and extra arguments.
#[derive(Debug, Clone, Copy)]
pub struct Pip<'a> {
    pub python: &'a Path,
    pub indexes: &'a IndexOptions,
    pub extra_args: &'a [String],
}

impl<'a> Pip<'a> {
    /// pip as a build request asks for it.
    pub fn of(request: &'a BuildRequest<'_>) -> Self {
        Self {
            python: request.python,
            indexes: request.indexes,
            extra_args: request.extra_args,
        }
    }
}

/// Builds one project (a directory, an sdist, a requirement) into a wheel on this machine, through
/// its PEP 517 backend, with `pip wheel --no-deps` into the fresh folder `into`; returns the one
/// wheel made there.
pub fn build_one(pip: &Pip<'_>, source: &str, into: &Path) -> Result<PathBuf, BuildError> {
    fs_err::create_dir_all(into).map_err(|e| io_failure(&e))?;
    let mut command = pip.command("wheel");
    command
        .args(["--no-deps", "--wheel-dir"])
        .arg(into)
        .arg(source);
    run(&mut command)?;
    let wheels: Vec<PathBuf> = fs_err::read_dir(into)
        .map_err(|e| io_failure(&e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    match wheels.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(failure(format!("pip built no wheel for `{source}`"))),
        many => Err(failure(format!(
            "pip built {} wheels for `{source}`, expected one: {}",
            many.len(),
            many.iter()
                .map(|w| w.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `[async,dev]` of `flask[async,dev]>=3`, to keep the extras when resolving the built wheel.
fn extras_of(requirement: &str) -> String {
    match wagon_core::python::requirement(requirement) {
        Ok(parsed) if !parsed.extras.is_empty() => format!(
            "[{}]",
            parsed
                .extras
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        _ => String::new(),
    }
}

fn pip(request: &BuildRequest<'_>, subcommand: &str) -> Command {
    Pip::of(request).command(subcommand)
}

impl Pip<'_> {
    /// `python -m pip SUBCOMMAND`, quiet, with the user's indexes and extra arguments.
    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(self.python);
        command.args(["-m", "pip", subcommand]).args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ]);
        // Through pip's environment, never its arguments: an index URL may carry a password, and a
        // process's arguments are readable by every local user (`/proc/PID/cmdline`, `ps`). pip
        // ranks these variables as it would the flags, over its configuration files.
        if let Some(index) = &self.indexes.index_url {
            command.env("PIP_INDEX_URL", index);
        }
        if !self.indexes.extra_index_urls.is_empty() {
            command.env(
                "PIP_EXTRA_INDEX_URL",
                self.indexes.extra_index_urls.join(" "),
            );
        }
        if !self.indexes.find_links.is_empty() {
            command.env("PIP_FIND_LINKS", self.indexes.find_links.join(" "));
        }
        command.args(self.extra_args);
        command
    }
}

fn run(command: &mut Command) -> Result<(), BuildError> {
    let rendered = render(command);
    let finished = run_logged(command, "pip").map_err(|err| {
        failure(format!(
            "cannot run `{rendered}`: {err}. Is the interpreter right (--python), and does it have pip?"
        ))
    })?;
    if finished.status.success() {
        return Ok(());
    }
    Err(failure(format!(
        "`{rendered}` failed ({}). pip said:\n{}",
        finished.status,
        finished
            .tail
            .iter()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )))
}

fn failure(message: String) -> BuildError {
    BuildError {
        builder: NAME.to_string(),
        message,
    }
}

/// An I/O failure; `fs_err` has already named the paths.
fn io_failure(err: &std::io::Error) -> BuildError {
    failure(err.to_string())
}
