//! A plugin's capabilities as the core's plugin traits: typed requests out, results read and
//! checked against what was asked (a source's wheels, an installer's plan) on the way back.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wagon_core::plan::InstallPlan;
use wagon_core::plugin::{
    Compressor, Encoder, FetchRequest, Fetched, FetchedWheels, InstallOutcome, InstallRequest,
    Installer, InstallerError, Registry, Source, SourceError,
};
use wagon_core::python;
use wagon_plugin_sdk::{
    DecodeParams, Done, EncodeParams, FetchParams, FetchResult, InstallParams, InstallResult,
    PROTOCOL_VERSION, methods,
};

use crate::{CompressorOffer, ExternalPlugin, HostError, Levels, Use};

pub fn register(plugin: &Arc<ExternalPlugin>, registry: &mut Registry) {
    for scheme in &plugin.offers().sources {
        registry.register_source(Arc::new(ExternalSource {
            plugin: Arc::clone(plugin),
            scheme: scheme.clone(),
            name: format!("{}:{scheme}", plugin.config.name),
        }));
    }
    for offer in &plugin.offers().compressors {
        registry.register_compressor(Arc::new(ExternalCompressor {
            plugin: Arc::clone(plugin),
            offer: offer.clone(),
        }));
    }
    for name in &plugin.offers().installers {
        registry.register_installer(Arc::new(ExternalInstaller {
            plugin: Arc::clone(plugin),
            name: name.clone(),
        }));
    }
}

/// A source scheme served by a plugin: `scheme://…` specs route to it.
struct ExternalSource {
    plugin: Arc<ExternalPlugin>,
    scheme: String,
    name: String,
}

impl Source for ExternalSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn claims(&self, spec: &str) -> bool {
        // Schemes are case-insensitive (RFC 3986), as the built-in URL source treats them.
        spec.split_once("://")
            .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case(&self.scheme))
    }

    fn fetch(&self, request: &FetchRequest<'_>) -> Result<Fetched, SourceError> {
        let fail = |message: String| SourceError::new(&self.name, request.spec, message);
        let config = &self.plugin.config;
        let result: FetchResult = call(
            &self.plugin,
            Use::Source(&self.scheme),
            methods::SOURCE_FETCH,
            &FetchParams {
                spec: request.spec.to_string(),
                work_dir: request.work_dir.to_path_buf(),
                settings: config.settings.clone(),
                config_dir: config.config_dir.clone(),
            },
        )
        .map_err(|e| fail(e.to_string()))?;
        match result {
            FetchResult::Project { path } => Ok(Fetched::Project(config.config_dir.join(path))),
            FetchResult::Requirement { requirement } => Ok(Fetched::Requirement(requirement)),
            FetchResult::Wheels {
                paths,
                package,
                indexes,
            } => given_wheels(&config.config_dir, paths, &package, indexes)
                .map(Fetched::Wheels)
                .map_err(fail),
        }
    }
}

