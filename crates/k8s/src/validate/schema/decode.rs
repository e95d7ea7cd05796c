//! A serde `Deserializer` over a `serde_json::Value` that remembers where it is.
//!
//! `k8s-openapi` types ignore unknown fields (they decode into `IgnoredAny`), and serde's own
//! errors carry no path. Decoding through this deserializer instead records, at every object a
//! type decodes as a struct, the field names that struct knows (serde hands them to
//! `deserialize_struct`): a key outside that list is a field the type drops, reported with its
//! path and the struct's fields to suggest from. Maps (labels, data) decode through
//! `deserialize_map` and accept any key, as they should. The path of the innermost failing value
//! is kept for decode errors, and `Quantity` strings are checked for their grammar (the type
//! itself accepts any string).

use std::cell::RefCell;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::quantity;
use crate::validate::FieldPath;

/// What decoding one object found besides its result.
#[derive(Debug, Default)]
pub(super) struct Report {
    /// Keys the type does not know: where, the key, the struct's name and fields.
    pub unknown: Vec<Unknown>,
    /// Quantities that do not parse: where and the text.
    pub bad_quantities: Vec<(FieldPath, String)>,
    /// Where the decode error happened (the innermost value that failed).
    pub error_path: Option<FieldPath>,
}

/// A key that decoding dropped.
#[derive(Debug)]
pub(super) struct Unknown {
    pub path: FieldPath,
    pub key: String,
    /// The struct's name (`DeploymentSpec`; the kind for a top-level object).
    pub type_name: &'static str,
    pub fields: &'static [&'static str],
}

/// Decodes `value` as `T`, recording into the returned report; the error, if any, is serde's
/// message.
pub(super) fn decode<'de, T: de::Deserialize<'de>>(value: &'de Value) -> (Result<T, String>, Report) {
    let state = RefCell::new(Report::default());
    let result = T::deserialize(Node { value, path: FieldPath::default(), state: &state }).map_err(|e| e.0);
    (result, state.into_inner())
}

/// The error type of this deserializer: serde's message.
#[derive(Debug)]
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Error(message.to_string())
    }
}

/// One value and where it is.
struct Node<'de, 'r> {
    value: &'de Value,
    path: FieldPath,
    state: &'r RefCell<Report>,
}

impl Node<'_, '_> {
    /// Remembers where a failure happened. Errors travel outwards, so the first one recorded is
    /// the innermost; a parent failing with it keeps it. A failure elsewhere (after a type
    /// recovered from an earlier one) replaces it.
    fn track<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        if result.is_err() {
            let mut state = self.state.borrow_mut();
            if !state.error_path.as_ref().is_some_and(|recorded| recorded.starts_with(&self.path)) {
                state.error_path = Some(self.path.clone());
            }
        }
        result
    }
}

impl<'de> Deserializer<'de> for Node<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Seq { items: items.iter().enumerate(), path: &self.path, state: self.state }),
            Value::Object(map) => visitor.visit_map(Map { entries: map.iter(), pending: None, path: &self.path, state: self.state }),
        };
        self.track(result)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.value.is_null() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if let Value::Object(map) = self.value {
            let mut state = self.state.borrow_mut();
            for key in map.keys().filter(|key| !fields.contains(&key.as_str())) {
                state.unknown.push(Unknown { path: self.path.clone(), key: key.clone(), type_name: name, fields });
            }
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        if name == "Quantity"
            && let Value::String(text) = self.value
            && !quantity::is_valid(text)
        {
            self.state.borrow_mut().bad_quantities.push((self.path.clone(), text.clone()));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // No k8s-openapi type decodes an enum; this is here for completeness, without paths
        // below the enum.
        let result = match self.value {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => other.deserialize_enum(name, variants, visitor).map_err(|e| Error(e.to_string())),
        };
        self.track(result)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // The value of an unknown key: already reported, nothing below it to check.
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

struct Seq<'de, 'r, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: &'p FieldPath,
    state: &'r RefCell<Report>,
}

impl<'de> SeqAccess<'de> for Seq<'de, '_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        let Some((index, value)) = self.items.next() else { return Ok(None) };
        seed.deserialize(Node { value, path: self.path.index(index), state: self.state }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'de, 'r, 'p> {
    entries: serde_json::map::Iter<'de>,
    pending: Option<(&'de String, &'de Value)>,
    path: &'p FieldPath,
    state: &'r RefCell<Report>,
}

impl<'de> MapAccess<'de> for Map<'de, '_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else { return Ok(None) };
        self.pending = Some((key, value));
        seed.deserialize(BorrowedStrDeserializer::<Error>::new(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (key, value) = self.pending.take().ok_or_else(|| de::Error::custom("a map value was asked for before its key"))?;
        seed.deserialize(Node { value, path: self.path.key(key), state: self.state })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
