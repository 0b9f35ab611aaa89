//! The order apply works in, as a value: one list of (node, step) per
//! cluster, decided here (pure) and executed as it is.
//!
//! 1. firewalls of existing nodes, so that a new node's address is let in
//!    before it connects (the engine is not touched);
//! 2. the first node of a new cluster (initialise, configure, start, users);
//! 3. every changed node's new main file checked by the engine, all before
//!    any is written; then the configuration changes of existing nodes, one
//!    node at a time: replicas first, the primary last (first when the
//!    change lowers a setting replicas need at least as high as their
//!    primary). This comes before seeding: a new node's source must let it
//!    in first (pg_hba.conf);
//! 4. sources of new nodes that ran before this apply re-create their users
//!    (replication grants by address, slots; orphans keep theirs);
//! 5. every other new node seeded from its source, started, replicating;
//! 6. stopped engines started and broken replication repaired, primary first.
//!
//! A node that cannot be reached gets no step; a step that needs it (a seed
//! from it, a roll that must reach the primary first) is listed as blocked.

use super::before::ClusterBefore;
use super::steps::{BlockedStep, Phase, PlannedStep, Step};
use super::{Change, NodePlan, Rendered};
use crate::layout::Role;
use crate::model::{Cluster, Topology};
use crate::render::firewall_path;

/// Every step apply takes on the cluster, in order, and what cannot be
/// done because a node it needs is unreachable.
pub fn order(
    c: &Cluster,
    plans: &[NodePlan],
    before: &ClusterBefore,
    rendered: &Rendered,
) -> (Vec<PlannedStep>, Vec<BlockedStep>) {
    let mut o = Order {
        c,
        plans,
        steps: Vec::new(),
        blocked: Vec::new(),
    };
    o.firewalls();
    o.builds();
    o.roll(before, rendered);
    o.seeds();
    o.repairs();
    (o.steps, o.blocked)
}

struct Order<'a> {
    c: &'a Cluster,
    plans: &'a [NodePlan],
    steps: Vec<PlannedStep>,
    blocked: Vec<BlockedStep>,
}

impl<'a> Order<'a> {
    fn push(&mut self, node: &str, phase: Phase, step: Step) {
        self.steps.push(PlannedStep::new(node, phase, step));
    }

    fn block(&mut self, node: &str, what: impl ToString, reason: String) {
        self.blocked.push(BlockedStep {
            node: node.to_string(),
            what: what.to_string(),
            reason,
        });
    }

