//! The route table: every route of the server with the policy action that guards it. The router is
//! built from handlers in `web` and `api`; the authorization middleware refuses any route that is not
//! listed here, the OpenAPI document is generated from the API rows, and the role × route test reads
//! this table and fails when a route has no expected-outcome row.

use axum::http::Method;

/// Whether a route is a web page (HTML, cookie session, CSRF) or the JSON API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Page,
    Api,
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    /// The axum path pattern (`{id}` for parameters).
    pub path: &'static str,
    /// The Cedar action checked at route level (and again per object by the handler).
    pub action: &'static str,
    pub kind: Kind,
    /// One line for the OpenAPI document and the docs.
    pub summary: &'static str,
    /// API only: the JSON body schema (a component of the OpenAPI document), if any.
    pub request: Option<&'static str>,
    /// API only: the JSON answer schema; `None` for 204 No Content.
    pub response: Option<&'static str>,
}

impl RouteSpec {
    /// Declares the JSON body and answer of an API route (names of OpenAPI component schemas).
    pub const fn io(mut self, request: Option<&'static str>, response: Option<&'static str>) -> RouteSpec {
        self.request = request;
        self.response = response;
        self
    }
}

const fn page(method: Method, path: &'static str, action: &'static str, summary: &'static str) -> RouteSpec {
    RouteSpec { method, path, action, kind: Kind::Page, summary, request: None, response: None }
}

const fn api(method: Method, path: &'static str, action: &'static str, summary: &'static str) -> RouteSpec {
    RouteSpec { method, path, action, kind: Kind::Api, summary, request: None, response: None }
}

