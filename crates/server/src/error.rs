//! The one error type of the server and its mapping to HTTP: JSON `{code, message, operation_id}`
//! under `/api/`, a Chinese error page elsewhere. 500s are opaque to the user and complete in the log.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use yunshu_store::StoreError;

/// An error answered to the client. `message` is Chinese: it is shown to people.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The form or JSON field at fault, for 422s.
    pub field: Option<&'static str>,
    /// Filled in by the middleware so every answer carries the operation id.
    pub operation_id: String,
    /// Whether to answer as JSON (API) or as an HTML page.
    pub api: bool,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            message: message.into(),
            field: None,
            operation_id: String::new(),
            api: true,
        }
    }

    /// 422 naming the field and what is wrong with it.
    pub fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> AppError {
        AppError { field: Some(field), ..AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message) }
    }

    pub fn forbidden() -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "auth.forbidden", "您没有执行此操作的权限")
    }

    pub fn unauthenticated() -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "auth.required", "请先登录")
    }

    pub fn not_found() -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", "您访问的页面或记录不存在")
    }

    /// A refusal a form shows beside itself with the values kept (422 invalid field, 409 wrong state),
    /// rather than on an error page.
    pub fn is_form_error(&self) -> bool {
        self.status == StatusCode::UNPROCESSABLE_ENTITY || self.status == StatusCode::CONFLICT
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::CONFLICT, code, message)
    }

    /// 503: the database cannot be reached (answered within the pool's acquire timeout, not
    /// after the client gives up). Nothing was written; the request can be repeated.
    pub fn unavailable() -> AppError {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "db.unavailable",
            "数据库暂时无法连接，本次操作未执行，已有数据不受影响；请稍后重试",
        )
    }

    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %detail, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "系统内部错误，请稍后重试；如问题持续，请将操作编号告知平台运维",
        )
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound => AppError::not_found(),
            StoreError::Conflict("uscc") => {
                AppError::conflict("org.duplicate_uscc", "该统一社会信用代码已登记，不能重复创建")
            }
            StoreError::Conflict("approval") => {
                AppError::conflict("approval.changed", "该审批刚被他人处理，请刷新页面查看最新状态后再操作")
            }
            StoreError::Conflict("filing") => {
                AppError::conflict("filing.already", "该人员备案已提交或已通过")
            }
            StoreError::Conflict("username") => {
                AppError::conflict("user.duplicate_username", "该登录名已被使用")
            }
            StoreError::Conflict(what) => AppError::conflict("conflict", format!("记录已存在：{what}")),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::unavailable()
            }
            other => AppError::internal(other),
        }
    }
}

impl From<yunshu_domain::approval::ApprovalError> for AppError {
    fn from(e: yunshu_domain::approval::ApprovalError) -> AppError {
        AppError::new(StatusCode::CONFLICT, e.code(), e.message_zh())
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `uscc.bad_check_char`.
    pub code: String,
    /// Human-readable message (Chinese).
    pub message: String,
    pub operation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for AppError {
    /// Handlers' errors travel to the middleware as a marker, which renders them with the request's
    /// operation id and in the request's format.
    fn into_response(self) -> Response {
        let status = self.status;
        let mut r = status.into_response();
        r.extensions_mut()
            .insert(crate::context::PendingError(std::sync::Arc::new(std::sync::Mutex::new(Some(self)))));
        r
    }
}

impl AppError {
    /// The final response, once operation id and format are known.
    pub fn render(self) -> Response {
        if self.api {
            let body = ErrorBody {
                code: self.code.to_owned(),
                message: self.message,
                operation_id: self.operation_id,
                field: self.field.map(str::to_owned),
            };
            (self.status, axum::Json(body)).into_response()
        } else {
            let page = crate::web::templates::ErrorPage {
                status: self.status.as_u16(),
                title: status_title(self.status),
                message: self.message,
                operation_id: self.operation_id,
            };
            (self.status, Html(crate::web::render(&page))).into_response()
        }
    }
}

fn status_title(s: StatusCode) -> &'static str {
    match s.as_u16() {
        400 => "请求格式有误",
        401 => "请先登录",
        403 => "无权访问",
        404 => "页面不存在",
        409 => "操作冲突",
        413 => "提交的内容过大",
        422 => "填写内容有误",
        _ => "系统错误",
    }
}

pub type AppResult<T> = Result<T, AppError>;
