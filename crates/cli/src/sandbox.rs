//! `yunshu sandbox run --as USER --project ID --sql SQL [--real]`: a platform administrator runs SQL
//! in a project's sandbox with USER's access and sees exactly what USER would see (the same service
//! as the workspace: the chain check, the policy, the record of the query). The run is audited twice:
//! once as an administration-console action naming the user, and as the query itself (operation id
//! `cli:sandbox-run`), so the log shows that it did not come from the user's own session.

use yunshu_server::AppState;
use yunshu_server::context::Ctx;
use yunshu_server::services::sandbox::{self as svc, Mode, RunInput};

pub async fn run(state: &AppState, as_user: &str, project: i64, sql: &str, real: bool) -> Result<(), String> {
    let now = chrono::Utc::now();
    let ctx = Ctx::console(&state.store, as_user, now, "cli:sandbox-run")
        .await
        .map_err(|_| format!("没有用户 {as_user}"))?;
    let mode = if real { Mode::Real } else { Mode::Dummy };
    svc::record_admin_run(state, &ctx, project, mode, sql).await.map_err(|e| e.message)?;
    let r = svc::run(state, &ctx, project, &RunInput { sql: sql.to_owned(), mode })
        .await
        .map_err(|e| format!("{}（{}）", e.message, e.code))?;
    // A submitted run executes in this process: wait for it, so it is recorded for the reviewers
    // before the command ends. What is printed does not depend on how it went.
    state.sandbox.settle().await;
    match r.elapsed_ms {
        Some(ms) => println!("第 {} 号查询（{}，{} 毫秒）", r.query_id, mode.label_zh(), ms),
        None => println!("第 {} 号查询（{}）", r.query_id, mode.label_zh()),
    }
    if r.outcome != "ok" && r.outcome != "submitted" {
        println!("未执行：{}（{}）", r.error, r.error_code);
        return Ok(());
    }
    match mode {
        Mode::Dummy => {
            println!("{}", r.columns.join("\t"));
            for row in &r.rows {
                println!("{}", row.join("\t"));
            }
            if r.truncated() {
                println!("……共 {} 行，显示前 {} 行", r.total_rows.unwrap_or(0), r.rows.len());
            }
            if r.real_check.is_empty() {
                println!("此查询可提交到真实数据。");
            } else {
                println!("此查询在真实数据上会被拒绝：{}", r.real_check);
            }
        }
        Mode::Real => {
            println!(
                "已提交到真实数据，结果交运营机构审核：输出 {}（放行前不显示结果、行数、检查结论、运行时间或运行中的错误）",
                r.output_id.map(|o| o.to_string()).unwrap_or_default()
            );
        }
    }
    Ok(())
}
