//! Request parameters: the query string merged with a urlencoded, multipart or JSON body
//! (SPEC.md §1: existing clients use both GET and POST). Body values win over query values.
//!
//! [`FromParams`] turns them into an endpoint's typed request (`upvault_proto::requests`),
//! reading the pairs in place: no serde pass through a map, no copy of a value that the
//! request does not keep.

use crate::error::{ApiError, ErrorClass};
use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use http::header::CONTENT_TYPE;
use std::borrow::Cow;
use std::collections::HashMap;
use upvault_core::{AccountId, FolderId};
use upvault_proto::{messages, FolderRef, Visibility};

/// An endpoint's typed request, read from its parameters with the documented messages: each
/// parameter in the order the endpoint checks them, the first refusal answering.
pub trait FromParams: Sized {
    /// The request, or the refusal of its first bad parameter.
    fn from_params(params: &Params) -> Result<Self, ApiError>;
}

/// All parameters of a request, the last value of a name winning.
#[derive(Debug, Default, Clone)]
pub struct Params(Pairs);

/// A request has a handful of parameters: a list searched from the end is cheaper than hashing
/// every name (which cost a small API call about 5 % of its CPU), and keeping the names and
/// values in one string costs one allocation rather than two per pair. Past [`Pairs::FEW`]
/// pairs (a body may hold thousands) they move to a hash map, so neither lookups nor memory
/// grow with the number of pairs sent.
#[derive(Debug, Clone)]
enum Pairs {
    Few {
        /// Each pair's name, then its value, one pair after another.
        text: String,
        /// Where each pair's name and value end in `text`; a pair starts where the one
        /// before it ends.
        ends: Vec<(usize, usize)>,
    },
    Many(HashMap<String, String>),
}

impl Default for Pairs {
    fn default() -> Self {
        Pairs::Few {
            text: String::new(),
            ends: Vec::new(),
        }
    }
}

impl Pairs {
    const FEW: usize = 32;

    /// The pairs of [`Pairs::Few`] in the order sent (names and values borrowed from `text`).
    fn few<'a>(
        text: &'a str,
        ends: &'a [(usize, usize)],
    ) -> impl DoubleEndedIterator<Item = (&'a str, &'a str)> + 'a {
        ends.iter()
            .enumerate()
            .map(move |(n, &(name_end, value_end))| {
                let start = n.checked_sub(1).map_or(0, |before| ends[before].1);
                (&text[start..name_end], &text[name_end..value_end])
            })
    }
}

impl Params {
    /// A parameter as sent (`None` if absent).
    pub fn raw(&self, name: &str) -> Option<&str> {
        match &self.0 {
            Pairs::Few { text, ends } => Pairs::few(text, ends)
                .rev()
                .find(|&(sent, _)| sent == name)
                .map(|(_, value)| value),
            Pairs::Many(map) => map.get(name).map(String::as_str),
        }
    }

