//! A plugin's capabilities as the core's plugin traits.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use wagon_core::plugin::{
    Compressor, Encoder, FetchRequest, Fetched, InstallOutcome, InstallRequest, Installer,
    InstallerError, Registry, Source, SourceError,
};
use wagon_plugin_sdk::{CompressorInfo, methods};

use crate::ExternalPlugin;

pub fn register(plugin: &Arc<ExternalPlugin>, registry: &mut Registry) {
    for scheme in &plugin.capabilities.sources {
        registry.register_source(Arc::new(ExternalSource {
            plugin: Arc::clone(plugin),
            scheme: scheme.clone(),
            name: format!("{}:{scheme}", plugin.config.name),
        }));
    }
    for info in &plugin.capabilities.compressors {
        match hex::decode(&info.magic) {
            Ok(magic) if !magic.is_empty() => {
                registry.register_compressor(Arc::new(ExternalCompressor {
                    plugin: Arc::clone(plugin),
                    info: info.clone(),
                    magic,
                }));
            }
            _ => tracing::warn!(
                "plugin `{}`: compressor `{}` has no usable magic bytes; ignored",
                plugin.config.name,
                info.name
            ),
        }
    }
    for name in &plugin.capabilities.installers {
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
        spec.strip_prefix(self.scheme.as_str())
            .is_some_and(|rest| rest.starts_with("://"))
    }

    fn fetch(&self, request: &FetchRequest<'_>) -> Result<Fetched, SourceError> {
        let fail = |message: String| SourceError::new(&self.name, request.spec, message);
        let result = self
            .plugin
            .request(
                methods::SOURCE_FETCH,
                json!({ "spec": request.spec, "work_dir": request.work_dir }),
            )
            .map_err(|e| fail(e.to_string()))?;
        let path = |key: &str| result.get(key).and_then(|v| v.as_str()).map(PathBuf::from);
        match result.get("kind").and_then(|k| k.as_str()) {
            Some("wheels") => {
                let paths: Vec<PathBuf> = result
                    .get("paths")
                    .and_then(|p| p.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str())
                            .map(PathBuf::from)
                            .collect()
                    })
                    .unwrap_or_default();
                if paths.is_empty() {
                    return Err(fail("the plugin returned no wheels".to_string()));
                }
                Ok(Fetched::Wheels(paths))
            }
            Some("project") => path("path")
                .map(Fetched::Project)
                .ok_or_else(|| fail("the plugin returned no project path".to_string())),
            Some("requirement") => result
                .get("requirement")
                .and_then(|r| r.as_str())
                .map(|r| Fetched::Requirement(r.to_string()))
                .ok_or_else(|| fail("the plugin returned no requirement".to_string())),
            other => Err(fail(format!(
                "the plugin returned an unknown kind {other:?}"
            ))),
        }
    }
}

/// A compressor served by a plugin. The protocol exchanges files, so streams are spooled to
/// temporary files on either side of the call.
struct ExternalCompressor {
    plugin: Arc<ExternalPlugin>,
    info: CompressorInfo,
    magic: Vec<u8>,
}

impl Compressor for ExternalCompressor {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn extension(&self) -> &str {
        &self.info.extension
    }

    fn magic(&self) -> &[u8] {
        &self.magic
    }

    fn default_level(&self) -> i32 {
        self.info.default_level
    }

    fn levels(&self) -> std::ops::RangeInclusive<i32> {
        self.info.min_level..=self.info.max_level
    }

    fn encoder<'a>(
        &self,
        output: Box<dyn Write + 'a>,
        level: i32,
    ) -> io::Result<Box<dyn Encoder + 'a>> {
        Ok(Box::new(SpoolingEncoder {
            plugin: Arc::clone(&self.plugin),
            name: self.info.name.clone(),
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
        self.plugin
            .request(
                methods::COMPRESSOR_DECODE,
                json!({ "name": self.info.name, "input": spool.path(), "output": decoded.path() }),
            )
            .map_err(io::Error::other)?;
        Ok(Box::new(decoded.reopen()?))
    }
}

struct SpoolingEncoder<'a> {
    plugin: Arc<ExternalPlugin>,
    name: String,
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
        self.plugin
            .request(
                methods::COMPRESSOR_ENCODE,
                json!({ "name": self.name, "input": self.spool.path(), "output": encoded.path(), "level": self.level }),
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
        let wheels: Vec<PathBuf> = request
            .plan
            .wheels
            .iter()
            .map(|w| request.wheel_dir.join(&w.file_name))
            .collect();
        let requested: Vec<String> = request
            .plan
            .requested()
            .map(|w| w.name.to_string())
            .collect();
        let result = self
            .plugin
            .request(
                methods::INSTALLER_INSTALL,
                json!({
                    "name": self.name,
                    "python": request.target.python,
                    "wheels": wheels,
                    "requested": requested,
                    "reinstall": request.reinstall,
                    "compile": request.compile,
                    "extra_args": request.extra_args,
                }),
            )
            .map_err(|e| InstallerError::Failed {
                installer: self.name.clone(),
                python: request.target.python.display().to_string(),
                message: e.to_string(),
            })?;
        let installed = result
            .get("installed")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(InstallOutcome { installed })
    }
}
