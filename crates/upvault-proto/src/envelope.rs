//! The success and error envelopes of SPEC.md §1, and [`Envelope`], either of them, for
//! clients decoding an answer.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use utoipa::ToSchema;

/// The literal of `_status` on success.
pub const STATUS_SUCCESS: &str = "success";
/// The literal of `_status` and `status` on error.
pub const STATUS_ERROR: &str = "error";

/// `{"response": ..., "data": ..., "_status": "success", "_datetime": ...}`.
///
/// `response` and `data` are left out when `None`, as the samples of some endpoints show. The
/// strings the server sends are `'static` (no copy per answer); decoded ones are owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Success<T> {
    /// The human-readable message, where the documentation shows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Cow<'static, str>>,
    /// The payload.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    /// Always `"success"`.
    #[serde(rename = "_status")]
    pub status: Cow<'static, str>,
    /// When the answer was made, `Y-m-d H:i:s`.
    #[serde(rename = "_datetime")]
    pub datetime: String,
}

/// `Option::default` without asking `T: Default` of the payload.
fn none<T>() -> Option<T> {
    None
}

impl<T> Success<T> {
    /// A success carrying `data` and, optionally, a `response` message.
    pub fn new(response: Option<&'static str>, data: Option<T>, datetime: String) -> Self {
        Self {
            response: response.map(Cow::Borrowed),
            data,
            status: Cow::Borrowed(STATUS_SUCCESS),
            datetime,
        }
    }
}

/// `{"_status": "error", "status": "error", "response": "<message>", "_datetime": ...}`.
///
/// Both status keys are sent: the documentation's flow text reads `_status`, its sample `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always `error`.
    #[serde(rename = "_status")]
    #[schema(value_type = String)]
    pub underscore_status: Cow<'static, str>,
    /// Always `error` (the documentation's sample reads this key, its text `_status`).
    #[schema(value_type = String)]
    pub status: Cow<'static, str>,
    /// The message: one of the documented ones, to the letter (e.g. `Please provide the
    /// file_id param.`), or a short sentence naming the parameter or limit and why.
    pub response: String,
    /// When the answer was made, `Y-m-d H:i:s`.
    #[serde(rename = "_datetime")]
    pub datetime: String,
}

impl ErrorEnvelope {
    /// An error envelope with the given message.
    pub fn new(response: impl Into<String>, datetime: String) -> Self {
        Self {
            underscore_status: Cow::Borrowed(STATUS_ERROR),
            status: Cow::Borrowed(STATUS_ERROR),
            response: response.into(),
            datetime,
        }
    }
}

/// Any answer of an endpoint whose success body is `T` (a [`Success`] of its data, or
/// [`crate::objects::CopyAnswer`]): what a client decodes.
///
/// The error envelope is tried first: only it has `status`, so a success never reads as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Envelope<T> {
    /// `_status` is `error`.
    Error(ErrorEnvelope),
    /// `_status` is `success`.
    Success(T),
}

impl<T> Envelope<T> {
    /// The success body, or the error envelope.
    pub fn into_result(self) -> Result<T, ErrorEnvelope> {
        match self {
            Envelope::Success(body) => Ok(body),
            Envelope::Error(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope_has_both_status_keys_in_documented_order() {
        let json =
            serde_json::to_string(&ErrorEnvelope::new("x", "2025-03-04 21:14:03".into())).unwrap();
        assert_eq!(
            json,
            r#"{"_status":"error","status":"error","response":"x","_datetime":"2025-03-04 21:14:03"}"#
        );
    }

    #[test]
    fn success_leaves_out_absent_response() {
        let json = serde_json::to_string(&Success::new(None, Some(1), "d".into())).unwrap();
        assert_eq!(json, r#"{"data":1,"_status":"success","_datetime":"d"}"#);
    }

    #[test]
    fn envelopes_read_back_what_they_write_and_never_mistake_one_for_the_other() {
        let success = Success::new(Some("ok"), Some(vec![1, 2]), "d".into());
        let json = serde_json::to_string(&success).unwrap();
        let decoded: Envelope<Success<Vec<i32>>> = serde_json::from_str(&json).unwrap();
        assert_eq!(decoded, Envelope::Success(success));

        let bare: Success<()> = Success::new(Some("gone"), None, "d".into());
        let json = serde_json::to_string(&bare).unwrap();
        assert_eq!(
            json,
            r#"{"response":"gone","_status":"success","_datetime":"d"}"#
        );
        let decoded: Envelope<Success<()>> = serde_json::from_str(&json).unwrap();
        assert_eq!(decoded.into_result(), Ok(bare));

        let error = ErrorEnvelope::new("Please provide the file_id param.", "d".into());
        let json = serde_json::to_string(&error).unwrap();
        let decoded: Envelope<Success<()>> = serde_json::from_str(&json).unwrap();
        assert_eq!(decoded.into_result(), Err(error));
    }
}
