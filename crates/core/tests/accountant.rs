//! The privacy accountant against an independent implementation: every row of
//! `tests/golden/privacy/rdp_epsilons.json`, which Google's `dp-accounting` 0.6.0 computed
//! (`tests/golden/privacy/rdp_epsilons.py` regenerates it), must come out within 1%.

mod common;

use mlsec_core::accountant::epsilon;
use serde_json::Value;

#[test]
fn epsilon_matches_dp_accounting_to_one_percent() {
    let path = format!("{}/tests/golden/privacy/rdp_epsilons.json", common::ROOT);
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let rows = golden["rows"].as_array().unwrap();
    assert!(rows.len() >= 90, "the table has {} rows", rows.len());
    let mut worst = (0.0f64, String::new());
    for row in rows {
        let f = |key: &str| row[key].as_f64().unwrap();
        let spent = epsilon(
            f("q"),
            f("sigma"),
            row["steps"].as_u64().unwrap(),
            f("delta"),
        )
        .unwrap();
        let expected = f("epsilon");
        let error = (spent.epsilon - expected).abs() / expected;
        let case = format!(
            "q {}, σ {}, {} steps, δ {}: lab ε {} at order {}, dp-accounting ε {expected} at order {}",
            f("q"),
            f("sigma"),
            f("steps"),
            f("delta"),
            spent.epsilon,
            spent.order,
            f("order")
        );
        assert!(error <= 0.01, "{case}");
        if error > worst.0 {
            worst = (error, case);
        }
    }
    println!("largest relative difference {:.2e}: {}", worst.0, worst.1);
}
