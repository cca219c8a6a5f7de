//! Console and GUI script launchers from `entry_points.txt`, byte for byte as pip (distlib)
//! writes them on POSIX.

/// One `name = module:attr` line of `[console_scripts]` or `[gui_scripts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub name: String,
    pub module: String,
    /// `attr` or `attr.sub`; empty when the entry point names a module only (not callable).
    pub attrs: String,
}

/// Parses the script sections of an `entry_points.txt` (INI, as `configparser` reads it).
pub fn scripts(text: &str) -> Result<Vec<Script>, String> {
    let mut section = String::new();
    let mut scripts = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if section != "console_scripts" && section != "gui_scripts" {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| format!("entry_points.txt line `{line}` is not `name = module:attr`"))?;
        // Extras in brackets (`mod:fn [extra]`) do not change the launcher.
        let value = value.split('[').next().unwrap_or_default().trim();
        let (module, attrs) = value
            .split_once(':')
            .map_or((value, ""), |(m, a)| (m.trim(), a.trim()));
        if attrs.is_empty() {
            return Err(format!(
                "entry point `{}` = `{value}` names no callable (expected `module:function`)",
                name.trim()
            ));
        }
        scripts.push(Script {
            name: name.trim().to_string(),
            module: module.to_string(),
            attrs: attrs.to_string(),
        });
    }
    Ok(scripts)
}

/// The launcher file for `script` run by `python`.
pub fn launcher(script: &Script, python: &str) -> Vec<u8> {
    let import_name = script.attrs.split('.').next().unwrap_or_default();
    let body = format!(
        "# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom {module} import {import_name}\nif __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit({func}())\n",
        module = script.module,
        func = script.attrs,
    );
    let mut out = shebang(python);
    out.extend_from_slice(body.as_bytes());
    out
}

/// distlib's shebang: `#!python` when short and space-free, else a `/bin/sh` trampoline.
pub fn shebang(python: &str) -> Vec<u8> {
    let executable = if python.contains(' ') && !python.starts_with('"') {
        format!("\"{python}\"")
    } else {
        python.to_string()
    };
    let limit = if cfg!(target_os = "macos") { 512 } else { 127 };
    if !executable.contains(' ') && executable.len() + 3 <= limit {
        format!("#!{executable}\n").into_bytes()
    } else {
        format!("#!/bin/sh\n'''exec' {executable} \"$0\" \"$@\"\n' '''\n").into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scripts_and_skips_other_groups() {
        let text = "[console_scripts]\ndemo = demo.cli:main\nother=pkg:obj.run [extra]\n\n[demo.plugins]\nx = y:z\n[gui_scripts]\ndemo-gui = demo.gui:start\n";
        let parsed = scripts(text).unwrap_or_default();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].attrs, "obj.run");
    }

    #[test]
    fn launcher_matches_pip() {
        let script = Script {
            name: "demo".into(),
            module: "demo.cli".into(),
            attrs: "main".into(),
        };
        let text = String::from_utf8(launcher(&script, "/v/bin/python")).unwrap_or_default();
        assert!(text.starts_with("#!/v/bin/python\n# -*- coding: utf-8 -*-\nimport re\n"));
        assert!(text.ends_with("    sys.exit(main())\n"));
        let long = "/x".repeat(80);
        assert!(String::from_utf8_lossy(&shebang(&long)).starts_with("#!/bin/sh\n'''exec' "));
    }
}
