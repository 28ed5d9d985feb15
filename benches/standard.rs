//! `cargo bench --bench standard`: the standard workload (README, "kafka-lab bench") under
//! criterion, and one seed of `check --profile safe`. `kafka-lab bench` prints the same
//! workload's figures (events per second, memory) in one run; this harness gives repeatable
//! timings with confidence intervals for before/after comparisons. One simulated minute per iteration keeps a sample
//! short; time grows linearly with simulated time (see the README's figures).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scenarios::swarm::{check_seed, Profile};

fn standard_workload(c: &mut Criterion) {
    let scenario = scenarios::standard_workload(60_000, 1).expect("the standard workload parses");
    let spec = scenario.world_spec().expect("builds");
    let events = {
        let mut world = sim::World::new(spec.clone());
        world.run_to_end();
        world.events()
    };
    let mut group = c.benchmark_group("standard-workload");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("60 simulated s (elements = events)", |b| {
        b.iter(|| {
            let mut world = sim::World::new(spec.clone());
            world.run_to_end();
            world.events()
        })
    });
    group.finish();
}

fn check_safe_seed(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("safe, seed 7, no shrinking", |b| {
        b.iter(|| check_seed(Profile::Safe, 7, false).violations)
    });
    group.finish();
}

criterion_group!(benches, standard_workload, check_safe_seed);
criterion_main!(benches);
