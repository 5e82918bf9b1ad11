//! `mlsec course-bundle -o FILE` run again on a host: the built site's precompressed copies of
//! the old bundle would be served in place of the new one, so the command deletes them.

use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[test]
fn writing_the_bundle_again_deletes_its_stale_compressed_siblings() {
    let dir = std::env::temp_dir().join(format!("mlsec-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("course.json");
    let sibling = |suffix: &str| dir.join(format!("course.json{suffix}"));
    for suffix in [".gz", ".br"] {
        std::fs::write(sibling(suffix), b"the earlier bundle, compressed").unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mlsec"))
        .args(["course-bundle", "--root", ROOT, "-o"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&bundle).unwrap();
    assert!(mlsec_core::course::Bundle::parse(&text).is_some());
    assert!(!sibling(".gz").exists() && !sibling(".br").exists());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("course.json.gz: deleted"), "{said}");
    let _ = std::fs::remove_dir_all(dir);
}