pub const ROUTES: &[RouteSpec] = &[
    // Public.
    page(Method::GET, "/login", "public.view", "登录页"),
    page(Method::POST, "/login", "public.view", "登录"),
    page(Method::GET, "/login/totp", "public.view", "动态口令验证页"),
    page(Method::POST, "/login/totp", "public.view", "动态口令验证"),
    page(Method::GET, "/static/{file}", "public.view", "静态资源"),
    api(Method::GET, "/healthz", "public.view", "Liveness: the process answers").io(None, Some("Health")),
    api(Method::GET, "/readyz", "public.view", "Readiness: the database answers within 1 s").io(None, Some("Health")),
    api(Method::GET, "/api/v1/openapi.json", "public.view", "This API description").io(None, None),
    // Every signed-in user.
    page(Method::GET, "/", "desk.view", "工作台"),
    // Public so that a user of a deactivated organisation can still end their session.
    page(Method::POST, "/logout", "public.view", "退出登录"),
    page(Method::GET, "/account", "account.manage", "个人设置"),
    page(Method::POST, "/account/password", "account.manage", "修改密码"),
    page(Method::POST, "/account/totp", "account.manage", "绑定动态口令"),
    page(Method::POST, "/account/tokens", "account.manage", "创建接口令牌"),
    page(Method::POST, "/account/tokens/{id}/revoke", "account.manage", "吊销接口令牌"),
    page(Method::GET, "/calendar", "calendar.view", "工作日历"),
    api(Method::GET, "/api/v1/me", "desk.view", "The signed-in user, organisation and region")
        .io(None, Some("MeView")),
    api(Method::GET, "/api/v1/todo", "desk.view", "To-do list (待办) of the signed-in user")
        .io(None, Some("TodoItem[]")),
    api(Method::GET, "/api/v1/regions", "region.view", "Yunnan region tree (GB/T 2260)")
        .io(None, Some("RegionView[]")),
    api(
        Method::GET,
        "/api/v1/calendar/add-working-days",
        "calendar.view",
        "Date N official working days after a start date",
    )
    .io(None, Some("PeriodAnswer")),
    api(
        Method::GET,
        "/api/v1/calendar/add-days",
        "calendar.view",
        "End of a calendar-day period (Civil Code rule)",
    )
    .io(None, Some("PeriodAnswer")),
    api(Method::GET, "/api/v1/tokens", "account.manage", "The signed-in user's API tokens")
        .io(None, Some("TokenView[]")),
    api(Method::POST, "/api/v1/tokens", "account.manage", "Create an API token")
        .io(Some("TokenInput"), Some("NewToken")),
    api(Method::POST, "/api/v1/tokens/{id}/revoke", "account.manage", "Revoke an API token").io(None, None),
    // Organisations and users.
    page(Method::GET, "/admin/orgs", "org.view", "机构管理"),
    page(Method::POST, "/admin/orgs", "org.create", "新增机构"),
    page(Method::GET, "/admin/orgs/export.csv", "org.view", "导出机构清单"),
    page(Method::GET, "/admin/orgs/{id}", "org.view", "机构详情"),
    page(Method::POST, "/admin/orgs/{id}/chains", "chain.configure", "设置审批链"),
    page(Method::GET, "/admin/users", "user.view", "用户管理"),
    page(Method::POST, "/admin/users", "user.create", "新增用户"),
    page(Method::GET, "/admin/users/export.csv", "user.view", "导出用户清单"),
    page(Method::GET, "/admin/users/{id}", "user.view", "用户详情"),
    page(Method::POST, "/admin/users/{id}/verify-identity", "user.manage", "实名核验"),
    page(Method::POST, "/admin/users/{id}/agreement", "user.manage", "登记保密协议"),
    page(Method::POST, "/admin/users/{id}/filing", "user.manage", "提交人员备案"),
    page(Method::POST, "/admin/users/{id}/deactivate", "user.deactivate", "停用账号"),
    api(Method::GET, "/api/v1/orgs", "org.view", "Organisations in the caller's region")
        .io(None, Some("OrgView[]")),
    api(Method::POST, "/api/v1/orgs", "org.create", "Create an organisation")
        .io(Some("OrgInput"), Some("Created")),
    api(Method::GET, "/api/v1/orgs/{id}", "org.view", "One organisation").io(None, Some("OrgView")),
    api(
        Method::PUT,
        "/api/v1/orgs/{id}/chains/{action}",
        "chain.configure",
        "Set an internal approval chain",
    )
    .io(Some("ChainInput"), None),
    api(Method::GET, "/api/v1/users", "user.view", "Users in the caller's region")
        .io(None, Some("UserView[]")),
    api(Method::POST, "/api/v1/users", "user.create", "Create a user").io(Some("UserInput"), Some("Created")),
    api(Method::GET, "/api/v1/users/{id}", "user.view", "One user").io(None, Some("UserView")),
    api(Method::POST, "/api/v1/users/{id}/verify-identity", "user.manage", "Run the identity verifier")
        .io(None, Some("IdentityView")),
    api(Method::POST, "/api/v1/users/{id}/agreement", "user.manage", "Record a confidentiality agreement")
        .io(Some("AgreementInput"), None),
    api(Method::POST, "/api/v1/users/{id}/filing", "user.manage", "Submit the personnel filing")
        .io(None, Some("Created")),
    api(Method::POST, "/api/v1/users/{id}/deactivate", "user.deactivate", "Deactivate a user").io(None, None),
    // Approvals.
    page(Method::GET, "/approvals/{id}", "approval.view", "审批详情"),
    page(Method::POST, "/approvals/{id}/{decision}", "approval.act", "审批操作"),
    api(Method::GET, "/api/v1/approvals/{id}", "approval.view", "One approval with its tasks")
        .io(None, Some("ApprovalView")),
    api(
        Method::POST,
        "/api/v1/approvals/{id}/{decision}",
        "approval.act",
        "Act on an approval: approve, reject, return, withdraw, resubmit, transfer, remind",
    )
    .io(Some("DecisionInput"), Some("ApprovalView")),
    // Calendar administration.
    page(Method::POST, "/calendar/schedules", "calendar.load", "载入年度节假日安排"),
    api(
        Method::POST,
        "/api/v1/calendar/schedules",
        "calendar.load",
        "Load a year's official holiday schedule",
    )
    .io(Some("ScheduleInput"), Some("ScheduleLoaded")),
    // Audit.
    page(Method::GET, "/audit", "audit.view", "审计日志"),
    page(Method::GET, "/audit/export", "audit.view", "导出审计日志（CSV）"),
    page(Method::GET, "/audit/{seq}", "audit.view", "审计记录详情"),
    api(Method::GET, "/api/v1/audit", "audit.view", "Recent audit records").io(None, Some("AuditView[]")),
    // The catalogue, registration, the negative list (Art. 5, 15, 18).
    page(Method::GET, "/catalog", "resource.view", "数据资源目录"),
    page(Method::POST, "/catalog", "resource.manage", "新增数据资源"),
    page(Method::GET, "/catalog/new", "resource.manage", "新增数据资源页"),
    page(Method::GET, "/catalog/{id}", "resource.view", "数据资源详情"),
    page(Method::POST, "/catalog/{id}/items", "resource.manage", "编目数据项并分级"),
    page(Method::POST, "/catalog/{id}/registrations", "resource.manage", "申请登记"),
    page(Method::POST, "/catalog/{id}/exclude", "negative_list.manage", "列入负面清单"),
    page(Method::GET, "/registrations", "resource.view", "资源登记"),
    page(Method::GET, "/registrations/{id}", "resource.view", "登记申请详情"),
    page(Method::GET, "/registrations/{id}/certificate", "resource.view", "登记证书（打印）"),
    // Route level: any catalogue party; the handler checks registration.process or resource.manage.
    page(Method::POST, "/registrations/{id}/{move}", "resource.view", "登记办理"),
    page(Method::GET, "/negative-list", "resource.view", "负面清单"),
    page(Method::POST, "/negative-list/{id}/review", "negative_list.manage", "负面清单年度评估"),
    page(Method::GET, "/catalog/{id}/data", "resource.view", "数据与质量"),
    page(Method::POST, "/catalog/{id}/versions", "resource.manage", "导入数据（新版本）"),
    page(Method::POST, "/catalog/{id}/versions/{vid}/{decision}", "resource.manage", "确认或废弃结构有差异的版本"),
    page(Method::POST, "/catalog/{id}/rules", "resource.manage", "添加质量规则"),
    page(Method::POST, "/catalog/{id}/rules/{rule}/delete", "resource.manage", "删除质量规则"),
    page(Method::POST, "/catalog/{id}/verifications", "verification.raise", "发起数据校核或异议"),
    page(Method::GET, "/verifications", "resource.view", "数据校核与异议"),
    page(Method::GET, "/verifications/{id}", "resource.view", "数据校核详情"),
    page(Method::POST, "/verifications/{id}/answer", "resource.manage", "答复数据校核"),
    page(Method::GET, "/backflow", "resource.view", "数据回流"),
    page(Method::POST, "/backflow", "backflow.request", "申请数据回流"),
    page(Method::POST, "/backflow/{id}/{decision}", "resource.manage", "同意或不同意回流"),
    page(Method::GET, "/public/catalog", "public.view", "公共数据资源目录（公开）"),
    page(Method::GET, "/public/catalog/{code}", "public.view", "公开资源详情"),
    api(Method::GET, "/api/v1/resources", "resource.view", "Catalogued resources the caller may see")
        .io(None, Some("ResourceView[]")),
    api(Method::POST, "/api/v1/resources", "resource.manage", "Catalogue a new resource of the caller's organisation")
        .io(Some("ResourceForm"), Some("Created")),
    api(Method::GET, "/api/v1/resources/{id}", "resource.view", "One resource with its graded items")
        .io(None, Some("ResourceView")),
    api(Method::PUT, "/api/v1/resources/{id}/items", "resource.manage", "Replace the data items and their grades")
        .io(Some("ItemsInput"), Some("ResourceView")),
    api(Method::POST, "/api/v1/resources/{id}/registrations", "resource.manage", "Apply for registration")
        .io(Some("RegistrationInput"), Some("Created")),
    api(Method::POST, "/api/v1/resources/{id}/negative-list", "negative_list.manage", "Put a resource on the negative list")
        .io(Some("NegativeInput"), Some("Created")),
    api(Method::GET, "/api/v1/registrations/{id}", "resource.view", "One registration application")
        .io(None, Some("RegistrationView")),
    api(
        Method::POST,
        "/api/v1/registrations/{id}/{move}",
        "resource.view",
        "Act on a registration: accept, reject, return, notice, code (registration body); resubmit, withdraw (applicant)",
    )
    .io(Some("RegMoveInput"), Some("RegistrationView")),
    api(Method::POST, "/api/v1/negative-list/{id}/review", "negative_list.manage", "Yearly review of a negative-list entry: keep or lift")
        .io(Some("NegativeReviewInput"), None),
    api(
        Method::POST,
        "/api/v1/resources/{id}/versions",
        "resource.manage",
        "Import a file as a new version: the raw file is the body; ?name=FILE.csv[&sheet=S]",
    )
    .io(None, Some("VersionView")),
    api(Method::GET, "/api/v1/resources/{id}/versions", "resource.view", "Versions of a resource (profiles only for those who may see them)")
        .io(None, Some("VersionView[]")),
    api(Method::POST, "/api/v1/versions/{id}/{decision}", "resource.manage", "Accept or discard a version whose schema differs")
        .io(None, None),
    api(Method::POST, "/api/v1/resources/{id}/rules", "resource.manage", "Add a quality rule")
        .io(Some("RuleInput"), Some("Created")),
    api(Method::POST, "/api/v1/resources/{id}/verifications", "verification.raise", "Raise a verification request or objection on fields and rows")
        .io(Some("RaiseInput"), Some("Created")),
    api(Method::GET, "/api/v1/verifications", "resource.view", "Verification requests and objections the caller may see")
        .io(None, Some("VerificationView[]")),
    api(Method::GET, "/api/v1/verifications/{id}", "resource.view", "One verification request")
        .io(None, Some("VerificationView")),
    api(Method::POST, "/api/v1/verifications/{id}/answer", "resource.manage", "The provider answers (within 10 working days)")
        .io(Some("AnswerInput"), Some("VerificationView")),
    api(Method::POST, "/api/v1/backflow", "backflow.request", "A prefecture data authority requests a province-level resource")
        .io(Some("BackflowInput"), Some("Created")),
    api(Method::POST, "/api/v1/backflow/{id}/{decision}", "resource.manage", "The provider consents or refuses a backflow request")
        .io(Some("DecideInput"), Some("BackflowView")),
    api(Method::GET, "/api/v1/public/catalog", "public.view", "Search the public catalogue of registered resources (word-level Chinese search)")
        .io(None, Some("PublicResourceView[]")),
    // Evaluations (Art. 26). Route level: the parties (evaluator or evaluated); handlers check
    // evaluation.conduct (the evaluator) or evaluation.respond (the evaluated party) on the object.
    page(Method::GET, "/evaluations", "evaluation.view", "评价评估"),
    page(Method::POST, "/evaluations", "evaluation.conduct", "发起评估"),
    page(Method::GET, "/evaluations/{id}", "evaluation.view", "评估详情"),
    page(Method::GET, "/evaluations/{id}/report", "evaluation.view", "评估报告（打印）"),
    page(Method::POST, "/evaluations/{id}/{move}", "evaluation.view", "评估办理"),
    api(Method::GET, "/api/v1/evaluations", "evaluation.view", "Evaluations of the caller's organisation (evaluator or evaluated party), with standing")
        .io(None, Some("EvaluationView[]")),
    api(Method::POST, "/api/v1/evaluations", "evaluation.conduct", "Open an evaluation of a party with the relationship's indicators")
        .io(Some("OpenEvaluationInput"), Some("Created")),
    api(Method::GET, "/api/v1/evaluations/{id}", "evaluation.view", "One evaluation: indicators, requests, scores, result, rectification, standing")
        .io(None, Some("EvaluationView")),
    api(Method::POST, "/api/v1/evaluations/{id}/requests", "evaluation.view", "The evaluator asks the evaluated party for materials by a due date")
        .io(Some("MaterialRequestInput"), Some("EvaluationView")),
    api(Method::POST, "/api/v1/evaluations/{id}/materials", "evaluation.view", "The evaluated party submits requested materials")
        .io(Some("SubmitMaterialsInput"), Some("EvaluationView")),
    api(Method::POST, "/api/v1/evaluations/{id}/conclusion", "evaluation.view", "The evaluator scores each indicator with evidence and concludes")
        .io(Some("ConcludeInput"), Some("EvaluationView")),
    api(Method::POST, "/api/v1/evaluations/{id}/rectification/{move}", "evaluation.view", "The evaluated party submits its rectification plan or reports completion (move: plan | completion)")
        .io(Some("RectificationInput"), Some("EvaluationView")),
    api(Method::POST, "/api/v1/evaluations/{id}/reevaluation", "evaluation.view", "The evaluator opens the re-evaluation after a rectification")
        .io(None, Some("Created")),
    api(Method::POST, "/api/v1/evaluation-materials", "evaluation.view", "Upload evidence or a requested material: the body is the file, ?file_name=, Content-Type its media type")
        .io(None, Some("MaterialView")),
    // Developer onboarding (Art. 12–13). Route level: the parties (operator, developer); handlers
    // check scenario.manage / application.review / application.apply on the object.
    page(Method::GET, "/onboarding/scenarios", "application.view", "应用场景"),
    page(Method::POST, "/onboarding/scenarios", "scenario.manage", "发布应用场景"),
    page(Method::GET, "/onboarding/scenarios/{id}", "application.view", "应用场景详情"),
    page(Method::POST, "/onboarding/scenarios/{id}/assessment", "scenario.manage", "评估主动提出的场景"),
    page(Method::POST, "/onboarding/scenarios/{id}/apply", "application.apply", "上传材料并申请参与场景"),
    page(Method::POST, "/onboarding/scenarios/proposals", "application.apply", "主动提出应用场景"),
    page(Method::POST, "/onboarding/applications/{id}/supplement-files", "application.apply", "上传补正材料"),
    page(Method::GET, "/onboarding/applications", "application.view", "开发主体申请"),
    page(Method::GET, "/onboarding/applications/{id}", "application.view", "开发主体申请详情"),
    page(Method::POST, "/onboarding/applications/{id}/{move}", "application.view", "开发主体申请办理"),
    page(Method::POST, "/onboarding/applications/{id}/objections/{oid}/decision", "application.review", "处理公示异议"),
    page(Method::GET, "/public/notices", "public.view", "开发主体公示（公开）"),
    page(Method::GET, "/public/notices/{id}", "public.view", "公示详情与异议（公开）"),
    page(Method::POST, "/public/notices/{id}/objections", "public.view", "提出公示异议（公开）"),
    page(Method::GET, "/public/registrations", "public.view", "数据资源登记公示（公开）"),
    page(Method::GET, "/public/registrations/{id}", "public.view", "登记公示详情与异议（公开）"),
    page(Method::POST, "/public/registrations/{id}/objections", "public.view", "对登记公示提出异议（公开）"),
    api(Method::GET, "/api/v1/scenarios", "application.view", "Scenarios: open ones and the caller's own")
        .io(None, Some("ScenarioView[]")),
    api(Method::POST, "/api/v1/scenarios", "scenario.manage", "The operator publishes a scenario notice")
        .io(Some("ScenarioInput"), Some("Created")),
    api(Method::POST, "/api/v1/scenarios/proposals", "application.apply", "A developer proposes its own scenario to an operator")
        .io(Some("ScenarioInput"), Some("Created")),
    api(Method::GET, "/api/v1/scenarios/{id}", "application.view", "One scenario, with the caller's access")
        .io(None, Some("ScenarioView")),
    api(Method::POST, "/api/v1/scenarios/{id}/assessment", "scenario.manage", "Assess a proposed scenario: need, compliance, security risk")
        .io(Some("AssessmentInput"), Some("ScenarioView")),
    api(Method::POST, "/api/v1/scenarios/{id}/applications", "application.apply", "Apply for a scenario with uploaded materials")
        .io(Some("MaterialsInput"), Some("Created")),
    api(Method::POST, "/api/v1/materials", "application.apply", "Upload a material: the body is the file, ?kind=&file_name=, Content-Type its media type")
        .io(None, Some("MaterialView")),
    api(Method::GET, "/api/v1/applications", "application.view", "Applications of the caller's organisation (applicant or operator)")
        .io(None, Some("ApplicationView[]")),
    api(Method::GET, "/api/v1/applications/{id}", "application.view", "One application with its review history, notice and objections")
        .io(None, Some("ApplicationView")),
    api(
        Method::POST,
        "/api/v1/applications/{id}/{move}",
        "application.view",
        "Act on an application: request-supplement, review, complete, notice, sign (operator); supplement, withdraw (applicant)",
    )
    .io(Some("AppMoveInput"), Some("ApplicationView")),
    api(Method::POST, "/api/v1/applications/{id}/objections/{oid}/decision", "application.review", "Decide an objection with reasons")
        .io(Some("ObjectionDecisionInput"), Some("ApplicationView")),
    api(Method::GET, "/api/v1/public/notices", "public.view", "Running public notices of selected developers (no sign-in)")
        .io(None, Some("PublicNoticeView[]")),
    api(Method::POST, "/api/v1/public/notices/{id}/objections", "public.view", "Lodge an objection to a notice (no sign-in)")
        .io(Some("ObjectionInput"), Some("Created")),
    api(Method::GET, "/api/v1/public/registrations", "public.view", "Registrations in public notice (Art. 18), with their dates (no sign-in)")
        .io(None, Some("PublicRegistrationNoticeView[]")),
    api(Method::POST, "/api/v1/public/registrations/{id}/objections", "public.view", "Object to a registration in notice (no sign-in)")
        .io(Some("ObjectionInput"), Some("Created")),
    // Blacklist and termination (Art. 21, Art. 25(5)). Route level: the parties and, read-only, the
    // data authorities and supervisors; handlers check the object.
    page(Method::GET, "/sanctions", "sanction.view", "处置与黑名单"),
    page(Method::POST, "/sanctions", "sanction.manage", "采取黑名单措施"),
    page(Method::POST, "/sanctions/{id}/lift", "sanction.manage", "解除黑名单措施"),
    page(Method::GET, "/dev-agreements/{id}/termination", "sanction.view", "开发利用协议终止"),
    page(Method::POST, "/dev-agreements/{id}/termination", "sanction.manage", "终止开发利用协议"),
    page(Method::GET, "/dev-agreements/{id}/termination/print", "sanction.view", "终止确认（打印）"),
    page(Method::POST, "/terminations/{id}/attestation", "termination.attest", "确认删除已下载数据"),
    page(Method::POST, "/terminations/{id}/verification", "sanction.manage", "核验数据删除"),
    api(Method::GET, "/api/v1/sanctions", "sanction.view", "Blacklist measures: imposed (operator), against the caller (developer), all (authorities)")
        .io(None, Some("SanctionView[]")),
    api(Method::POST, "/api/v1/sanctions", "sanction.manage", "The operator imposes a measure on a developer organisation")
        .io(Some("SanctionInput"), Some("Created")),
    api(Method::POST, "/api/v1/sanctions/{id}/lift", "sanction.manage", "The imposing operator lifts a measure, with a reason")
        .io(Some("LiftInput"), Some("SanctionView")),
    api(Method::GET, "/api/v1/scenarios/{id}/access", "application.view", "The caller's access to a scenario today, with the reason")
        .io(None, Some("AccessView")),
    api(Method::GET, "/api/v1/dev-agreements/{id}/termination", "sanction.view", "The termination of a development agreement")
        .io(None, Some("TerminationView")),
    api(Method::POST, "/api/v1/dev-agreements/{id}/termination", "sanction.manage", "The operator terminates a development agreement: access closes at once")
        .io(Some("TerminateInput"), Some("TerminationView")),
    api(Method::POST, "/api/v1/terminations/{id}/attestation", "termination.attest", "The developer attests deletion of downloaded files")
        .io(Some("AttestInput"), Some("TerminationView")),
    api(Method::POST, "/api/v1/terminations/{id}/verification", "sanction.manage", "The operator verifies the deletion")
        .io(Some("VerifyInput"), Some("TerminationView")),
    // Implementation plans (Art. 8–10) and operation agreements (Art. 11). Route level: the agency and
    // the data authorities; handlers check plan.manage / filing.record on the agency.
    page(Method::GET, "/authorization/plans", "plan.view", "实施方案"),
    page(Method::POST, "/authorization/plans", "plan.manage", "新建实施方案"),
    page(Method::GET, "/authorization/plans/{id}", "plan.view", "实施方案详情"),
    page(Method::POST, "/authorization/plans/{id}/{move}", "plan.view", "实施方案办理"),
    page(Method::GET, "/authorization/plans/{id}/print", "plan.view", "实施方案备案表（打印）"),
    page(Method::GET, "/authorization/filings", "filing.record", "备案待办"),
    page(Method::GET, "/authorization/agreements", "plan.view", "运营协议"),
    page(Method::POST, "/authorization/agreements", "plan.manage", "登记运营机构选择结果"),
    page(Method::GET, "/authorization/agreements/{id}", "plan.view", "运营协议详情"),
    page(Method::POST, "/authorization/agreements/{id}/{move}", "plan.view", "运营协议办理"),
    page(Method::GET, "/authorization/agreements/{id}/print", "plan.view", "运营协议备案表（打印）"),
    api(Method::GET, "/api/v1/plans", "plan.view", "Implementation plans of the caller's agency or area")
        .io(None, Some("PlanView[]")),
    api(Method::POST, "/api/v1/plans", "plan.manage", "The implementing agency drafts a plan (12 items, feasibility record)")
        .io(Some("PlanInput"), Some("Created")),
    api(Method::GET, "/api/v1/plans/{id}", "plan.view", "One plan version").io(None, Some("PlanView")),
    api(
        Method::POST,
        "/api/v1/plans/{id}/{move}",
        "plan.view",
        "Act on a plan: edit, submit, decision, review, version (agency); file (provincial data bureau)",
    )
    .io(Some("PlanMoveInput"), Some("PlanView")),
    api(Method::GET, "/api/v1/filings", "filing.record", "Open filings of plans and agreements, with working days left")
        .io(None, Some("FilingTodo[]")),
    api(Method::GET, "/api/v1/agreements", "plan.view", "Operation agreements: status, term, filing, open tasks")
        .io(None, Some("AgreementView[]")),
    api(Method::POST, "/api/v1/agreements", "plan.manage", "Record the operator selection and open the agreement")
        .io(Some("AgreementInput"), Some("Created")),
    api(Method::GET, "/api/v1/agreements/{id}", "plan.view", "One operation agreement")
        .io(None, Some("AgreementView")),
    api(
        Method::POST,
        "/api/v1/agreements/{id}/{move}",
        "plan.view",
        "Act on an agreement: content, decision, sign (agency); file (provincial data bureau)",
    )
    .io(Some("AgreementMoveInput"), Some("AgreementView")),
    // Data-use requests, projects, security assessments and grants (Art. 20, 21, 25(3), 28). Route
    // level: the parties and the readers; handlers check data_use.operate / data_use.decide /
    // project.manage on the object.
    page(Method::GET, "/data-use/requests", "data_use.view", "数据使用申请"),
    page(Method::POST, "/data-use/requests", "data_use.operate", "保存数据使用申请草稿"),
    page(Method::GET, "/data-use/requests/new", "data_use.operate", "新建数据使用申请页"),
    page(Method::GET, "/data-use/requests/{id}", "data_use.view", "数据使用申请详情"),
    page(Method::GET, "/data-use/requests/{id}/print", "data_use.view", "数据使用审批表（打印）"),
    page(Method::POST, "/data-use/requests/{id}/{move}", "data_use.view", "数据使用申请办理"),
    page(Method::GET, "/projects", "project.view", "开发项目"),
    page(Method::POST, "/projects", "project.manage", "新建开发项目"),
    page(Method::GET, "/projects/{id}", "project.view", "开发项目详情"),
    page(Method::POST, "/projects/{id}/assessments", "data_use.operate", "记录安全评估"),
    page(Method::POST, "/projects/{id}/grants", "data_use.operate", "授权数据项"),
    page(Method::POST, "/grants/{id}/revoke", "data_use.operate", "撤销授权"),
    api(Method::GET, "/api/v1/data-use-requests", "data_use.view", "Data-use requests the caller takes part in or reads")
        .io(None, Some("DataUseRequestView[]")),
    api(Method::POST, "/api/v1/data-use-requests", "data_use.operate", "The operator drafts a data-use request over one provider's registered resources")
        .io(Some("RequestInput"), Some("Created")),
    api(Method::GET, "/api/v1/data-use-requests/{id}", "data_use.view", "One data-use request with its fields, decisions and deadlines")
        .io(None, Some("DataUseRequestView")),
    api(
        Method::POST,
        "/api/v1/data-use-requests/{id}/{move}",
        "data_use.view",
        "Act on a request: submit, withdraw (operator); approve, refuse (data authority, provider)",
    )
    .io(Some("RequestMoveInput"), Some("DataUseRequestView")),
    api(Method::GET, "/api/v1/projects", "project.view", "Developer projects the caller takes part in or reads")
        .io(None, Some("ProjectView[]")),
    api(Method::POST, "/api/v1/projects", "project.manage", "The developer opens a project under its development agreement")
        .io(Some("ProjectInput"), Some("Created")),
    api(Method::GET, "/api/v1/projects/{id}", "project.view", "One project with its assessments and grants")
        .io(None, Some("ProjectView")),
    api(Method::POST, "/api/v1/assessments", "data_use.operate", "The operator records a security assessment for (project, approved request)")
        .io(Some("SecurityAssessmentInput"), Some("Created")),
    api(Method::GET, "/api/v1/assessments/{id}", "project.view", "One security assessment")
        .io(None, Some("SecurityAssessmentView")),
    api(Method::POST, "/api/v1/grants", "data_use.operate", "The operator grants fields of an approved, assessed request to a project")
        .io(Some("GrantForm"), Some("Created")),
    api(Method::GET, "/api/v1/grants/{id}", "project.view", "One grant: fields, classes, row scope, k, expiry, combined grade")
        .io(None, Some("GrantView")),
    api(Method::POST, "/api/v1/grants/{id}/revoke", "data_use.operate", "The operator revokes a grant, with a reason")
        .io(Some("RevokeInput"), Some("GrantView")),
    api(Method::GET, "/api/v1/grants/{id}/chain", "project.view", "Whether the grant's whole access chain holds today, with the reason")
        .io(None, Some("ChainView")),
    // The sandbox (sandbox.md): the workspace and runs (developer), the outputs (parties, reviewers),
    // reviews (the operator's reviewers), downloads (developer, released outputs only).
    page(Method::GET, "/projects/{id}/workspace", "project.view", "沙箱工作台"),
    page(Method::POST, "/projects/{id}/workspace", "sandbox.query", "运行查询（模拟数据或真实数据）"),
    page(Method::GET, "/outputs", "sandbox.output_view", "成果输出（审核待办）"),
    page(Method::GET, "/outputs/{id}", "sandbox.output_view", "输出详情"),
    page(Method::POST, "/outputs/{id}/review", "sandbox.review", "审核输出"),
    page(Method::POST, "/outputs/{id}/withdraw", "sandbox.query", "撤回输出（取消尚未运行完的查询）"),
    page(Method::GET, "/outputs/{id}/download/{format}", "sandbox.download", "下载已放行的输出"),
    api(Method::GET, "/api/v1/projects/{id}/sandbox", "project.view", "The project's catalog today: granted datasets, usage classes, k, ε budgets; suspended grants")
        .io(None, Some("Catalog")),
    api(Method::GET, "/api/v1/projects/{id}/sandbox/queries", "project.view", "The project's query history, newest first")
        .io(None, Some("QueryView[]")),
    api(Method::POST, "/api/v1/projects/{id}/sandbox/queries", "sandbox.query", "Run a query on dummy data (full result) or submit it on real data (runs apart; the output waits for review, nothing data-dependent comes back)")
        .io(Some("RunInput"), Some("RunResult")),
    api(Method::POST, "/api/v1/projects/{id}/sandbox/cancel", "sandbox.query", "Cancel the caller's dummy runs in progress")
        .io(None, None),
    api(Method::POST, "/api/v1/outputs/{id}/withdraw", "sandbox.query", "Withdraw a submitted output by its id; its run is cancelled if unfinished (same answer whatever its state)")
        .io(None, Some("OutputView")),
    api(Method::GET, "/api/v1/projects/{id}/outputs", "project.view", "The project's outputs (outbox), newest first")
        .io(None, Some("OutputView[]")),
    api(Method::GET, "/api/v1/outputs/pending", "sandbox.review", "Outputs of the caller's operator awaiting review")
        .io(None, Some("OutputView[]")),
    api(Method::GET, "/api/v1/outputs/{id}", "sandbox.output_view", "One output: check report, reviews, downloads")
        .io(None, Some("OutputView")),
    api(Method::GET, "/api/v1/outputs/{id}/data", "sandbox.review", "The values of an output, for the operator's reviewers (each look audited)")
        .io(None, Some("OutputData")),
    api(Method::POST, "/api/v1/outputs/{id}/review", "sandbox.review", "Approve (release) or reject an output")
        .io(Some("ReviewInput"), Some("OutputView")),
    api(Method::GET, "/api/v1/outputs/{id}/download/{format}", "sandbox.download", "Download a released output as csv, parquet or xlsx (audited)")
        .io(None, None),
];

/// Finds the row for a matched path and method.
pub fn find(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.method == *method && r.path == path)
}

/// The page (GET) a concrete link leads to: its pattern matches segment by segment (`{id}` takes
/// any non-empty segment); among several matches the one with the most literal segments wins, as
/// in the router (`/catalog/new` before `/catalog/{id}`). Query and fragment are ignored.
pub fn page_for(link: &str) -> Option<&'static RouteSpec> {
    let path = link.split(['?', '#']).next().unwrap_or(link);
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES
        .iter()
        .filter(|r| r.method == Method::GET && r.kind == Kind::Page)
        .filter_map(|r| {
            let pattern: Vec<&str> = r.path.split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (p, s) in pattern.iter().zip(&segments) {
                if p.starts_with('{') && p.ends_with('}') {
                    if s.is_empty() {
                        return None;
                    }
                } else if p == s {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, r))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, r)| r)
}