    /// Sets a parameter, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &str, value: &str) {
        match &mut self.0 {
            Pairs::Few { text, ends } if ends.len() < Pairs::FEW => {
                text.push_str(name);
                let name_end = text.len();
                text.push_str(value);
                ends.push((name_end, text.len()));
            }
            Pairs::Few { text, ends } => {
                let mut map: HashMap<_, _> = Pairs::few(text, ends)
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect();
                map.insert(name.to_owned(), value.to_owned());
                self.0 = Pairs::Many(map);
            }
            Pairs::Many(map) => {
                map.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// The names sent (a name sent more than once may be listed more than once).
    pub fn names(&self) -> Vec<&str> {
        match &self.0 {
            Pairs::Few { text, ends } => Pairs::few(text, ends).map(|(name, _)| name).collect(),
            Pairs::Many(map) => map.keys().map(String::as_str).collect(),
        }
    }

    /// A parameter that is present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// A required parameter, or the documented "Please provide the {name} param.".
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// A required id parameter: missing → "Please provide …", not a whole number → refused.
    pub fn require_id<T>(&self, name: &str, parse: fn(&str) -> Option<T>) -> Result<T, ApiError> {
        let raw = self.require(name)?;
        parse(raw).ok_or_else(|| not_an_id(name, raw, IdUse::Named))
    }

    /// A parameter that is present, not blank and not a client's text for "unset" (Python's
    /// `None`, JavaScript's `undefined`: clients that put a missing optional value into a form
    /// send these). Read so for folder parameters and `access_password`, never for names.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.get(name)
            .filter(|raw| !matches!(*raw, "None" | "undefined"))
    }

    /// A required folder reference where `0` means the root (SPEC.md §4).
    pub fn require_folder(&self, name: &str) -> Result<Option<FolderId>, ApiError> {
        let raw = self.given(name).ok_or_else(|| ApiError::missing(name))?;
        folder_ref(name, raw)
    }

    /// An optional folder reference: absent, blank or `0` mean the root.
    pub fn optional_folder(&self, name: &str) -> Result<Option<FolderId>, ApiError> {
        match self.given(name) {
            None => Ok(None),
            Some(raw) => folder_ref(name, raw),
        }
    }

    /// A folder reference where absent or blank mean "keep", and `0` means the root.
    pub fn folder_change(&self, name: &str) -> Result<Option<Option<FolderId>>, ApiError> {
        self.given(name)
            .map(|raw| folder_ref(name, raw))
            .transpose()
    }

    /// An optional id parameter: absent or blank → `None`, not a whole number → refused.
    pub fn optional_id<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(_) => self.require_id(name, parse).map(Some),
        }
    }

    /// A required folder parameter as sent: `0` the root, else a folder id.
    pub fn require_folder_ref(&self, name: &str) -> Result<FolderRef, ApiError> {
        self.require_folder(name).map(wire_folder)
    }

    /// An optional folder parameter as sent: absent or blank → `None` (the endpoint says
    /// whether that is the root or "keep"), `0` the root, else a folder id.
    pub fn folder_ref(&self, name: &str) -> Result<Option<FolderRef>, ApiError> {
        self.folder_change(name)
            .map(|change| change.map(wire_folder))
    }

    /// `is_public`: absent or blank → `None`; anything but `0`, `1`, `2` → refused.
    pub fn visibility(&self, name: &str) -> Result<Option<Visibility>, ApiError> {
        self.get(name)
            .map(|raw| {
                raw.parse::<i64>()
                    .ok()
                    .and_then(Visibility::from_code)
                    .ok_or_else(|| ApiError::bad_param(messages::BAD_IS_PUBLIC))
            })
            .transpose()
    }

    /// A parameter that is present and not blank, as an owned string.
    pub fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// `access_token` and `account_id` as sent, for [`upvault_core::service::AuthService`].
    pub fn credentials(&self) -> (Option<&str>, Option<&str>) {
        (self.get("access_token"), self.get("account_id"))
    }

    /// Merges `name=value` pairs, later ones winning.
    pub fn extend<N: AsRef<str>, V: AsRef<str>>(
        &mut self,
        pairs: impl IntoIterator<Item = (N, V)>,
    ) {
        for (name, value) in pairs {
            self.insert(name.as_ref(), value.as_ref());
        }
    }

    /// Parses a query string into parameters (never fails: bad escapes and bytes are kept as
    /// they are, or replaced by U+FFFD, as browsers do).
    pub fn from_query(query: Option<&str>) -> Self {
        let Some(query) = query else {
            return Params::default();
        };
        // Decoding never lengthens (an escape of three bytes becomes one, or U+FFFD's three),
        // so the names and values fit in the query's length.
        let mut params = Params(Pairs::Few {
            text: String::with_capacity(query.len()),
            ends: Vec::with_capacity(4),
        });
        params.extend(parse_urlencoded(query.as_bytes()));
        params
    }
}

/// A folder reference: `0` and the literal `null` (any case, as the real server checks it)
/// are the root.
fn folder_ref(name: &str, raw: &str) -> Result<Option<FolderId>, ApiError> {
    if raw == "0" || raw.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    FolderId::parse(raw)
        .map(Some)
        .ok_or_else(|| not_an_id(name, raw, IdUse::Place))
}

/// Whether an id names the object acted on or where something goes.
#[derive(Clone, Copy)]
enum IdUse {
    Named,
    Place,
}

