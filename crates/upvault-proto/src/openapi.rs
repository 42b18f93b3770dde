//! The OpenAPI 3.1 document of the 24 endpoints (the documented 19 and the real server's
//! admin endpoints), built from the request and response types.
//!
//! Each endpoint's parameters are its request type's fields (after [`Credentials`] where it
//! needs them), documented twice as the API reads them: as the query string of a GET and as
//! the body of a POST (urlencoded, multipart or JSON; `/file/upload` multipart only). Its
//! answer is the success envelope around its data object (or `/file/copy`'s own shape), or the
//! error envelope, which the documented errors send with HTTP 200 unless the operator turns on
//! `[api] http_error_codes`. The descriptions are the types' doc comments.

use crate::envelope::ErrorEnvelope;
use crate::objects::*;
use crate::requests::*;
use crate::{AdminCredentials, Credentialed};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, OneOfBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, ResponseBuilder, Schema,
};
use utoipa::{PartialSchema, ToSchema};

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data";
/// The shared response of every error envelope sent with a 4xx or 5xx status.
const ERROR_RESPONSE: &str = "Error";

const OVERVIEW: &str = "The File Upload API v2 of upvault, compatible with YetiShare's.\n\n\
Every endpoint takes its parameters as a GET query string or as a POST body \
(`application/x-www-form-urlencoded`, `multipart/form-data` or a flat JSON object); body values \
win over query values, and an absent parameter and a blank one mean the same. Any other method \
answers 405. Every endpoint but `/authorize` needs `access_token` and `account_id`, checked \
before anything else.\n\n\
Every answer is JSON: the success envelope `{\"response\", \"data\", \"_status\": \"success\", \
\"_datetime\"}` (`response` and `data` only where an endpoint has them) or the error envelope \
`{\"_status\": \"error\", \"status\": \"error\", \"response\": message, \"_datetime\"}`. The \
documented errors are sent with HTTP 200, so that clients reading only `_status` keep working; \
with `[api] http_error_codes = true` they are sent with 400 (bad or missing parameter), 401 (bad \
or expired token), 403 (package limit) and 404 (not found). Rate limiting answers 429 with \
`Retry-After`, a server fault 500.\n\n\
Dates are `Y-m-d H:i:s` (UTC unless the operator sets a time zone). Ids, sizes and counts are \
strings in the objects where the documentation's samples show strings, numbers where they show \
numbers. In folder parameters `0` means the root folder.";

/// The document, as `GET /api/v2/openapi.json` serves it.
pub fn document() -> OpenApi {
    let mut doc = Document::default();
    doc.one::<AuthorizeRequest, AuthorizeData>();
    doc.endpoint::<DisableAccessTokenRequest>(Data::None);
    doc.one::<AccountInfoRequest, AccountObject>();
    doc.one::<AccountPackageRequest, PackageObject>();
    doc.one::<AccountCreateRequest, AccountObject>();
    doc.one::<AccountEditRequest, AccountObject>();
    doc.endpoint::<AccountDeleteRequest>(Data::None);
    doc.one::<AccountFindRequest, AccountObject>();
    doc.one::<PackageListingRequest, PackageListing>();
    let uploaded = doc.schema::<UploadedFile>();
    doc.endpoint::<FileUploadRequest>(Data::List(uploaded));
    doc.one::<FileDownloadRequest, DownloadData>();
    doc.one::<UrlUploadAddRequest, ScheduledData>();
    doc.one::<UrlUploadStatusRequest, ScheduledStatusData>();
    doc.one::<FileInfoRequest, FileObject>();
    doc.one::<FileEditRequest, FileObject>();
    doc.one::<FileDeleteRequest, FileObject>();
    doc.one::<FileMoveRequest, FileObject>();
    let copied = doc.schema::<CopyAnswer>();
    doc.endpoint::<FileCopyRequest>(Data::Own(copied));
    doc.one::<FolderCreateRequest, FolderObject>();
    doc.one::<FolderListingRequest, ListingData>();
    doc.one::<FolderInfoRequest, FolderObject>();
    doc.one::<FolderEditRequest, FolderObject>();
    doc.endpoint::<FolderDeleteRequest>(Data::None);
    doc.one::<FolderMoveRequest, FolderObject>();
    doc.build()
}

