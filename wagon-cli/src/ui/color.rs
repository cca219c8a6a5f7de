//! Whether output is coloured: `--color`, `NO_COLOR` and `CLICOLOR_FORCE`.

use std::ffi::OsString;

/// `--color`: whether output is coloured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set (CLICOLOR_FORCE colours anywhere).
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// The choice given on the command line, read from the words themselves (see `main`); `auto`
    /// when absent or misspelt (clap then reports it).
    pub fn from_args(args: &[OsString]) -> Self {
        let mut choice = None;
        let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let value = if word == "--color" {
                words.next().map(|w| w.into_owned())
            } else {
                word.strip_prefix("--color=").map(str::to_string)
            };
            if let Some(value) = value {
                choice = <Self as clap::ValueEnum>::from_str(&value, true).ok();
            }
        }
        choice.unwrap_or_default()
    }

    /// The same choice for clap, whose `auto` already honours NO_COLOR and CLICOLOR_FORCE.
    pub fn to_clap(self) -> clap::ColorChoice {
        match self {
            Self::Auto => clap::ColorChoice::Auto,
            Self::Always => clap::ColorChoice::Always,
            Self::Never => clap::ColorChoice::Never,
        }
    }

    /// Whether a stream that is (or is not) a terminal gets colour, in this environment.
    pub fn colors(self, terminal: bool) -> bool {
        auto_colors(
            self,
            terminal,
            std::env::var_os("NO_COLOR"),
            std::env::var_os("CLICOLOR_FORCE"),
        )
    }
}

/// <https://no-color.org>: any non-empty NO_COLOR turns colour off in `auto` and wins over
/// CLICOLOR_FORCE (as in anstream, which colours clap's output); CLICOLOR_FORCE other than `0`
/// turns it on off a terminal. An explicit `--color` wins over both.
fn auto_colors(
    choice: ColorChoice,
    terminal: bool,
    no_color: Option<OsString>,
    force: Option<OsString>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if force.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                terminal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn no_color_wins_in_auto_only() {
        let set = || Some(OsString::from("1"));
        assert!(!auto_colors(ColorChoice::Auto, true, set(), None));
        assert!(!auto_colors(ColorChoice::Auto, true, set(), set()));
        assert!(auto_colors(ColorChoice::Always, true, set(), None));
        // An empty NO_COLOR is no request.
        assert!(auto_colors(
            ColorChoice::Auto,
            true,
            Some(OsString::new()),
            None
        ));
    }

    #[test]
    fn clicolor_force_colours_off_a_terminal() {
        assert!(auto_colors(
            ColorChoice::Auto,
            false,
            None,
            Some("1".into())
        ));
        assert!(!auto_colors(
            ColorChoice::Auto,
            false,
            None,
            Some("0".into())
        ));
        assert!(!auto_colors(ColorChoice::Auto, false, None, None));
        assert!(!auto_colors(
            ColorChoice::Never,
            true,
            None,
            Some("1".into())
        ));
    }

    #[test]
    fn color_is_read_before_parsing() {
        let read = |words: &[&str]| ColorChoice::from_args(&args(words));
        assert_eq!(
            read(&["wagon", "--color", "never", "show"]),
            ColorChoice::Never
        );
        assert_eq!(
            read(&["wagon", "show", "--color=always"]),
            ColorChoice::Always
        );
        assert_eq!(read(&["wagon", "show", "x"]), ColorChoice::Auto);
        assert_eq!(read(&["wagon", "--color", "purple"]), ColorChoice::Auto);
        // After `--` the words belong to the installer.
        assert_eq!(
            read(&["wagon", "install", "x", "--", "--color", "always"]),
            ColorChoice::Auto
        );
    }
}
