//! The web UI: server-rendered pages in Simplified Chinese, plain forms that work without
//! JavaScript, a role-specific menu, to-do lists with deadlines in working days, and a history
//! timeline (the audit trail in human words) on every record.

pub mod backflow;
pub mod catalog;
pub mod data_use;
pub mod datasets;
pub mod evaluations;
pub mod onboarding;
pub mod pages;
pub mod plans;
pub mod reg_notices;
pub mod sanctions;
pub mod sandbox;
pub mod templates;
pub mod verifications;

use askama::Template;
use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use yunshu_domain::regions::RegionCode;

use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::AppResult;
use templates::{HistoryRow, Layout, MenuGroup, MenuItem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/login/totp", get(pages::totp_page).post(pages::totp))
        .route("/static/{file}", get(pages::static_file))
        .route("/", get(pages::desk))
        .route("/logout", post(pages::logout))
        .route("/account", get(pages::account))
        .route("/account/password", post(pages::change_password))
        .route("/account/totp", post(pages::enroll_totp))
        .route("/account/tokens", post(pages::create_token))
        .route("/account/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/calendar", get(pages::calendar))
        .route("/calendar/schedules", post(pages::load_schedule))
        .route("/admin/orgs", get(pages::orgs).post(pages::create_org))
        .route("/admin/orgs/export.csv", get(pages::export_orgs))
        .route("/admin/orgs/{id}", get(pages::org))
        .route("/admin/orgs/{id}/chains", post(pages::set_chain))
        .route("/admin/users", get(pages::users).post(pages::create_user))
        .route("/admin/users/export.csv", get(pages::export_users))
        .route("/admin/users/{id}", get(pages::user))
        .route("/admin/users/{id}/verify-identity", post(pages::verify_identity))
        .route("/admin/users/{id}/agreement", post(pages::record_agreement))
        .route("/admin/users/{id}/filing", post(pages::submit_filing))
        .route("/admin/users/{id}/deactivate", post(pages::deactivate))
        .route("/approvals/{id}", get(pages::approval))
        .route("/approvals/{id}/{decision}", post(pages::decide))
        .route("/audit", get(pages::audit))
        .route("/audit/export", get(pages::export_audit))
        .route("/audit/{seq}", get(pages::audit_record))
        .route("/catalog", get(catalog::catalog).post(catalog::create_resource))
        .route("/catalog/new", get(catalog::new_resource))
        .route("/catalog/{id}", get(catalog::resource))
        .route("/catalog/{id}/items", post(catalog::save_items))
        .route("/catalog/{id}/registrations", post(catalog::apply_registration))
        .route("/catalog/{id}/exclude", post(catalog::exclude))
        .route("/registrations", get(catalog::registrations))
        .route("/registrations/{id}", get(catalog::registration))
        .route("/registrations/{id}/certificate", get(catalog::certificate))
        .route("/registrations/{id}/{move}", post(catalog::move_registration))
        .route("/negative-list", get(catalog::negative_list))
        .route("/negative-list/{id}/review", post(catalog::review_negative))
        .route("/catalog/{id}/data", get(datasets::data))
        .route(
            "/catalog/{id}/versions",
            post(datasets::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/catalog/{id}/versions/{vid}/{decision}", post(datasets::decide))
        .route("/catalog/{id}/rules", post(datasets::add_rule))
        .route("/catalog/{id}/rules/{rule}/delete", post(datasets::delete_rule))
        .route("/catalog/{id}/verifications", post(verifications::raise))
        .route("/verifications", get(verifications::list))
        .route("/backflow", get(backflow::list).post(backflow::request))
        .route("/backflow/{id}/{decision}", post(backflow::decide))
        .route("/verifications/{id}", get(verifications::detail))
        .route("/verifications/{id}/answer", post(verifications::answer))
        .route("/public/catalog", get(catalog::public_catalog))
        .route("/public/catalog/{code}", get(catalog::public_resource))
        .route("/onboarding/scenarios", get(onboarding::scenarios).post(onboarding::publish_scenario))
        .route("/onboarding/scenarios/{id}", get(onboarding::scenario))
        .route("/onboarding/scenarios/{id}/assessment", post(onboarding::assess_scenario))
        .route("/onboarding/scenarios/proposals", post(onboarding::propose_scenario))
        .route(
            "/onboarding/applications/{id}/supplement-files",
            post(onboarding::supplement_with_files)
                .layer(axum::extract::DefaultBodyLimit::max(5 * 21 * 1024 * 1024)),
        )
        .route(
            "/onboarding/scenarios/{id}/apply",
            // Five materials of at most 20 MiB each, plus the form's overhead.
            post(onboarding::apply_with_files)
                .layer(axum::extract::DefaultBodyLimit::max(5 * 21 * 1024 * 1024)),
        )
        .route("/onboarding/applications", get(onboarding::applications))
        .route("/onboarding/applications/{id}", get(onboarding::application))
        .route("/onboarding/applications/{id}/{move}", post(onboarding::move_application))
        .route("/onboarding/applications/{id}/objections/{oid}/decision", post(onboarding::decide_objection))
        .route("/evaluations", get(evaluations::list).post(evaluations::open))
        .route("/evaluations/{id}", get(evaluations::detail))
        .route("/evaluations/{id}/report", get(evaluations::report))
        .route("/evaluations/{id}/{move}", post(evaluations::act))
        .route("/sanctions", get(sanctions::sanctions).post(sanctions::impose))
        .route("/sanctions/{id}/lift", post(sanctions::lift))
        .route("/dev-agreements/{id}/termination", get(sanctions::termination).post(sanctions::terminate))
        .route("/dev-agreements/{id}/termination/print", get(sanctions::print))
        .route("/terminations/{id}/attestation", post(sanctions::attest))
        .route("/terminations/{id}/verification", post(sanctions::verify))
        .route("/public/notices", get(onboarding::public_notices))
        .route("/public/notices/{id}", get(onboarding::public_notice))
        .route("/public/notices/{id}/objections", post(onboarding::lodge_objection))
        .route("/public/registrations", get(reg_notices::list))
        .route("/public/registrations/{id}", get(reg_notices::detail))
        .route("/public/registrations/{id}/objections", post(reg_notices::lodge))
        .route("/data-use/requests", get(data_use::requests).post(data_use::create_request))
        .route("/data-use/requests/new", get(data_use::new_request))
        .route("/data-use/requests/{id}", get(data_use::request))
        .route("/data-use/requests/{id}/print", get(data_use::print_request))
        .route("/data-use/requests/{id}/{move}", post(data_use::move_request))
        .route("/projects", get(data_use::projects).post(data_use::open_project))
        .route("/projects/{id}", get(data_use::project))
        .route("/projects/{id}/assessments", post(data_use::record_assessment))
        .route("/projects/{id}/grants", post(data_use::create_grant))
        .route("/grants/{id}/revoke", post(data_use::revoke_grant))
        .route("/projects/{id}/workspace", get(sandbox::workspace).post(sandbox::run))
        .route("/outputs", get(sandbox::outputs))
        .route("/outputs/{id}", get(sandbox::output))
        .route("/outputs/{id}/review", post(sandbox::review))
        .route("/outputs/{id}/withdraw", post(sandbox::withdraw))
        // The same handler as the API's: a file, whoever asks (the page links to it).
        .route("/outputs/{id}/download/{format}", get(crate::api::sandbox::download))
        .route("/authorization/plans", get(plans::plans).post(plans::create_plan))
        .route("/authorization/plans/{id}", get(plans::plan))
        .route("/authorization/plans/{id}/print", get(plans::print_plan))
        .route("/authorization/plans/{id}/{move}", post(plans::move_plan))
        .route("/authorization/filings", get(plans::filings))
        .route("/authorization/agreements", get(plans::agreements).post(plans::create_agreement))
        .route("/authorization/agreements/{id}", get(plans::agreement))
        .route("/authorization/agreements/{id}/print", get(plans::print_agreement))
        .route("/authorization/agreements/{id}/{move}", post(plans::move_agreement))
}

/// Renders a template; a template error is a bug, logged, and answered with a plain message.
pub fn render<T: Template>(t: &T) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template render failed");
        "页面渲染失败".to_owned()
    })
}

