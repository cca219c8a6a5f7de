//! Fixtures shared by all of Wagon's integration tests.
//!
//! Everything here builds real artefacts with real tools rather than mocks: the
//! host Python 3 interpreter and throwaway virtual environments ([`python`],
//! [`venv`]), spec-compliant wheels and source projects ([`wheel`], [`sdist`]),
//! a loopback HTTP package index that pip can talk to ([`index`]), archives laid
//! out exactly as cloudify wagon 1.0.3 wrote them ([`legacy`]), deliberately
//! malformed archives for error paths ([`hostile`]) and a stand-in for a
//! distribution's own interpreter ([`system`]). None of it depends on
//! Wagon's own code, so a bug in Wagon cannot hide behind a matching bug in its
//! fixtures.
//!
//! Fixtures panic loudly instead of returning errors: a broken fixture is a test
//! failure, and a missing Python is never a reason to skip a test silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod examples;
pub mod hostile;
pub mod index;
pub mod legacy;
pub mod python;
pub mod sdist;
pub mod system;
pub mod venv;
pub mod wheel;
