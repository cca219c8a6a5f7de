//! `wagon create [SOURCE]`: fetch, build every wheel, pack one archive.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use wagon_core::archive::OutputFormat;
use wagon_core::journeys::create::{CreateRequest, create};
use wagon_core::plugin::IndexOptions;

use super::Context;
use crate::interpreter_args::resolve_program;
use crate::ui::Stage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A PyPI requirement (`flask`, `flask==3.0.3`), a local project or source archive, an
    /// http(s)/file URL, or `gh:OWNER/REPO[@REF]`. Omit it to pack only `-r` requirements files.
    source: Option<String>,

    /// A requirements file whose projects are packed and installed with it, as roots of the
    /// archive like the package (repeatable).
    #[arg(
        short = 'r',
        long = "requirement",
        alias = "requirements-file",
        value_name = "FILE"
    )]
    requirements: Vec<PathBuf>,

    /// The name of a requirements-only archive.
    #[arg(long, requires = "version")]
    name: Option<String>,

    /// The version of a requirements-only archive.
    #[arg(long, requires = "name")]
    version: Option<String>,

    /// Leave a project's wheels out of the archive (repeatable): `install` then takes it from
    /// the target environment, and refuses when that lacks it.
    #[arg(long, value_name = "NAME")]
    exclude: Vec<String>,

    /// A PEP 425 python tag for the archive's name (repeatable; `py3`, `py311`, `cp312`); the
    /// lock then serves every CPython the tags name where the wheels fit. Default: that of the
    /// build interpreter.
    #[arg(long, value_name = "TAG")]
    pyver: Vec<String>,

    /// A build tag for the archive's name.
    #[arg(long)]
    build_tag: Option<String>,

    /// A file to pack under `files/` (repeatable).
    #[arg(long, value_name = "PATH")]
    add_file: Vec<PathBuf>,

    /// The directory to write the archive into [default: .].
    #[arg(
        short,
        long,
        alias = "output-directory",
        value_name = "DIR",
        env = "WAGON_OUTPUT_DIR"
    )]
    output_dir: Option<PathBuf>,

    /// Overwrite an existing archive.
    #[arg(short, long)]
    force: bool,

    /// Also copy the wheels into this directory.
    #[arg(long, value_name = "DIR")]
    keep_wheels: Option<PathBuf>,

    /// Validate the archive once written (a trial install into a throwaway virtualenv).
    #[arg(long)]
    validate: bool,

    /// The archive format: gz (tar.gz, the default), zst (tar.zst), zip, or a plugin's compressor.
    #[arg(short = 't', long, value_name = "FORMAT", env = "WAGON_FORMAT")]
    format: Option<String>,

    /// The compression level (gzip 0-9, zstd 1-22; ignored for zip).
    #[arg(long, env = "WAGON_LEVEL")]
    level: Option<i32>,

    /// The interpreter whose pip builds the wheels; the archive fits its platform [default: python3].
    #[arg(long, value_name = "PATH", env = "WAGON_BUILD_PYTHON")]
    python: Option<PathBuf>,

    /// The package index to use instead of pip's configured one.
    #[arg(long, value_name = "URL")]
    index_url: Option<String>,

    /// An extra package index (repeatable).
    #[arg(long, value_name = "URL")]
    extra_index_url: Vec<String>,

    /// A local directory or page of links to find distributions in (repeatable).
    #[arg(long, value_name = "PATH_OR_URL")]
    find_links: Vec<String>,

    /// Override the archive's supported_platform.
    #[arg(long, value_name = "PLATFORM")]
    supported_platform: Option<String>,

    /// A machine to make the archive for (repeatable): a Python tag and a platform tag
    /// (`cp312-manylinux_2_28_x86_64`, `cp310-win_amd64`, `cp311-macosx_11_0_arm64`), uv's
    /// platform names with --python-version (`x86_64-pc-windows-msvc`), a JSON complete-platform
    /// file, or `host`. Default: the build interpreter's platform alone.
    #[arg(long = "target", value_name = "TARGET")]
    targets: Vec<String>,

    /// The Python version of targets that name none (uv's platform names): `3.12`.
    #[arg(long, value_name = "VERSION")]
    python_version: Option<String>,

    /// Who resolves and fetches the closure: `wagon` (Wagon's own resolver and index client, for
    /// every target; the default) or `pip` (the build interpreter's pip, which serves that
    /// interpreter's platform alone).
    #[arg(long, value_name = "NAME", env = "WAGON_RESOLVER")]
    resolver: Option<String>,

    /// The GitHub API base for `gh:` sources (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, value_name = "URL", env = "WAGON_GITHUB_API_URL")]
    github_api_url: Option<String>,

    /// Ignore every package index (pip's and the flags'): only --find-links locations.
    #[arg(long)]
    no_index: bool,

    /// Download afresh and keep nothing for the next run (the cache is `WAGON_CACHE_DIR`, else
    /// `~/.cache/wagon`).
    #[arg(long)]
    no_cache: bool,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,

    /// Arguments passed to `pip wheel` untouched (with --resolver pip; Wagon's resolver refuses
    /// them rather than ignore them).
    #[arg(last = true)]
    pip_args: Vec<String>,
}