pub fn page<T: Template>(t: &T) -> axum::response::Html<String> {
    axum::response::Html(render(t))
}

/// Beijing time (UTC+8 all year: China has no daylight saving time since 1991).
pub fn beijing(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    t.with_timezone(&tz)
}

use chrono::Offset;

pub fn beijing_date(t: DateTime<Utc>) -> NaiveDate {
    beijing(t).date_naive()
}

/// 2026年11月27日
pub fn zh_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// 2026-11-27 14:05 (Beijing time)
pub fn zh_time(t: DateTime<Utc>) -> String {
    beijing(t).format("%Y-%m-%d %H:%M").to_string()
}

pub fn region_name(state: &AppState, code: &RegionCode) -> String {
    state.regions.get(code).map(|r| r.name().to_owned()).unwrap_or_else(|| code.as_str().to_owned())
}

/// 云南省 / 昆明市 / 五华区
pub fn region_path(state: &AppState, code: &RegionCode) -> String {
    let mut names: Vec<String> =
        state.regions.ancestors(code).into_iter().map(|r| r.name().to_owned()).collect();
    names.reverse();
    names.push(region_name(state, code));
    names.join(" / ")
}

/// Working days left, in words, with the overdue flag.
pub fn left_words(left: i64, provisional: bool) -> (String, bool) {
    let p = if provisional { "（暂定）" } else { "" };
    if left < 0 {
        (format!("已逾期 {} 个工作日{p}", -left), true)
    } else if left == 0 {
        (format!("今日到期{p}"), false)
    } else {
        (format!("剩余 {left} 个工作日{p}"), false)
    }
}

