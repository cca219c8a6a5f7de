//! Console and GUI scripts from a wheel's `entry_points.txt`: parsed, and checked against the
//! entry-points spec (a plain name, a `module:object` value) before any launcher is written, so
//! a name cannot leave the scripts folder and a value cannot smuggle code into the launcher.
//!
//! Parsed by hand on purpose, not with the `configparser` crate (uv's choice): what matters is
//! reading the file exactly as the installers that run it do, and those are not INI parsers.
//! pip reads it through `importlib.metadata` (`Sectioned.read`: `str.splitlines`, `str.strip`,
//! `#` comments only, `[`/`]` stripped from both ends of a header, split at the first `=`), or
//! on older Pythons through `pkg_resources` (`split_sections`: one bracket each side, the name
//! stripped). `configparser` also treats `;` as a comment, splits on `:`, folds key case and
//! merges duplicates: each a way for a script to reach pip unseen by these checks.
/// One `name = module:attr` line of `[console_scripts]` or `[gui_scripts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub name: String,
    pub module: String,
    /// `attr` or `attr.sub`.
    pub attrs: String,
}

/// Why a script entry point is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryPointError {
    #[error("entry_points.txt line `{0}` is not `name = module:object`")]
    Syntax(String),
    #[error(
        "entry_points.txt holds the line break `{0}`, which Python reads as a new line and Wagon \
         would not: the file could hide scripts"
    )]
    LineBreak(String),
    #[error(
        "entry point `{name}` = `{value}` is not a valid `module:object` reference (dotted \
         Python identifiers, as the entry-points spec requires)"
    )]
    Value { name: String, value: String },
    #[error(
        "entry_points.txt section header `{0}` names a script group for one of Python's two \
         readers (importlib.metadata, pkg_resources) and another group for the other"
    )]
    AmbiguousSection(String),
    #[error("entry point `{name}` = `{value}` names no callable (expected `module:function`)")]
    NotCallable { name: String, value: String },
    #[error(
        "script name `{0}` is not a plain file name (one component: no `/`, `\\`, `..` or \
         control characters)"
    )]
    Name(String),
}

/// Parses the script sections of an `entry_points.txt` as pip's readers do (see the module doc:
/// not as an INI file) and checks every script's name and value.
pub fn scripts(text: &str) -> Result<Vec<Script>, EntryPointError> {
    // Python splits lines on these too (`str.splitlines`): a section Wagon would skip could
    // then hide a console script pip installs.
    if let Some(odd) = text.replace("\r\n", "\n").chars().find(|c| {
        matches!(
            c,
            '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}'
        )
    }) {
        return Err(EntryPointError::LineBreak(odd.escape_unicode().to_string()));
    }
    let mut section = String::new();
    let mut scripts = Vec::new();
    for raw in text.lines() {
        let line = python_strip(raw);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            // importlib: `value.strip('[]')`; pkg_resources: `line[1:-1].strip()`.
            let importlib = line.trim_matches(['[', ']']);
            let pkg_resources = python_strip(&line[1..line.len() - 1]);
            if importlib != pkg_resources
                && [importlib, pkg_resources].into_iter().any(is_script_group)
            {
                return Err(EntryPointError::AmbiguousSection(
                    line.chars().map(visible).collect(),
                ));
            }
            section = importlib.to_string();
            continue;
        }
        if !is_script_group(&section) {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| EntryPointError::Syntax(line.chars().map(visible).collect()))?;
        let (name, value) = (python_strip(name), python_strip(value));
        if !is_plain_name(name) {
            return Err(EntryPointError::Name(name.chars().map(visible).collect()));
        }
        scripts.push(parse_value(name, value)?);
    }
    Ok(scripts)
}

fn is_script_group(section: &str) -> bool {
    section == "console_scripts" || section == "gui_scripts"
}