pub fn run(context: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let (validate, json) = (args.validate, args.json);
    let request = request(context, args)?;
    let stage = Stage::start("creating", context.quiet);
    let created = create(&context.registry, &request, &|message: &str| {
        stage.set(message)
    })?;
    drop(stage);
    let problems = if validate {
        let stage = Stage::start(
            format!("validating {}", created.path.display()),
            context.quiet,
        );
        let problems =
            super::validate::check(context, &created.path, Some((&request.python, "unpack")))
                .problems;
        drop(stage);
        problems
    } else {
        Vec::new()
    };
    // An archive that failed its validation is not left where the user expects a good one.
    let removed = !problems.is_empty() && std::fs::remove_file(&created.path).is_ok();
    let manifest = &created.manifest;
    if json {
        let report = serde_json::json!({
            "archive": created.path,
            "package": manifest.package_name,
            "version": manifest.package_version,
            "wheels": manifest.wheels,
            "supported_platform": manifest.supported_platform,
            "validated": validate && problems.is_empty(),
            "problems": problems,
            "removed": removed,
        });
        crate::ui::output::line(format_args!("{report}"))?;
    } else if problems.is_empty() {
        crate::ui::output::line(format_args!("{}", created.path.display()))?;
        if !context.quiet {
            let fits = if manifest.targets.is_empty() {
                manifest.supported_platform.clone()
            } else {
                let tags: Vec<&str> = manifest.targets.iter().map(|t| t.tag.as_str()).collect();
                format!("for {}", tags.join(", "))
            };
            eprintln!(
                "created {} {} with {} {} ({fits})",
                manifest.package_name,
                manifest.package_version,
                manifest.wheels.len(),
                if manifest.wheels.len() == 1 {
                    "wheel"
                } else {
                    "wheels"
                },
            );
            if validate {
                eprintln!("validated: a trial install into a throwaway virtualenv succeeded");
            }
        }
    }
    if !problems.is_empty() {
        eprintln!("{}: validation failed:", created.path.display());
        for problem in &problems {
            eprintln!("  - {}", problem.replace('\n', "\n    "));
        }
        if removed {
            eprintln!("The archive was removed, so that no invalid archive is left in its folder.");
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The create request: flags (and their `WAGON_*` variables, which clap reads) win; wagon.toml
/// fills the rest.
fn request(context: &Context, args: Args) -> anyhow::Result<CreateRequest> {
    let file = &context.config;
    let defaults = &file.config.create;
    let format = args
        .format
        .or_else(|| defaults.format.clone())
        .unwrap_or_else(|| "gz".to_string());
    let format = output_format(context, &format, args.level.or(defaults.level))?;
    let python = args
        .python
        .or_else(|| defaults.python.as_deref().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"));
    let python = resolve_program(&python)?;
    let mut settings = serde_json::json!({});
    if let Some(api) = &args.github_api_url {
        settings["github"] = serde_json::json!({ "api-url": api });
    }
    let from_file =
        |values: &[String]| -> Vec<PathBuf> { values.iter().map(|v| file.resolve(v)).collect() };
    let or_file = |flags: Vec<String>, configured: &[String]| {
        if flags.is_empty() {
            configured.to_vec()
        } else {
            flags
        }
    };
    let (file_index, file_extra) = file.indexes()?;
    let source = args
        .source
        .clone()
        .or_else(|| defaults.source.as_deref().map(|s| file.resolve_source(s)));
    Ok(CreateRequest {
        source,
        requirement_files: if args.requirements.is_empty() {
            from_file(&defaults.requirements)
        } else {
            args.requirements
        },
        name: args.name.or_else(|| defaults.name.clone()),
        version: args.version.or_else(|| defaults.version.clone()),
        excludes: or_file(args.exclude, &defaults.exclude),
        python_tags: or_file(args.pyver, &defaults.python_versions),
        build_tag: args.build_tag.or_else(|| defaults.build_tag.clone()),
        add_files: if args.add_file.is_empty() {
            from_file(&defaults.add_files)
        } else {
            args.add_file
        },
        output_dir: args
            .output_dir
            .or_else(|| defaults.output.as_deref().map(|o| file.resolve(o)))
            .unwrap_or_else(|| PathBuf::from(".")),
        force: args.force,
        keep_wheels: args.keep_wheels,
        format,
        python,
        builder: args
            .resolver
            .or_else(|| defaults.resolver.clone())
            .unwrap_or_else(|| "wagon".to_string()),
        targets: if args.targets.is_empty() {
            defaults
                .targets
                .iter()
                .map(|t| {
                    // A complete-platform file is found beside wagon.toml.
                    if t.ends_with(".json") {
                        file.resolve(t).display().to_string()
                    } else {
                        t.clone()
                    }
                })
                .collect()
        } else {
            args.targets
        },
        python_version: args
            .python_version
            .or_else(|| defaults.python_version.clone()),
        indexes: IndexOptions {
            index_url: args.index_url.or(file_index),
            extra_index_urls: if args.extra_index_url.is_empty() {
                file_extra
            } else {
                args.extra_index_url
            },
            find_links: args.find_links,
            no_cache: args.no_cache,
            no_index: args.no_index,
        },
        extra_args: args.pip_args,
        supported_platform: args.supported_platform,
        source_settings: plugin_settings(context, settings),
        limits: context.limits,
    })
}

/// Source settings: the `[plugins.NAME] settings` of wagon.toml, plus flags' (e.g. GitHub's API).
fn plugin_settings(context: &Context, mut settings: serde_json::Value) -> serde_json::Value {
    for (name, entry) in &context.config.config.plugins {
        if let Ok(value) = serde_json::to_value(&entry.settings) {
            settings[name] = value;
        }
    }
    settings
}

fn output_format(
    context: &Context,
    name: &str,
    level: Option<i32>,
) -> anyhow::Result<OutputFormat> {
    if name == "zip" {
        return Ok(OutputFormat::Zip);
    }
    // A compressor of that very name first: a plugin configured to override a built-in alias.
    let alias = crate::registry::FORMAT_ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, compressor)| *compressor);
    let found = context
        .registry
        .compressor(name)
        .or_else(|| alias.and_then(|a| context.registry.compressor(a)));
    let compressor = found.ok_or_else(|| {
        anyhow!(
            "unknown archive format `{name}`: use gz, zst or zip (compressors: {})",
            context.registry.compressor_names().join(", ")
        )
    })?;
    let level = level.unwrap_or_else(|| compressor.default_level());
    if !compressor.levels().contains(&level) {
        bail!(
            "compression level {level} is out of range for {} ({}-{})",
            compressor.name(),
            compressor.levels().start(),
            compressor.levels().end()
        );
    }
    Ok(OutputFormat::Tar { compressor, level })
}
