//! The archive's file name, after wagon 1.0 and PEP 425:
//! `{name}-{version}[-{build}]-{python tags joined by .}-none-{platform}.wgn`, its ending chosen
//! by the output format.

use crate::archive::OutputFormat;

/// The archive file name for a package.
pub fn archive_name(
    package_name: &str,
    version: &str,
    build_tag: Option<&str>,
    python_tags: &[String],
    platform: &str,
) -> String {
    let mut parts = vec![package_name.replace('-', "_"), version.to_string()];
    if let Some(build) = build_tag.filter(|b| !b.is_empty()) {
        parts.push(build.to_string());
    }
    parts.push(python_tags.join("."));
    parts.push("none".to_string());
    parts.push(platform.to_string());
    format!("{}.wgn", parts.join("-"))
}

/// `archive_name` (ending in `.wgn`) as written in `format`: the compressor says how its wagons'
/// names end (`x.wgn` for gzip, `x.zst.wgn`), an uncompressed tar is `x.tar.wgn` and a zip
/// `x.zip.wgn`.
pub fn archive_file_name(archive_name: &str, format: &OutputFormat) -> String {
    let stem = archive_name.strip_suffix(".wgn").unwrap_or(archive_name);
    match format {
        OutputFormat::Tar { compressor, .. } => format!("{stem}{}", compressor.archive_suffix()),
        OutputFormat::PlainTar => format!("{stem}.tar.wgn"),
        OutputFormat::Zip => format!("{stem}.zip.wgn"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_wagon_one() {
        let tags = vec!["py311".to_string(), "py312".to_string()];
        assert_eq!(
            archive_name("demo-compiled", "0.1.0", Some("7"), &tags, "linux_x86_64"),
            "demo_compiled-0.1.0-7-py311.py312-none-linux_x86_64.wgn"
        );
        assert_eq!(
            archive_name("flask", "3.0.3", None, &["py3".to_string()], "any"),
            "flask-3.0.3-py3-none-any.wgn"
        );
    }

    #[test]
    fn an_empty_build_tag_is_no_build_tag() {
        assert_eq!(
            archive_name("a-b-c", "2.0", Some(""), &["py3".to_string()], "win_amd64"),
            "a_b_c-2.0-py3-none-win_amd64.wgn"
        );
    }
}
