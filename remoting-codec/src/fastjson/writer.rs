//! The serde `Serializer` behind [`super::to_vec`], [`super::to_vec_standard`] and
//! [`super::to_string_pretty`]. The output rules are listed in the module docs of
//! [`crate::fastjson`].

use std::io::Write as _;

use serde::ser::{self, Serialize};

use super::key::KeySerializer;
use super::text;
use super::JsonError;

/// Which of fastjson's outputs to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// `JSON.toJSONString(obj)`: bodies on the wire.
    Default,
    /// `BrowserCompatible` + `QuoteFieldNames` (+ `MapSortField`, which sorted maps satisfy).
    Standard,
    /// `PrettyFormat`: the config files.
    Pretty,
}

/// What a value turned out to be, so that a bean field or map entry holding `null` can be taken
/// back out (fastjson omits null properties and null map values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Null,
    Value,
}

pub(crate) struct Writer {
    pub(crate) out: Vec<u8>,
    pub(crate) form: Form,
    pub(crate) indent: usize,
}

impl Writer {
    pub(crate) fn new(form: Form, indent: usize) -> Self {
        Writer {
            out: Vec::with_capacity(128),
            form,
            indent,
        }
    }

    fn pretty(&self) -> bool {
        self.form == Form::Pretty
    }

    /// `JSONSerializer.println`: a line break and one tab per indent level.
    fn println(&mut self) {
        if self.pretty() {
            self.out.push(b'\n');
            self.out.resize(self.out.len() + self.indent, b'\t');
        }
    }

    pub(crate) fn write_str(&mut self, s: &str) {
        match self.form {
            Form::Standard => text::write_str_browser(&mut self.out, s),
            Form::Default | Form::Pretty => text::write_str_default(&mut self.out, s),
        }
    }

    pub(crate) fn display(&mut self, v: impl std::fmt::Display) -> Result<Outcome, JsonError> {
        // Writing into a Vec cannot fail.
        let _ = write!(self.out, "{v}");
        Ok(Outcome::Value)
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> Result<Outcome, JsonError> {
        self.out.extend_from_slice(bytes);
        Ok(Outcome::Value)
    }

    /// An enum variant with content is written as a one-entry object, as serde_json does.
    pub(crate) fn open_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        if self.pretty() {
            self.indent += 1;
            self.println();
        }
        self.write_str(variant);
        self.out.push(b':');
    }

    fn close_variant(&mut self) {
        if self.pretty() {
            self.indent -= 1;
            self.println();
        }
        self.out.push(b'}');
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A Java `List`: one element per line in pretty form.
    List,
    /// A Java `Set` or primitive array: inline even in pretty form.
    Inline,
    Map,
    Struct,
}

/// The state of one array, object or bean being written.
pub(crate) struct Compound<'a> {
    w: &'a mut Writer,
    kind: Kind,
    first: bool,
    /// Map entries seen, including the null-valued ones that were dropped.
    entries: usize,
    /// Pretty bean: the opening line break was written.
    opened: bool,
    /// Where the current map entry started, to drop it when its value is null.
    mark: usize,
    variant: bool,
}

impl<'a> Compound<'a> {
    pub(crate) fn new(w: &'a mut Writer, kind: Kind, variant: bool) -> Self {
        w.out.push(if matches!(kind, Kind::List | Kind::Inline) {
            b'['
        } else {
            b'{'
        });
        if kind == Kind::Map {
            w.indent += 1;
        }
        Compound {
            w,
            kind,
            first: true,
            entries: 0,
            opened: false,
            mark: 0,
            variant,
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        if !self.first {
            self.w.out.push(b',');
        }
        if self.kind == Kind::List && self.w.pretty() {
            if self.first {
                self.w.indent += 1;
            }
            self.w.println();
        }
        self.first = false;
        value.serialize(&mut *self.w)?;
        Ok(())
    }

    fn end_array(self) -> Result<Outcome, JsonError> {
        if self.kind == Kind::List && self.w.pretty() && !self.first {
            self.w.indent -= 1;
            self.w.println();
        }
        self.w.out.push(b']');
        self.finish()
    }

    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
        self.mark = self.w.out.len();
        let (bytes, is_string) = KeySerializer::render(key, self.w.form, self.w.indent)?;
        if !self.first {
            self.w.out.push(b',');
        }
        // fastjson breaks the line only before String keys: integer-keyed maps stay on one line.
        if is_string {
            self.w.println();
        }
        self.w.out.extend_from_slice(&bytes);
        self.w.out.push(b':');
        self.entries += 1;
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        match value.serialize(&mut *self.w)? {
            Outcome::Null => self.w.out.truncate(self.mark),
            Outcome::Value => self.first = false,
        }
        Ok(())
    }

