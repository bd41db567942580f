//! `yunshu import FILE --resource CODE`: imports a local file as a new version of a resource, the
//! same way the upload page does (same checks, same encryption, same audit record), with a progress
//! bar on the terminal. Without `--as` the import is recorded as done by the platform console.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use yunshu_server::AppState;
use yunshu_server::context::Ctx;

/// Draws `[#####.....]  52%  520.0 / 1000.0 MB  85.2 MB/s  1234567 行` on stderr, at most 10 times a
/// second.
struct Bar {
    total: u64,
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl Bar {
    fn draw(&self, bytes: u64, rows: u64, force: bool) {
        let now = Instant::now();
        if let Ok(mut last) = self.last.lock() {
            if !force && last.is_some_and(|t| now.duration_since(t).as_millis() < 100) {
                return;
            }
            *last = Some(now);
        }
        let share = if self.total == 0 { 1.0 } else { (bytes as f64 / self.total as f64).min(1.0) };
        let filled = (share * 30.0).round() as usize;
        let rate = bytes as f64 / 1e6 / self.started.elapsed().as_secs_f64().max(1e-6);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {:>3.0}%  {:.1} / {:.1} MB  {rate:.1} MB/s  {rows} 行",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            share * 100.0,
            bytes as f64 / 1e6,
            self.total as f64 / 1e6
        );
        let _ = err.flush();
    }
}

pub async fn run(
    state: &AppState,
    file: &Path,
    resource: &str,
    as_user: Option<&str>,
    sheet: Option<String>,
) -> Result<(), String> {
    let r = state
        .store
        .resource_by_code(resource)
        .await
        .map_err(|_| format!("没有资源代码或登记编码为 {resource} 的资源"))?;
    let input = std::fs::File::open(file).map_err(|e| format!("无法打开 {}：{e}", file.display()))?;
    let total = input.metadata().map(|m| m.len()).unwrap_or(0);
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("import.csv").to_owned();
    let bar = Bar { total, started: Instant::now(), last: Mutex::new(None) };
    let progress = |p: yunshu_ingest::Progress| bar.draw(p.bytes_read, p.rows, false);
    let now = state.now();
    let imported = match as_user {
        Some(user) => {
            let ctx = Ctx::console(&state.store, user, now, "cli-import").await.map_err(|e| e.message)?;
            yunshu_server::services::datasets::import_version(
                state, &ctx, r.id, input, &name, sheet, &progress,
            )
            .await
        }
        None => {
            let audit = yunshu_store::AuditCtx::system("cli-import");
            yunshu_server::services::datasets::import_into(
                state, &audit, now, r, input, &name, sheet, &progress,
            )
            .await
        }
    };
    eprintln!();
    let imported = imported.map_err(|e| format!("{}（{}）", e.message, e.code))?;
    bar.draw(total, imported.rows, true);
    eprintln!();
    let v = state.store.version(imported.version_id).await.map_err(|e| e.to_string())?;
    println!(
        "第 {} 版：{} 行，{}，SM3 {}{}",
        imported.version_no,
        imported.rows,
        v.new.status.label_zh(),
        v.new.sm3,
        v.new.quality_score.map(|s| format!("，质量分 {:.1}", s as f64 / 100.0)).unwrap_or_default()
    );
    Ok(())
}
