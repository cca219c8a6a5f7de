//! `wagon create [SOURCE]`: fetch, build every wheel, pack one archive.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use wagon_core::archive::OutputFormat;
use wagon_core::create::{CreateRequest, create};
use wagon_core::plugin::IndexOptions;

use super::Context;
use crate::target::resolve_program;
use crate::ui::Stage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A PyPI requirement (`flask`, `flask==3.0.3`), a local project or source archive, an
    /// http(s)/file URL, or `gh:OWNER/REPO[@REF]`. Omit it to pack only `-r` requirements files.
    source: Option<String>,

    /// A requirements file whose packages are packed too (repeatable).
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    requirements: Vec<PathBuf>,

    /// The name of a requirements-only archive.
    #[arg(long, requires = "version")]
    name: Option<String>,

    /// The version of a requirements-only archive.
    #[arg(long, requires = "name")]
    version: Option<String>,

    /// Leave a project's wheels out of the archive (repeatable; warns, `--validate` checks).
    #[arg(long, value_name = "NAME")]
    exclude: Vec<String>,

    /// A PEP 425 python tag for the archive's name (repeatable; `py3`, `py311`, `cp312`).
    /// Default: that of the build interpreter.
    #[arg(long, value_name = "TAG")]
    pyver: Vec<String>,

    /// A build tag for the archive's name.
    #[arg(long)]
    build_tag: Option<String>,

    /// A file to pack under `files/` (repeatable).
    #[arg(long, value_name = "PATH")]
    add_file: Vec<PathBuf>,

    /// The directory to write the archive into.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    output_dir: PathBuf,

    /// Overwrite an existing archive.
    #[arg(short, long)]
    force: bool,

    /// Also copy the wheels into this directory.
    #[arg(long, value_name = "DIR")]
    keep_wheels: Option<PathBuf>,

    /// Validate the archive once written (a trial install into a throwaway virtualenv).
    #[arg(long)]
    validate: bool,

    /// The archive format: gz (tar.gz, the default), zst (tar.zst) or zip.
    #[arg(short = 't', long, default_value = "gz", value_name = "FORMAT")]
    format: String,

    /// The compression level (gzip 0-9, zstd 1-22; ignored for zip).
    #[arg(long)]
    level: Option<i32>,

    /// The interpreter whose pip builds the wheels; the archive fits its platform.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: PathBuf,

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

    /// The GitHub API base for `gh:` sources (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, value_name = "URL", env = "WAGON_GITHUB_API_URL")]
    github_api_url: Option<String>,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,

    /// Arguments passed to `pip wheel` untouched.
    #[arg(last = true)]
    pip_args: Vec<String>,
}

pub fn run(context: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let format = output_format(context, &args.format, args.level)?;
    let python = resolve_program(&args.python)?;
    let mut settings = serde_json::json!({});
    if let Some(api) = &args.github_api_url {
        settings["github"] = serde_json::json!({ "api-url": api });
    }
    let request = CreateRequest {
        source: args.source.clone(),
        requirement_files: args.requirements,
        name: args.name,
        version: args.version,
        excludes: args.exclude,
        python_tags: args.pyver,
        build_tag: args.build_tag,
        add_files: args.add_file,
        output_dir: args.output_dir,
        force: args.force,
        keep_wheels: args.keep_wheels,
        format,
        python: python.clone(),
        builder: "pip".to_string(),
        indexes: IndexOptions {
            index_url: args.index_url,
            extra_index_urls: args.extra_index_url,
            find_links: args.find_links,
        },
        extra_args: args.pip_args,
        supported_platform: args.supported_platform,
        source_settings: settings,
    };
    let stage = Stage::start("creating", context.quiet);
    let created = create(&context.registry, &request, &|message: &str| {
        stage.set(message)
    })?;
    drop(stage);
    let problems = if args.validate {
        let stage = Stage::start(
            format!("validating {}", created.path.display()),
            context.quiet,
        );
        let problems =
            super::validate::check(context, &created.path, Some((&python, "unpack"))).problems;
        drop(stage);
        problems
    } else {
        Vec::new()
    };
    let manifest = &created.manifest;
    if args.json {
        let report = serde_json::json!({
            "archive": created.path,
            "package": manifest.package_name,
            "version": manifest.package_version,
            "wheels": manifest.wheels,
            "supported_platform": manifest.supported_platform,
            "validated": args.validate && problems.is_empty(),
            "problems": problems,
        });
        println!("{report}");
    } else {
        println!("{}", created.path.display());
        if !context.quiet {
            eprintln!(
                "created {} {} with {} wheels ({})",
                manifest.package_name,
                manifest.package_version,
                manifest.wheels.len(),
                manifest.supported_platform
            );
        }
    }
    if !problems.is_empty() {
        eprintln!("{}: validation failed:", created.path.display());
        for problem in &problems {
            eprintln!("  - {}", problem.replace('\n', "\n    "));
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn output_format(
    context: &Context,
    name: &str,
    level: Option<i32>,
) -> anyhow::Result<OutputFormat> {
    let compressor = match name {
        "zip" => return Ok(OutputFormat::Zip),
        "gz" | "gzip" | "tar.gz" | "tgz" => "gzip",
        "zst" | "zstd" | "tar.zst" => "zstd",
        other => other,
    };
    let compressor = context.registry.compressor(compressor).ok_or_else(|| {
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
