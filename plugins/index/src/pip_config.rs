//! pip's own configuration, read as pip reads it: `pip.conf` files in pip's order, then `PIP_*`
//! environment variables, each later source overriding an earlier one key by key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Error;

/// The sections read, in increasing precedence. pip reads `[global]` and its command's section;
/// Wagon stands in for `pip install`, `pip download` and `pip wheel` (today's `create` runs
/// `pip wheel`, so its section comes last and wins).
const SECTIONS: [&str; 4] = ["global", "install", "download", "wheel"];

/// Where pip's configuration comes from: the environment variables and the configuration files,
/// in increasing precedence. Tests build one explicitly ([`PipSources::new`]) so that the
/// machine's own `PIP_*` variables and files play no part.
#[derive(Debug, Clone, Default)]
pub struct PipSources {
    /// Environment variables (`PIP_*` are read for settings, `WAGON_CACHE_DIR`, `HOME`,
    /// `XDG_CACHE_HOME` for the cache).
    pub vars: BTreeMap<String, String>,
    /// Configuration files, lowest precedence first; missing ones are skipped.
    pub files: Vec<PathBuf>,
}

/// A configured value and where it came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    pub value: String,
    pub origin: String,
}

impl PipSources {
    /// This process's environment and the configuration files pip would read with it.
    pub fn from_process() -> PipSources {
        let vars: BTreeMap<String, String> = std::env::vars().collect();
        let files = Self::config_files(&vars);
        PipSources { vars, files }
    }

    /// Explicit sources, for tests and embedders.
    pub fn new(vars: BTreeMap<String, String>, files: Vec<PathBuf>) -> PipSources {
        PipSources { vars, files }
    }