/// [`document`] as pretty-printed JSON with a final newline: `docs/openapi.json`.
pub fn to_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("an OpenAPI document of plain maps and strings serialises");
    json.push('\n');
    json
}

/// What an endpoint's success carries.
enum Data {
    /// No `data` (only `response`).
    None,
    /// `data` is this object.
    One(RefOr<Schema>),
    /// `data` is a list of this object.
    List(RefOr<Schema>),
    /// The success has its own shape, this one, rather than the envelope.
    Own(RefOr<Schema>),
}

#[derive(Default)]
struct Document {
    paths: PathsBuilder,
    components: ComponentsBuilder,
}

impl Document {
    /// Registers `T` and the schemas it refers to; a reference to it.
    fn schema<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let mut nested = Vec::new();
        T::schemas(&mut nested);
        let components = std::mem::take(&mut self.components);
        self.components = components
            .schemas_from_iter(nested)
            .schema(T::name(), T::schema());
        Ref::from_schema_name(T::name()).into()
    }

    /// An endpoint whose `data` is one `D`.
    fn one<E: Endpoint, D: ToSchema>(&mut self) {
        let data = self.schema::<D>();
        self.endpoint::<E>(Data::One(data));
    }

    fn endpoint<E: Endpoint>(&mut self, data: Data) {
        let name = E::name();
        let base = name.strip_suffix("Request").unwrap_or(&name).to_owned();
        let (form, description) = parameters::<E>();
        let answer = match data {
            Data::Own(schema) => schema,
            data => {
                let answer_name = format!("{base}Answer");
                let schema = success_envelope::<E>(data);
                let components = std::mem::take(&mut self.components);
                self.components = components.schema(answer_name.as_str(), schema);
                Ref::from_schema_name(answer_name).into()
            }
        };
        let upload = E::PATH.ends_with("/file/upload");
        let mut description = description.unwrap_or_default();
        match E::CREDENTIALS {
            Credentialed::None => {}
            Credentialed::Account => description.push_str(
                "\n\nNeeds `access_token` and `account_id`, checked first (see `Credentials`).",
            ),
            Credentialed::Admin => description.push_str(
                "\n\nNeeds the `access_token` of an administrator, checked first (see \
                 `AdminCredentials`).",
            ),
        }
        let id = E::PATH.trim_start_matches("/api/v2/").replace('/', "_");
        let tag = id
            .split('_')
            .next()
            .filter(|group| matches!(*group, "account" | "package" | "file" | "folder"))
            .unwrap_or("auth");
        let operation = || {
            OperationBuilder::new()
                .tag(tag)
                .summary(Some(E::SUMMARY))
                .description(Some(description.as_str()))
                .response("200", answered(answer.clone()))
                .response("400", Ref::from_response_name(ERROR_RESPONSE))
                .response("401", Ref::from_response_name(ERROR_RESPONSE))
                .response("403", Ref::from_response_name(ERROR_RESPONSE))
                .response("404", Ref::from_response_name(ERROR_RESPONSE))
                .response("429", rate_limited())
                .response("500", Ref::from_response_name(ERROR_RESPONSE))
        };
        let form_name = format!("{base}Form");
        let mut body = RequestBodyBuilder::new().required(Some(Required::True));
        let mut item: PathItem;
        if upload {
            let mut form = form;
            form.properties.insert(
                "upload_file".into(),
                ArrayBuilder::new()
                    .items(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))),
                    )
                    .description(Some(
                        "The files: one part named `upload_file` per file, with its file name; \
                         several parts upload several files.",
                    ))
                    .into(),
            );
            form.required.push("upload_file".into());
            let components = std::mem::take(&mut self.components);
            self.components = components.schema(form_name.as_str(), form);
            body = body.content(MULTIPART, content(&form_name));
            let post: Operation = operation()
                .operation_id(Some(id.as_str()))
                .request_body(Some(body.build()))
                .into();
            item = PathItem::new(HttpMethod::Post, post);
        } else {
            let query: Vec<_> = form
                .properties
                .iter()
                .map(|(name, property)| query_parameter(name, property, &form.required))
                .collect();
            let components = std::mem::take(&mut self.components);
            self.components = components.schema(form_name.as_str(), form);
            for media in [FORM, MULTIPART, JSON] {
                body = body.content(media, content(&form_name));
            }
            let post: Operation = operation()
                .operation_id(Some(id.as_str()))
                .request_body(Some(body.build()))
                .into();
            let get: Operation = operation()
                .operation_id(Some(format!("{id}_get")))
                .parameters(Some(query))
                .into();
            item = PathItem::new(HttpMethod::Post, post);
            item.get = Some(get);
        }
        let paths = std::mem::take(&mut self.paths);
        self.paths = paths.path(E::PATH, item);
    }

    fn build(mut self) -> OpenApi {
        let error = self.schema::<ErrorEnvelope>();
        self.schema::<Credentials>();
        self.schema::<AdminCredentials>();
        let components = self.components.response(
            ERROR_RESPONSE,
            ResponseBuilder::new()
                .description(
                    "The error envelope. Sent with these statuses only with `[api] \
                     http_error_codes = true`: 400 bad or missing parameter, 401 bad or expired \
                     token, 403 package limit, 404 not found; and always 500 for a server fault.",
                )
                .content(JSON, ContentBuilder::new().schema(Some(error)).build()),
        );
        OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("upvault File Upload API v2")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(OVERVIEW)),
            )
            .paths(self.paths)
            .components(Some(components.build()))
            .tags(Some(
                [
                    ("auth", "Access tokens."),
                    (
                        "account",
                        "The caller's account and package; for administrators, every account.",
                    ),
                    ("package", "Packages (administrators)."),
                    (
                        "file",
                        "Files: upload, download links, URL imports, changes.",
                    ),
                    ("folder", "Folders: create, list, change."),
                ]
                .map(|(name, about)| {
                    TagBuilder::new()
                        .name(name)
                        .description(Some(about))
                        .build()
                }),
            ))
            .build()
    }
}