    /// Nodes that can be worked on, with this change.
    fn reachable(&self, change: Change) -> impl Iterator<Item = &'a NodePlan> {
        self.plans
            .iter()
            .filter(move |n| n.change == change && n.unreachable.is_none())
    }

    fn unreachable(&self, name: &str) -> Option<&'a str> {
        self.plans
            .iter()
            .find(|n| n.name == name)
            .and_then(|n| n.unreachable.as_deref())
    }

    /// The node's secrets, then its changed engine files (the firewall
    /// file is written by [`Step::ApplyFirewall`]).
    fn writes(&mut self, n: &NodePlan, phase: Phase) {
        self.push(&n.name, phase, Step::WriteSecrets);
        let firewall = firewall_path(&self.c.name);
        for f in n.files.iter().filter(|f| f.path != firewall) {
            self.push(&n.name, phase, Step::WriteConfig { path: f.path.clone() });
        }
    }

    fn firewalls(&mut self) {
        let nodes: Vec<&NodePlan> = self
            .reachable(Change::Update)
            .filter(|n| n.steps.contains(&Step::ApplyFirewall))
            .collect();
        for n in nodes {
            self.push(&n.name, Phase::Firewall, Step::ApplyFirewall);
        }
    }

    fn builds(&mut self) {
        let nodes: Vec<&NodePlan> = self
            .reachable(Change::Create)
            .filter(|n| n.steps.contains(&Step::InitDataDir))
            .collect();
        for n in nodes {
            self.writes(n, Phase::Build);
            for step in [
                Step::ApplyFirewall,
                Step::InitDataDir,
                Step::Start,
                Step::CreateUsers,
                Step::ClaimData,
                Step::Record,
            ] {
                self.push(&n.name, Phase::Build, step);
            }
        }
    }

    fn roll(&mut self, before: &ClusterBefore, rendered: &Rendered) {
        let driver = crate::engine::driver(self.c.engine);
        let mut nodes: Vec<&NodePlan> = self
            .reachable(Change::Update)
            .filter(|n| n.steps.contains(&Step::ApplyConfig))
            .collect();
        let primary_first = nodes.iter().any(|n| {
            let new = rendered.get(&n.name).and_then(|f| f.first());
            let old = new
                .and_then(|f| before.nodes.get(&n.name)?.files.get(&f.path))
                .map_or("", String::as_str);
            driver.primary_first(old, new.map_or("", |f| f.content.as_str()))
        });
        if primary_first {
            let lost = self
                .plans
                .iter()
                .find(|p| p.role == Role::Primary && p.unreachable.is_some());
            if let Some(p) = lost {
                let reason = format!(
                    "the change must reach the primary {} first, and it cannot be reached",
                    p.name
                );
                for n in nodes {
                    self.block(&n.name, Step::ApplyConfig, reason.clone());
                }
                return;
            }
        }
        nodes.sort_by_key(|n| ((n.role == Role::Primary) != primary_first, n.number));
        if driver.has_config_check() {
            for n in &nodes {
                self.push(&n.name, Phase::Check, Step::CheckConfig);
            }
        }
        for n in nodes {
            self.writes(n, Phase::Roll);
            self.push(&n.name, Phase::Roll, Step::ApplyConfig);
            self.push(&n.name, Phase::Roll, Step::Record);
        }
    }

    fn seeds(&mut self) {
        let seeds: Vec<(&NodePlan, String)> = self
            .reachable(Change::Create)
            .filter(|n| !n.steps.contains(&Step::InitDataDir))
            .filter_map(|n| {
                n.steps.iter().find_map(|s| match s {
                    Step::SeedFromPrimary { from } => Some((n, from.clone())),
                    _ => None,
                })
            })
            .collect();
        let mut ready = Vec::new();
        for (n, from) in seeds {
            match self.unreachable(&from) {
                Some(why) => {
                    let reason = format!("{from} cannot be reached: {why}");
                    self.block(&n.name, Step::SeedFromPrimary { from }, reason);
                }
                None => ready.push((n, from)),
            }
        }
        // Sources built by this apply already created their users for every node.
        let mut granted: Vec<&str> = Vec::new();
        for (_, from) in &ready {
            let built_now = self
                .steps
                .iter()
                .any(|s| s.node == *from && s.step == Step::InitDataDir);
            if !built_now && !granted.contains(&from.as_str()) {
                granted.push(from);
            }
        }
        for from in granted {
            self.push(from, Phase::Grant, Step::GrantAccess);
        }
        for (n, from) in ready {
            self.writes(n, Phase::Seed);
            self.push(&n.name, Phase::Seed, Step::ApplyFirewall);
            self.push(&n.name, Phase::Seed, Step::SeedFromPrimary { from: from.clone() });
            self.push(&n.name, Phase::Seed, Step::Start);
            self.push(
                &n.name,
                Phase::Seed,
                Step::StartReplication { from: from.clone() },
            );
            if self.c.topology == Topology::MultiMaster {
                let back = Step::StartReplication { from: n.name.clone() };
                self.push(&from, Phase::Seed, back);
            }
            self.push(&n.name, Phase::Seed, Step::ClaimData);
            self.push(&n.name, Phase::Seed, Step::Record);
        }
    }

    fn repairs(&mut self) {
        let mut nodes: Vec<&NodePlan> = self.reachable(Change::Update).collect();
        nodes.sort_by_key(|n| (n.role == Role::Replica, n.number));
        for n in nodes {
            let before = self.steps.len();
            for step in &n.steps {
                match step {
                    Step::Start => {
                        self.push(&n.name, Phase::Repair, Step::WriteSecrets);
                        self.push(&n.name, Phase::Repair, Step::Start);
                    }
                    Step::StartReplication { from } => match self.unreachable(from) {
                        Some(why) => {
                            let reason = format!("{from} cannot be reached: {why}");
                            self.block(&n.name, step, reason);
                        }
                        None => self.push(&n.name, Phase::Repair, step.clone()),
                    },
                    _ => {}
                }
            }
            // Recorded once more when repaired, or when nothing recorded it yet
            // (a node whose firewall alone changed).
            let recorded = self.steps[..before]
                .iter()
                .any(|s| s.node == n.name && s.step == Step::Record);
            if self.steps.len() > before || !recorded {
                self.push(&n.name, Phase::Repair, Step::Record);
            }
        }
    }
}
