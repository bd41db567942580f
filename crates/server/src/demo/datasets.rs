//! Sample data for the demo's registered resources: synthetic enterprises and social-insurance
//! payments with valid-format identifiers (generated check characters), Chinese names, Yunnan county
//! codes, imported through the real importer (GBK CSV and XLSX, as providers send them) so that
//! versions, profiles and quality scores are there to see. Deterministic: a small linear congruential
//! generator with a fixed seed; nothing random reaches the demo.

use yunshu_domain::ids::{ResidentId, Uscc};
use yunshu_ingest::xlsx::{Cell, build_xlsx};

/// A deterministic pseudo-random sequence (Knuth's MMIX LCG), enough for demo data.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

const SURNAMES: &[&str] =
    &["李", "王", "张", "刘", "杨", "赵", "段", "和", "普", "字", "罗", "马", "施", "岩", "刀"];
const GIVEN: &[&str] =
    &["建华", "丽萍", "文斌", "春梅", "志强", "海燕", "国庆", "玉兰", "正清", "晓丹", "云飞", "金花"];
const FIRMS: &[&str] =
    &["高原茶业", "普洱咖啡", "鲜花港", "核桃种植", "边贸物流", "文旅发展", "三七药业", "菌子加工"];
const INDUSTRIES: &[&str] = &[
    "农、林、牧、渔业",
    "制造业",
    "批发和零售业",
    "交通运输、仓储和邮政业",
    "住宿和餐饮业",
    "信息传输、软件和信息技术服务业",
];
const STATES: &[&str] = &["存续", "存续", "存续", "存续", "注销", "吊销"];

fn county(rng: &mut Lcg, counties: &[String]) -> String {
    rng.pick(counties).cloned().unwrap_or_else(|| "530102".to_owned())
}

fn uscc(rng: &mut Lcg, county: &str) -> String {
    let body = format!("91{county}{:08}", rng.below(100_000_000));
    Uscc::complete(&body).map(|u| u.as_str().to_owned()).unwrap_or_default()
}

fn resident(rng: &mut Lcg, county: &str) -> (String, String) {
    let year = 1960 + rng.below(45);
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let id = ResidentId::complete(&format!("{county}{year}{month:02}{day:02}{:03}", rng.below(1000)))
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default();
    (id, format!("{year}-{month:02}-{day:02}"))
}

fn person_name(rng: &mut Lcg) -> String {
    format!("{}{}", rng.pick(SURNAMES).unwrap_or(&"李"), rng.pick(GIVEN).unwrap_or(&"华"))
}

/// 市场主体登记信息 as a GBK CSV (as the market regulator's systems export it): enterprises with
/// USCC, name, industry, county, capital, status and the legal representative's ID number. A few
/// rows carry the faults real data has (a mistyped ID number, an empty name) so the profile and
/// the quality score have something to show.
pub fn enterprises_gbk_csv(rows: usize, counties: &[String]) -> Vec<u8> {
    let mut rng = Lcg::new(530_000);
    let mut s =
        String::from("统一社会信用代码,企业名称,行业门类,所在区县,注册资本,登记状态,法定代表人身份证号\n");
    for i in 0..rows {
        let c = county(&mut rng, counties);
        let code = uscc(&mut rng, &c);
        let (mut id, _) = resident(&mut rng, &c);
        if i % 97 == 13 {
            // A mistyped digit: the check character no longer matches.
            id.replace_range(16..17, if &id[16..17] == "1" { "2" } else { "1" });
        }
        let name = if i % 151 == 7 {
            String::new()
        } else {
            format!("云南{}{}有限公司", rng.pick(FIRMS).unwrap_or(&"高原茶业"), i + 1)
        };
        let capital = (rng.below(50_000) as f64) / 10.0 + 10.0;
        s += &format!(
            "{code},{name},{},{c},{capital:.1},{},{id}\n",
            rng.pick(INDUSTRIES).unwrap_or(&"制造业"),
            rng.pick(STATES).unwrap_or(&"存续")
        );
    }
    let (bytes, _, _) = encoding_rs::GBK.encode(&s);
    bytes.into_owned()
}

/// 社会保险缴费信息 as an XLSX workbook (sheet 缴费明细): monthly payments of insured people, about
/// five months each.
pub fn payments_xlsx(people: usize, counties: &[String]) -> std::io::Result<Vec<u8>> {
    let mut rng = Lcg::new(530_100);
    let header = [
        "参保人身份证号",
        "参保人姓名",
        "出生日期",
        "参保地区县",
        "缴费单位统一社会信用代码",
        "缴费月份",
        "缴费基数",
        "缴费金额",
    ];
    let mut rows: Vec<Vec<Cell>> = vec![header.iter().map(|h| Cell::Text((*h).to_owned())).collect()];
    let employers: Vec<String> = (0..40)
        .map(|_| {
            let c = county(&mut rng, counties);
            uscc(&mut rng, &c)
        })
        .collect();
    for _ in 0..people {
        let c = county(&mut rng, counties);
        let (id, birth) = resident(&mut rng, &c);
        let name = person_name(&mut rng);
        let employer = rng.pick(&employers).cloned().unwrap_or_default();
        let base = 3_000 + rng.below(12_000);
        // 2026-01 … 2026-05 as Excel date serials (2026-01-01 is 46023).
        for serial in [46023u32, 46054, 46082, 46113, 46143] {
            rows.push(vec![
                Cell::Text(id.clone()),
                Cell::Text(name.clone()),
                Cell::Text(birth.clone()),
                Cell::Text(c.clone()),
                Cell::Text(employer.clone()),
                Cell::DateSerial(serial),
                Cell::Number(base as f64),
                Cell::Number((base as f64 * 0.16 * 100.0).round() / 100.0),
            ]);
        }
    }
    build_xlsx(&[("缴费明细", rows)])
}