/// The endpoint's parameters as one flat object (credentials first), and its description.
fn parameters<E: Endpoint>() -> (Object, Option<String>) {
    let mut form = ObjectBuilder::new().schema_type(Type::Object).build();
    let mut description = None;
    let mut sources = Vec::new();
    match E::CREDENTIALS {
        Credentialed::None => {}
        Credentialed::Account => sources.push((Credentials::schema(), false)),
        Credentialed::Admin => sources.push((AdminCredentials::schema(), false)),
    }
    sources.push((E::schema(), true));
    for (schema, own) in sources {
        if let RefOr::T(Schema::Object(object)) = schema {
            if own {
                description = object.description;
            }
            // An absent parameter is how a client leaves one out: no parameter is ever `null`.
            form.properties.extend(
                object
                    .properties
                    .into_iter()
                    .map(|(name, property)| (name, not_null(property))),
            );
            form.required.extend(object.required);
        }
    }
    form.description = Some(format!("The parameters of `{}`.", E::PATH));
    (form, description)
}

/// `property` without `null` among its types.
fn not_null(property: RefOr<Schema>) -> RefOr<Schema> {
    match property {
        RefOr::T(Schema::Object(mut object)) => {
            if let SchemaType::Array(types) = &object.schema_type {
                let kept: Vec<Type> = types
                    .iter()
                    .filter(|t| **t != Type::Null)
                    .cloned()
                    .collect();
                object.schema_type = match kept.as_slice() {
                    [one] => SchemaType::Type(one.clone()),
                    _ => SchemaType::Array(kept),
                };
            }
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// A GET query parameter for one property of the parameters' object.
fn query_parameter(
    name: &str,
    property: &RefOr<Schema>,
    required: &[String],
) -> utoipa::openapi::path::Parameter {
    let (schema, description) = match property.clone() {
        RefOr::T(Schema::Object(mut object)) => {
            let description = object.description.take();
            (RefOr::T(Schema::Object(object)), description)
        }
        other => (other, None),
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required.iter().any(|r| r == name) {
            Required::True
        } else {
            Required::False
        })
        .description(description)
        .schema(Some(schema))
        .build()
}

/// The success envelope of an endpoint around its data.
fn success_envelope<E: Endpoint>(data: Data) -> Schema {
    let mut envelope = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(format!("A success of `{}`.", E::PATH)));
    if let Some(message) = E::MESSAGE {
        envelope = envelope
            .property(
                "response",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([message]))
                    .description(Some("The documented message.")),
            )
            .required("response");
    }
    let described = |schema: RefOr<Schema>, what: &str| match schema {
        RefOr::Ref(mut reference) => {
            reference.description = what.to_owned();
            RefOr::Ref(reference)
        }
        other => other,
    };
    match data {
        Data::One(schema) => {
            let schema = described(schema, "The data of the answer.");
            envelope = envelope.property("data", schema).required("data")
        }
        Data::List(schema) => {
            envelope = envelope
                .property(
                    "data",
                    ArrayBuilder::new()
                        .items(schema)
                        .description(Some("One item per file part, in the order sent.")),
                )
                .required("data")
        }
        Data::None | Data::Own(_) => {}
    }
    envelope
        .property(
            "_status",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["success"]))
                .description(Some("Always `success`.")),
        )
        .required("_status")
        .property(
            "_datetime",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("When the answer was made, `Y-m-d H:i:s`."))
                .examples(["2025-03-04 21:14:03"]),
        )
        .required("_datetime")
        .into()
}

