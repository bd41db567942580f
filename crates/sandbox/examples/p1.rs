//! The sandbox benchmark (P1) without the rest of the platform: the same code as `yunshu bench sandbox`,
//! buildable alone (`cargo run --release -p yunshu-sandbox --example p1 -- [PEOPLE] [RUNS]`).

use yunshu_sandbox::bench;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let people: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let size = bench::Size { people, payments_per_person: 5, enterprises: (people / 10).max(100) };
    let partitions = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let data = bench::generate(size, partitions).map_err(|e| e.message_zh())?;
    // `P1_PLAN=Q4` prints that query's protected physical plan (for the platform's engineers).
    if let Ok(name) = std::env::var("P1_PLAN") {
        let sb = bench::protected_sandbox(&data).map_err(|e| e.message_zh())?;
        let raw = bench::raw_sandbox(&data).map_err(|e| e.message_zh())?;
        for (n, q, b) in bench::QUERIES.iter().filter(|(n, _, _)| *n == name) {
            println!("{n} (a):\n{}", sb.plan_for_platform(q).await.map_err(|e| e.message_zh())?);
            println!("{n} (b):\n{}", raw.plan_open_for_platform(b).await.map_err(|e| e.message_zh())?);
        }
    }
    let figures = bench::run(&data, runs).await.map_err(|e| format!("{}: {}", e.code(), e.message_zh()))?;
    print!("{}", bench::report(size, data.rows, runs, &figures));
    Ok(())
}
