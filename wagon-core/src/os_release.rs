//! The build host's Linux distribution, read from `os-release(5)`, as wagon 1.0 recorded it in
//! `package.json` (`build_server_os_properties`).
//!
//! Parsed here rather than with a crate: the one on crates.io (`os-release` 0.1) predates the
//! quoting rules below and is unmaintained; the format is a dozen lines of shell-like assignments.

use crate::manifest::OsProperties;

/// The distribution of the machine this runs on (`/etc/os-release`, else
/// `/usr/lib/os-release`); empty fields where there is no such file.
pub fn host_os_properties() -> OsProperties {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map_or_else(OsProperties::default, |text| os_properties(&text))
}

/// The fields wagon 1.0 recorded, lowercased as it did.
pub fn os_properties(text: &str) -> OsProperties {
    let field = |key: &str| {
        // The last assignment wins, as in a shell.
        text.lines()
            .rev()
            .filter_map(|line| line.trim().split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, value)| unquote(value).to_lowercase())
    };
    OsProperties {
        distribution: field("ID"),
        distribution_release: field("VERSION_CODENAME"),
        distribution_version: field("VERSION_ID"),
    }
}

/// A value as os-release(5) quotes it: bare, or in single or double quotes, with `\` escaping
/// `$`, `"`, `\` and `` ` `` inside double quotes.
fn unquote(value: &str) -> String {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_string();
    }
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('$' | '"' | '\\' | '`'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unquoted_and_lowercased_as_wagon_one_did() {
        let text = "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n\
                    VERSION_CODENAME='Bookworm'\n# ID=commented\n";
        let properties = os_properties(text);
        assert_eq!(properties.distribution.as_deref(), Some("debian"));
        assert_eq!(properties.distribution_version.as_deref(), Some("12"));
        assert_eq!(properties.distribution_release.as_deref(), Some("bookworm"));
    }

    #[test]
    fn escapes_inside_double_quotes_are_honoured() {
        assert_eq!(unquote(r#""a \"b\" \$c \\ d""#), r#"a "b" $c \ d"#);
        assert_eq!(unquote(r#""keep \n""#), r#"keep \n"#);
        assert_eq!(unquote("bare"), "bare");
    }

    #[test]
    fn missing_fields_stay_empty() {
        let properties = os_properties("ID=alpine\n");
        assert_eq!(properties.distribution.as_deref(), Some("alpine"));
        assert_eq!(properties.distribution_release, None);
    }
}
