//! `package.json` parsing: `Manifest::from_json` and `manifest::check` on arbitrary bytes, and
//! the round trip: whatever parses must serialise and parse back to an equal manifest.
//!
//! Floats in unknown fields (`Manifest::extra`) are compared to within a few ULP by default:
//! serde_json without its `float_roundtrip` feature parses some 17-digit or large-exponent floats
//! 1 ULP off, so `5.5455555555555555e63` does not survive read-modify-write exactly (see
//! fuzz/README.md, "Findings"). Set `WAGON_FUZZ_EXACT_FLOATS=1` to demand exact equality.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wagon_core::manifest::{self, Manifest};

fn exact_floats() -> bool {
    static EXACT: OnceLock<bool> = OnceLock::new();
    *EXACT.get_or_init(|| std::env::var_os("WAGON_FUZZ_EXACT_FLOATS").is_some())
}

/// Equal JSON values, floats within a relative 1e-14 unless exact floats are demanded.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if !exact_floats() && (x.is_f64() || y.is_f64()) => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-14 * x.abs().max(y.abs()),
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let parsed = Manifest::from_json(data);
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let problems = manifest::check(&value);
        // A document `check` rejects must not parse.
        if !problems.is_empty() {
            assert!(
                parsed.is_err(),
                "check found {problems:?} but from_json accepted it"
            );
        }
    }
    if let Ok(manifest) = parsed {
        let json = manifest.to_json().expect("a parsed manifest serialises");
        let mut again = Manifest::from_json(&json).unwrap_or_else(|err| {
            panic!(
                "to_json's output does not parse back: {err}\n{}",
                String::from_utf8_lossy(&json)
            )
        });
        let extra = std::mem::take(&mut again.extra);
        let mut known = manifest.clone();
        let original_extra = std::mem::take(&mut known.extra);
        assert_eq!(
            again, known,
            "package.json round trip changed a known field"
        );
        assert!(
            extra.len() == original_extra.len()
                && extra
                    .iter()
                    .all(|(k, v)| original_extra.get(k).is_some_and(|w| same(v, w))),
            "package.json round trip changed unknown fields:\n  before: {original_extra:?}\n  after:  {extra:?}"
        );
    }
});
