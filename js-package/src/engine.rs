//! The engine: one loaded snapshot, an input buffer for ids and the output
//! records, driven by the JS wrapper.

use cascade_shared::{EvalError, Explanation, IdError, IdKind, Snapshot};
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::error::EngineError;
use crate::output::Output;

/// Initial and minimum size of the input buffer: room for a 64-byte
/// tenant id, a 256-byte user id and a 128-byte flag key.
const INPUT_DEFAULT: usize = 512;

/// Status returned by [`Engine::load`] when the call failed.
pub const LOAD_FAILED: u32 = 0;
/// Status returned by [`Engine::load`] when the new snapshot replaced the
/// loaded one.
pub const LOAD_REPLACED: u32 = 1;
/// Status returned by [`Engine::load`] when the bytes had the loaded
/// revision, so nothing changed.
pub const LOAD_UNCHANGED: u32 = 2;

/// One loaded snapshot and the buffers of the call protocol.
///
/// The JS wrapper writes the tenant id, user id and flag key as UTF-8,
/// back to back, at [`Engine::input_ptr`] and passes their byte lengths. A
/// negative user length means no user. A failed call returns 0 and keeps
/// the error for [`Engine::error_code`] and [`Engine::error_message`].
#[wasm_bindgen]
#[derive(Debug)]
pub struct Engine {
    snapshot: Option<Snapshot>,
    input: Vec<u8>,
    output: Output,
    error: Option<EngineError>,
    text: String,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

#[wasm_bindgen]
impl Engine {
    /// Creates an engine with no snapshot.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Engine {
        let mut output = Output::default();
        output.resize(1);
        Engine {
            snapshot: None,
            input: vec![0; INPUT_DEFAULT],
            output,
            error: None,
            text: String::new(),
        }
    }

    /// Decodes `bytes` and replaces the loaded snapshot when the revision is
    /// newer. The same revision leaves everything as it is; an older one
    /// fails with `SNAPSHOT_STALE`. The old snapshot is dropped only after
    /// the new one decoded, so a failed load keeps it.
    pub fn load(&mut self, bytes: &[u8]) -> u32 {
        match self.try_load(bytes) {
            Ok(status) => status,
            Err(error) => self.fail(error),
        }
    }

    /// Returns the loaded revision, or 0 before the first load. Revisions above
    /// 2^53 lose precision in JavaScript numbers.
    pub fn revision(&self) -> f64 {
        self.snapshot.as_ref().map_or(0.0, |s| s.revision() as f64)
    }

    /// Number of flags in the loaded snapshot.
    pub fn flag_count(&self) -> u32 {
        self.snapshot.as_ref().map_or(0, |s| s.flags().len() as u32)
    }

    /// Returns every flag key in key order, joined by newlines (keys cannot
    /// contain one). [`Engine::evaluate_all`] writes records in this order.
    pub fn flag_keys(&self) -> String {
        let Some(snapshot) = &self.snapshot else {
            return String::new();
        };
        let keys: Vec<&str> = snapshot.flags().map(|flag| flag.key).collect();
        keys.join("\n")
    }

    pub fn input_ptr(&self) -> u32 {
        self.input.as_ptr() as usize as u32
    }

    pub fn input_capacity(&self) -> u32 {
        self.input.len() as u32
    }

    /// Resizes the input buffer to `len` bytes, or to the default size when
    /// `len` is smaller, which also releases a buffer grown for long ids.
    /// The buffer may move, so JS reads [`Engine::input_ptr`] again.
    pub fn reserve_input(&mut self, len: u32) {
        let len = (len as usize).max(INPUT_DEFAULT);
        self.input.resize(len, 0);
        self.input.shrink_to_fit();
    }

    pub fn words_ptr(&self) -> u32 {
        self.output.words_ptr()
    }

    pub fn numbers_ptr(&self) -> u32 {
        self.output.numbers_ptr()
    }

    /// Evaluates one flag into record 0 and returns its status word, or 0
    /// on failure.
    pub fn evaluate(&mut self, tenant_len: u32, user_len: i32, key_len: u32) -> u32 {
        let Engine {
            snapshot,
            input,
            output,
            ..
        } = self;
        let result = loaded(snapshot).and_then(|snapshot| {
            let context = read_context(input, tenant_len, user_len, key_len)?;
            Ok(snapshot.evaluate(context.tenant, context.user, context.key)?)
        });
        match result {
            Ok(evaluation) => output.write(0, &evaluation),
            Err(error) => self.fail(error),
        }
    }

    /// Evaluates every flag into records `0..flag_count`, in key order.
    /// Returns 1, or 0 on failure.
    pub fn evaluate_all(&mut self, tenant_len: u32, user_len: i32) -> u32 {
        let Engine {
            snapshot,
            input,
            output,
            ..
        } = self;
        let result = loaded(snapshot).and_then(|snapshot| {
            let context = read_context(input, tenant_len, user_len, 0)?;
            Ok(snapshot.evaluate_all(context.tenant, context.user)?)
        });
        match result {
            Ok(evaluations) => {
                for (index, evaluation) in evaluations.iter().enumerate() {
                    output.write(index, evaluation);
                }
                1
            }
            Err(error) => self.fail(error),
        }
    }

