//! A plugin's capabilities as the core's plugin traits.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use wagon_core::plugin::{
    Compressor, Encoder, FetchRequest, Fetched, InstallOutcome, InstallRequest, Installer,
    InstallerError, Registry, Source, SourceError,
};
use wagon_plugin_sdk::methods;

use crate::{CompressorOffer, ExternalPlugin, Levels, Use};

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
        let result = self
            .plugin
            .request(
                Use::Source(&self.scheme),
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
            Some(other) => Err(fail(format!(
                "the plugin answered kind `{other}`; a source answers `requirement`, `project` or `wheels`"
            ))),
            None => Err(fail(
                "the plugin's answer has no `kind`; a source answers `requirement`, `project` or `wheels`"
                    .to_string(),
            )),
        }
    }
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
        self.plugin
            .request(
                Use::Compressor(&self.offer),
                methods::COMPRESSOR_DECODE,
                json!({ "name": self.offer.name, "input": spool.path(), "output": decoded.path() }),
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
        self.plugin
            .request(
                Use::Compressor(&self.offer),
                methods::COMPRESSOR_ENCODE,
                json!({ "name": self.offer.name, "input": self.spool.path(), "output": encoded.path(), "level": self.level }),
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
                Use::Installer(&self.name),
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
