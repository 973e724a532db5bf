//! Embeds the guest SDK (`../guest-sdk/terrarium/*.py`) into the crate, so the
//! `terrarium` binary carries the exact SDK it was built with.

use std::{env, fs, path::Path};

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let sdk_dir = Path::new(&manifest_dir).join("../guest-sdk/terrarium");
    let sdk_dir = sdk_dir.canonicalize().expect("guest-sdk/terrarium exists");
    println!("cargo:rerun-if-changed={}", sdk_dir.display());

    let mut files: Vec<_> = fs::read_dir(&sdk_dir)
        .expect("read guest-sdk/terrarium")
        .map(|entry| entry.expect("read dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
        .collect();
    files.sort();

    let mut out = String::from("/// The guest SDK's files: (path inside the package folder, contents).\n");
    out.push_str("pub(crate) static SDK_FILES: &[(&str, &[u8])] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_str().expect("UTF-8 file name");
        out.push_str(&format!(
            "    (\"terrarium/{name}\", include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let out_path = Path::new(&env::var("OUT_DIR").unwrap()).join("sdk_files.rs");
    fs::write(out_path, out).expect("write sdk_files.rs");
}
