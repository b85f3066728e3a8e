//! The report as markdown: the setup and connect figures, the server's memory per
//! connection, one table row per step, and the floor next to them; with several nodes, the
//! totals in those rows, each node's sockets, memory and CPU per step in a table of its
//! own, and the pushes that crossed nodes in the step rows.

use std::fmt::Write;

use crate::run::{Report, StepReport};

/// Renders `report` as markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = render(report, &mut out);
    out
}

fn render(r: &Report, out: &mut String) -> std::fmt::Result {
    let multi = r.nodes.len() > 1;
    writeln!(
        out,
        "**chat-load**: {} users over {} channels ({} members per channel){}, {} s steps, \
         sustained = every push delivered, p99 < {} ms, no errors or drops; latency from {}",
        r.users,
        r.channels,
        r.members_per_channel,
        if multi {
            format!(", on {} nodes", r.nodes.len())
        } else {
            String::new()
        },
        r.step_secs,
        r.p99_limit_ms,
        if r.from_schedule {
            "each message's scheduled instant"
        } else {
            "each request's start"
        }
    )?;
    writeln!(out)?;
    writeln!(out, "| Setup | Value |")?;
    writeln!(out, "|---|---:|")?;
    writeln!(out, "| users + channels created | {:.2} s |", r.setup_secs)?;
    writeln!(
        out,
        "| sockets connected | {} of {} in {:.2} s ({:.0}/s) |",
        r.connect.opened,
        r.users,
        r.connect.secs,
        r.connect.opened as f64 / r.connect.secs.max(1e-9)
    )?;
    writeln!(out, "| connect errors | {} |", r.connect.errors)?;
    let servers = if multi {
        format!("servers' RSS ({} nodes together)", r.nodes.len())
    } else {
        "server RSS".to_owned()
    };
    match &r.memory {
        Some(m) => writeln!(
            out,
            "| {servers} before → with all held | {} kB → {} kB: **{:.1} kB per connection** |",
            m.before_kb,
            m.after_kb,
            m.bytes_per_connection / 1024.0
        )?,
        None => writeln!(out, "| {servers} | not measured (no pid) |")?,
    }
    writeln!(out, "| sockets dropped during the run | {} |", r.dropped)?;
    writeln!(
        out,
        "| load average (start → end) | {} → {} |",
        r.loadavg.0, r.loadavg.1
    )?;
    writeln!(out)?;
    if multi {
        nodes_table(r, out)?;
    }
    writeln!(
        out,
        "| Rate (msg/s) | Achieved | Sent | 2xx | 429 | Other errors | Delivered / expected |{} p50 ms | p99 ms | p99.9 ms | max ms | Dropped | CPU server{} / tool | Sustained |",
        if multi {
            " Cross-node delivered / expected |"
        } else {
            ""
        },
        if multi { "s (per node)" } else { "" },
    )?;
    writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|{}---:|---:|---:|---:|---:|---:|---|",
        if multi { "---:|" } else { "" }
    )?;
    for s in &r.steps {
        let rate = if s.warmup {
            format!("{} (warm-up)", s.rate)
        } else {
            s.rate.to_string()
        };
        let cross = if multi {
            format!(
                " {} / {} |",
                s.cross_node_delivered, s.send.cross_node_expected
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "| {rate} | {:.0} | {} | {} | {} | {} | {} / {} |{cross} {:.2} | {:.2} | {:.2} | {:.2} | {} | {} / {} | {} |",
            s.achieved_rate,
            s.send.sent,
            s.send.ok,
            s.send.rate_limited,
            s.send.http_errors + s.send.transport_errors,
            s.delivered,
            s.send.expected_deliveries,
            s.latency.p50_ms,
            s.latency.p99_ms,
            s.latency.p999_ms,
            s.latency.max_ms,
            s.dropped,
            server_cpu(s, multi),
            pct(s.tool_cpu_pct),
            if s.warmup {
                "–"
            } else if s.sustained {
                "yes"
            } else {
                "**no**"
            },
        )?;
    }
    let f = &r.floor;
    writeln!(
        out,
        "| floor: loopback WS echo, {} B × {} | | | | | |{} | {:.3} | {:.3} | {:.3} | {:.3} | | | |",
        f.frame_bytes,
        f.round_trips,
        if multi { " |" } else { "" },
        f.rtt.p50_ms,
        f.rtt.p99_ms,
        f.rtt.p999_ms,
        f.rtt.max_ms
    )?;
    writeln!(out)?;
    match r.highest_sustained_rate {
        Some(rate) => writeln!(out, "Highest sustained rate: **{rate} msg/s**")?,
        None => writeln!(out, "Highest sustained rate: none of the steps")?,
    }
    for s in r.steps.iter().filter(|s| !s.send.first_errors.is_empty()) {
        writeln!(
            out,
            "- errors at {} msg/s: {:?}",
            s.rate, s.send.first_errors
        )?;
    }
    if !r.connect.first_errors.is_empty() {
        writeln!(out, "- connect errors: {:?}", r.connect.first_errors)?;
    }
    if !r.drop_reasons.is_empty() {
        writeln!(out, "- drops: {:?}", r.drop_reasons)?;
    }
    Ok(())
}

/// One row per node: its sockets, memory, and CPU at each step (warm-up first).
fn nodes_table(r: &Report, out: &mut String) -> std::fmt::Result {
    let rates: Vec<String> = r
        .steps
        .iter()
        .map(|s| {
            if s.warmup {
                format!("{} (warm-up)", s.rate)
            } else {
                s.rate.to_string()
            }
        })
        .collect();
    writeln!(
        out,
        "| Node | Sockets | RSS before → with all held | kB per socket | CPU at {} msg/s |",
        rates.join(" / ")
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    for (n, node) in r.nodes.iter().enumerate() {
        let (rss, per_socket) = match &node.memory {
            Some(m) => (
                format!("{} kB → {} kB", m.before_kb, m.after_kb),
                format!("{:.1}", m.bytes_per_connection / 1024.0),
            ),
            None => ("not measured (no pid)".to_owned(), "–".to_owned()),
        };
        let cpu: Vec<String> = r
            .steps
            .iter()
            .map(|s| pct(s.node_cpu_pct.get(n).copied().flatten()))
            .collect();
        writeln!(
            out,
            "| {} {}{} | {} | {rss} | {per_socket} | {} |",
            n + 1,
            node.base_url,
            node.pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
            node.sockets,
            cpu.join(" / ")
        )?;
    }
    let total = |m: &crate::nodes::Memory| {
        (
            format!("{} kB → {} kB", m.before_kb, m.after_kb),
            format!("{:.1}", m.bytes_per_connection / 1024.0),
        )
    };
    let (rss, per_socket) = r
        .memory
        .as_ref()
        .map_or_else(|| ("–".to_owned(), "–".to_owned()), total);
    let cpu: Vec<String> = r.steps.iter().map(|s| pct(s.server_cpu_pct)).collect();
    writeln!(
        out,
        "| **all nodes** | {} | {rss} | {per_socket} | {} |",
        r.nodes.iter().map(|n| n.sockets).sum::<usize>(),
        cpu.join(" / ")
    )?;
    writeln!(out)
}

/// The servers' CPU of a step: the total, and with several nodes each node's in brackets.
fn server_cpu(s: &StepReport, multi: bool) -> String {
    if !multi {
        return pct(s.server_cpu_pct);
    }
    let each: Vec<String> = s.node_cpu_pct.iter().map(|&c| pct(c)).collect();
    format!("{} ({})", pct(s.server_cpu_pct), each.join(" + "))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |p| format!("{p:.0} %"))
}
