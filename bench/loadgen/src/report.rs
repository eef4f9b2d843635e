//! The comparison table: reads the result lines of every run (one JSON object a line) and
//! prints, as Markdown, the median of the repetitions with their range, then our figures as
//! ratios of each peer's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// The servers in the order the table shows them; others follow in order of appearance.
const ORDER: [&str; 4] = ["ours", "floor", "node", "socketioxide"];
const OURS: &str = "ours";

/// The repetitions of one scenario on one server.
#[derive(Default)]
struct Runs {
    lines: Vec<Value>,
}

impl Runs {
    fn values(&self, key: &str) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .lines
            .iter()
            .filter_map(|l| l.get(key).and_then(Value::as_f64))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    fn median(&self, key: &str) -> Option<f64> {
        let v = self.values(key);
        let n = v.len();
        if n == 0 {
            return None;
        }
        let mid = v.get(n / 2).copied()?;
        if n % 2 == 1 {
            Some(mid)
        } else {
            Some((v.get(n / 2 - 1).copied()? + mid) / 2.0)
        }
    }

    fn range(&self, key: &str) -> Option<(f64, f64)> {
        let v = self.values(key);
        Some((*v.first()?, *v.last()?))
    }

    fn sum(&self, key: &str) -> f64 {
        self.values(key).iter().sum()
    }

    fn unit(&self) -> &str {
        self.lines
            .first()
            .and_then(|l| l.get("unit"))
            .and_then(Value::as_str)
            .unwrap_or("msg")
    }
}

/// 1234567 → `1.23M`, 52100 → `52.1k`.
fn count(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.2}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// A figure with two or three significant digits.
fn figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn with_range(runs: &Runs, key: &str, show: fn(f64) -> String) -> String {
    match (runs.median(key), runs.range(key)) {
        (Some(m), Some((lo, hi))) if runs.lines.len() > 1 => {
            format!("{} ({}–{})", show(m), show(lo), show(hi))
        }
        (Some(m), _) => show(m),
        _ => "–".to_owned(),
    }
}

fn ms(us: f64) -> String {
    figure(us / 1000.0)
}

fn memory(runs: &Runs) -> String {
    if runs.unit() == "handshake" {
        let kb = |b: f64| figure(b / 1000.0);
        match (runs.median("bytes_per_conn"), runs.range("bytes_per_conn")) {
            (Some(m), Some((lo, hi))) if runs.lines.len() > 1 => {
                format!("{} ({}–{}) KB/conn", kb(m), kb(lo), kb(hi))
            }
            (Some(m), _) => format!("{} KB/conn", kb(m)),
            _ => "–".to_owned(),
        }
    } else {
        match runs.median("server_rss_bytes") {
            Some(b) => format!("{} MB", figure(b / 1e6)),
            None => "–".to_owned(),
        }
    }
}

fn plural(unit: &str) -> String {
    match unit.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{unit}s"),
    }
}

fn ratio(ours: Option<f64>, peer: Option<f64>) -> Option<f64> {
    match (ours, peer) {
        (Some(o), Some(p)) if p > 0.0 => Some(o / p),
        _ => None,
    }
}

/// The Markdown report of the result lines in `text`.
pub(crate) fn render(text: &str) -> String {
    // scenario → server → runs, in order of first appearance.
    let mut scenarios: Vec<String> = Vec::new();
    let mut table: BTreeMap<(usize, String), Runs> = BTreeMap::new();
    let mut servers: Vec<String> = ORDER.iter().map(|s| (*s).to_owned()).collect();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(scenario), Some(server)) = (
            v.get("scenario").and_then(Value::as_str),
            v.get("server").and_then(Value::as_str),
        ) else {
            continue;
        };
        let index = match scenarios.iter().position(|s| s == scenario) {
            Some(i) => i,
            None => {
                scenarios.push(scenario.to_owned());
                scenarios.len() - 1
            }
        };
        if !servers.iter().any(|s| s == server) {
            servers.push(server.to_owned());
        }
        table
            .entry((index, server.to_owned()))
            .or_default()
            .lines
            .push(v);
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | server | throughput /s | server CPU µs per msg | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | missing | generator CPU % | others' CPU % | server memory |"
    );
    let _ = writeln!(
        out,
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    );
    for (index, scenario) in scenarios.iter().enumerate() {
        for server in &servers {
            let Some(runs) = table.get(&(index, server.clone())) else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {scenario} ({}) | {server} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                plural(runs.unit()),
                with_range(runs, "throughput", count),
                with_range(runs, "cpu_us", figure),
                runs.median("p50_us").map_or("–".into(), ms),
                runs.median("p90_us").map_or("–".into(), ms),
                with_range(runs, "p99_us", ms),
                runs.median("p999_us").map_or("–".into(), ms),
                runs.median("max_us").map_or("–".into(), ms),
                runs.sum("errors"),
                runs.sum("missing"),
                runs.median("gen_cpu_pct")
                    .map_or("–".into(), |p| format!("{p:.0}")),
                with_range(runs, "others_cpu_pct", |p| format!("{p:.0}")),
                memory(runs),
            );
        }
    }

    let peers: Vec<&String> = servers.iter().filter(|s| *s != OURS).collect();
    let _ = writeln!(
        out,
        "\nOurs as a ratio of each peer (medians). CPU = our server CPU per message ÷ the peer's \
         (below 1 is cheaper); thr = our throughput ÷ the peer's (above 1 is faster); mem = our \
         memory per idle connection ÷ the peer's.\n"
    );
    let mut header = "| scenario |".to_owned();
    let mut rule = "|---|".to_owned();
    for p in &peers {
        let _ = write!(header, " vs {p} |");
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for (index, scenario) in scenarios.iter().enumerate() {
        let Some(ours) = table.get(&(index, OURS.to_owned())) else {
            continue;
        };
        let mut row = format!("| {scenario} |");
        for p in &peers {
            let Some(peer) = table.get(&(index, (*p).clone())) else {
                row.push_str(" – |");
                continue;
            };
            let mut parts = Vec::new();
            if let Some(r) = ratio(ours.median("cpu_us"), peer.median("cpu_us")) {
                parts.push(format!("CPU {r:.2}×"));
            }
            if let Some(r) = ratio(ours.median("throughput"), peer.median("throughput")) {
                parts.push(format!("thr {r:.2}×"));
            }
            if let Some(r) = ratio(ours.median("bytes_per_conn"), peer.median("bytes_per_conn")) {
                parts.push(format!("mem {r:.2}×"));
            }
            let _ = write!(row, " {} |", parts.join(", "));
        }
        let _ = writeln!(out, "{row}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_ranges_and_ratios() {
        let lines = [
            r#"{"scenario":"echo","server":"ours","unit":"ack","throughput":100,"cpu_us":5,"errors":0,"missing":0}"#,
            r#"{"scenario":"echo","server":"ours","unit":"ack","throughput":120,"cpu_us":6,"errors":0,"missing":0}"#,
            r#"{"scenario":"echo","server":"ours","unit":"ack","throughput":110,"cpu_us":7,"errors":1,"missing":0}"#,
            r#"{"scenario":"echo","server":"node","unit":"ack","throughput":50,"cpu_us":12,"errors":0,"missing":0}"#,
        ]
        .join("\n");
        let out = render(&lines);
        assert!(
            out.contains("| echo (acks) | ours | 110 (100–120) | 6.00 (5.00–7.00) |"),
            "{out}"
        );
        assert!(out.contains("CPU 0.50×, thr 2.20×"), "{out}");
    }
}