/// Audit actions and their names in human words (the audit page's filter offers them).
pub const ACTION_LABELS: &[(&str, &str)] = &[
    ("org.create", "创建机构"),
    ("org.activate", "启用机构"),
    ("org.deactivate", "停用机构"),
    ("user.create", "创建用户"),
    ("user.verify_identity", "实名核验"),
    ("user.record_agreement", "登记保密协议"),
    ("user.submit_filing", "提交人员备案"),
    ("user.deactivate", "停用账号"),
    ("user.activate", "启用账号"),
    ("user.set_password", "修改密码"),
    ("user.totp_enable", "启用动态口令"),
    ("auth.login", "登录"),
    ("auth.logout", "退出"),
    ("auth.second_factor", "动态口令验证"),
    ("token.create", "创建接口令牌"),
    ("token.revoke", "吊销接口令牌"),
    ("approval.approve", "同意"),
    ("approval.reject", "不同意"),
    ("approval.return", "退回"),
    ("approval.withdraw", "撤回"),
    ("approval.resubmit", "重新提交"),
    ("approval.transfer", "转办"),
    ("approval.remind", "催办"),
    ("approval_chain.configure", "设置审批链"),
    ("calendar.load", "载入节假日安排"),
    ("demo.seed", "初始化演示数据"),
    ("auth.denied", "越权访问被拒绝"),
    ("org.export", "导出机构清单"),
    ("user.export", "导出用户清单"),
    ("resource.create", "新增数据资源"),
    ("resource.set_items", "编目数据项并分级"),
    ("registration.apply", "申请登记"),
    ("registration.accept", "受理"),
    ("registration.reject", "不予登记"),
    ("registration.return", "退回补正"),
    ("registration.notice", "形式审核通过，开始公示"),
    ("registration.code", "赋码"),
    ("registration.resubmit", "重新提交"),
    ("registration.withdraw", "撤回"),
    ("negative_list.add", "列入负面清单"),
    ("dataset.import", "导入数据"),
    ("task.overdue", "逾期提醒"),
    ("verification.raise", "发起数据校核"),
    ("backflow.request", "申请数据回流"),
    ("backflow.consent", "同意回流"),
    ("backflow.refuse", "不同意回流"),
    ("resource.backflow_copy", "生成回流副本"),
    ("verification.answer", "答复"),
    ("verification.escalate", "逾期提请督办"),
    ("dataset.accept_schema", "确认结构差异"),
    ("dataset.discard", "废弃数据版本"),
    ("quality_rule.add", "添加质量规则"),
    ("quality_rule.delete", "删除质量规则"),
    ("negative_list.keep", "年度评估：继续保留"),
    ("negative_list.lift", "移出负面清单"),
    ("operation_agreement.record", "登记运营协议"),
    ("scenario.publish", "发布应用场景"),
    ("scenario.propose", "主动提出应用场景"),
    ("scenario.assess", "评估应用场景"),
    ("scenario.close", "关闭应用场景"),
    ("material.upload", "上传申请材料"),
    ("application.submit", "提交开发利用申请"),
    ("sanction.impose", "采取黑名单措施"),
    ("sanction.lift", "解除黑名单措施"),
    ("agreement.terminate", "终止开发利用协议"),
    ("termination.platform_delete", "删除平台留存数据"),
    ("termination.attest", "开发主体确认删除"),
    ("termination.verify", "运营机构核验删除"),
    ("termination.overdue", "逾期未确认删除"),
    ("evaluation.open", "发起评估"),
    ("evaluation.reevaluate", "发起复评"),
    ("evaluation.request_materials", "要求提供评估资料"),
    ("evaluation.submit_materials", "提交评估资料"),
    ("evaluation.conclude", "出具评估结果"),
    ("rectification.plan", "提交整改方案"),
    ("rectification.complete", "报告整改完成"),
    ("rectification.overdue", "整改逾期"),
    ("application.request_supplement", "要求补正材料"),
    ("application.supplement", "补正材料"),
    ("application.add_review", "记录审查情况"),
    ("application.complete_review", "完成资格审查"),
    ("application.notice", "开始公示"),
    ("application.sign", "签订开发利用协议"),
    ("application.withdraw", "撤回申请"),
    ("application.lapse", "逾期未补正，申请失效"),
    ("objection.lodge", "提出公示异议"),
    ("objection.decide", "处理公示异议"),
    ("agreement.sign", "签订开发利用协议"),
    ("plan.create", "新建实施方案"),
    ("plan.edit", "修改实施方案草稿"),
    ("plan.submit", "提交实施方案"),
    ("plan.decision", "登记单位集体决策"),
    ("plan.review", "登记政府审议结果"),
    ("plan.new_version", "创建实施方案新版本"),
    ("plan.supersede", "被新版本替代"),
    ("plan.file", "实施方案备案"),
    ("op_agreement.create", "登记运营机构选择结果"),
    ("op_agreement.detail", "登记运营协议内容"),
    ("op_agreement.content", "修改运营协议条款"),
    ("op_agreement.decision", "登记单位集体决策"),
    ("op_agreement.sign", "签署运营协议"),
    ("op_agreement.file", "运营协议备案"),
    ("op_agreement.advance", "运营协议状态随期限变化"),
    ("data_use.draft", "保存数据使用申请草稿"),
    ("data_use.submit", "提交数据使用申请"),
    ("data_use.withdraw", "撤回数据使用申请"),
    ("data_use.approve", "同意数据使用申请"),
    ("data_use.refuse", "不同意数据使用申请"),
    ("data_use.expire", "数据使用申请到期失效"),
    ("project.open", "新建开发项目"),
    ("assessment.record", "记录安全评估"),
    ("grant.create", "授权数据项"),
    ("grant.revoke", "撤销授权"),
    ("sandbox.query", "沙箱查询"),
    ("sandbox.output", "输出进入待审区"),
    ("sandbox.review", "审核输出"),
    ("sandbox.look", "查看输出内容"),
    ("sandbox.download", "下载输出"),
];

