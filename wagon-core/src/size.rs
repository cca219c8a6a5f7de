//! Byte sizes as people write and read them: `16GiB`, `500M`, `1234` in, `16 GiB` out — for
//! the limit flags and for every message that names a size.
//!
//! Reading is the `parse-size` crate's, with its IEC units: `KiB`, `MiB`, `GiB`… (or `Ki`, `Mi`…)
//! count in powers of 1024, `K`, `M`, `G`… and `KB`, `MB`, `GB`… in powers of 1000, any case;
//! fractions (`1.5GiB`) and digit groups (`1_000_000`) are allowed. A size too large for 64 bits
//! saturates to the largest one rather than failing, so `--max-unpacked-bytes 99EiB` means "no
//! limit".

use std::fmt;
use std::str::FromStr;

/// A number of bytes, parsed from and shown in human units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

/// The binary units, largest first, for showing a size.
const BINARY: [(&str, u64); 6] = [
    ("EiB", 1 << 60),
    ("PiB", 1 << 50),
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
];

impl fmt::Display for Size {
    /// Exact multiples as whole units (`16 GiB`), which parse back to the same number; other
    /// sizes with one decimal and the exact count (`1.2 KiB (1234 bytes)`); below 1 KiB in bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        for (unit, scale) in BINARY {
            if bytes >= scale {
                if bytes.is_multiple_of(scale) {
                    return write!(f, "{} {unit}", bytes / scale);
                }
                // Rounded for reading, with the exact number the flag takes beside it.
                #[allow(clippy::cast_precision_loss)]
                let value = bytes as f64 / scale as f64;
                return write!(f, "{value:.1} {unit} ({bytes} bytes)");
            }
        }
        if bytes == 1 {
            write!(f, "1 byte")
        } else {
            write!(f, "{bytes} bytes")
        }
    }
}

/// Why a size could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a size: write a number of bytes, optionally with a unit \
     (1234, 500M, 16GiB, 2GB; KiB/MiB/GiB are 1024-based, K/M/G and KB/MB/GB 1000-based)"
)]
pub struct ParseSizeError(String);

impl FromStr for Size {
    type Err = ParseSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        // `Display` spells out `bytes` below 1 KiB; the crate knows only `B`.
        let input = ["bytes", "byte"]
            .into_iter()
            .find_map(|word| strip_word(trimmed, word))
            .map_or_else(|| trimmed.to_string(), |number| format!("{number}B"));
        match parse_size::parse_size(&input) {
            Ok(bytes) => Ok(Size(bytes)),
            Err(parse_size::Error::PosOverflow) => Ok(Size(u64::MAX)),
            Err(_) => Err(ParseSizeError(text.to_string())),
        }
    }
}

/// `text` without a trailing `word` (any case), if it ends with one.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let (head, tail) = text.split_at_checked(text.len().checked_sub(word.len())?)?;
    tail.eq_ignore_ascii_case(word).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> u64 {
        text.parse::<Size>().unwrap().0
    }

    #[test]
    fn reads_plain_bytes_and_units() {
        assert_eq!(parse("1234"), 1234);
        assert_eq!(parse("16GiB"), 16 << 30);
        assert_eq!(parse("16 GiB"), 16 << 30);
        assert_eq!(parse("500Mi"), 500 << 20);
        assert_eq!(parse("1.5KiB"), 1536);
        assert_eq!(parse("10B"), 10);
        assert_eq!(parse("3 bytes"), 3);
        assert_eq!(parse("1 Byte"), 1);
        assert_eq!(parse(" 1_000 \n"), 1000);
    }

    #[test]
    fn bare_prefixes_are_decimal_as_iec_says() {
        // IEC 80000-13: K, M, G (with or without B) are powers of 1000; only KiB, MiB, GiB
        // are powers of 1024.
        assert_eq!(parse("500M"), 500_000_000);
        assert_eq!(parse("500MB"), 500_000_000);
        assert_eq!(parse("2gb"), 2_000_000_000);
        assert_eq!(parse("1.5K"), 1500);
        assert_eq!(parse("16G"), 16_000_000_000);
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        for bad in [
            "",
            "GiB",
            "-1",
            "1.2.3",
            "12 apples",
            "1X",
            "1 KiBB",
            ".",
            "bytes",
            "1 bytess",
        ] {
            assert!(bad.parse::<Size>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        assert_eq!(parse("16EiB"), u64::MAX);
        assert_eq!(parse("99999999999999999999999999999999999999999"), u64::MAX);
        assert_eq!(parse("18446744073709551615"), u64::MAX);
        assert_eq!(parse("18446744073709551614"), u64::MAX - 1);
    }

    #[test]
    fn shows_whole_units_that_parse_back() {
        for bytes in [0, 1, 1023, 1024, 16 << 20, 16 << 30, 5 << 40, u64::MAX] {
            let shown = Size(bytes).to_string();
            if bytes.is_multiple_of(1024) || bytes < 1024 {
                assert_eq!(parse(&shown), bytes, "{shown}");
            }
        }
        assert_eq!(Size(16 << 30).to_string(), "16 GiB");
        assert_eq!(Size(16 << 20).to_string(), "16 MiB");
        assert_eq!(Size(1234).to_string(), "1.2 KiB (1234 bytes)");
        assert_eq!(Size(1).to_string(), "1 byte");
        assert_eq!(Size(100).to_string(), "100 bytes");
    }
}