    /// Explains one flag as JSON text, kept for [`Engine::take_text`].
    /// Returns 1, or 0 on failure.
    pub fn explain(&mut self, tenant_len: u32, user_len: i32, key_len: u32) -> u32 {
        let result = loaded(&self.snapshot).and_then(|snapshot| {
            let context = read_context(&self.input, tenant_len, user_len, key_len)?;
            Ok(explanation_json(&snapshot.explain(
                context.tenant,
                context.user,
                context.key,
            )?))
        });
        match result {
            Ok(text) => {
                self.text = text;
                1
            }
            Err(error) => self.fail(error),
        }
    }

    /// Hands over the text of the last [`Engine::explain`].
    pub fn take_text(&mut self) -> String {
        std::mem::take(&mut self.text)
    }

    /// Returns the stable code of the last failed call.
    pub fn error_code(&self) -> String {
        self.error.as_ref().map_or("", EngineError::code).to_owned()
    }

    /// Returns the message of the last failed call.
    pub fn error_message(&self) -> String {
        self.error
            .as_ref()
            .map_or_else(String::new, ToString::to_string)
    }
}

impl Engine {
    fn try_load(&mut self, bytes: &[u8]) -> Result<u32, EngineError> {
        let offered = Snapshot::peek_revision(bytes)?;
        if let Some(loaded) = self.snapshot.as_ref().map(Snapshot::revision) {
            if offered < loaded {
                return Err(EngineError::Stale { loaded, offered });
            }
            if offered == loaded {
                return Ok(LOAD_UNCHANGED);
            }
        }

        // NOTE: wasm32 memory ends at 4 GiB. A snapshot whose decoded form
        // does not fit (estimated from the measured peaks: snapshots of a
        // few hundred MiB) aborts on allocation failure, which JS sees as a
        // WebAssembly.RuntimeError, and the engine cannot be used again.
        let snapshot = Snapshot::decode(bytes)?;
        self.output.resize(snapshot.flags().len());
        self.snapshot = Some(snapshot);
        Ok(LOAD_REPLACED)
    }

    fn fail(&mut self, error: EngineError) -> u32 {
        self.error = Some(error);
        0
    }
}

fn loaded(snapshot: &Option<Snapshot>) -> Result<&Snapshot, EngineError> {
    snapshot.as_ref().ok_or(EngineError::NotLoaded)
}

/// The ids of one call, borrowed from the input buffer.
#[derive(Debug)]
struct Context<'a> {
    tenant: &'a str,
    user: Option<&'a str>,
    key: &'a str,
}

/// Splits the input buffer into the ids of one call. Invalid UTF-8 makes
/// an invalid tenant or user id, or a flag key that no snapshot holds.
fn read_context(
    input: &[u8],
    tenant_len: u32,
    user_len: i32,
    key_len: u32,
) -> Result<Context<'_>, EngineError> {
    let tenant_len = tenant_len as usize;
    let user_len = usize::try_from(user_len).ok();
    let key_len = key_len as usize;
    // Summed in u64 so that no length can wrap around on wasm32.
    let needed = tenant_len as u64 + user_len.unwrap_or(0) as u64 + key_len as u64;
    if needed > input.len() as u64 {
        return Err(EngineError::InputOverflow {
            needed,
            capacity: input.len() as u64,
        });
    }

    let (tenant, rest) = input.split_at(tenant_len);
    let (user, rest) = rest.split_at(user_len.unwrap_or(0));
    let key = &rest[..key_len];

    let tenant = std::str::from_utf8(tenant)
        .map_err(|_| EvalError::InvalidTenant(invalid_id(IdKind::Tenant, tenant)))?;
    let user = match user_len {
        Some(_) => Some(
            std::str::from_utf8(user)
                .map_err(|_| EvalError::InvalidUser(invalid_id(IdKind::User, user)))?,
        ),
        None => None,
    };
    let key = std::str::from_utf8(key).map_err(|_| EvalError::FlagNotFound {
        key: String::from_utf8_lossy(key).into_owned(),
    })?;
    Ok(Context { tenant, user, key })
}

fn invalid_id(kind: IdKind, bytes: &[u8]) -> IdError {
    IdError {
        kind,
        value: String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Renders an explanation as the JSON object that `explain()` returns in
/// JavaScript.
fn explanation_json(explanation: &Explanation<'_>) -> String {
    let evaluation = &explanation.evaluation;
    let steps: Vec<Value> = explanation
        .steps
        .iter()
        .map(|step| {
            let mut object = json!({
                "level": step.level.as_str(),
                "scope": step.scope,
                "set": step.value.is_some(),
            });
            if let (Some(value), Some(map)) = (step.value, object.as_object_mut()) {
                map.insert("value".to_owned(), value.to_json());
            }
            object
        })
        .collect();
    json!({
        "key": evaluation.key,
        "type": evaluation.flag_type.as_str(),
        "value": evaluation.value.to_json(),
        "level": evaluation.level.as_str(),
        "reason": evaluation.reason.as_str(),
        "revision": evaluation.revision,
        "steps": steps,
    })
    .to_string()
}

#[cfg(test)]
impl Engine {
    pub(crate) fn input_mut(&mut self) -> &mut [u8] {
        &mut self.input
    }

    pub(crate) fn output_record(&self, index: usize) -> (u32, u32, u32, f64) {
        self.output.record(index)
    }

    pub(crate) fn snapshot_ref(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
}