    fn end_map(self) -> Result<Outcome, JsonError> {
        self.w.indent -= 1;
        if self.entries > 0 {
            self.w.println();
        }
        self.w.out.push(b'}');
        self.finish()
    }

    /// A pretty bean breaks the line after `{` as soon as it has any property at all, even if
    /// every property turns out null (`JavaBeanSerializer`: `getters.length > 0`).
    fn open_bean(&mut self) {
        if self.w.pretty() && !self.opened {
            self.opened = true;
            self.w.indent += 1;
            self.w.println();
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), JsonError> {
        self.open_bean();
        self.mark = self.w.out.len();
        if !self.first {
            self.w.out.push(b',');
            self.w.println();
        }
        self.w.write_str(name);
        self.w.out.push(b':');
        self.value(value)
    }

    fn end_bean(self) -> Result<Outcome, JsonError> {
        if self.opened {
            self.w.indent -= 1;
            self.w.println();
        }
        self.w.out.push(b'}');
        self.finish()
    }

    fn finish(self) -> Result<Outcome, JsonError> {
        if self.variant {
            self.w.close_variant();
        }
        Ok(Outcome::Value)
    }
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = Outcome;
    type Error = JsonError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<Outcome, JsonError> {
        self.raw(if v { b"true" } else { b"false" })
    }
    fn serialize_i8(self, v: i8) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Outcome, JsonError> {
        self.display(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Outcome, JsonError> {
        text::write_java_float(&mut self.out, v);
        Ok(Outcome::Value)
    }
    fn serialize_f64(self, v: f64) -> Result<Outcome, JsonError> {
        text::write_java_double(&mut self.out, v);
        Ok(Outcome::Value)
    }
    fn serialize_char(self, v: char) -> Result<Outcome, JsonError> {
        self.write_str(v.encode_utf8(&mut [0; 4]));
        Ok(Outcome::Value)
    }
    fn serialize_str(self, v: &str) -> Result<Outcome, JsonError> {
        self.write_str(v);
        Ok(Outcome::Value)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Outcome, JsonError> {
        text::write_base64(&mut self.out, v);
        Ok(Outcome::Value)
    }
    fn serialize_none(self) -> Result<Outcome, JsonError> {
        self.out.extend_from_slice(b"null");
        Ok(Outcome::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Outcome, JsonError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Outcome, JsonError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Outcome, JsonError> {
        self.raw(b"{}")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Outcome, JsonError> {
        self.write_str(variant);
        Ok(Outcome::Value)
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
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Outcome, JsonError> {
        self.open_variant(variant);
        value.serialize(&mut *self)?;
        self.close_variant();
        Ok(Outcome::Value)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self, Kind::List, false))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self, Kind::Inline, false))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self, Kind::Inline, false))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, JsonError> {
        self.open_variant(variant);
        Ok(Compound::new(self, Kind::Inline, true))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self, Kind::Map, false))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, JsonError> {
        Ok(Compound::new(self, Kind::Struct, false))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, JsonError> {
        self.open_variant(variant);
        Ok(Compound::new(self, Kind::Struct, true))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = Outcome;
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<Outcome, JsonError> {
        self.end_array()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = Outcome;
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<Outcome, JsonError> {
        self.end_array()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = Outcome;
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<Outcome, JsonError> {
        self.end_array()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = Outcome;
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<Outcome, JsonError> {
        self.end_array()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = Outcome;
    type Error = JsonError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.value(value)
    }
    fn end(self) -> Result<Outcome, JsonError> {
        self.end_map()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = Outcome;
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.field(key, value)
    }
    fn skip_field(&mut self, _key: &'static str) -> Result<(), JsonError> {
        self.open_bean();
        Ok(())
    }
    fn end(self) -> Result<Outcome, JsonError> {
        self.end_bean()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = Outcome;
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.field(key, value)
    }
    fn skip_field(&mut self, _key: &'static str) -> Result<(), JsonError> {
        self.open_bean();
        Ok(())
    }
    fn end(self) -> Result<Outcome, JsonError> {
        self.end_bean()
    }
}
