//! The success and error envelopes of SPEC.md §1.

use serde::Serialize;

/// The literal of `_status` on success.
pub const STATUS_SUCCESS: &str = "success";
/// The literal of `_status` and `status` on error.
pub const STATUS_ERROR: &str = "error";

/// `{"response": ..., "data": ..., "_status": "success", "_datetime": ...}`.
///
/// `response` and `data` are left out when `None`, as the samples of some endpoints show.
#[derive(Debug, Serialize)]
pub struct Success<T: Serialize> {
    /// The human-readable message, where the documentation shows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<&'static str>,
    /// The payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    /// Always `"success"`.
    #[serde(rename = "_status")]
    pub status: &'static str,
    /// When the answer was made, `Y-m-d H:i:s`.
    #[serde(rename = "_datetime")]
    pub datetime: String,
}

impl<T: Serialize> Success<T> {
    /// A success carrying `data` and, optionally, a `response` message.
    pub fn new(response: Option<&'static str>, data: Option<T>, datetime: String) -> Self {
        Self {
            response,
            data,
            status: STATUS_SUCCESS,
            datetime,
        }
    }
}

/// `{"_status": "error", "status": "error", "response": "<message>", "_datetime": ...}`.
///
/// Both status keys are sent: the documentation's flow text reads `_status`, its sample `status`.
#[derive(Debug, Serialize)]
pub struct ErrorEnvelope {
    /// Always `"error"`.
    #[serde(rename = "_status")]
    pub underscore_status: &'static str,
    /// Always `"error"`.
    pub status: &'static str,
    /// The message, one of [`crate::messages`] or a specific sentence naming the parameter.
    pub response: String,
    /// When the answer was made, `Y-m-d H:i:s`.
    #[serde(rename = "_datetime")]
    pub datetime: String,
}

impl ErrorEnvelope {
    /// An error envelope with the given message.
    pub fn new(response: impl Into<String>, datetime: String) -> Self {
        Self {
            underscore_status: STATUS_ERROR,
            status: STATUS_ERROR,
            response: response.into(),
            datetime,
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
}
