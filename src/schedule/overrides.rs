//! Settings overridden through the API: a JSON object of the same fields, patched with `null` clearing.
//!
//! The service stores [`Overrides::to_json`] next to the workflow and rebuilds with
//! [`Overrides::from_json`]; a PATCH body goes through [`Overrides::patch`]. Pointers in errors
//! are into the PATCH body (`/maxActiveRuns`), since that is what the caller wrote.

use super::error::Error;
use super::settings::{Fields, NAMES, escape, unknown};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    json: Map<String, Value>,
    /// `json`, checked: kept so that reading settings never re-validates (or fails).
    fields: Fields,
}

impl Overrides {
    /// Overrides as stored (an object, possibly empty).
    pub fn from_json(value: &Value) -> Result<Overrides, Error> {
        let mut overrides = Overrides::default();
        overrides.patch(value)?;
        Ok(overrides)
    }

    pub fn to_json(&self) -> Value {
        Value::Object(self.json.clone())
    }

    /// Applies a JSON merge patch (RFC 7396, one level): a field with a value overrides, a
    /// `null` removes the override (the document's value or the default applies again).
    /// All or nothing: on error `self` is unchanged.
    pub fn patch(&mut self, patch: &Value) -> Result<(), Error> {
        let Value::Object(patch) = patch else {
            return Err(Error::invalid(
                "",
                "the settings patch must be a JSON object of run-control settings",
            ));
        };
        let mut json = self.json.clone();
        for (key, value) in patch {
            if value.is_null() {
                json.remove(key);
            } else {
                json.insert(key.clone(), value.clone());
            }
        }
        // Clearing an unknown key is an error too: a typo must not look like it worked.
        if let Some(key) = patch.keys().find(|k| !NAMES.contains(&k.as_str())) {
            return Err(unknown(key, &format!("/{}", escape(key))));
        }
        let fields = Fields::parse(&json, "")?;
        *self = Overrides { json, fields };
        Ok(())
    }

    pub(super) fn fields(&self) -> &Fields {
        &self.fields
    }
}
