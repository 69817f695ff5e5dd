//! The error type of engine calls, with the stable codes that the JS
//! wrapper puts on the `Error` objects it throws.

use cascade_shared::{DecodeError, EvalError};

/// Why a call on the engine failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(
        "snapshot revision {offered} is older than the loaded revision {loaded}; \
         load revision {loaded} or a newer one"
    )]
    Stale { loaded: u64, offered: u64 },
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(
        "ids of {needed} bytes do not fit the {capacity}-byte input buffer; \
         reserve input space before the call"
    )]
    InputOverflow { needed: u64, capacity: u64 },
    #[error("no snapshot is loaded; load one before evaluating")]
    NotLoaded,
}

impl EngineError {
    /// The stable code: the decoder's and evaluator's codes, plus
    /// `SNAPSHOT_STALE` for an older revision.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Decode(error) => error.code(),
            EngineError::Stale { .. } => "SNAPSHOT_STALE",
            EngineError::Eval(error) => error.code(),
            EngineError::InputOverflow { .. } => "INVALID_CONTEXT",
            EngineError::NotLoaded => "SNAPSHOT_MISSING",
        }
    }
}
