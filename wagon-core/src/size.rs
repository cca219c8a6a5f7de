//! Byte sizes as people write and read them: `16GiB`, `500M`, `1234` in, `16 GiB` out — for
//! the limit flags and for every message that names a size.
//!
//! Units follow GNU coreutils: a bare `K`, `M`, `G`… or `KiB`, `MiB`, `GiB`… count in powers of
//! 1024, `KB`, `MB`, `GB`… in powers of 1000. A size too large for 64 bits saturates to the
//! largest one rather than wrapping, so `--max-unpacked-bytes 99EiB` means "no limit".

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSizeError(String);

impl fmt::Display for ParseSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a size: write a number of bytes, optionally with a unit \
             (1234, 500M, 16GiB, 2GB; K/M/G and KiB/MiB/GiB are 1024-based, KB/MB/GB 1000-based)",
            self.0
        )
    }
}

impl std::error::Error for ParseSizeError {}

impl FromStr for Size {
    type Err = ParseSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseSizeError(text.to_string());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let scale = unit_scale(unit.trim()).ok_or_else(invalid)?;
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        if !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        // Whole part in integers, so that exact sizes stay exact however large; digits past
        // 64 bits saturate. The fraction only adds what it is worth of one unit.
        let mut bytes: u128 = 0;
        for digit in whole.bytes() {
            bytes = bytes
                .saturating_mul(10)
                .saturating_add(u128::from(digit - b'0'));
        }
        bytes = bytes.saturating_mul(u128::from(scale));
        if !fraction.is_empty() {
            let mut numerator: u128 = 0;
            let mut denominator: u128 = 1;
            // Beyond 19 digits the fraction cannot change a 64-bit result.
            for digit in fraction.bytes().take(19) {
                numerator = numerator * 10 + u128::from(digit - b'0');
                denominator *= 10;
            }
            bytes = bytes.saturating_add(numerator * u128::from(scale) / denominator);
        }
        Ok(Size(u64::try_from(bytes).unwrap_or(u64::MAX)))
    }
}

/// The number of bytes one `unit` stands for (case-insensitive), `None` for an unknown unit.
fn unit_scale(unit: &str) -> Option<u64> {
    let unit = unit.to_ascii_lowercase();
    let (prefix, rest) = match unit.chars().next() {
        None => return Some(1),
        Some(first) => unit.split_at(first.len_utf8()),
    };
    let power = match prefix {
        "b" if rest.is_empty() || rest == "ytes" || rest == "yte" => return Some(1),
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        "e" => 6,
        _ => return None,
    };
    let base: u64 = match rest {
        "" | "i" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    base.checked_pow(power)
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
        assert_eq!(parse("500M"), 500 << 20);
        assert_eq!(parse("16GiB"), 16 << 30);
        assert_eq!(parse("16 GiB"), 16 << 30);
        assert_eq!(parse("2gb"), 2_000_000_000);
        assert_eq!(parse("1.5K"), 1536);
        assert_eq!(parse("10B"), 10);
        assert_eq!(parse("3 bytes"), 3);
        assert_eq!(parse(".5KiB"), 512);
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        for bad in ["", "GiB", "-1", "1.2.3", "12 apples", "1X", "1 KiBB", "."] {
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
