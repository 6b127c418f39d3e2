//! How typed fields are spelled on disk: T-times and durations are kept in milliseconds in
//! memory and written as seconds (`late_s: 1.5`), as the journal always had them; metric
//! values may be NaN or infinite, which JSON writes as `null` and which read back as NaN.

use crate::core::time::Ms;
use serde::{Deserialize, Deserializer, Serializer};

fn to_ms(s: f64) -> Ms {
    (s * 1000.0).round() as Ms
}

/// `Ms` as seconds.
pub mod secs {
    use super::*;

    pub fn serialize<S: Serializer>(ms: &Ms, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(*ms as f64 / 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ms, D::Error> {
        f64::deserialize(d).map(to_ms)
    }
}

/// `Option<Ms>` as seconds; used with `default` and `skip_serializing_if = "Option::is_none"`.
pub mod opt_secs {
    use super::*;

    pub fn serialize<S: Serializer>(ms: &Option<Ms>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_f64(*ms as f64 / 1000.0),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ms>, D::Error> {
        Option::<f64>::deserialize(d).map(|v| v.map(to_ms))
    }
}

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