/// The audit action in human words.
pub fn action_label(action: &str) -> &'static str {
    ACTION_LABELS.iter().find(|(code, _)| *code == action).map_or("操作", |(_, label)| label)
}

/// Kinds of audited objects and their names (the audit page's object filter offers them).
pub const OBJECT_LABELS: &[(&str, &str)] = &[
    ("user", "用户"),
    ("org", "机构"),
    ("resource", "数据资源"),
    ("registration", "登记申请"),
    ("approval", "审批"),
    ("scenario", "应用场景"),
    ("application", "开发主体申请"),
    ("material", "申请材料"),
    ("development_agreement", "开发利用协议"),
    ("operation_agreement", "运营协议"),
    ("impl_plan", "实施方案"),
    ("data_use_request", "数据使用申请"),
    ("sandbox_project", "开发项目"),
    ("sandbox_query", "沙箱查询"),
    ("sandbox_output", "沙箱输出"),
    ("backflow", "数据回流"),
    ("evaluation", "评估"),
    ("verification", "核查"),
    ("sanction", "处置"),
    ("termination", "终止"),
    ("holiday_schedule", "节假日安排"),
    ("api_token", "接口令牌"),
    ("export", "导出"),
    ("route", "访问路径"),
];

/// The kind of an audited object in human words.
pub fn object_label(object_type: &str) -> &'static str {
    OBJECT_LABELS.iter().find(|(code, _)| *code == object_type).map_or("对象", |(_, label)| label)
}

/// The history timeline of one object, newest first.
pub async fn history(state: &AppState, object_type: &str, object_id: &str) -> AppResult<Vec<HistoryRow>> {
    Ok(history_with_seq(state, object_type, object_id).await?.into_iter().map(|(_, row)| row).collect())
}

/// The same, each row with its audit sequence number.
pub async fn history_with_seq(
    state: &AppState,
    object_type: &str,
    object_id: &str,
) -> AppResult<Vec<(i64, HistoryRow)>> {
    let recs = state.store.audit_recent(Some((object_type, object_id)), 100).await?;
    let mut rows = Vec::with_capacity(recs.len());
    for r in recs {
        let who = match r.record.user_id.as_deref().and_then(|u| u.parse::<i64>().ok()) {
            Some(uid) => match state.store.user(uid).await {
                Ok(u) => u.display_name,
                Err(_) => format!("用户 {uid}"),
            },
            None => "系统".to_owned(),
        };
        let when = chrono::DateTime::parse_from_rfc3339(&r.record.at)
            .map(|t| zh_time(t.with_timezone(&Utc)))
            .unwrap_or(r.record.at.clone());
        let mut what = action_label(&r.record.action).to_owned();
        if r.record.result != "ok" {
            what.push_str("（未成功）");
        }
        rows.push((r.record.seq, HistoryRow { when, what, who, detail: summary_words(&r.record.summary) }));
    }
    Ok(rows)
}

