//! Extractors whose rejections are [`AppError`]s, so that malformed input gets the platform's error
//! format (400 malformed JSON, 413 too large, 422 wrong shape) instead of axum's plain text, in
//! Chinese and naming the field (serde's English never reaches a user).
//!
//! Every text field of a JSON body or a form is also checked before it reaches a handler: no NUL
//! or other control characters (tab and line breaks aside), no bidirectional overrides (which
//! make a name read differently from what it is), and no value made only of invisible characters.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// JSON body.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(e) => return Err(json_rejection(e)),
        };
        check_json_text(&value, &mut String::new())?;
        serde_path_to_error::deserialize(value).map(Json).map_err(|e| {
            let path = e.path().to_string();
            invalid_fields(if path == "." { None } else { Some(path) }, &e.into_inner().to_string())
        })
    }
}

/// Checks every string of a JSON document (and every key), naming the path of the first bad one.
fn check_json_text(value: &serde_json::Value, path: &mut String) -> Result<(), AppError> {
    match value {
        serde_json::Value::String(s) => check_text(path, s),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_json_text(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                check_text(path, key)?;
                check_json_text(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_text(field: &str, s: &str) -> Result<(), AppError> {
    match yunshu_domain::text::problem(s).map(|p| p.message_zh()) {
        None => Ok(()),
        Some(problem) => Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.bad_text",
            if field.is_empty() {
                format!("提交的文字{problem}")
            } else {
                format!("字段「{field}」{problem}")
            },
        )),
    }
}

/// A 422 for a body of the wrong shape, in Chinese, naming the field where known.
fn invalid_fields(field: Option<String>, serde_message: &str) -> AppError {
    let what = serde_zh(serde_message);
    let message = match field {
        Some(field) => format!("字段「{field}」{what}"),
        None => format!("请求内容{what}"),
    };
    AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_fields", message)
}

/// serde's English explanation, in Chinese (the common cases; the field is named by the caller).
fn serde_zh(message: &str) -> String {
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_owned);
    if message.starts_with("missing field") {
        return match quoted(message) {
            Some(name) => format!("缺少必填字段「{name}」"),
            None => "缺少必填字段".to_owned(),
        };
    }
    if message.starts_with("unknown field") {
        return match quoted(message) {
            Some(name) => format!("含有不认识的字段「{name}」"),
            None => "含有不认识的字段".to_owned(),
        };
    }
    if message.starts_with("unknown variant") {
        return "的取值不在允许的选项中".to_owned();
    }
    if message.starts_with("invalid type") {
        let expected = message.split("expected ").nth(1).unwrap_or("");
        return match expected {
            e if e.contains("i64") || e.contains("u64") || e.contains("i32") || e.contains("integer") => {
                "应为整数".to_owned()
            }
            e if e.contains("f64") || e.contains("number") => "应为数字".to_owned(),
            e if e.contains("bool") => "应为 true 或 false".to_owned(),
            e if e.contains("string") || e.contains("str") => "应为文字".to_owned(),
            e if e.contains("sequence") => "应为列表".to_owned(),
            _ => "的类型不符".to_owned(),
        };
    }
    if message.contains("invalid digit")
        || message.contains("number too")
        || message.contains("invalid float")
    {
        return "应为有效的数字".to_owned();
    }
    if message.contains("premature end") || message.contains("EOF") {
        return "不完整".to_owned();
    }
    "格式有误".to_owned()
}

fn json_rejection(e: JsonRejection) -> AppError {
    match e {
        JsonRejection::JsonDataError(_) => invalid_fields(None, ""),
        JsonRejection::JsonSyntaxError(_) => {
            AppError::new(StatusCode::BAD_REQUEST, "request.malformed_json", "请求体不是合法的 JSON")
        }
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content_type",
            "请求须使用 Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => AppError::new(StatusCode::BAD_REQUEST, "request.bad_body", "请求体无法读取"),
    }
}

pub fn too_large() -> AppError {
    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "提交的内容超过大小限制")
}

/// URL-encoded form body (web pages).
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let pairs = match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(pairs)) => pairs,
            Err(FormRejection::FailedToDeserializeForm(_)) => return Err(invalid_fields(None, "")),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => {
                return Err(AppError::new(StatusCode::BAD_REQUEST, "request.bad_form", "表单内容无法读取"));
            }
        };
        for (key, value) in &pairs {
            check_text(key, value)?;
        }
        // Parsed again from the checked pairs, with the path of a field of the wrong shape.
        let encoded = serde_urlencoded::to_string(&pairs).map_err(|_| invalid_fields(None, ""))?;
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(Form).map_err(|e| {
            let path = e.path().to_string();
            invalid_fields(if path == "." { None } else { Some(path) }, &e.into_inner().to_string())
        })
    }
}

/// Query string parameters (checked and answered like form fields).
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            check_text(&key, &value)?;
        }
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(Query).map_err(|e| {
            let path = e.path().to_string();
            invalid_fields(if path == "." { None } else { Some(path) }, &e.into_inner().to_string())
        })
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(path_rejection(e)),
        }
    }
}

fn path_rejection(_e: PathRejection) -> AppError {
    AppError::not_found()
}
