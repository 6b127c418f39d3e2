//! How metric values are spelled on disk: they may be NaN or infinite, which JSON writes as
//! `null` and which read back as NaN. (T-times and durations are `TTime` and `Period`, which
//! write themselves as seconds.)

use serde::{Deserialize, Deserializer, Serializer};

/// An `f64` that JSON may hold as `null` (NaN and the infinities are written so).
pub mod value {
    use super::*;

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(*v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Option::<f64>::deserialize(d).map(|v| v.unwrap_or(f64::NAN))
    }
}
