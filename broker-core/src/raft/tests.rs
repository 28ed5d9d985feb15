//! Unit tests of the quorum's rules, one node fed by hand, then whole clusters in the harness.

use super::harness::{c, Cluster};
use super::*;

fn entry(epoch: u32, value: u64) -> RaftEntry<u64> {
    RaftEntry {
        epoch: LeaderEpoch(epoch),
        record: RaftRecord::Data(value),
    }
}

fn node(id: u32, voters: u32, config: QuorumConfig, log: Vec<RaftEntry<u64>>) -> RaftNode<u64> {
    let stored = ElectionState {
        epoch: log.last().map_or(LeaderEpoch(0), |e| e.epoch),
        voted_for: None,
        leader: None,
    };
    let voters = (1..=voters).map(c).collect();
    RaftNode::new(c(id), voters, config, Time(0), 7, Some(stored), log)
}

fn drain(node: &mut RaftNode<u64>) -> Vec<RaftOutput<u64>> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

fn sent(outputs: &[RaftOutput<u64>]) -> Vec<(NodeId, RaftMessage<u64>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            RaftOutput::Send { to, message } => Some((*to, message.clone())),
            _ => None,
        })
        .collect()
}

fn vote(epoch: u32, last_epoch: u32, end: u64, pre_vote: bool) -> RaftMessage<u64> {
    RaftMessage::Vote {
        epoch: LeaderEpoch(epoch),
        last_epoch: LeaderEpoch(last_epoch),
        end_offset: Offset(end),
        pre_vote,
    }
}

fn granted(outputs: &[RaftOutput<u64>]) -> bool {
    sent(outputs)
        .iter()
        .any(|(_, m)| matches!(m, RaftMessage::VoteResponse { granted: true, .. }))
}

/// Complete every write the node issued.
fn complete_writes(node: &mut RaftNode<u64>, outputs: &[RaftOutput<u64>], now: Time) {
    for output in outputs {
        if let RaftOutput::Append { id, .. } = output {
            node.on_write_completed(now, *id);
        }
    }
}

/// Node 1 of three, elected leader in epoch `last log epoch + 1` by node 2's (pre-)votes.
fn elected_leader(log: Vec<RaftEntry<u64>>) -> RaftNode<u64> {
    let mut n = node(1, 3, QuorumConfig::default(), log);
    drain(&mut n);
    let at = n.poll_timeout().expect("an election timer");
    n.handle_timeout(at);
    assert_eq!(n.role(), Role::Prospective);
    drain(&mut n);
    let epoch = n.epoch();
    let response = |pre_vote| RaftMessage::VoteResponse {
        epoch,
        leader: None,
        granted: true,
        pre_vote,
    };
    n.handle_message(at, c(2), response(true));
    assert_eq!(n.role(), Role::Candidate);
    drain(&mut n);
    let response = RaftMessage::VoteResponse {
        epoch: epoch.next(),
        leader: None,
        granted: true,
        pre_vote: false,
    };
    n.handle_message(at, c(2), response);
    assert_eq!(n.role(), Role::Leader);
    let outputs = drain(&mut n);
    complete_writes(&mut n, &outputs, at);
    drain(&mut n);
    n
}

fn fetch(epoch: LeaderEpoch, offset: u64, last_epoch: u32) -> RaftMessage<u64> {
    RaftMessage::Fetch {
        epoch,
        fetch_offset: Offset(offset),
        last_fetched_epoch: LeaderEpoch(last_epoch),
    }
}

#[test]
fn a_vote_goes_only_to_a_log_at_least_as_up_to_date() {
    let log = vec![entry(1, 10), entry(1, 11)];
    let mut n = node(2, 3, QuorumConfig::default(), log.clone());
    drain(&mut n);
    n.handle_message(Time(1), c(1), vote(2, 1, 1, false));
    assert!(!granted(&drain(&mut n)), "same last epoch, shorter log");
    let mut n = node(2, 3, QuorumConfig::default(), log.clone());
    drain(&mut n);
    n.handle_message(Time(1), c(1), vote(2, 0, 5, false));
    assert!(!granted(&drain(&mut n)), "longer log, older last epoch");
    let mut n = node(2, 3, QuorumConfig::default(), log);
    drain(&mut n);
    n.handle_message(Time(1), c(3), vote(2, 1, 2, false));
    assert!(granted(&drain(&mut n)), "as up to date");
    assert_eq!(n.voted_for(), Some(c(3)));
    assert_eq!(n.epoch(), LeaderEpoch(2));
}

