//! What several benches share (included with `mod common;`).

use std::path::Path;

/// Copies `examples/iot-sensors` (its sources: `gen/` and `build/` are left
/// out) into `to`, so a bench never writes into the repository.
pub fn copy_example(to: &Path) {
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/iot-sensors"),
        to,
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "gen" || name == "build" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}
