//! The consumer-groups part of the text report: each group's generation and members with their
//! assignment, the committed offset and lag per partition, and the rebalances members went
//! through.

use broker_core::{HistoryEntry, NodeId};
use sim::World;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// At most this many rebalance lines are printed per group.
const REBALANCES_SHOWN: usize = 12;

pub fn groups(out: &mut impl Write, world: &World) -> io::Result<()> {
    let rebalances = rebalances(world);
    if rebalances.is_empty() {
        return Ok(());
    }
    writeln!(out, "Consumer groups")?;
    for (name, lines) in &rebalances {
        coordinated(out, world, name)?;
        writeln!(out, "    rebalances seen by members ({}):", lines.len())?;
        for line in lines.iter().take(REBALANCES_SHOWN) {
            writeln!(out, "      {line}")?;
        }
        if lines.len() > REBALANCES_SHOWN {
            writeln!(out, "      … and {} more", lines.len() - REBALANCES_SHOWN)?;
        }
    }
    writeln!(out)
}

/// The group as its coordinator has it at the end.
fn coordinated(out: &mut impl Write, world: &World, name: &str) -> io::Result<()> {
    let g = crate::final_state::group(world, name);
    let (Some(state), Some(generation), Some(broker)) = (&g.state, g.generation, g.coordinator)
    else {
        return writeln!(out, "  {name}: no live coordinator at the end");
    };
    writeln!(
        out,
        "  {name}: {state}, generation {generation}, coordinator broker-{broker}, assignor {}",
        g.assignor.as_deref().unwrap_or("-")
    )?;
    for member in &g.members {
        let tps = if member.partitions.is_empty() {
            "(idle: no partition)".to_owned()
        } else {
            member.partitions.join(" ")
        };
        writeln!(out, "    member {:<22} {}", member.member, tps)?;
    }
    let hws: BTreeMap<String, u64> = crate::final_state::partitions(world)
        .into_iter()
        .filter_map(|p| {
            let leader = p.replicas.iter().find(|r| Some(r.broker) == p.leader)?;
            Some((format!("{}-{}", p.topic, p.partition), leader.hw?))
        })
        .collect();
    for c in &g.committed {
        let hw = hws.get(&c.partition).copied();
        let lag = hw.map_or("?".to_owned(), |hw| hw.saturating_sub(c.offset).to_string());
        let hw = hw.map_or("?".to_owned(), |hw| hw.to_string());
        writeln!(
            out,
            "    {:<12} committed {:<6} HW {hw:<6} lag {lag}",
            c.partition, c.offset
        )?;
    }
    Ok(())
}

/// Per group, one line per rebalance a member saw: when, who, which generation, what moved.
fn rebalances(world: &World) -> BTreeMap<String, Vec<String>> {
    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in world.history() {
        let HistoryEntry::Rebalanced(r) = &record.entry else {
            continue;
        };
        let (group, generation) = (&r.group, r.generation);
        let (assigned, revoked, lost) = (&r.assigned, &r.revoked, &r.lost);
        let mut moved: Vec<String> = assigned.iter().map(|t| format!("+{t}")).collect();
        moved.extend(revoked.iter().map(|t| format!("-{t}")));
        moved.extend(lost.iter().map(|t| format!("-{t} (lost)")));
        let line = format!(
            "{} {} generation {generation}: {}",
            record.time,
            name(world, record.client),
            moved.join(" ")
        );
        by_group.entry(group.clone()).or_default().push(line);
    }
    by_group
}

fn name(world: &World, id: NodeId) -> &str {
    world.name(id)
}
