//! The OpenAPI document at `/api/v1/openapi.json`, generated from the route table (paths, methods,
//! summaries, the guarding policy action) and the wire types (schemas).

use axum::extract::State;
use axum::http::Method;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{
    ComponentsBuilder, Content, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, ResponseBuilder,
};

use crate::AppState;
use crate::routes::{Kind, ROUTES};

/// A schema reference, `Name` or `Name[]` for an array of it.
fn schema_ref(name: &str) -> RefOr<Schema> {
    match name.strip_suffix("[]") {
        Some(item) => RefOr::T(Schema::Array(ArrayBuilder::new().items(Ref::from_schema_name(item)).build())),
        None => RefOr::Ref(Ref::from_schema_name(name)),
    }
}

fn json_content(name: &str) -> Content {
    ContentBuilder::new().schema(Some(schema_ref(name))).build()
}

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
        let mut op = OperationBuilder::new().summary(Some(r.summary)).description(Some(format!(
            "Policy action: `{}`. Authenticate with `Authorization: Bearer <token>` (or the web \
             session with an `x-csrf-token` header).",
            r.action
        )));
        // Path parameters: `{id}` is an integer, the others are words.
        for part in r.path.split('/') {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let ty = if name == "id" { Type::Integer } else { Type::String };
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(ObjectBuilder::new().schema_type(ty).build())),
                );
            }
        }
        if let Some(body) = r.request {
            op = op.request_body(Some(
                RequestBodyBuilder::new().content("application/json", json_content(body)).build(),
            ));
        }
        let created = r.method == Method::POST && matches!(r.response, Some("Created" | "NewToken"));
        op = match r.response {
            Some(name) => op.response(
                if created { "201" } else { "200" },
                ResponseBuilder::new()
                    .description("OK")
                    .content("application/json", json_content(name))
                    .build(),
            ),
            None if r.path.ends_with("openapi.json") => {
                op.response("200", ResponseBuilder::new().description("This document").build())
            }
            None => op.response("204", ResponseBuilder::new().description("Done").build()),
        };
        op = op.response(
            "default",
            ResponseBuilder::new()
                .description("Error: 400 malformed, 401 unauthenticated, 403 refused, 404, 409 conflict, 413 too large, 422 invalid field")
                .content("application/json", json_content("ErrorBody"))
                .build(),
        );
        paths = paths.path(r.path, PathItem::new(method, op.build()));
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
        .schema_from::<crate::api::catalog::ResourceView>()
        .schema_from::<crate::api::datasets::VersionView>()
        .schema_from::<crate::api::backflow::BackflowView>()
        .schema_from::<crate::services::backflow::BackflowInput>()
        .schema_from::<crate::services::backflow::DecideInput>()
        .schema_from::<crate::api::verifications::VerificationView>()
        .schema_from::<crate::services::verifications::RaiseInput>()
        .schema_from::<crate::services::verifications::AnswerInput>()
        .schema_from::<crate::services::datasets::RuleInput>()
        .schema_from::<crate::api::catalog::ItemView>()
        .schema_from::<crate::api::catalog::RegistrationView>()
        .schema_from::<crate::api::catalog::PublicResourceView>()
        .schema_from::<crate::services::catalog::ResourceForm>()
        .schema_from::<crate::services::catalog::ItemForm>()
        .schema_from::<crate::services::catalog::ItemsInput>()
        .schema_from::<crate::services::catalog::RegistrationInput>()
        .schema_from::<crate::services::catalog::RegMoveInput>()
        .schema_from::<crate::services::catalog::NegativeInput>()
        .schema_from::<crate::services::catalog::NegativeReviewInput>()
        .schema_from::<crate::api::evaluations::EvaluationView>()
        .schema_from::<crate::api::evaluations::IndicatorView>()
        .schema_from::<crate::api::evaluations::MaterialRequestView>()
        .schema_from::<crate::api::evaluations::ScoreView>()
        .schema_from::<crate::api::evaluations::RectificationView>()
        .schema_from::<crate::api::evaluations::StandingView>()
        .schema_from::<crate::api::evaluations::SanctionSuggestionView>()
        .schema_from::<crate::services::evaluations::OpenEvaluationInput>()
        .schema_from::<crate::services::evaluations::MaterialRequestInput>()
        .schema_from::<crate::services::evaluations::SubmitMaterialsInput>()
        .schema_from::<crate::services::evaluations::ScoreItemInput>()
        .schema_from::<crate::services::evaluations::ConcludeInput>()
        .schema_from::<crate::services::evaluations::RectificationInput>()
        .schema_from::<crate::api::onboarding::ScenarioView>()
        .schema_from::<crate::api::onboarding::AssessmentView>()
        .schema_from::<crate::api::onboarding::MaterialView>()
        .schema_from::<crate::api::onboarding::SupplementView>()
        .schema_from::<crate::api::onboarding::ReviewView>()
        .schema_from::<crate::api::onboarding::CheckView>()
        .schema_from::<crate::api::onboarding::NoticeView>()
        .schema_from::<crate::api::onboarding::ObjectionView>()
        .schema_from::<crate::api::onboarding::DevAgreementView>()
        .schema_from::<crate::api::onboarding::ApplicationView>()
        .schema_from::<crate::api::onboarding::PublicNoticeView>()
        .schema_from::<crate::api::catalog::PublicRegistrationNoticeView>()
        .schema_from::<crate::services::onboarding::ScenarioInput>()
        .schema_from::<crate::services::onboarding::AssessmentInput>()
        .schema_from::<crate::services::onboarding::MaterialsInput>()
        .schema_from::<crate::services::onboarding::CheckInput>()
        .schema_from::<crate::services::onboarding::AppMoveInput>()
        .schema_from::<crate::services::onboarding::ObjectionInput>()
        .schema_from::<crate::services::onboarding::ObjectionDecisionInput>()
        .schema_from::<crate::api::plans::FilingView>()
        .schema_from::<crate::api::plans::ItemView>()
        .schema_from::<crate::api::plans::DecisionView>()
        .schema_from::<crate::api::plans::PlanView>()
        .schema_from::<crate::api::plans::FilingTodo>()
        .schema_from::<crate::api::plans::AgreementView>()
        .schema_from::<crate::services::plans::PlanInput>()
        .schema_from::<crate::services::plans::PlanMoveInput>()
        .schema_from::<crate::services::plans::AgreementInput>()
        .schema_from::<crate::services::plans::AgreementMoveInput>()
        .schema_from::<crate::api::sanctions::SanctionView>()
        .schema_from::<crate::api::sanctions::DeletionItemView>()
        .schema_from::<crate::api::sanctions::AttestationView>()
        .schema_from::<crate::api::sanctions::TerminationView>()
        .schema_from::<crate::api::sanctions::AccessView>()
        .schema_from::<crate::services::sanctions::SanctionInput>()
        .schema_from::<crate::services::sanctions::LiftInput>()
        .schema_from::<crate::services::sanctions::TerminateInput>()
        .schema_from::<crate::services::sanctions::AttestInput>()
        .schema_from::<crate::services::sanctions::VerifyInput>()
        .schema_from::<crate::api::data_use::RequestFieldView>()
        .schema_from::<crate::api::data_use::RequestDecisionView>()
        .schema_from::<crate::api::data_use::RequestDeadlineView>()
        .schema_from::<crate::api::data_use::DataUseRequestView>()
        .schema_from::<crate::api::data_use::SecurityAssessmentView>()
        .schema_from::<crate::api::data_use::GrantFieldView>()
        .schema_from::<crate::api::data_use::ChainView>()
        .schema_from::<crate::api::data_use::GrantView>()
        .schema_from::<crate::api::data_use::ProjectView>()
        .schema_from::<crate::services::data_use::FieldInput>()
        .schema_from::<crate::services::data_use::RequestInput>()
        .schema_from::<crate::services::data_use::FieldRefInput>()
        .schema_from::<crate::services::data_use::RequestMoveInput>()
        .schema_from::<crate::services::data_use::ProjectInput>()
        .schema_from::<crate::services::data_use::SecurityAssessmentInput>()
        .schema_from::<crate::services::data_use::GrantForm>()
        .schema_from::<crate::services::data_use::RevokeInput>()
        .schema_from::<crate::services::sandbox::WorkspaceColumn>()
        .schema_from::<crate::services::sandbox::WorkspaceTable>()
        .schema_from::<crate::services::sandbox::SuspendedGrant>()
        .schema_from::<crate::services::sandbox::Catalog>()
        .schema_from::<crate::services::sandbox::Mode>()
        .schema_from::<crate::services::sandbox::RunInput>()
        .schema_from::<crate::services::sandbox::ReportLine>()
        .schema_from::<crate::services::sandbox::RunResult>()
        .schema_from::<crate::services::sandbox::ReviewInput>()
        .schema_from::<crate::services::sandbox::ReviewView>()
        .schema_from::<crate::services::sandbox::DownloadView>()
        .schema_from::<crate::services::sandbox::OutputView>()
        .schema_from::<crate::services::sandbox::QueryView>()
        .schema_from::<crate::api::sandbox::OutputData>()
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

#[cfg(test)]
#[path = "openapi_test.rs"]
mod tests;
