//! Console and GUI script launchers, byte for byte as pip (distlib) writes them on POSIX.

use wagon_core::entry_points::Script;

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
    fn launcher_matches_pip() {
        let script = Script {
            name: "demo".into(),
            module: "demo.cli".into(),
            attrs: "main".into(),
        };
        let text = String::from_utf8(launcher(&script, "/v/bin/python")).unwrap();
        assert!(text.starts_with("#!/v/bin/python\n# -*- coding: utf-8 -*-\nimport re\n"));
        assert!(text.ends_with("    sys.exit(main())\n"));
        let long = "/x".repeat(80);
        assert!(String::from_utf8_lossy(&shebang(&long)).starts_with("#!/bin/sh\n'''exec' "));
    }
}