/// The refusal of an id parameter that names no id. Digits no id can be are out of range (a
/// client bug worth naming); anything else gets what the real server answers, which casts it
/// to 0 and finds nothing: the parameter's not-found message (SPEC.md §7).
fn not_an_id(name: &str, raw: &str, used: IdUse) -> ApiError {
    let raw = raw.trim();
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return ApiError::bad_param(messages::id_out_of_range(name));
    }
    let not_found = match (name, used) {
        ("file_id", _) => messages::FILE_NOT_FOUND,
        ("folder_id", IdUse::Named) | ("parent_folder_id", _) => messages::FOLDER_NOT_FOUND,
        ("folder_id", IdUse::Place) => messages::UPLOAD_FOLDER_NOT_FOUND,
        ("parent_id", _) => messages::PARENT_FOLDER_NOT_FOUND,
        ("new_parent_folder_id", _) => messages::MOVE_DESTINATION_NOT_FOUND,
        ("copy_to_folder_id", _) => messages::COPY_DESTINATION_NOT_FOUND,
        ("scheduled_item_id", _) => messages::SCHEDULED_ITEM_NOT_FOUND,
        ("account_id", _) => messages::TARGET_ACCOUNT_NOT_FOUND,
        ("package_id", _) => messages::PACKAGE_NOT_FOUND,
        _ => return ApiError::bad_param(messages::bad_id(name)),
    };
    ApiError::new(crate::error::ErrorClass::NotFound, not_found)
}

/// A folder of the domain as the wire names it (`0` the root).
fn wire_folder(folder: Option<FolderId>) -> FolderRef {
    folder.map_or(FolderRef::ROOT, |id| FolderRef(id.0))
}

/// Parses the account id of `account_id` for places that need it before authentication.
pub fn parse_account(raw: &str) -> Option<AccountId> {
    AccountId::parse(raw)
}

/// `application/x-www-form-urlencoded` pairs, exactly as [`form_urlencoded::parse`] reads them.
/// A pair with nothing escaped (no `%`, no `+`) in valid UTF-8, which is what tokens, ids and
/// most names are, is taken as it is: the parser's three passes over every byte (plus signs,
/// percent escapes, UTF-8) cost a small API call about 5 % of its CPU.
fn parse_urlencoded(bytes: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    bytes
        .split(|&byte| byte == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            if memchr::memchr2(b'%', b'+', pair).is_none() {
                if let Ok(pair) = std::str::from_utf8(pair) {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    return (Cow::Borrowed(name), Cow::Borrowed(value));
                }
            }
            // One non-empty pair without `&` is one item.
            form_urlencoded::parse(pair).next().unwrap_or_default()
        })
}

/// The media type of a request, lower-cased, without parameters.
pub fn media_type(request: &Request) -> Option<String> {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

/// The multipart boundary of a request, if it is multipart.
pub fn multipart_boundary(request: &Request) -> Option<String> {
    let value = request.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    multer::parse_boundary(value).ok()
}

impl FromRequest<AppState> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let mut params = Params::from_query(request.uri().query());
        let limit = state.config.max_form_bytes;
        let media = media_type(&request);
        match media.as_deref() {
            Some("multipart/form-data") => {
                let boundary = multipart_boundary(&request)
                    .ok_or_else(|| ApiError::bad_param(messages::BAD_REQUEST_BODY))?;
                let stream = request.into_body().into_data_stream();
                let constraints = multer::Constraints::new().size_limit(
                    multer::SizeLimit::new()
                        .whole_stream(limit as u64)
                        .per_field(limit as u64),
                );
                let mut multipart =
                    multer::Multipart::with_constraints(stream, boundary, constraints);
                let mut parts = 0;
                while let Some(field) = multipart.next_field().await.map_err(body_error)? {
                    parts += 1;
                    if parts > state.config.max_multipart_parts {
                        return Err(too_many_parts(state.config.max_multipart_parts));
                    }
                    let Some(name) = field.name().map(str::to_owned) else {
                        continue;
                    };
                    if field.file_name().is_some() {
                        // Files only belong to /file/upload; drain and ignore elsewhere.
                        field.bytes().await.map_err(body_error)?;
                        continue;
                    }
                    let value = field.text().await.map_err(body_error)?;
                    params.insert(&name, &value);
                }
            }
            Some("application/json") => {
                let bytes = read_body(request.into_body(), limit).await?;
                let object: HashMap<String, serde_json::Value> = serde_json::from_slice(&bytes)
                    .map_err(|_| ApiError::bad_param(messages::BAD_REQUEST_BODY))?;
                params.extend(object.into_iter().filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) => Some((k, s)),
                    serde_json::Value::Number(n) => Some((k, n.to_string())),
                    serde_json::Value::Bool(b) => Some((k, u8::from(b).to_string())),
                    _ => None,
                }));
            }
            _ if hyper::body::Body::is_end_stream(request.body()) => {} // nothing sent (a GET)
            _ => {
                // urlencoded, or no declared type (curl -d without -H sends urlencoded).
                let bytes = read_body(request.into_body(), limit).await?;
                if !bytes.is_empty() {
                    params.extend(parse_urlencoded(&bytes));
                }
            }
        }
        Ok(params)
    }
}

