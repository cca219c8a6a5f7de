//! The anchors of an HTML page (PEP 503 project pages and find-links pages) and its `<base>`.
//!
//! A hand-written scan rather than an HTML crate: these pages are flat lists of `<a>` tags, and
//! only tag names, attributes and entities matter; a full parser (html5ever) would add dozens
//! of crates for that.

use std::collections::BTreeMap;

/// What a page links to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Page {
    /// `<base href>`, when the page has one (pip honours it for relative links).
    pub base: Option<String>,
    /// Each `<a>`'s attributes, lowercase names, entity-decoded values.
    pub anchors: Vec<BTreeMap<String, String>>,
}

/// Scans `html` for `<a …>` and `<base …>` tags. Comments, scripts and text are skipped.
pub(crate) fn parse(html: &str) -> Page {
    let mut page = Page::default();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        let (attributes, after) = attributes(&rest[name_end..]);
        rest = after;
        match name.as_str() {
            "a" => page.anchors.push(attributes),
            "base" if page.base.is_none() => page.base = attributes.get("href").cloned(),
            "script" | "style" => {
                // Their text may hold `<a`; skip to the closing tag.
                let close = format!("</{name}");
                rest = find_ascii_ci(rest, &close).map_or("", |at| &rest[at..]);
            }
            _ => {}
        }
    }
    page
}

/// Reads attributes up to the tag's `>`; returns them and the text after the tag.
fn attributes(mut s: &str) -> (BTreeMap<String, String>, &str) {
    let mut found = BTreeMap::new();
    loop {
        s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if s.is_empty() {
            return (found, s);
        }
        if let Some(after) = s.strip_prefix('>') {
            return (found, after);
        }
        let name_end = s
            .find(|c: char| c.is_ascii_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(s.len());
        let name = s[..name_end].to_ascii_lowercase();
        s = s[name_end..].trim_start();
        let value = if let Some(after_eq) = s.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (raw, after) = match after_eq.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let body = &after_eq[1..];
                    let end = body.find(quote).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after_eq
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .unwrap_or(after_eq.len());
                    (&after_eq[..end], &after_eq[end..])
                }
            };
            s = after;
            decode_entities(raw)
        } else {
            String::new()
        };
        if name.is_empty() {
            // A stray `=`; skip it so the scan moves on.
            s = &s[s.chars().next().map_or(0, char::len_utf8)..];
            continue;
        }
        found.entry(name).or_insert(value);
    }
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Decodes the entities attribute values use: `&amp; &lt; &gt; &quot; &apos; &#NN; &#xNN;`.
/// Anything else is kept as written.
pub(crate) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_with_every_quoting_and_entities() {
        let page = parse(
            "<!DOCTYPE html><html><head><BASE HREF='/root/'><!-- <a href=\"hidden\"> -->\
             <script>var s = '<a href=\"no\">';</script></head><body>\n\
             <a href=\"../files/a-1.0.tar.gz#sha256=ab\" data-requires-python=\"&gt;=3.8\">a</a><br/>\n\
             <A HREF=b-1.0-py3-none-any.whl data-yanked>b</A>\n\
             <a href='c.whl' data-yanked=\"bad &amp; broken &#x41;&#66;\" data-core-metadata=\"sha256=cd\"/>\n\
             <a name=\"no-href\">x</a></body></html>",
        );
        assert_eq!(page.base.as_deref(), Some("/root/"));
        assert_eq!(page.anchors.len(), 4, "{page:?}");
        assert_eq!(page.anchors[0]["href"], "../files/a-1.0.tar.gz#sha256=ab");
        assert_eq!(page.anchors[0]["data-requires-python"], ">=3.8");
        assert_eq!(page.anchors[1]["href"], "b-1.0-py3-none-any.whl");
        assert_eq!(page.anchors[1]["data-yanked"], "");
        assert_eq!(page.anchors[2]["data-yanked"], "bad & broken AB");
        assert_eq!(page.anchors[2]["data-core-metadata"], "sha256=cd");
        assert!(!page.anchors[3].contains_key("href"));
    }

    #[test]
    fn broken_markup_ends_the_scan_without_panicking() {
        for html in [
            "<a href=\"x",
            "<a href=",
            "<",
            "<a =x>",
            "&#xZZ; &bogus; &",
            "<!--",
        ] {
            let _ = parse(html);
        }
        assert_eq!(decode_entities("&#xZZ; &bogus; &"), "&#xZZ; &bogus; &");
        assert_eq!(parse("<a href=\"x").anchors[0]["href"], "x");
    }
}
