//! What a command prints on stdout, for a person or a pipe. A reader that goes away early
//! (`wagon show X | head`) ends the output quietly instead of panicking, as `println!` would.

use std::io::{self, Write};

/// Prints one line on stdout. A closed pipe comes back as [`io::ErrorKind::BrokenPipe`], which
/// `main` treats as the reader having all it wanted.
pub fn line(text: impl std::fmt::Display) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Whether `err` is a closed stdout, which is no failure of the command.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
