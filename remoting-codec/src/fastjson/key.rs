//! Map keys as fastjson's `MapSerializer` writes them.
//!
//! A `String` key is a quoted field name (and is preceded by a line break in pretty form); any
//! other key is written as the value itself: integers bare (`{0:"a"}`), beans as raw objects
//! (`{{"brokerName":"b","queueId":0,"topic":"t"}:1}`), enums as their quoted name. In the
//! standard form (`BrowserCompatible`) a non-String, non-enum key is first turned into its
//! default-form text (`JSON.toJSONString(key)`) and written as a quoted, escaped string.

use serde::ser::{self, Serialize};

use super::text;
use super::writer::{Compound, Form, Kind, Outcome, Writer};
use super::JsonError;

pub(crate) struct KeySerializer {
    /// Receives the key. In the standard form it writes compound keys in the default form, to be
    /// quoted afterwards.
    w: Writer,
    form: Form,
    is_string: bool,
    /// The key was written in the default form and must be quoted in the standard form.
    needs_quoting: bool,
}

impl KeySerializer {
    /// The key's bytes, and whether fastjson treats it as a `String` key.
    pub(crate) fn render<T: Serialize + ?Sized>(
        key: &T,
        form: Form,
        indent: usize,
    ) -> Result<(Vec<u8>, bool), JsonError> {
        let standard = form == Form::Standard;
        let mut ks = KeySerializer {
            w: Writer::new(
                if standard { Form::Default } else { form },
                if standard { 0 } else { indent },
            ),
            form,
            is_string: false,
            needs_quoting: false,
        };
        key.serialize(&mut ks)?;
        if standard && ks.needs_quoting {
            let inner = String::from_utf8(ks.w.out)
                .map_err(|_| JsonError::custom_msg("map key is not UTF-8"))?;
            let mut out = Vec::with_capacity(inner.len() + 8);
            text::write_str_browser(&mut out, &inner);
            return Ok((out, false));
        }
        Ok((ks.w.out, ks.is_string))
    }

    fn string(&mut self, s: &str) -> Result<Outcome, JsonError> {
        self.is_string = true;
        self.quoted(s)
    }

    fn quoted(&mut self, s: &str) -> Result<Outcome, JsonError> {
        match self.form {
            Form::Standard => text::write_str_browser(&mut self.w.out, s),
            Form::Default | Form::Pretty => text::write_str_default(&mut self.w.out, s),
        }
        Ok(Outcome::Value)
    }

    fn other(&mut self) -> &mut Writer {
        self.needs_quoting = true;
        &mut self.w
    }
}

macro_rules! number_key {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<Outcome, JsonError> {
            self.other().display(v)
        })*
    };
}

impl<'a> ser::Serializer for &'a mut KeySerializer {
    type Ok = Outcome;
    type Error = JsonError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    number_key!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128, serialize_bool: bool
    );

    fn serialize_f32(self, v: f32) -> Result<Outcome, JsonError> {
        ser::Serializer::serialize_f32(self.other(), v)
    }
    fn serialize_f64(self, v: f64) -> Result<Outcome, JsonError> {
        ser::Serializer::serialize_f64(self.other(), v)
    }
    fn serialize_char(self, v: char) -> Result<Outcome, JsonError> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Outcome, JsonError> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Outcome, JsonError> {
        ser::Serializer::serialize_bytes(self.other(), v)
    }
    /// A null key: fastjson writes `null:` (a `String`-branch key); the standard form quotes it
    /// so that the output stays standard JSON.
    fn serialize_none(self) -> Result<Outcome, JsonError> {
        self.is_string = true;
        if self.form == Form::Standard {
            self.quoted("null")
        } else {
            self.w.raw(b"null")
        }
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Outcome, JsonError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Outcome, JsonError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Outcome, JsonError> {
        self.other().raw(b"{}")
    }
    /// Enum keys are written by name, quoted, but without the `String` key's line break.
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Outcome, JsonError> {
        self.quoted(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Outcome, JsonError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Outcome, JsonError> {
        ser::Serializer::serialize_newtype_variant(self.other(), name, index, variant, value)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self.other(), Kind::List, false))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self.other(), Kind::Inline, false))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self.other(), Kind::Inline, false))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, JsonError> {
        let w = self.other();
        w.open_variant(variant);
        Ok(Compound::new(w, Kind::Inline, true))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self.other(), Kind::Map, false))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self.other(), Kind::Struct, false))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, JsonError> {
        let w = self.other();
        w.open_variant(variant);
        Ok(Compound::new(w, Kind::Struct, true))
    }
}