#[test]
fn one_vote_per_epoch_persisted_before_the_answer() {
    let mut n = node(2, 3, QuorumConfig::default(), vec![]);
    drain(&mut n);
    n.handle_message(Time(1), c(1), vote(1, 0, 0, false));
    let outputs = drain(&mut n);
    assert!(granted(&outputs));
    let persist = outputs
        .iter()
        .position(|o| matches!(o, RaftOutput::PersistElection(s) if s.voted_for == Some(c(1))));
    let answer = outputs
        .iter()
        .position(|o| matches!(o, RaftOutput::Send { .. }));
    assert!(persist.expect("persisted") < answer.expect("answered"));
    n.handle_message(Time(2), c(3), vote(1, 0, 0, false));
    assert!(!granted(&drain(&mut n)), "already voted for controller-1");
    n.handle_message(Time(3), c(1), vote(1, 0, 0, false));
    assert!(granted(&drain(&mut n)), "the same candidate again");
    // After a restart the stored vote still holds.
    let stored = n.election_state();
    let voters = (1..=3).map(c).collect();
    let mut again = RaftNode::new(
        c(2),
        voters,
        QuorumConfig::default(),
        Time(4),
        1,
        Some(stored),
        vec![],
    );
    drain(&mut again);
    again.handle_message(Time(5), c(3), vote(1, 0, 0, false));
    assert!(!granted(&drain(&mut again)));
}

#[test]
fn a_pre_vote_changes_no_epoch_and_a_follower_of_a_live_leader_refuses_it() {
    let mut n = node(2, 3, QuorumConfig::default(), vec![entry(1, 1)]);
    drain(&mut n);
    n.handle_message(Time(1), c(3), vote(5, 1, 1, true));
    let outputs = drain(&mut n);
    assert!(granted(&outputs));
    assert_eq!(n.epoch(), LeaderEpoch(1), "a pre-vote bumps no epoch");
    assert_eq!(n.voted_for(), None);
    assert!(!outputs
        .iter()
        .any(|o| matches!(o, RaftOutput::PersistElection(_))));
    n.handle_message(
        Time(2),
        c(1),
        RaftMessage::BeginQuorumEpoch {
            epoch: LeaderEpoch(2),
        },
    );
    assert_eq!(n.role(), Role::Follower);
    drain(&mut n);
    n.handle_message(Time(3), c(3), vote(3, 1, 1, true));
    assert!(!granted(&drain(&mut n)), "it still hears from its leader");
}

#[test]
fn a_timed_out_voter_pre_votes_in_its_epoch_and_without_pre_vote_bumps_it() {
    let mut n = node(1, 3, QuorumConfig::default(), vec![]);
    drain(&mut n);
    let at = n.poll_timeout().expect("timer");
    assert!(
        at >= Time(1_000) && at < Time(2_000),
        "election.timeout.ms + jitter: {at}"
    );
    n.handle_timeout(at);
    assert_eq!((n.role(), n.epoch()), (Role::Prospective, LeaderEpoch(0)));
    let votes = sent(&drain(&mut n));
    assert_eq!(votes.len(), 2);
    assert!(votes.iter().all(|(_, m)| *m == vote(1, 0, 0, true)));
    let config = QuorumConfig {
        pre_vote: false,
        ..QuorumConfig::default()
    };
    let mut n = node(1, 3, config, vec![]);
    drain(&mut n);
    let at = n.poll_timeout().expect("timer");
    n.handle_timeout(at);
    assert_eq!((n.role(), n.epoch()), (Role::Candidate, LeaderEpoch(1)));
    assert!(sent(&drain(&mut n))
        .iter()
        .all(|(_, m)| *m == vote(1, 0, 0, false)));
}