fn content(schema_name: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema_name)))
        .build()
}

/// The 200 answer: the success, or the error envelope of a documented error.
fn answered(success: RefOr<Schema>) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(
            "The success; or the error envelope with the documented message (HTTP 200 unless \
             `[api] http_error_codes = true`).",
        )
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(
                    OneOfBuilder::new()
                        .item(success)
                        .item(Ref::from_schema_name(ErrorEnvelope::name())),
                ))
                .build(),
        )
        .build()
}

fn rate_limited() -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description("Too many requests: the error envelope; `Retry-After` says when to retry.")
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait."))
                .build(),
        )
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorEnvelope::name())))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn document_json() -> Value {
        serde_json::from_str(&to_json()).unwrap()
    }

    #[test]
    fn every_endpoint_is_documented_with_get_and_post() {
        let doc = document_json();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 24, "{:?}", paths.keys().collect::<Vec<_>>());
        for (path, item) in paths {
            assert!(item["post"].is_object(), "{path}");
            if path != "/api/v2/file/upload" {
                assert!(item["get"]["parameters"].is_array(), "{path}");
            }
        }
        let upload = &doc["paths"]["/api/v2/file/upload"]["post"]["requestBody"]["content"];
        assert!(upload["multipart/form-data"].is_object());
        let info = &doc["paths"]["/api/v2/file/info"]["get"]["parameters"];
        let names: Vec<_> = info
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["access_token", "account_id", "file_id"]);
    }

    /// Every property of every schema, and every query parameter, says what it is.
    #[test]
    fn every_parameter_and_field_has_a_description() {
        let doc = document_json();
        let mut missing = Vec::new();
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                // An optional object's description sits beside its `$ref`, inside `oneOf`.
                let described = std::iter::once(property)
                    .chain(property["oneOf"].as_array().into_iter().flatten())
                    .any(|p| p["description"].as_str().is_some_and(|d| d.len() > 3));
                if !described {
                    missing.push(format!("{name}.{field}"));
                }
            }
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for parameter in item["get"]["parameters"].as_array().into_iter().flatten() {
                if parameter["description"].as_str().is_none() {
                    missing.push(format!("{path} {}", parameter["name"]));
                }
            }
            assert!(item["post"]["description"].as_str().unwrap().len() > 10);
        }
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }
}
