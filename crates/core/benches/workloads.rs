//! Native timings of the budgeted workloads (`cargo bench -p mlsec-core`). Prints one JSON line
//! that `cargo xtask bench` reads. A benchmark, not a test: it asserts nothing about speed.

use mlsec_core::digits::Digits;
use mlsec_core::mlp::Mlp;
use mlsec_core::workloads::{
    invert_digits, median_ms, pgd_test_set, train_digits, train_digits_private,
};
use std::time::Instant;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn main() {
    let digits =
        Digits::from_csv_gz(&std::fs::read(format!("{ROOT}/assets/digits/digits.csv.gz")).unwrap())
            .unwrap();
    let target = Mlp::from_safetensors(
        &std::fs::read(format!("{ROOT}/assets/models/digits-mlp.safetensors")).unwrap(),
    )
    .unwrap();
    let mut accuracy = 0.0;
    let train_ms = median_ms(7, || {
        let t = Instant::now();
        accuracy = train_digits(&digits).unwrap();
        t.elapsed().as_secs_f64() * 1e3
    });
    let dp_train_ms = median_ms(5, || {
        let t = Instant::now();
        train_digits_private(&digits).unwrap();
        t.elapsed().as_secs_f64() * 1e3
    });
    let mut robust = 0.0;
    let pgd_ms = median_ms(7, || {
        let t = Instant::now();
        robust = pgd_test_set(&digits, &target).unwrap();
        t.elapsed().as_secs_f64() * 1e3
    });
    let inversion_ms = median_ms(7, || {
        let t = Instant::now();
        invert_digits(&digits, &target).unwrap();
        t.elapsed().as_secs_f64() * 1e3
    });
    println!(
        "{{\"native_inversion_ms\": {inversion_ms:.1}, \"native_train_ms\": {train_ms:.1}, \"native_dp_train_ms\": {dp_train_ms:.1}, \"native_pgd_ms\": {pgd_ms:.1}, \"train_accuracy\": {accuracy:.4}, \"pgd_robust_accuracy\": {robust:.4}}}"
    );
}
