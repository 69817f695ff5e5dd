//! Output records: how evaluations travel back to JavaScript without
//! creating JS objects or strings on the Rust side.
//!
//! Record `i` is three `u32` words at `words[3 * i..3 * i + 3]` and one
//! `f64` at `numbers[i]`:
//!
//! - word 0, the status: bits 0-2 the flag type ([`TYPE_BOOLEAN`] to
//!   [`TYPE_OBJECT`]; 0 means the call failed), bits 3-4 the level (user,
//!   tenant, integrator, platform), bits 5-6 the reason (`DEFAULT`,
//!   `TARGETING_MATCH`, `UNKNOWN_TENANT`), bit 7 the value of a boolean flag;
//! - words 1 and 2, for string and object flags: the address and byte
//!   length of the value's UTF-8 text in wasm memory. The text lives as long
//!   as the snapshot, so JS can cache the decoded string by address until
//!   the next load;
//! - the `f64`, for integer and float flags: the value. Integers beyond
//!   ±2^53 lose precision, as they would in JSON.

use cascade_shared::{Evaluation, FlagType, Level, Reason, ValueRef};

pub const TYPE_BOOLEAN: u32 = 1;
pub const TYPE_STRING: u32 = 2;
pub const TYPE_INTEGER: u32 = 3;
pub const TYPE_FLOAT: u32 = 4;
pub const TYPE_OBJECT: u32 = 5;
pub const LEVEL_SHIFT: u32 = 3;
pub const REASON_SHIFT: u32 = 5;
pub const BOOLEAN_TRUE: u32 = 1 << 7;

/// Words per record.
const WORDS: usize = 3;

/// The output buffers that JS reads through typed-array views.
#[derive(Debug, Default)]
pub struct Output {
    words: Vec<u32>,
    numbers: Vec<f64>,
}

impl Output {
    /// Makes room for `records` records. Addresses change only here, so JS
    /// reads them again after each load.
    pub fn resize(&mut self, records: usize) {
        let records = records.max(1);
        self.words = vec![0; records * WORDS];
        self.numbers = vec![0.0; records];
    }

    pub fn words_ptr(&self) -> u32 {
        self.words.as_ptr() as usize as u32
    }

    pub fn numbers_ptr(&self) -> u32 {
        self.numbers.as_ptr() as usize as u32
    }

    /// Writes record `index` and returns its status word. A record past the
    /// end is not written, but its status is still returned.
    pub fn write(&mut self, index: usize, evaluation: &Evaluation<'_>) -> u32 {
        let status = status_word(evaluation);
        let (address, length, number) = match evaluation.value {
            ValueRef::String(text) | ValueRef::Object(text) => {
                (text.as_ptr() as usize as u32, text.len() as u32, 0.0)
            }
            ValueRef::Integer(value) => (0, 0, value as f64),
            ValueRef::Float(value) => (0, 0, value),
            ValueRef::Boolean(_) => (0, 0, 0.0),
        };
        let start = index * WORDS;
        if let Some(words) = self.words.get_mut(start..start + WORDS) {
            words.copy_from_slice(&[status, address, length]);
        }
        if let Some(slot) = self.numbers.get_mut(index) {
            *slot = number;
        }
        status
    }

    #[cfg(test)]
    pub fn record(&self, index: usize) -> (u32, u32, u32, f64) {
        let start = index * WORDS;
        (
            self.words[start],
            self.words[start + 1],
            self.words[start + 2],
            self.numbers[index],
        )
    }
}

/// Packs type, level, reason and a boolean value into one word.
pub fn status_word(evaluation: &Evaluation<'_>) -> u32 {
    let flag_type = match evaluation.flag_type {
        FlagType::Boolean => TYPE_BOOLEAN,
        FlagType::String => TYPE_STRING,
        FlagType::Integer => TYPE_INTEGER,
        FlagType::Float => TYPE_FLOAT,
        FlagType::Object => TYPE_OBJECT,
    };
    let level = match evaluation.level {
        Level::User => 0,
        Level::Tenant => 1,
        Level::Integrator => 2,
        Level::Platform => 3,
    };
    let reason = match evaluation.reason {
        Reason::Default => 0,
        Reason::TargetingMatch => 1,
        Reason::UnknownTenant => 2,
    };
    let boolean = match evaluation.value {
        ValueRef::Boolean(true) => BOOLEAN_TRUE,
        _ => 0,
    };
    flag_type | (level << LEVEL_SHIFT) | (reason << REASON_SHIFT) | boolean
}
