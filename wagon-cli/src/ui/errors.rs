//! How a failure reaches the user: one paragraph on stderr, also JSON on stdout under `--json`,
//! and the line an interrupt prints.

use wagon_core::scratch::Cleaned;

/// The one line an interrupt prints, naming what it removed.
pub fn report_interrupt(_signal: wagon_core::scratch::Interrupt, cleaned: &Cleaned) {
    let mut removed: Vec<String> = Vec::new();
    if let Some(dir) = &cleaned.run_dir {
        removed.push(format!("temporary files in {}", dir.display()));
    }
    if !cleaned.partials.is_empty() {
        let names: Vec<String> = cleaned
            .partials
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        removed.push(format!("partial output {}", names.join(", ")));
    }
    if removed.is_empty() {
        eprintln!("wagon: interrupted; nothing to clean up");
    } else {
        eprintln!("wagon: interrupted; removed {}", removed.join(" and "));
    }
}

/// An error and its causes as one line, skipping a cause whose text the message already quotes.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
    }
    message
}

/// What kind of failure an error is, for scripts reading `--json`: the first cause Wagon can
/// name, or none.
fn error_kind(err: &anyhow::Error) -> Option<&'static str> {
    err.chain().find_map(|cause| {
        if cause.is::<wagon_core::archive::ArchiveError>() {
            Some("archive")
        } else if cause.is::<wagon_core::interpreter::InterpreterError>() {
            Some("interpreter")
        } else if cause.is::<std::io::Error>() {
            Some("io")
        } else {
            None
        }
    })
}

/// Prints an error on stderr; under `--json` also as `{"error": {...}}` on stdout, so that a
/// script reading stdout always gets one JSON document.
pub fn print_error(err: &anyhow::Error) {
    let message = error_message(err);
    let settings = super::settings();
    if settings.json {
        print_json_error(&message, error_kind(err));
    }
    eprintln!("{} {message}", error_label(settings.color));
}

/// `{"error": {"message": ..., "kind": ...}}` on stdout.
pub fn print_json_error(message: &str, kind: Option<&str>) {
    let mut error = serde_json::json!({ "message": message });
    if let Some(kind) = kind {
        error["kind"] = serde_json::json!(kind);
    }
    // Best effort: a reader that went away needs no error report.
    let _ = super::output::line(serde_json::json!({ "error": error }));
}

/// `error:`, in bold red when colour is on, as cargo and uv print it.
fn error_label(color: bool) -> String {
    if color {
        console::style("error:")
            .red()
            .bold()
            .force_styling(true)
            .to_string()
    } else {
        "error:".to_string()
    }
}