/// `QuorumState.transitionToUnattached`: an unattached voter that a newer `Vote` moves to its
/// epoch keeps its election timer (a candidate whose log is behind, campaigning again and
/// again, would otherwise keep every voter from ever running: the quorum stays leaderless).
#[test]
fn a_voter_moved_to_a_newer_epoch_by_a_vote_keeps_its_election_timer() {
    let mut n = node(2, 3, QuorumConfig::default(), vec![entry(1, 10)]);
    drain(&mut n);
    let timer = n.poll_timeout().expect("an election timer");
    n.handle_message(Time(500), c(1), vote(5, 0, 0, false));
    assert!(!granted(&drain(&mut n)), "the candidate's log is behind");
    assert_eq!((n.role(), n.epoch()), (Role::Unattached, LeaderEpoch(5)));
    assert_eq!(n.poll_timeout(), Some(timer), "the timer runs on");
    n.handle_message(Time(900), c(1), vote(6, 0, 0, false));
    drain(&mut n);
    assert_eq!(n.poll_timeout(), Some(timer));
    n.handle_timeout(timer);
    assert_eq!(
        n.role(),
        Role::Prospective,
        "it runs when its own timer fires"
    );
}

#[test]
fn without_pre_vote_a_higher_epoch_vote_deposes_a_leader() {
    let mut leader = elected_leader(vec![]);
    leader.handle_message(Time(2_000), c(3), vote(9, 0, 0, false));
    assert_eq!(
        (leader.role(), leader.epoch()),
        (Role::Unattached, LeaderEpoch(9))
    );
    let mut leader = elected_leader(vec![]);
    leader.handle_message(Time(2_000), c(3), vote(9, 0, 0, true));
    assert_eq!(leader.role(), Role::Leader, "a pre-vote deposes no one");
}

#[test]
fn check_quorum_resigns_a_leader_that_hears_from_no_majority() {
    let mut leader = elected_leader(vec![]);
    let epoch = leader.epoch();
    // controller-2 keeps fetching: with the leader, a majority of three.
    for t in (2_000..=6_000).step_by(500) {
        leader.handle_message(Time(t), c(2), fetch(epoch, 1, epoch.0));
        drain(&mut leader);
        leader.handle_timeout(Time(t));
        drain(&mut leader);
    }
    assert_eq!(leader.role(), Role::Leader);
    let deadline = leader.poll_timeout().expect("check-quorum timer");
    assert!(
        deadline <= Time(6_000 + 3_000),
        "1.5 × fetch.timeout.ms: {deadline}"
    );
    leader.handle_timeout(Time(6_000 + 3_000));
    assert_eq!(leader.role(), Role::Resigned);
    let ends = sent(&drain(&mut leader));
    let successors = ends.iter().find_map(|(_, m)| match m {
        RaftMessage::EndQuorumEpoch {
            preferred_successors,
            ..
        } => Some(preferred_successors.clone()),
        _ => None,
    });
    assert_eq!(successors, Some(vec![c(2), c(3)]), "most caught up first");
    assert_eq!(
        leader.election_state().leader,
        Some(c(1)),
        "it led that epoch"
    );
}

#[test]
fn the_high_watermark_needs_a_majority_and_an_entry_of_the_leaders_epoch() {
    // controller-1 holds two entries of epoch 1 it never committed; it leads epoch 2.
    let mut leader = elected_leader(vec![entry(1, 10), entry(1, 11)]);
    let epoch = leader.epoch();
    assert_eq!(epoch, LeaderEpoch(2));
    assert_eq!(leader.log().end(), Offset(3), "the LeaderChange entry at 2");
    // controller-2 has the old entries: a majority holds them, but they are not of epoch 2.
    leader.handle_message(Time(2_010), c(2), fetch(epoch, 2, 1));
    drain(&mut leader);
    assert_eq!(leader.high_watermark(), Offset(0));
    // Once it holds the LeaderChange entry too, everything up to it is committed.
    leader.handle_message(Time(2_020), c(2), fetch(epoch, 3, 2));
    drain(&mut leader);
    assert_eq!(leader.high_watermark(), Offset(3));
    // The leader alone commits nothing more.
    let offset = leader.propose(Time(2_030), 12).expect("leader");
    let outputs = drain(&mut leader);
    complete_writes(&mut leader, &outputs, Time(2_031));
    drain(&mut leader);
    assert_eq!(offset, Offset(3));
    assert_eq!(leader.high_watermark(), Offset(3));
    leader.handle_message(Time(2_040), c(3), fetch(epoch, 4, 2));
    drain(&mut leader);
    assert_eq!(
        leader.high_watermark(),
        Offset(4),
        "controller-3 makes a majority"
    );
}

