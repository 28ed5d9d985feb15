use super::*;
use crate::format::FaultAction;

#[test]
fn a_seed_draws_the_same_case_every_time_and_seeds_differ() {
    for profile in Profile::ALL {
        assert_eq!(draw(profile, 7).0, draw(profile, 7).0, "{profile}");
    }
    let cases: Vec<Case> = (0..20).map(|s| draw(Profile::Safe, s).0).collect();
    let distinct = cases
        .iter()
        .enumerate()
        .filter(|(i, c)| !cases[..*i].contains(c))
        .count();
    assert!(distinct >= 18, "only {distinct} distinct cases of 20");
}

#[test]
fn a_case_is_a_valid_scenario_that_survives_toml() {
    for profile in Profile::ALL {
        for seed in 0..10 {
            let scenario = draw(profile, seed).0.to_scenario(profile, seed);
            scenario.validate().expect("valid");
            let file = format!("{}.toml", scenario.name);
            let parsed = crate::parse(&scenario.to_toml(), &file).expect("parses");
            assert_eq!(parsed, scenario, "{profile} seed {seed}");
        }
    }
}

#[test]
fn safe_cases_never_power_fail_two_replicas_together() {
    for seed in 0..200 {
        let scenario = draw(Profile::Safe, seed).0.to_scenario(Profile::Safe, seed);
        let mut down: Option<&str> = None;
        for f in &scenario.faults {
            let target = f.target.as_deref();
            match f.action {
                FaultAction::PowerFail => {
                    assert!(down.is_none(), "seed {seed}: {:?}", scenario.faults);
                    down = target;
                }
                FaultAction::Restart if target == down => down = None,
                _ => {}
            }
        }
    }
}

#[test]
fn beyond_budget_cases_always_power_fail_every_broker() {
    for seed in 0..20 {
        let case = draw(Profile::BeyondBudget, seed).0;
        let scenario = case.to_scenario(Profile::BeyondBudget, seed);
        let power_fails = scenario
            .faults
            .iter()
            .filter(|f| f.action == FaultAction::PowerFail)
            .count();
        assert!(power_fails >= case.brokers as usize, "seed {seed}");
    }
}

#[test]
fn profiles_parse_by_name() {
    for profile in Profile::ALL {
        assert_eq!(profile.as_str().parse::<Profile>(), Ok(profile));
    }
    let error = "saf".parse::<Profile>().unwrap_err();
    assert!(
        error.contains("safe") && error.contains("hw-truncation"),
        "{error}"
    );
}