/// A short human reading of an audit summary (comments and reasons, never secrets).
fn summary_words(summary: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(summary) else {
        return String::new();
    };
    ["comment", "reason", "reference", "detail"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(|x| x.as_str()))
        .collect::<Vec<_>>()
        .join("；")
}

/// The page frame: who is signed in and the menu of what they may use.
pub async fn layout(
    state: &AppState,
    ctx: &Ctx,
    active: &str,
    crumbs: Vec<(&str, &str)>,
) -> AppResult<Layout> {
    let p = ctx.me()?;
    let own = PolicyResource::Org { id: p.org.id, region: p.org.region };
    let can = |action: &str| ctx.allowed(state, action, &own);
    let item = |label: &str, href: &str| MenuItem {
        label: label.to_owned(),
        href: href.to_owned(),
        active: href == active,
    };
    let mut menu = vec![MenuGroup { title: "工作台".into(), items: vec![item("我的工作台", "/")] }];
    let mut data = Vec::new();
    if can("resource.view") {
        data.push(item("数据资源目录", "/catalog"));
        data.push(item("资源登记", "/registrations"));
        data.push(item("负面清单", "/negative-list"));
        data.push(item("数据校核与异议", "/verifications"));
        data.push(item("数据回流", "/backflow"));
    }
    data.push(item("公共数据资源目录（公开）", "/public/catalog"));
    menu.push(MenuGroup { title: "数据管理".into(), items: data });
    if can("application.view") {
        let mut onboarding = vec![item("应用场景", "/onboarding/scenarios")];
        onboarding.push(item("开发主体申请", "/onboarding/applications"));
        onboarding.push(item("开发主体公示（公开）", "/public/notices"));
        onboarding.push(item("登记公示（公开）", "/public/registrations"));
        menu.push(MenuGroup { title: "授权管理".into(), items: onboarding });
    }
    let mut plans = Vec::new();
    if can("plan.view") {
        plans.push(item("实施方案", "/authorization/plans"));
        plans.push(item("运营协议", "/authorization/agreements"));
    }
    if can("filing.record") {
        plans.push(item("备案待办", "/authorization/filings"));
    }
    if !plans.is_empty() {
        match menu.iter_mut().find(|g| g.title == "授权管理") {
            Some(g) => {
                plans.append(&mut g.items);
                g.items = plans;
            }
            None => menu.push(MenuGroup { title: "授权管理".into(), items: plans }),
        }
    }
    let mut data_use = Vec::new();
    if can("data_use.view") {
        data_use.push(item("数据使用申请", "/data-use/requests"));
    }
    if can("project.view") {
        data_use.push(item("开发项目", "/projects"));
    }
    if can("sandbox.output_view") {
        data_use.push(item("成果输出", "/outputs"));
    }
    if !data_use.is_empty() {
        menu.push(MenuGroup { title: "数据使用".into(), items: data_use });
    }
    if can("evaluation.view") {
        let evaluations = vec![item("评价评估", "/evaluations")];
        menu.push(MenuGroup { title: "评价评估".into(), items: evaluations });
    }
    let mut supervision = Vec::new();
    if can("sanction.view") {
        supervision.push(item("处置与黑名单", "/sanctions"));
    }
    if can("audit.view") {
        supervision.push(item("审计日志", "/audit"));
    }
    if !supervision.is_empty() {
        menu.push(MenuGroup { title: "监督管理".into(), items: supervision });
    }
    let mut system = Vec::new();
    if can("org.view") {
        system.push(item("机构管理", "/admin/orgs"));
    }
    if can("user.view") {
        system.push(item("用户管理", "/admin/users"));
    }
    system.push(item("工作日历", "/calendar"));
    system.push(item("个人设置", "/account"));
    menu.push(MenuGroup { title: "系统管理".into(), items: system });
    let notifications = state.store.notifications_of_user(p.user.id).await?.len();
    let mut c = vec![("首页".to_owned(), "/".to_owned())];
    c.extend(crumbs.into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())));
    Ok(Layout {
        user_name: p.user.display_name.clone(),
        org_name: p.org.name.clone(),
        region_name: region_name(state, &p.org.region),
        roles: p.user.roles.labels_zh(),
        csrf: ctx.csrf.clone(),
        notifications,
        menu,
        crumbs: c,
        flash: String::new(),
    })
}