#[test]
fn a_diverging_follower_truncates_to_the_end_of_the_shared_epoch() {
    let mut leader = elected_leader(vec![entry(1, 10), entry(1, 11)]);
    let epoch = leader.epoch();
    // controller-3 wrote an entry in an epoch the leader never saw (it led epoch 1'' alone).
    leader.handle_message(Time(2_010), c(3), fetch(epoch, 3, 1));
    let answer = sent(&drain(&mut leader));
    let Some((
        _,
        RaftMessage::FetchResponse {
            diverging, entries, ..
        },
    )) = answer.first()
    else {
        panic!("a fetch response: {answer:?}");
    };
    assert!(entries.is_empty());
    let diverging = diverging.expect("diverging");
    assert_eq!(
        diverging,
        EpochEndOffset {
            epoch: LeaderEpoch(1),
            end_offset: Offset(2)
        }
    );
    // The follower's side.
    let stored = ElectionState {
        epoch,
        voted_for: None,
        leader: Some(c(1)),
    };
    let log = vec![entry(1, 10), entry(1, 11), entry(1, 99)];
    let voters = (1..=3).map(c).collect();
    let mut follower = RaftNode::new(
        c(3),
        voters,
        QuorumConfig::default(),
        Time(0),
        3,
        Some(stored),
        log,
    );
    drain(&mut follower);
    let response = RaftMessage::FetchResponse {
        error: ErrorCode::NONE,
        epoch,
        leader: Some(c(1)),
        fetch_offset: Offset(3),
        high_watermark: Offset(0),
        diverging: Some(diverging),
        entries: vec![],
    };
    follower.handle_message(Time(11), c(1), response);
    let outputs = drain(&mut follower);
    assert!(outputs.contains(&RaftOutput::Truncate { to: Offset(2) }));
    assert_eq!(follower.log().end(), Offset(2));
    assert!(
        sent(&outputs).contains(&(c(1), fetch(epoch, 2, 1))),
        "fetches again at once"
    );
}

// The harness: whole clusters.

fn cluster(voters: u32, seed: u64) -> Cluster {
    Cluster::new(voters, 1, QuorumConfig::default(), seed)
}

#[test]
fn three_voters_elect_one_leader_and_commit_on_every_node() {
    let mut cl = cluster(3, 1);
    cl.run_until(Time(5_000));
    let leaders = cl.current_leaders();
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    for v in 0..20 {
        cl.propose(v).expect("a leader");
    }
    cl.run_until(Time(7_000));
    let end = cl.node(leaders[0]).expect("up").log().end();
    for (id, slot) in &cl.slots {
        let n = slot.node.as_ref().expect("up");
        assert_eq!(
            n.high_watermark(),
            end,
            "{id} (observer too) has everything committed"
        );
    }
    assert_eq!(cl.committed.len() as u64, end.0);
}

#[test]
fn a_lone_voter_leads_at_once_and_commits_on_its_own_fsync() {
    let mut cl = cluster(1, 2);
    cl.run_until(Time(10));
    assert_eq!(cl.current_leaders(), vec![c(1)]);
    cl.propose(5).expect("leader");
    cl.run_until(Time(100));
    assert_eq!(cl.node(c(1)).expect("up").high_watermark(), Offset(2));
}