/// Python's `str.strip()`: Rust's whitespace plus `\x1c`-`\x1f`, which `str.isspace` counts.
fn python_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// `module:attr [extras]`, each side dotted identifiers; extras do not change the launcher.
fn parse_value(name: &str, value: &str) -> Result<Script, EntryPointError> {
    let invalid = || EntryPointError::Value {
        name: name.to_string(),
        value: value.chars().map(visible).collect(),
    };
    let reference = match value.split_once('[') {
        Some((reference, extras)) => {
            let extras = extras.trim_end();
            if !extras.ends_with(']') || extras[..extras.len() - 1].contains(['[', ']']) {
                return Err(invalid());
            }
            python_strip(reference)
        }
        None => value,
    };
    let Some((module, attrs)) = reference.split_once(':') else {
        return if is_dotted_identifier(reference) {
            Err(EntryPointError::NotCallable {
                name: name.to_string(),
                value: value.to_string(),
            })
        } else {
            Err(invalid())
        };
    };
    let (module, attrs) = (python_strip(module), python_strip(attrs));
    if !is_dotted_identifier(module) || !is_dotted_identifier(attrs) {
        return Err(invalid());
    }
    Ok(Script {
        name: name.to_string(),
        module: module.to_string(),
        attrs: attrs.to_string(),
    })
}

/// `a.b_c.d`: Python identifiers joined by dots.
fn is_dotted_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// Control characters shown escaped in messages; everything else as written.
fn visible(c: char) -> String {
    if c.is_control() {
        c.escape_default().collect()
    } else {
        c.to_string()
    }
}

/// One path component that stays where it is put.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', ':'])
        && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scripts_and_skips_other_groups() {
        let text = "[console_scripts]\ndemo = demo.cli:main\nother=pkg:obj.run [extra]\n\n[demo.plugins]\nx = y:z\n[gui_scripts]\ndemo-gui = demo.gui:start\n";
        let parsed = scripts(text).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].attrs, "obj.run");
    }

    #[test]
    fn sections_are_read_as_pythons_readers_read_them() {
        // `importlib.metadata.EntryPoints._from_text` (CPython 3.11) finds `evil` in
        // console_scripts: `str.strip` removes `\x1f`, which Rust's `trim` keeps.
        let hidden = "[other]\n\x1f[console_scripts]\nevil = os:system\n";
        let found = scripts(hidden).unwrap();
        assert_eq!(
            found.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["evil"]
        );
        // importlib reads `gui_scripts` and ` console_scripts `, pkg_resources `[gui_scripts]`
        // and `console_scripts`: pip would install these on one Python and not another.
        for header in ["[[gui_scripts]]", "[ console_scripts ]", "[\tgui_scripts]"] {
            let text = format!("{header}\nx = a:b\n");
            assert!(
                matches!(scripts(&text), Err(EntryPointError::AmbiguousSection(_))),
                "{header}: {:?}",
                scripts(&text)
            );
        }
        // Both readers agree these are other groups.
        assert_eq!(scripts("[[demo.plugins]]\nx = a:b\n"), Ok(Vec::new()));
        // `;` starts no comment for either reader: the line is a script named `; x`.
        let semi = scripts("[console_scripts]\n; x = a:b\n").unwrap();
        assert_eq!(semi[0].name, "; x");
    }

    #[test]
    fn hostile_names_and_values_are_refused() {
        for name in ["../../x", "a/b", "..", "a\\b", "c:x"] {
            let text = format!("[console_scripts]\n{name} = demo:main\n");
            assert_eq!(
                scripts(&text),
                Err(EntryPointError::Name(name.chars().map(visible).collect())),
                "{name}"
            );
        }
        for value in [
            "os import system; system('id'); from os:getcwd",
            "demo:main()",
            "demo:main; import os",
            "de mo:main",
            "demo:",
            ":main",
            "demo:main [x] [y]",
            "1demo:main",
        ] {
            let text = format!("[gui_scripts]\nx = {value}\n");
            assert!(
                matches!(scripts(&text), Err(EntryPointError::Value { .. })),
                "{value}: {:?}",
                scripts(&text)
            );
        }
        assert!(matches!(
            scripts("[console_scripts]\nx = demo\n"),
            Err(EntryPointError::NotCallable { .. })
        ));
        let ok = scripts("[console_scripts]\nx = pkg.mod : obj.attr [extra1, extra2]\n").unwrap();
        assert_eq!(
            (ok[0].module.as_str(), ok[0].attrs.as_str()),
            ("pkg.mod", "obj.attr")
        );
    }
}