/// Reads a small body, refusing it as soon as it passes `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let too_large = std::error::Error::source(&err)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            body_too_large(limit)
        } else {
            ApiError::bad_param(messages::BAD_REQUEST_BODY)
        }
    })
}

/// A multipart parsing failure as a client error naming the cause.
pub fn body_error(err: multer::Error) -> ApiError {
    match err {
        multer::Error::StreamSizeExceeded { limit }
        | multer::Error::FieldSizeExceeded { limit, .. } => body_too_large(limit as usize),
        _ => ApiError::bad_param(messages::BAD_REQUEST_BODY),
    }
}

fn body_too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorClass::BadParam,
        format!("The request's parameters are larger than {limit} bytes."),
    )
}

/// Too many multipart parts.
pub fn too_many_parts(max: usize) -> ApiError {
    ApiError::bad_param(format!("The request has more than {max} multipart parts."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned<'a>(
        pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    ) -> Vec<(String, String)> {
        pairs
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    fn reference(bytes: &[u8]) -> Vec<(String, String)> {
        form_urlencoded::parse(bytes)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    #[test]
    fn the_last_value_of_a_name_wins_however_many_pairs_are_sent() {
        for count in [0, 5, Pairs::FEW - 2, Pairs::FEW, Pairs::FEW + 1, 5_000] {
            let mut query = String::from("a=first");
            for n in 0..count {
                query.push_str(&format!("&k{n}={n}&dup=x{n}"));
            }
            query.push_str("&a=last");
            let params = Params::from_query(Some(&query));
            assert_eq!(params.raw("a"), Some("last"), "{count} pairs");
            assert_eq!(params.raw("missing"), None);
            if count > 0 {
                let last = count - 1;
                assert_eq!(params.raw("dup"), Some(format!("x{last}").as_str()));
                assert_eq!(
                    params.raw(&format!("k{last}")),
                    Some(last.to_string().as_str())
                );
                assert_eq!(params.raw("k0"), Some("0"));
            }
            let mut names = params.names();
            names.sort_unstable();
            names.dedup();
            assert_eq!(
                names.len(),
                1 + count + usize::from(count > 0),
                "{count} pairs"
            );
        }
        // Thousands of repeats of one name keep one value, not thousands.
        let query = "x=1&".repeat(10_000);
        let params = Params::from_query(Some(&query));
        assert_eq!(params.names(), ["x"]);
        assert_eq!(params.get("x"), Some("1"));
    }

    #[test]
    fn pairs_are_read_exactly_as_form_urlencoded_reads_them() {
        let cases: [&[u8]; 14] = [
            b"",
            b"&&",
            b"access_token=abc&account_id=12&file_id=7",
            b"a=1&a=2",
            b"=x&y=&z",
            b"a==b=c",
            b"name=hello+world&q=%41%62%zz%",
            b"caf%C3%A9=%E2%9C%93&raw=\xc3\xa9",
            b"bad=\xff\xfe&ok=1",
            b"half=%E2%9C",
            b"plus=+++&pct=%2B%26%3D",
            b"file_name=..%2F..%2Fetc%2Fpasswd",
            "k=日本語&é=ü".as_bytes(),
            b"trailing=1&",
        ];
        for case in cases {
            let ours: Vec<_> = owned(parse_urlencoded(case));
            assert_eq!(ours, reference(case), "{:?}", String::from_utf8_lossy(case));
        }
        // Random strings over the bytes that matter to the parser.
        let alphabet: &[u8] = b"a=&%+2F0E9\xc3\xa9\xff ";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let len = (next() % 24) as usize;
            let case: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let ours: Vec<_> = owned(parse_urlencoded(&case));
            assert_eq!(ours, reference(&case), "{case:?}");
        }
    }
}
