//! The consumer-groups part of the text report: each group's generation and members with their
//! assignment, the committed offset and lag per partition, and the rebalances members went
//! through.

use broker_core::{HistoryEntry, NodeId, TopicPartition};
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
    let found = (1..=world.spec().brokers)
        .filter_map(|b| world.broker(broker_core::BrokerId(b)))
        .find_map(|b| Some((b.id(), b.group_coordinator().groups().get(name)?)));
    let Some((broker, group)) = found else {
        return writeln!(out, "  {name}: no live coordinator at the end");
    };
    writeln!(
        out,
        "  {name}: {}, generation {}, coordinator broker-{broker}, assignor {}",
        group.state,
        group.generation,
        group.protocol.as_deref().unwrap_or("-")
    )?;
    for member in group.members.values() {
        let tps: Vec<String> = member
            .stored
            .assignment
            .iter()
            .map(|t| t.to_string())
            .collect();
        let tps = if tps.is_empty() {
            "(idle: no partition)".to_owned()
        } else {
            tps.join(" ")
        };
        writeln!(out, "    member {:<22} {}", member.stored.member_id, tps)?;
    }
    for (tp, committed) in &group.committed {
        let hw = high_watermark(world, tp);
        let lag = hw.map_or("?".to_owned(), |hw| {
            hw.0.saturating_sub(committed.0).to_string()
        });
        let hw = hw.map_or("?".to_owned(), |hw| hw.0.to_string());
        writeln!(
            out,
            "    {tp:<12} committed {:<6} HW {hw:<6} lag {lag}",
            committed.0
        )?;
    }
    Ok(())
}

fn high_watermark(world: &World, tp: &TopicPartition) -> Option<broker_core::Offset> {
    let leader = world.controller()?.metadata().partitions.get(tp)?.leader?;
    Some(
        world
            .broker(leader)?
            .replicas()
            .get(tp)?
            .log
            .high_watermark(),
    )
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