/// The done-when of the quorum: the active controller crashing at any time loses nothing
/// committed, and a new leader comes within the timeouts; seeds vary where it happens.
#[test]
fn crashing_the_leader_at_any_time_loses_nothing_committed_and_a_new_one_is_elected() {
    for seed in 0..30u64 {
        let mut cl = cluster(3, seed);
        cl.run_until(Time(4_000));
        for v in 0..10 {
            cl.propose(v);
        }
        let crash_at = Time(4_000 + seed * 7 % 40);
        cl.run_until(crash_at);
        let old = cl.current_leaders()[0];
        let committed = cl.committed.len();
        cl.crash(old);
        // fetch.timeout.ms, then at most two rounds of election timeout with jitter and backoff.
        let bound = crash_at.plus_ms(2_000 + 2 * 2_000 + 1_000);
        cl.run_until(bound);
        let leaders = cl.current_leaders();
        assert_eq!(
            leaders.len(),
            1,
            "seed {seed}: a new leader by {bound}: {leaders:?}"
        );
        let new = leaders[0];
        assert_ne!(new, old);
        let elected = cl
            .transitions
            .iter()
            .rev()
            .find(|t| t.1 == new && t.2 == Role::Leader);
        let took = elected.expect("elected").0.ms_since(crash_at);
        // The followers notice within fetch.timeout.ms; then one election timeout (with its
        // jitter, up to twice election.timeout.ms) elects the next (seeds 0..30: at most 3.6 s).
        assert!(
            took <= 2_000 + 2 * 1_000,
            "seed {seed}: elected after {took} ms"
        );
        cl.propose(100);
        cl.start(old);
        cl.run_until(bound.plus_ms(3_000));
        let log = cl.node(old).expect("restarted").log();
        assert!(cl.committed.len() > committed, "seed {seed}: commits again");
        for (offset, e) in cl.committed.iter().enumerate() {
            assert_eq!(
                log.entry(Offset(offset as u64)),
                Some(e),
                "seed {seed}: kept {offset}"
            );
        }
    }
}

#[test]
fn without_a_majority_no_leader_is_elected_and_a_majority_back_heals() {
    let mut cl = cluster(3, 4);
    cl.run_until(Time(4_000));
    let leader = cl.current_leaders()[0];
    let others: Vec<NodeId> = (1..=3).map(c).filter(|v| *v != leader).collect();
    cl.crash(others[0]);
    cl.crash(others[1]);
    cl.run_until(Time(20_000));
    assert!(
        cl.current_leaders().is_empty(),
        "check-quorum made the leader resign"
    );
    let epoch = cl.node(leader).expect("up").epoch();
    assert!(cl.leaders.keys().all(|e| *e <= epoch));
    assert_eq!(cl.leaders.len(), 1, "no election won without a majority");
    cl.start(others[0]);
    cl.run_until(Time(26_000));
    assert_eq!(cl.current_leaders().len(), 1, "a majority is back");
}

/// The `[protocol] pre_vote` pair: a voter cut off from the others comes back. Without pre-vote
/// it returns with a higher epoch and deposes the healthy leader; with it (KIP-996), the leader
/// stays in its epoch. The configuration comes from the scenario's switch, as a controller's.
#[test]
fn a_returning_voter_deposes_the_leader_only_without_pre_vote() {
    for pre_vote in [true, false] {
        let switches = crate::config::ProtocolSwitches {
            pre_vote,
            ..Default::default()
        };
        let cluster = crate::config::ClusterConfig::parse(&Default::default(), switches);
        let config = QuorumConfig::for_cluster(&cluster.expect("defaults"));
        let mut cl = Cluster::new(3, 0, config, 9);
        cl.run_until(Time(4_000));
        let leader = cl.current_leaders()[0];
        let epoch = cl.node(leader).expect("up").epoch();
        let away = (1..=3).map(c).find(|v| *v != leader).expect("a follower");
        cl.isolate(away);
        cl.run_until(Time(14_000));
        cl.cut.clear();
        cl.run_until(Time(20_000));
        let still = cl.current_leaders() == vec![leader] && cl.leaders.len() == 1;
        assert_eq!(
            still, pre_vote,
            "pre_vote = {pre_vote}: leaders {:?}",
            cl.leaders
        );
        let now = cl.node(leader).expect("up").epoch();
        assert_eq!(now == epoch, pre_vote, "pre_vote = {pre_vote}: epoch {now}");
        assert_eq!(
            cl.current_leaders().len(),
            1,
            "pre_vote = {pre_vote}: a leader"
        );
    }
}

