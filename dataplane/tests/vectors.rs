//! Every shared decision vector (test/vectors/*.json) through the proxy's own decision functions: the TypeScript
//! explain path runs the same files in `npm test`, so the two implementations cannot disagree unnoticed.

use meshgate_proxy::route::table::Table;
use meshgate_proxy::route::vector::{run_case, VectorFile};
use meshgate_proxy::snapshot;
use std::path::PathBuf;

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_vector_decides_as_expected() {
    let files = vector_files();
    assert!(!files.is_empty(), "no decision vectors found in test/vectors/*.json");
    let mut failures = Vec::new();
    let mut cases = 0;
    for file in &files {
        let text = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let vector: VectorFile = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let snap_text = serde_json::to_vec(&vector.snapshot).expect("re-encode snapshot");
        let snap = snapshot::parse(&snap_text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let table = Table::compile(&snap).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in &vector.cases {
            cases += 1;
            if let Err(diff) = run_case(&table, case) {
                failures.push(format!(
                    "{} / {}:\n{diff}",
                    file.file_name().unwrap_or_default().to_string_lossy(),
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cases} cases disagree:\n{}", failures.len(), failures.join("\n"));
    eprintln!("{cases} cases in {} files agree", files.len());
}
