//! Durations in the spec's three forms: an object of units, ISO 8601, or a runtime expression.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq)]
pub enum Duration {
    Inline(Units),
    /// An ISO 8601 duration, already parsed.
    Iso(String, std::time::Duration),
    /// A runtime expression that evaluates to an ISO 8601 string (or a units object).
    Expr(String),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Units {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milliseconds: Option<u64>,
}

impl Units {
    pub fn to_std(&self) -> std::time::Duration {
        let ms = self
            .days
            .unwrap_or(0)
            .saturating_mul(86_400_000)
            .saturating_add(self.hours.unwrap_or(0).saturating_mul(3_600_000))
            .saturating_add(self.minutes.unwrap_or(0).saturating_mul(60_000))
            .saturating_add(self.seconds.unwrap_or(0).saturating_mul(1000))
            .saturating_add(self.milliseconds.unwrap_or(0));
        std::time::Duration::from_millis(ms)
    }
}

/// Parses an ISO 8601 duration (`P1DT2H30M`, `PT0.5S`, `P1W`). Years and months have no fixed
/// length; they are rejected rather than guessed.
pub fn parse_iso8601(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("`{text}` is not an ISO 8601 duration (e.g. PT30S, P1DT2H)");
    let rest = text.strip_prefix('P').ok_or_else(bad)?;
    if rest.is_empty() {
        return Err(bad());
    }
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut secs = 0f64;
    let mut scan = |part: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut number = String::new();
        let mut next = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let at = units[next..]
                .iter()
                .position(|(u, _)| *u == c)
                .ok_or_else(bad)?;
            let (_, factor) = units[next + at];
            if factor == 0.0 {
                return Err(format!(
                    "`{text}`: years and months have no fixed length; use days"
                ));
            }
            let n: f64 = number.parse().map_err(|_| bad())?;
            secs += n * factor;
            number.clear();
            next += at + 1;
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    scan(
        date,
        &[('Y', 0.0), ('M', 0.0), ('W', 604_800.0), ('D', 86_400.0)],
    )?;
    if let Some(t) = time {
        scan(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    if !secs.is_finite() || secs > 1e12 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Units(Units),
            Text(String),
        }
        use serde::de::Error;
        match Raw::deserialize(d).map_err(|_| {
            D::Error::custom("expected a duration: an object of days/hours/minutes/seconds/milliseconds, an ISO 8601 string or a runtime expression")
        })? {
            Raw::Units(u) => Ok(Duration::Inline(u)),
            Raw::Text(s) if crate::expr::is_expression(&s) => Ok(Duration::Expr(s)),
            Raw::Text(s) => parse_iso8601(&s).map(|d| Duration::Iso(s, d)).map_err(D::Error::custom),
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Duration::Inline(u) => u.serialize(s),
            Duration::Iso(text, _) | Duration::Expr(text) => s.serialize_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, ms: Option<u128>) {
        assert_eq!(
            parse_iso8601(text).ok().map(|d| d.as_millis()),
            ms,
            "{text}"
        );
    }

    #[test]
    fn iso8601() {
        check("PT1S", Some(1000));
        check("PT0.25S", Some(250));
        check("P1DT2H3M4S", Some(93_784_000));
        check("P2W", Some(1_209_600_000));
        check("PT", None);
        check("P", None);
        check("P1Y", None);
        check("1S", None);
        check("PT1S2M", None);
        check("PT1.2.3S", None);
    }
}
