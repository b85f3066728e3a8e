//! `Timestamp`: the one time type on the wire. Always UTC RFC 3339 with exactly three
//! fractional digits (`2026-11-23T10:23:56.000Z`), so timestamps compare correctly as
//! strings too, and millisecond precision matches what the server stores.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The instant `ms` milliseconds after the Unix epoch, if representable.
    pub fn from_millis(ms: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(ms).map(Self)
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Now, truncated to milliseconds.
    pub fn now() -> Self {
        Self::from(Utc::now())
    }

    /// The chrono value.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self::from_millis(value.timestamp_millis()).unwrap_or(Self(value))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Self::from(t.with_timezone(&Utc)))
            .map_err(|e| serde::de::Error::custom(format!("invalid RFC 3339 time {text:?}: {e}")))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .examples([serde_json::json!("2026-11-23T10:23:56.000Z")])
            .description(Some("UTC, RFC 3339, exactly three fractional digits"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_three_digits_and_string_order_is_time_order() {
        let whole = Timestamp::from_millis(1_795_400_000_000).unwrap();
        let next = Timestamp::from_millis(1_795_400_000_001).unwrap();
        let a = serde_json::to_string(&whole).unwrap();
        let b = serde_json::to_string(&next).unwrap();
        assert_eq!(a, r#""2026-11-23T02:13:20.000Z""#);
        assert!(a < b);
        let back: Timestamp =
            serde_json::from_str(r#""2026-11-23T03:13:20.000123+01:00""#).unwrap();
        assert_eq!(back, whole);
        assert!(serde_json::from_str::<Timestamp>(r#""yesterday""#).is_err());
    }
}
