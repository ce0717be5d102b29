//! The module graph's rule, checked (see `docs/architecture.md`): arrows point down.
//! `app` and `web` sit on the product modules, the products on the protocol engine
//! (`oauth`), the engine on the lower layers. So no file of the engine names a product
//! module — the products plug into the engine through its extension points
//! (`oauth::extensions`) — and no file of a lower layer names the engine or a product.
//! A name counts wherever code uses it (`crate::x`, `crate::{x, …}`, or `super::`
//! climbing to the crate root); comments do not.

use std::path::{Path, PathBuf};

/// The modules above the engine.
const ABOVE_ENGINE: [&str; 11] = [
    "accounts", "admin", "app", "cli", "connect", "demo", "partners", "resource", "synth",
    "verify", "web",
];

/// The lower layers: the engine may use them, they use nothing above them.
const LOWER: [&str; 10] = [
    "cache", "clock", "config", "fetch", "keys", "outbox", "scope", "store", "uri", "util",
];

/// Files under a lower layer allowed to name a module above it, and why.
const EXCEPTIONS: [(&str, &str); 1] = [(
    "src/store/contract/",
    "test-only: the store contract suite builds entity fixtures with verify's importer and the synthetic data generator (synth)",
)];

/// One use of a crate-root module: the file, its line, the module.
#[derive(Debug)]
struct Use {
    file: PathBuf,
    line: usize,
    module: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/` (`src/oauth/grants/mod.rs` → `oauth::grants`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut segs: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segs.last().is_some_and(|s| s == "mod" || s == "lib") {
        segs.pop();
    }
    segs
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The crate-root modules `code` (comments removed) names.
fn named(code: &str, module: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let prev = code[..i].chars().next_back();
        if prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                out.extend(group.split(',').map(|g| ident_at(g.trim()).to_owned()));
            }
            None => out.push(ident_at(rest).to_owned()),
        }
    }
    for (i, _) in code.match_indices("super::") {
        if code[..i].ends_with("super::") {
            continue;
        }
        let mut rest = &code[i..];
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        if ups >= module.len() {
            out.push(ident_at(rest).to_owned());
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// Every use of a crate-root module in the files under `src/<dir>` (or `src/<dir>.rs`).
fn uses(dir: &str) -> Vec<Use> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join(dir), &mut files);
    let single = src.join(format!("{dir}.rs"));
    if single.is_file() {
        files.push(single);
    }
    let mut out = Vec::new();
    for file in files {
        let module = module_path(&src, &file);
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for m in named(code, &module) {
                out.push(Use {
                    file: file.strip_prefix(&src).unwrap_or(&file).to_path_buf(),
                    line: n + 1,
                    module: m,
                });
            }
        }
    }
    out
}

fn report(bad: &[Use]) -> String {
    bad.iter()
        .map(|u| {
            format!(
                "src/{}:{} names crate::{}",
                u.file.display(),
                u.line,
                u.module
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_engine_names_no_product_module() {
    let bad: Vec<Use> = uses("oauth")
        .into_iter()
        .filter(|u| ABOVE_ENGINE.contains(&u.module.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "the engine must not import a product module; add an extension point \
         (oauth::extensions) and register the product's implementation in app.rs:\n{}",
        report(&bad)
    );
}

#[test]
fn the_lower_layers_name_neither_the_engine_nor_a_product() {
    let bad: Vec<Use> = LOWER
        .iter()
        .flat_map(|l| uses(l))
        .filter(|u| u.module == "oauth" || ABOVE_ENGINE.contains(&u.module.as_str()))
        .filter(|u| {
            let f = format!("src/{}", u.file.display());
            !EXCEPTIONS.iter().any(|(prefix, _)| f.starts_with(prefix))
        })
        .collect();
    assert!(bad.is_empty(), "{}", report(&bad));
}

#[test]
fn uses_are_found_in_every_spelling() {
    let m = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let grants = m(&["oauth", "grants"]);
    assert_eq!(named("use crate::partners::keys;", &grants), ["partners"]);
    assert_eq!(
        named("use crate::{connect, store::X};", &grants),
        ["connect", "store"]
    );
    assert_eq!(named("crate::oauth::resource::x()", &grants), ["oauth"]);
    assert_eq!(named("use super::super::verify::X;", &grants), ["verify"]);
    assert!(named("use super::Grant;", &grants).is_empty());
    assert!(named("$crate::x!()", &grants).is_empty());
    assert_eq!(
        module_path(Path::new("src"), Path::new("src/oauth/grants/mod.rs")),
        grants
    );
}