/// A `wheels` result checked: every path (relative ones against `config_dir`) an existing file
/// with a wheel's name, and `package` the project of some of them, all of one version.
fn given_wheels(
    config_dir: &Path,
    paths: Vec<PathBuf>,
    package: &str,
    indexes: bool,
) -> Result<FetchedWheels, String> {
    if paths.is_empty() {
        return Err("its `wheels` result lists no wheel in `paths`".to_string());
    }
    let wanted = python::package_name(package).map_err(|err| {
        format!(
            "its `wheels` result names the package `{package}`, which is not a project name: {err}"
        )
    })?;
    let mut named = Vec::with_capacity(paths.len());
    for path in paths {
        let path = config_dir.join(path);
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let wheel = python::parse_wheel_filename(&file_name).map_err(|err| {
            format!(
                "its `wheels` result lists {}, which is not a wheel file name: {err}",
                path.display()
            )
        })?;
        if !path.is_file() {
            return Err(format!(
                "its `wheels` result lists {}, which does not exist (a relative path is relative \
                 to the folder of the wagon.toml that configured the plugin, {})",
                path.display(),
                config_dir.display()
            ));
        }
        named.push((path, wheel));
    }
    let mut own = named.iter().filter(|(_, w)| w.name == wanted);
    let Some((package_path, first)) = own.next() else {
        let listed: Vec<String> = named
            .iter()
            .map(|(_, w)| w.name.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        return Err(format!(
            "its `wheels` result names the package `{package}`, but no wheel it lists is of that \
             project (they are of {}); set `package` to the project the archive is for",
            listed.join(", ")
        ));
    };
    if let Some((other, _)) = own.find(|(_, w)| w.version != first.version) {
        return Err(format!(
            "its `wheels` result holds two versions of the package `{package}` ({} and {}); \
             give the wheels of one",
            package_path.display(),
            other.display()
        ));
    }
    let package = package_path.clone();
    Ok(FetchedWheels {
        package,
        paths: named.into_iter().map(|(path, _)| path).collect(),
        indexes,
    })
}

/// One request with typed params and result; a result that does not read as the method's type
/// is the plugin breaking the protocol.
fn call<P: Serialize, R: DeserializeOwned>(
    plugin: &ExternalPlugin,
    used: Use<'_>,
    method: &str,
    params: &P,
) -> Result<R, HostError> {
    let broken = |detail: String| HostError::Protocol {
        plugin: plugin.config.name.clone(),
        detail,
    };
    let params = serde_json::to_value(params)
        .map_err(|err| broken(format!("cannot write the params of {method}: {err}")))?;
    let result = plugin.request(used, method, params)?;
    serde_json::from_value(result).map_err(|err| {
        broken(format!(
            "its result for {method} does not follow protocol {PROTOCOL_VERSION}: {err}"
        ))
    })
}

/// A compressor served by a plugin. The protocol exchanges files, so streams are spooled to
/// temporary files on either side of the call.
struct ExternalCompressor {
    plugin: Arc<ExternalPlugin>,
    offer: CompressorOffer,
}

impl ExternalCompressor {
    /// The levels declared or offered; when wagon.toml declared none, the plugin's hello says
    /// (starting it — only a command writing with it asks). If it cannot be asked, every level
    /// passes here and the encode that follows reports why.
    fn known_levels(&self) -> Option<Levels> {
        self.offer.levels.or_else(|| match self.plugin.handshake() {
            Ok(offered) => offered
                .compressors
                .iter()
                .find(|c| c.name == self.offer.name)
                .and_then(|c| c.levels),
            Err(err) => {
                tracing::debug!("{err}");
                None
            }
        })
    }
}

impl Compressor for ExternalCompressor {
    fn name(&self) -> &str {
        &self.offer.name
    }

    fn extension(&self) -> &str {
        &self.offer.extension
    }

    fn magic(&self) -> &[u8] {
        &self.offer.magic
    }

    fn default_level(&self) -> i32 {
        self.known_levels().map_or(0, |l| l.default)
    }

    fn levels(&self) -> std::ops::RangeInclusive<i32> {
        self.known_levels()
            .map_or(i32::MIN..=i32::MAX, |l| l.min..=l.max)
    }

    fn encoder<'a>(
        &self,
        output: Box<dyn Write + 'a>,
        level: i32,
    ) -> io::Result<Box<dyn Encoder + 'a>> {
        Ok(Box::new(SpoolingEncoder {
            plugin: Arc::clone(&self.plugin),
            offer: self.offer.clone(),
            level,
            spool: wagon_core::scratch::tempfile()?,
            output,
        }))
    }

    fn decoder<'a>(&self, mut input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
        let mut spool = wagon_core::scratch::tempfile()?;
        io::copy(&mut input, &mut spool)?;
        spool.flush()?;
        let decoded = wagon_core::scratch::tempfile()?;
        let config = &self.plugin.config;
        let _: Done = call(
            &self.plugin,
            Use::Compressor(&self.offer),
            methods::COMPRESSOR_DECODE,
            &DecodeParams {
                name: self.offer.name.clone(),
                input: spool.path().to_path_buf(),
                output: decoded.path().to_path_buf(),
                settings: config.settings.clone(),
                config_dir: config.config_dir.clone(),
            },
        )
        .map_err(io::Error::other)?;
        Ok(Box::new(decoded.reopen()?))
    }
}

struct SpoolingEncoder<'a> {
    plugin: Arc<ExternalPlugin>,
    offer: CompressorOffer,
    level: i32,
    spool: wagon_core::scratch::ScratchFile,
    output: Box<dyn Write + 'a>,
}

