//! The evaluator against the reference maps on random hierarchies, for
//! `evaluate`, `evaluate_all` and `explain`, before and after a round trip
//! through the encoding.

use cascade_shared::{EvalError, Evaluation, Level, Snapshot};
use proptest::prelude::*;

use crate::reference::{FLAG_KEYS, Hierarchy, RefResult, TENANTS, USERS, long_user, plan};

/// Tenants to query: the pool (declared or not), an id that was never in
/// the pool, and one that is not a valid slug.
fn query_tenants() -> Vec<&'static str> {
    let mut tenants = TENANTS.to_vec();
    tenants.extend(["never-declared", "Tenant-A"]);
    tenants
}

/// Users to query: none, the pool, the longest id, an unknown id and two
/// invalid ones (empty and 257 bytes).
fn query_users() -> Vec<Option<String>> {
    let mut users: Vec<Option<String>> = vec![None];
    users.extend(USERS.iter().map(|u| Some((*u).to_owned())));
    users.push(Some(long_user()));
    users.push(Some("nobody".to_owned()));
    users.push(Some(String::new()));
    users.push(Some("x".repeat(257)));
    users
}

fn query_flags() -> Vec<&'static str> {
    let mut flags = FLAG_KEYS.to_vec();
    flags.extend(["missing", "BETA"]);
    flags
}

fn as_ref_result(result: &Result<Evaluation<'_>, EvalError>) -> RefResult {
    match result {
        Ok(e) => Ok((e.value.to_owned_value(), e.level, e.reason)),
        Err(error) => Err(error.code()),
    }
}

fn check_evaluate(snapshot: &Snapshot, reference: &Hierarchy) -> Result<(), TestCaseError> {
    for tenant in query_tenants() {
        for user in query_users() {
            let user = user.as_deref();
            for flag in query_flags() {
                let actual = snapshot.evaluate(tenant, user, flag);
                let expected = reference.evaluate(tenant, user, flag);
                let context = format!("tenant {tenant:?} user {user:?} flag {flag:?}");
                prop_assert_eq!(as_ref_result(&actual), expected, "{}", context);
                if let Ok(evaluation) = actual {
                    prop_assert_eq!(evaluation.revision, reference.revision);
                    prop_assert_eq!(evaluation.key, flag);
                    prop_assert_eq!(evaluation.flag_type, evaluation.value.flag_type());
                }
            }
        }
    }
    Ok(())
}

fn check_evaluate_all(snapshot: &Snapshot, reference: &Hierarchy) -> Result<(), TestCaseError> {
    for tenant in query_tenants() {
        for user in query_users() {
            let user = user.as_deref();
            let context = format!("tenant {tenant:?} user {user:?}");
            let actual = snapshot.evaluate_all(tenant, user);
            if let Err(code) = reference.check_context(tenant, user) {
                prop_assert_eq!(actual.map_err(|e| e.code()).err(), Some(code));
                continue;
            }
            let actual = actual.unwrap();
            let keys: Vec<&str> = actual.iter().map(|e| e.key).collect();
            let expected_keys: Vec<&str> = reference.flags.keys().map(String::as_str).collect();
            prop_assert_eq!(keys, expected_keys, "{}", context);
            for evaluation in &actual {
                let expected = reference.evaluate(tenant, user, evaluation.key);
                prop_assert_eq!(as_ref_result(&Ok(*evaluation)), expected, "{}", context);
            }
        }
    }
    Ok(())
}

/// Checks each explain step against the maps. A user step names the user
/// only when the tenant is known and the user has overrides in it.
fn check_explain(snapshot: &Snapshot, reference: &Hierarchy) -> Result<(), TestCaseError> {
    for tenant in query_tenants() {
        for user in query_users() {
            let user = user.as_deref();
            for flag in query_flags() {
                let context = format!("tenant {tenant:?} user {user:?} flag {flag:?}");
                let actual = snapshot.explain(tenant, user, flag);
                let expected = reference.evaluate(tenant, user, flag);
                let explanation = match (actual, expected.clone()) {
                    (Ok(explanation), Ok(_)) => explanation,
                    (Err(error), Err(code)) => {
                        prop_assert_eq!(error.code(), code, "{}", context);
                        continue;
                    }
                    (actual, _) => {
                        return Err(TestCaseError::fail(format!(
                            "{context}: explain gave {actual:?}, reference {expected:?}"
                        )));
                    }
                };
                prop_assert_eq!(
                    as_ref_result(&Ok(explanation.evaluation)),
                    expected,
                    "{}",
                    context
                );

                let scope = reference.tenants.get(tenant);
                let user_overrides = scope.and_then(|s| user.and_then(|u| s.users.get(u)));
                let integrator = scope.and_then(|s| s.integrator.as_deref());
                let integrator_overrides = integrator.and_then(|i| reference.integrators.get(i));
                let expected_steps = [
                    (
                        Level::User,
                        user_overrides.and(user),
                        user_overrides.and_then(|o| o.get(flag)),
                    ),
                    (
                        Level::Tenant,
                        scope.map(|_| tenant),
                        scope.and_then(|s| s.overrides.get(flag)),
                    ),
                    (
                        Level::Integrator,
                        integrator,
                        integrator_overrides.and_then(|o| o.get(flag)),
                    ),
                    (Level::Platform, None, reference.flags.get(flag)),
                ];
                for (step, (level, scope, value)) in explanation.steps.iter().zip(expected_steps) {
                    prop_assert_eq!(step.level, level, "{}", context);
                    prop_assert_eq!(step.scope, scope, "{} level {}", context, level);
                    let stored = step.value.map(|v| v.to_owned_value());
                    prop_assert_eq!(stored.as_ref(), value, "{} level {}", context, level);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn evaluate_matches_reference(plan in plan()) {
        let (snapshot, reference) = plan.realize();
        check_evaluate(&snapshot, &reference)?;
    }

    #[test]
    fn evaluate_all_matches_reference(plan in plan()) {
        let (snapshot, reference) = plan.realize();
        check_evaluate_all(&snapshot, &reference)?;
    }

    #[test]
    fn explain_matches_reference(plan in plan()) {
        let (snapshot, reference) = plan.realize();
        check_explain(&snapshot, &reference)?;
    }

    #[test]
    fn decoded_snapshot_matches_reference(plan in plan()) {
        let (snapshot, reference) = plan.realize();
        let decoded = Snapshot::decode(&snapshot.encode().unwrap()).unwrap();
        check_evaluate(&decoded, &reference)?;
        check_explain(&decoded, &reference)?;
    }
}