#[test]
fn the_harness_is_deterministic() {
    let run = |seed| {
        let mut cl = cluster(5, seed);
        cl.run_until(Time(3_000));
        let leader = cl.current_leaders()[0];
        cl.crash(leader);
        cl.run_until(Time(9_000));
        cl.transitions
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

/// After Kafka's `RaftEventSimulationTest`: 200 seeded schedules of crashes, restarts and
/// isolations of at most a minority of voters at a time, with proposals throughout. The harness
/// checks one leader per epoch, committed data that agrees and high watermarks that never go
/// back after every event; healed, every cluster elects a leader and commits again everywhere.
#[test]
fn two_hundred_fault_schedules_within_a_minority_keep_every_invariant_and_heal() {
    let mut elections = 0;
    for seed in 0..200u64 {
        let voters = if seed % 2 == 0 { 3 } else { 5 };
        let minority = (voters as usize - 1) / 2;
        let mut cl = Cluster::new(voters, 1, QuorumConfig::default(), seed);
        let mut out: Vec<NodeId> = Vec::new();
        for step in 0..40u64 {
            cl.propose(step);
            let pick = c(1 + cl.random_below(u64::from(voters)) as u32);
            match cl.random_below(4) {
                0 | 1 if out.len() < minority && !out.contains(&pick) => {
                    if cl.random_below(2) == 0 {
                        cl.crash(pick);
                    } else {
                        cl.isolate(pick);
                    }
                    out.push(pick);
                }
                2 if !out.is_empty() => {
                    let back = out.remove(0);
                    cl.cut.retain(|(a, b)| *a != back && *b != back);
                    if cl.node(back).is_none() {
                        cl.start(back);
                    }
                }
                _ => {}
            }
            let until = cl.now.plus_ms(200 + cl.random_below(1_500));
            cl.run_until(until);
        }
        cl.cut.clear();
        for id in out {
            if cl.node(id).is_none() {
                cl.start(id);
            }
        }
        cl.run_until(cl.now.plus_ms(10_000));
        assert_eq!(cl.current_leaders().len(), 1, "seed {seed}: healed");
        let value = 1_000 + seed;
        cl.propose(value).expect("a leader");
        cl.run_until(cl.now.plus_ms(3_000));
        let last = cl.committed.last().map(|e| e.record.clone());
        assert_eq!(
            last,
            Some(RaftRecord::Data(value)),
            "seed {seed}: commits again"
        );
        elections += cl.leaders.len();
    }
    assert!(
        elections > 400,
        "the schedules do fail leaders over: {elections} elections"
    );
}

#[test]
fn a_resigned_leader_restarts_resigned_and_votes_for_no_one_in_its_epoch() {
    let mut leader = elected_leader(vec![]);
    let stored = leader.election_state();
    assert_eq!((stored.leader, stored.voted_for), (Some(c(1)), Some(c(1))));
    leader.handle_timeout(Time(10_000)); // no fetch from anyone: check-quorum
    assert_eq!(leader.role(), Role::Resigned);
    let stored = leader.election_state();
    let voters = (1..=3).map(c).collect();
    let log = vec![RaftEntry {
        epoch: stored.epoch,
        record: RaftRecord::LeaderChange { leader: c(1) },
    }];
    let mut again = RaftNode::new(
        c(1),
        voters,
        QuorumConfig::default(),
        Time(10_001),
        5,
        Some(stored),
        log,
    );
    assert_eq!(again.role(), Role::Resigned, "it led that epoch");
    drain(&mut again);
    again.handle_message(Time(10_002), c(2), vote(stored.epoch.0, 9, 9, false));
    assert!(
        !granted(&drain(&mut again)),
        "one leader, and one vote, per epoch"
    );
}

#[test]
fn the_first_preferred_successor_runs_first_after_end_quorum_epoch() {
    let stored = ElectionState {
        epoch: LeaderEpoch(3),
        voted_for: None,
        leader: Some(c(1)),
    };
    let voters: Vec<NodeId> = (1..=3).map(c).collect();
    let start = |id| {
        let mut n = RaftNode::<u64>::new(
            c(id),
            voters.clone(),
            QuorumConfig::default(),
            Time(0),
            1,
            Some(stored),
            vec![],
        );
        drain(&mut n);
        let end = RaftMessage::EndQuorumEpoch {
            epoch: LeaderEpoch(3),
            preferred_successors: vec![c(3), c(2)],
        };
        n.handle_message(Time(10), c(1), end);
        n.poll_timeout().expect("timer")
    };
    let (second, first) = (start(2), start(3));
    assert!(first < second, "controller-3 first: {first} vs {second}");
    assert!(first <= Time(10 + 100), "within the base backoff: {first}");
}

#[test]
fn the_leader_resends_begin_quorum_epoch_until_a_voter_answers() {
    let mut leader = elected_leader(vec![]);
    let epoch = leader.epoch();
    let at = leader.poll_timeout().expect("a resend timer");
    leader.handle_timeout(at);
    let resent = sent(&drain(&mut leader));
    let begin = RaftMessage::BeginQuorumEpoch { epoch };
    assert!(resent.contains(&(c(2), begin.clone())) && resent.contains(&(c(3), begin.clone())));
    leader.handle_message(at, c(2), RaftMessage::BeginQuorumEpochResponse { epoch });
    leader.handle_message(at, c(3), fetch(epoch, 1, epoch.0));
    drain(&mut leader);
    let next = leader.poll_timeout().expect("check-quorum");
    leader.handle_timeout(next.min(at.plus_ms(2_500)));
    let again = sent(&drain(&mut leader));
    assert!(
        !again.iter().any(|(_, m)| *m == begin),
        "both answered: {again:?}"
    );
}

/// Broker 1 as an observer of the voters c1..c3, knowing no leader yet.
fn broker_observer() -> RaftNode<u64> {
    let voters: Vec<NodeId> = (1..=3).map(c).collect();
    let broker = NodeId::Broker(crate::types::BrokerId(1));
    RaftNode::new(
        broker,
        voters,
        QuorumConfig::default(),
        Time(0),
        1,
        None,
        vec![],
    )
}

#[test]
fn an_observer_finds_the_leader_through_a_voters_hint_and_never_votes() {
    let mut observer = broker_observer();
    assert_eq!(observer.role(), Role::Observer);
    let first = sent(&drain(&mut observer));
    assert_eq!(
        first,
        vec![(c(1), fetch(LeaderEpoch(0), 0, 0))],
        "asks the first voter"
    );
    let not_leader = RaftMessage::FetchResponse {
        error: ErrorCode::NOT_LEADER_OR_FOLLOWER,
        epoch: LeaderEpoch(4),
        leader: Some(c(2)),
        fetch_offset: Offset(0),
        high_watermark: Offset(0),
        diverging: None,
        entries: vec![],
    };
    observer.handle_message(Time(5), c(1), not_leader);
    assert_eq!(observer.leader(), Some(c(2)));
    assert!(!drain(&mut observer)
        .iter()
        .any(|o| matches!(o, RaftOutput::PersistElection(_))));
    observer.handle_message(Time(6), c(3), vote(5, 9, 9, false));
    assert!(!granted(&drain(&mut observer)));
    assert_eq!(
        observer.epoch(),
        LeaderEpoch(4),
        "a vote request moves no observer"
    );
}

/// The status the UI and the checker read: a leader reports itself as leader and voted-for,
/// its log end past its `LeaderChange`, and a high watermark that only moves with a majority.
#[test]
fn the_status_tells_role_epoch_votes_leader_log_end_and_high_watermark() {
    let mut n = node(2, 3, QuorumConfig::default(), vec![entry(1, 10)]);
    drain(&mut n);
    n.handle_message(Time(1), c(1), vote(2, 1, 1, false));
    drain(&mut n);
    let voted = n.status();
    assert_eq!(
        (
            voted.id,
            voted.role,
            voted.epoch,
            voted.voted_for,
            voted.leader
        ),
        (c(2), Role::Voted, LeaderEpoch(2), Some(c(1)), None)
    );
    assert_eq!(
        (voted.log_end, voted.high_watermark),
        (Offset(1), Offset(0))
    );
    let mut leader = elected_leader(vec![entry(1, 10)]);
    let status = leader.status();
    assert_eq!(
        (status.role, status.epoch, status.voted_for, status.leader),
        (Role::Leader, LeaderEpoch(2), Some(c(1)), Some(c(1)))
    );
    assert_eq!(status.log_end, Offset(2), "the entry and the LeaderChange");
    assert_eq!(status.high_watermark, Offset(0), "no follower fetched yet");
    leader.handle_message(Time(3_000), c(2), fetch(LeaderEpoch(2), 2, 2));
    drain(&mut leader);
    assert_eq!(
        leader.status().high_watermark,
        Offset(2),
        "a majority has it"
    );
}

/// `KafkaRaftClient.onUpdateLeaderHighWatermark` completes the fetch purgatory: an observer's
/// fetch held at the log end hears of a commit when a voter's fetch moves the high watermark,
/// not `FETCH_MAX_WAIT_MS` later (its own progress never moves it).
#[test]
fn a_rising_high_watermark_answers_a_held_observer_fetch_at_once() {
    let mut leader = elected_leader(vec![]);
    let epoch = leader.epoch();
    let end = leader.log().end();
    let observer = NodeId::Broker(crate::types::BrokerId(1));
    leader.handle_message(Time(5_000), observer, fetch(epoch, end.0, epoch.0));
    assert!(sent(&drain(&mut leader)).is_empty(), "held: nothing new");
    leader.handle_message(Time(5_001), c(2), fetch(epoch, end.0, epoch.0));
    assert_eq!(
        leader.high_watermark(),
        end,
        "a majority has the epoch's start"
    );
    let answers = sent(&drain(&mut leader));
    let to_observer = answers.iter().find(|(to, _)| *to == observer);
    assert!(
        matches!(to_observer, Some((_, RaftMessage::FetchResponse { high_watermark, .. })) if *high_watermark == end),
        "{answers:?}"
    );
}

/// `KafkaRaftClient.pollFollowerAsObserver`: an observer whose leader's connection failed asks
/// another voter; a voter that loses its leader's connection waits for its fetch timeout.
#[test]
fn an_observer_that_loses_its_leader_asks_another_voter() {
    let mut observer = broker_observer();
    drain(&mut observer);
    let hint = RaftMessage::FetchResponse {
        error: ErrorCode::NOT_LEADER_OR_FOLLOWER,
        epoch: LeaderEpoch(4),
        leader: Some(c(2)),
        fetch_offset: Offset(0),
        high_watermark: Offset(0),
        diverging: None,
        entries: vec![],
    };
    observer.handle_message(Time(5), c(1), hint);
    assert_eq!(
        sent(&drain(&mut observer))[0].0,
        c(2),
        "fetches from the leader"
    );
    observer.on_disconnected(Time(6), c(2));
    let next = sent(&drain(&mut observer));
    assert_eq!(observer.leader(), None);
    assert_eq!(next.len(), 1);
    assert_ne!(next[0].0, c(2), "another voter: {next:?}");

    let mut follower = node(2, 3, QuorumConfig::default(), vec![]);
    follower.handle_message(
        Time(1),
        c(1),
        RaftMessage::BeginQuorumEpoch {
            epoch: LeaderEpoch(1),
        },
    );
    drain(&mut follower);
    follower.on_disconnected(Time(2), c(1));
    assert_eq!(follower.leader(), Some(c(1)), "a voter keeps its leader");
    assert!(sent(&drain(&mut follower)).is_empty());
}
