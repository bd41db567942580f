//! The OpenAPI document at `/api/v1/openapi.json`, generated from the route table (paths, methods,
//! summaries, the guarding policy action) and the wire types (schemas).

use axum::extract::State;
use axum::http::Method;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder};

use crate::AppState;
use crate::routes::{Kind, ROUTES};

pub fn build() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for r in ROUTES.iter().filter(|r| r.kind == Kind::Api) {
        let method = match r.method {
            Method::GET => HttpMethod::Get,
            Method::POST => HttpMethod::Post,
            Method::PUT => HttpMethod::Put,
            Method::DELETE => HttpMethod::Delete,
            _ => continue,
        };
        let op = OperationBuilder::new()
            .summary(Some(r.summary))
            .description(Some(format!(
                "Policy action: `{}`. Errors: JSON `ErrorBody` {{code, message, operation_id}}.",
                r.action
            )))
            .build();
        paths = paths.path(r.path, PathItem::new(method, op));
    }
    let components = ComponentsBuilder::new()
        .schema_from::<crate::error::ErrorBody>()
        .schema_from::<crate::api::Health>()
        .schema_from::<crate::api::OrgView>()
        .schema_from::<crate::api::UserView>()
        .schema_from::<crate::api::MeView>()
        .schema_from::<crate::api::TodoItem>()
        .schema_from::<crate::api::RegionView>()
        .schema_from::<crate::api::Created>()
        .schema_from::<crate::api::ChainInput>()
        .schema_from::<crate::api::IdentityView>()
        .schema_from::<crate::api::TaskView>()
        .schema_from::<crate::api::ApprovalView>()
        .schema_from::<crate::api::TokenView>()
        .schema_from::<crate::api::TokenInput>()
        .schema_from::<crate::api::NewToken>()
        .schema_from::<crate::api::AuditView>()
        .schema_from::<crate::api::calendar::PeriodAnswer>()
        .schema_from::<crate::api::calendar::ScheduleInput>()
        .schema_from::<crate::api::calendar::ScheduleDayInput>()
        .schema_from::<crate::api::calendar::ScheduleLoaded>()
        .schema_from::<crate::services::OrgInput>()
        .schema_from::<crate::services::UserInput>()
        .schema_from::<crate::services::AgreementInput>()
        .schema_from::<crate::services::DecisionInput>()
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Yunshu 云数 — 云南省公共数据资源授权运营平台 API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}

pub async fn document(State(_state): State<AppState>) -> axum::Json<OpenApi> {
    axum::Json(build())
}