impl Write for SpoolingEncoder<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.spool.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.spool.flush()
    }
}

impl Encoder for SpoolingEncoder<'_> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.spool.flush()?;
        let encoded = wagon_core::scratch::tempfile()?;
        let config = &self.plugin.config;
        let _: Done = call(
            &self.plugin,
            Use::Compressor(&self.offer),
            methods::COMPRESSOR_ENCODE,
            &EncodeParams {
                name: self.offer.name.clone(),
                input: self.spool.path().to_path_buf(),
                output: encoded.path().to_path_buf(),
                level: self.level,
                settings: config.settings.clone(),
                config_dir: config.config_dir.clone(),
            },
        )
        .map_err(io::Error::other)?;
        io::copy(&mut encoded.reopen()?, &mut self.output)?;
        self.output.flush()
    }
}

/// An installer served by a plugin.
struct ExternalInstaller {
    plugin: Arc<ExternalPlugin>,
    name: String,
}

impl Installer for ExternalInstaller {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, request: &InstallRequest<'_>) -> Result<InstallOutcome, InstallerError> {
        let fail = |message: String| InstallerError::Failed {
            installer: self.name.clone(),
            python: request.target.python.display().to_string(),
            message,
        };
        let config = &self.plugin.config;
        let result: InstallResult = call(
            &self.plugin,
            Use::Installer(&self.name),
            methods::INSTALLER_INSTALL,
            &InstallParams {
                name: self.name.clone(),
                python: request.target.python.clone(),
                wheels: request
                    .plan
                    .wheels
                    .iter()
                    .map(|w| request.wheel_dir.join(&w.file_name))
                    .collect(),
                requested: request
                    .plan
                    .requested()
                    .map(|w| w.name.to_string())
                    .collect(),
                reinstall: request.reinstall,
                compile: request.compile,
                extra_args: request.extra_args.to_vec(),
                settings: config.settings.clone(),
                config_dir: config.config_dir.clone(),
            },
        )
        .map_err(|e| fail(e.to_string()))?;
        let installed = against_plan(request.plan, &result)
            .map_err(|problem| fail(format!("plugin `{}` {problem}", config.name)))?;
        Ok(InstallOutcome { installed })
    }
}

/// An installer's report checked against the plan: every planned project installed or
/// unchanged, nothing else, each at its planned version. Returns the installed ones as
/// `name==version`; the error completes "plugin `NAME` …".
fn against_plan(plan: &InstallPlan, result: &InstallResult) -> Result<Vec<String>, String> {
    let mut reported = BTreeSet::new();
    let mut installed = Vec::new();
    let mut foreign = Vec::new();
    for (entry, is_installed) in result
        .installed
        .iter()
        .map(|e| (e, true))
        .chain(result.unchanged.iter().map(|e| (e, false)))
    {
        let (name, version) = match entry.split_once("==") {
            Some((name, version)) => (name.trim(), Some(version.trim())),
            None => (entry.trim(), None),
        };
        let planned = python::package_name(name)
            .ok()
            .and_then(|name| plan.wheels.iter().find(|w| w.name == name));
        let Some(planned) = planned else {
            foreign.push(entry.clone());
            continue;
        };
        if let Some(version) = version
            && python::version(version).ok().as_ref() != Some(&planned.version)
        {
            return Err(format!(
                "reported {entry}, but the plan installs {} {}",
                planned.name, planned.version
            ));
        }
        reported.insert(planned.name.clone());
        if is_installed {
            installed.push(format!("{}=={}", planned.name, planned.version));
        }
    }
    if !foreign.is_empty() {
        return Err(format!(
            "reported {}, which the plan does not hold; an installer must install the planned \
             wheels and nothing else",
            foreign.join(", ")
        ));
    }
    let missing: Vec<String> = plan
        .wheels
        .iter()
        .filter(|w| !reported.contains(&w.name))
        .map(|w| format!("{} {}", w.name, w.version))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "did not install {} (its result lists them neither in `installed` nor in \
             `unchanged`); the environment may be incomplete",
            missing.join(", ")
        ));
    }
    Ok(installed)
}