    /// The configuration files pip reads on Unix, in its order: global
    /// (`$XDG_CONFIG_DIRS/pip/pip.conf`, `/etc/pip.conf`), user (`~/.pip/pip.conf`, then
    /// `$XDG_CONFIG_HOME/pip/pip.conf` or `~/.config/pip/pip.conf`; skipped when
    /// `PIP_CONFIG_FILE` names an existing file), site (`$VIRTUAL_ENV/pip.conf`), then
    /// `PIP_CONFIG_FILE`. `PIP_CONFIG_FILE=/dev/null` turns all files off, as in pip.
    pub fn config_files(vars: &BTreeMap<String, String>) -> Vec<PathBuf> {
        let var = |name: &str| vars.get(name).filter(|v| !v.is_empty());
        let env_file = var("PIP_CONFIG_FILE").map(PathBuf::from);
        if env_file.as_deref() == Some(Path::new("/dev/null")) {
            return Vec::new();
        }
        let mut files: Vec<PathBuf> = var("XDG_CONFIG_DIRS")
            .map_or("/etc/xdg", String::as_str)
            .split(':')
            .filter(|dir| !dir.is_empty())
            .map(|dir| Path::new(dir).join("pip/pip.conf"))
            .collect();
        files.push(PathBuf::from("/etc/pip.conf"));
        if !env_file.as_deref().is_some_and(Path::is_file) {
            let home = var("HOME").map(PathBuf::from);
            if let Some(home) = &home {
                files.push(home.join(".pip/pip.conf"));
            }
            let config_home = var("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".config")));
            if let Some(config_home) = config_home {
                files.push(config_home.join("pip/pip.conf"));
            }
        }
        if let Some(venv) = var("VIRTUAL_ENV") {
            files.push(Path::new(venv).join("pip.conf"));
        }
        files.extend(env_file);
        files
    }

    /// Every configured key (`index-url`, `extra-index-url`, …) with its winning value: files in
    /// order, `[global]` below the command sections, environment variables above all. Empty
    /// values are ignored, as pip ignores them.
    pub(crate) fn settings(&self) -> Result<BTreeMap<String, Setting>, Error> {
        // pip merges all files into one `section.key` table, later files overriding…
        let mut by_section: BTreeMap<(String, String), Setting> = BTreeMap::new();
        for path in &self.files {
            let text = match fs_err::read_to_string(path) {
                Ok(text) => text,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => {
                    return Err(Error::ConfigFile {
                        path: path.clone(),
                        reason: err.to_string(),
                    });
                }
            };
            for (section, key, value) in parse_ini(&text) {
                let origin = format!("file {} [{section}]", path.display());
                by_section.insert((section, key), Setting { value, origin });
            }
        }
        // …then reads `[global]`, the command's sections and the environment, each overriding.
        let mut settings = BTreeMap::new();
        for section in SECTIONS {
            for ((_, key), setting) in by_section.iter().filter(|((s, _), _)| s == section) {
                settings.insert(key.clone(), setting.clone());
            }
        }
        for (name, value) in &self.vars {
            if let Some(key) = name.strip_prefix("PIP_")
                && key != "CONFIG_FILE"
            {
                let origin = format!("variable {name}");
                settings.insert(
                    normalize_key(key),
                    Setting {
                        value: value.clone(),
                        origin,
                    },
                );
            }
        }
        settings.retain(|_, setting| !setting.value.trim().is_empty());
        Ok(settings)
    }
}

/// pip's key spelling: lower case, `-` for `_`, no leading `--`.
fn normalize_key(key: &str) -> String {
    let key = key.trim().to_ascii_lowercase().replace('_', "-");
    key.strip_prefix("--").map_or(key.clone(), str::to_string)
}

/// `(section, key, value)` triples of an INI file as Python's `RawConfigParser` reads it: `=` or
/// `:` separators, `#`/`;` comment lines, indented continuation lines joined by newlines, no
/// interpolation and no inline comments.
fn parse_ini(text: &str) -> Vec<(String, String, String)> {
    let mut entries: Vec<(String, String, String)> = Vec::new();
    let mut section: Option<String> = None;
    let mut continuing = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with([' ', '\t']) && continuing {
            if let Some((_, _, value)) = entries.last_mut() {
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            continuing = false;
            continue;
        }
        let split = trimmed.find(['=', ':']);
        match (&section, split) {
            (Some(section), Some(at)) => {
                let key = normalize_key(&trimmed[..at]);
                let value = trimmed[at + 1..].trim().to_string();
                entries.push((section.clone(), key, value));
                continuing = true;
            }
            _ => continuing = false,
        }
    }
    entries
}

/// pip's `strtobool`: `y/yes/t/true/on/1` and `n/no/f/false/off/0`.
pub(crate) fn parse_bool(key: &str, setting: &Setting) -> Result<bool, Error> {
    match setting.value.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Ok(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Ok(false),
        _ => Err(Error::InvalidBool {
            origin: setting.origin.clone(),
            key: key.to_string(),
            value: setting.value.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn ini_files_read_as_configparser_reads_them() {
        let text = "# comment\n[global]\nindex_url = https://a/simple\n; other\n\
                    extra-index-url =\n    https://b/simple\n    https://c/simple\n\
                    [wheel]\n--no-index: yes\nstray line\n";
        assert_eq!(
            parse_ini(text),
            vec![
                (
                    "global".into(),
                    "index-url".into(),
                    "https://a/simple".into()
                ),
                (
                    "global".into(),
                    "extra-index-url".into(),
                    "\nhttps://b/simple\nhttps://c/simple".into()
                ),
                ("wheel".into(), "no-index".into(), "yes".into()),
            ]
        );
    }

    #[test]
    fn config_files_follow_pips_order() {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("env.conf");
        let base = vars(&[
            ("HOME", "/home/u"),
            ("VIRTUAL_ENV", "/venv"),
            ("XDG_CONFIG_DIRS", "/a:/b"),
        ]);
        assert_eq!(
            PipSources::config_files(&base),
            [
                "/a/pip/pip.conf",
                "/b/pip/pip.conf",
                "/etc/pip.conf",
                "/home/u/.pip/pip.conf",
                "/home/u/.config/pip/pip.conf",
                "/venv/pip.conf",
            ]
            .map(PathBuf::from)
        );
        // An existing PIP_CONFIG_FILE replaces the user files and comes last.
        std::fs::write(&env_file, "").unwrap();
        let mut with_env = base.clone();
        with_env.insert("PIP_CONFIG_FILE".into(), env_file.display().to_string());
        with_env.insert("XDG_CONFIG_HOME".into(), "/xdg".into());
        let files = PipSources::config_files(&with_env);
        assert_eq!(files.last(), Some(&env_file));
        assert!(!files.iter().any(|f| f.starts_with("/home/u")), "{files:?}");
        with_env.insert("PIP_CONFIG_FILE".into(), "/dev/null".into());
        assert!(PipSources::config_files(&with_env).is_empty());
    }

    #[test]
    fn later_files_sections_and_variables_win() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.conf");
        let second = dir.path().join("second.conf");
        std::fs::write(
            &first,
            "[wheel]\nindex-url = https://first-wheel/\n[global]\ncert = /first\ntrusted-host = a\n",
        )
        .unwrap();
        std::fs::write(
            &second,
            "[global]\nindex-url = https://second-global/\ncert = /second\ntrusted-host =\n",
        )
        .unwrap();
        let sources = PipSources::new(
            vars(&[("PIP_TRUSTED_HOST", "env-host"), ("PIP_NO_INDEX", "")]),
            vec![first, dir.path().join("missing.conf"), second.clone()],
        );
        let settings = sources.settings().unwrap();
        // A command section beats [global] whatever the file order.
        assert_eq!(settings["index-url"].value, "https://first-wheel/");
        // A later file beats an earlier one within a section.
        assert_eq!(settings["cert"].value, "/second");
        assert!(settings["cert"].origin.contains("second.conf"));
        // The environment beats files; empty values count as unset.
        assert_eq!(settings["trusted-host"].value, "env-host");
        assert_eq!(settings["trusted-host"].origin, "variable PIP_TRUSTED_HOST");
        assert!(!settings.contains_key("no-index"));
    }

    #[test]
    fn booleans_are_pips_strtobool() {
        let setting = |value: &str| Setting {
            value: value.into(),
            origin: "variable PIP_NO_INDEX".into(),
        };
        assert!(parse_bool("no-index", &setting("Yes")).unwrap());
        assert!(!parse_bool("no-index", &setting("off")).unwrap());
        let err = parse_bool("no-index", &setting("maybe"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("PIP_NO_INDEX") && err.contains("`maybe`"),
            "{err}"
        );
    }
}
