//! The nodes of a run, one [`Target`] each: the sockets each one holds, its resident memory
//! before and with them ([`Memory`]), its CPU over each step ([`CpuMeter`]), and their
//! totals. A node whose pid is unknown (not a local process, or an in-process server) has
//! no memory or CPU figure, and then neither has the total.

use std::time::Instant;

use serde::Serialize;

use crate::process::{Target, cpu_secs, vm_rss_kb};

/// A server's (or all nodes') memory around the connects.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// `VmRSS` before any socket (kB).
    pub before_kb: u64,
    /// `VmRSS` with every socket held (kB).
    pub after_kb: u64,
    /// `(after − before) / sockets opened`, in bytes.
    pub bytes_per_connection: f64,
}

impl Memory {
    fn new(before_kb: u64, after_kb: u64, sockets: usize) -> Self {
        Self {
            before_kb,
            after_kb,
            bytes_per_connection: after_kb.saturating_sub(before_kb) as f64 * 1024.0
                / sockets.max(1) as f64,
        }
    }
}

/// One node's figures.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// Its base URL.
    pub base_url: String,
    /// Its process id, when known.
    pub pid: Option<u32>,
    /// Sockets it held (opened on it).
    pub sockets: usize,
    /// Its memory, when its pid is known.
    pub memory: Option<Memory>,
}

/// Each node's `VmRSS` (kB) now, `None` for a node without a pid.
pub fn rss_kb(targets: &[Target]) -> anyhow::Result<Vec<Option<u64>>> {
    targets
        .iter()
        .map(|t| t.pid.map(vm_rss_kb).transpose())
        .collect()
}

/// Each node's report: `sockets[n]` opened on node `n`, `before[n]` its `VmRSS` before
/// them (from [`rss_kb`]); reads each node's `VmRSS` now as the "with all held" figure.
pub fn reports(
    targets: &[Target],
    before: &[Option<u64>],
    sockets: &[usize],
) -> anyhow::Result<Vec<NodeReport>> {
    let after = rss_kb(targets)?;
    Ok(targets
        .iter()
        .enumerate()
        .map(|(n, t)| {
            let held = sockets.get(n).copied().unwrap_or(0);
            NodeReport {
                base_url: t.base_url.clone(),
                pid: t.pid,
                sockets: held,
                memory: match (before.get(n).copied().flatten(), after[n]) {
                    (Some(b), Some(a)) => Some(Memory::new(b, a, held)),
                    _ => None,
                },
            }
        })
        .collect())
}

/// All nodes' memory together (sums of `VmRSS`, per socket over every socket), when every
/// node's is known.
pub fn total_memory(nodes: &[NodeReport]) -> Option<Memory> {
    let (mut before, mut after, mut sockets) = (0, 0, 0);
    for node in nodes {
        let m = node.memory.as_ref()?;
        before += m.before_kb;
        after += m.after_kb;
        sockets += node.sockets;
    }
    (!nodes.is_empty()).then(|| Memory::new(before, after, sockets))
}

/// CPU time of every node and of this tool from one instant on.
pub struct CpuMeter {
    pids: Vec<Option<u32>>,
    servers: Vec<Option<f64>>,
    tool: Option<f64>,
    wall: Instant,
}

/// CPU used over a [`CpuMeter`]'s span, in % of one core.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuUse {
    /// Each node's (`None` without its pid).
    pub nodes: Vec<Option<f64>>,
    /// The nodes' sum, when every node's is known.
    pub servers: Option<f64>,
    /// This tool's.
    pub tool: Option<f64>,
}

impl CpuMeter {
    /// Starts measuring the nodes of `targets` and this process.
    pub fn start(targets: &[Target]) -> Self {
        let pids: Vec<Option<u32>> = targets.iter().map(|t| t.pid).collect();
        Self {
            servers: pids
                .iter()
                .map(|p| p.and_then(|p| cpu_secs(Some(p))))
                .collect(),
            pids,
            tool: cpu_secs(None),
            wall: Instant::now(),
        }
    }

    /// The CPU used since [`CpuMeter::start`].
    pub fn stop(&self) -> CpuUse {
        let secs = self.wall.elapsed().as_secs_f64().max(1e-9);
        let pct = |before: Option<f64>, now: Option<f64>| Some((now? - before?) / secs * 100.0);
        let nodes: Vec<Option<f64>> = self
            .pids
            .iter()
            .zip(&self.servers)
            .map(|(pid, &before)| pid.and_then(|p| pct(before, cpu_secs(Some(p)))))
            .collect();
        let servers = if nodes.is_empty() {
            None
        } else {
            nodes.iter().copied().sum::<Option<f64>>()
        };
        CpuUse {
            nodes,
            servers,
            tool: pct(self.tool, cpu_secs(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(sockets: usize, memory: Option<(u64, u64)>) -> NodeReport {
        NodeReport {
            base_url: String::new(),
            pid: None,
            sockets,
            memory: memory.map(|(b, a)| Memory::new(b, a, sockets)),
        }
    }

    #[test]
    fn totals_sum_the_nodes_and_need_all_of_them() {
        let both = [node(10, Some((100, 110))), node(30, Some((200, 230)))];
        let total = total_memory(&both).expect("both known");
        assert_eq!((total.before_kb, total.after_kb), (300, 340));
        assert_eq!(total.bytes_per_connection, 40.0 * 1024.0 / 40.0);
        assert_eq!(
            both[0].memory.as_ref().unwrap().bytes_per_connection,
            1024.0
        );
        assert!(total_memory(&[node(10, Some((1, 2))), node(10, None)]).is_none());
        assert!(total_memory(&[]).is_none());
    }

    #[test]
    fn cpu_of_unknown_nodes_is_unknown() {
        let target = |pid| Target {
            base_url: String::new(),
            app: chat_protocol::AppCredentials {
                app_id: String::new(),
                api_key: String::new(),
                api_secret: String::new(),
            },
            pid,
        };
        let meter = CpuMeter::start(&[target(None), target(Some(std::process::id()))]);
        let used = meter.stop();
        assert_eq!(used.nodes.len(), 2);
        assert!(used.nodes[0].is_none() && used.nodes[1].is_some());
        assert!(used.servers.is_none());
        assert!(used.tool.is_some());
    }
}
