//! The `--max-*` flags: the archive-reading limits users can raise for huge wagons.

use wagon_core::archive::Limits;
use wagon_core::size::Size;

use crate::GLOBAL;

/// Bounds on reading an archive; defaults are generous, flags raise them for huge wagons.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    // Defaults written into the help by hand: clap would quote `"16 GiB"` for its space.
    #[arg(long, global = true, value_name = "SIZE", help_heading = GLOBAL,
          help = size_help("Refuse archives that unpack to more than this", Limits::default().max_unpacked_bytes),
          hide_default_value = true,
          default_value_t = Size(Limits::default().max_unpacked_bytes))]
    max_unpacked_bytes: Size,

    /// Refuse archives with more entries than this.
    #[arg(long, global = true, value_name = "N", help_heading = GLOBAL,
          default_value_t = Limits::default().max_entries)]
    max_entries: u64,

    #[arg(long, global = true, value_name = "SIZE", help_heading = GLOBAL,
          help = size_help("Refuse a package.json larger than this", Limits::default().max_metadata_bytes),
          hide_default_value = true,
          default_value_t = Size(Limits::default().max_metadata_bytes))]
    max_metadata_bytes: Size,
}

/// A size flag's help: what it bounds, the units it takes, its default in those units.
fn size_help(what: &str, default: u64) -> String {
    format!(
        "{what}: bytes, or with a unit (500MB, 16GiB; KiB/MiB/GiB are 1024-based, K/M/G and \
         KB/MB/GB 1000-based) [default: {}]",
        Size(default)
    )
}

impl LimitArgs {
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_unpacked_bytes: self.max_unpacked_bytes.0,
            max_entries: self.max_entries,
            max_metadata_bytes: self.max_metadata_bytes.0,
        }
    }
}
