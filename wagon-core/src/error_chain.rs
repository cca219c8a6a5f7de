//! An error with its causes as one line (`cannot build x: pip failed: …`), as `anyhow` shows them
//! with `{:#}`, for reports that keep errors as text (validate's findings, a plugin's message).

/// `err` and each of its sources, `: `-joined; a cause whose text the line already ends with
/// (a transparent wrapper) is not repeated.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot build x")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_error() {
        let err = Outer(std::io::Error::other("pip failed"));
        assert_eq!(error_chain(&err), "cannot build x: pip failed");
    }
}
