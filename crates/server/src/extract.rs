//! Extractors whose rejections are [`AppError`]s, so that malformed input gets the platform's error
//! format (400 malformed JSON, 413 too large, 422 wrong shape) instead of axum's plain text.

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
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> AppError {
    match e {
        JsonRejection::JsonDataError(d) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.invalid_fields",
            format!("请求字段缺失或类型不符：{}", d.body_text()),
        ),
        JsonRejection::JsonSyntaxError(_) => {
            AppError::new(StatusCode::BAD_REQUEST, "request.malformed_json", "请求体不是合法的 JSON")
        }
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content_type",
            "请求须使用 Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        other => AppError::new(StatusCode::BAD_REQUEST, "request.bad_body", other.body_text()),
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
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(FormRejection::FailedToDeserializeForm(e)) => Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid_fields",
                format!("表单内容不完整或格式有误：{}", e.body_text()),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(e) => Err(AppError::new(StatusCode::BAD_REQUEST, "request.bad_form", e.body_text())),
        }
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
