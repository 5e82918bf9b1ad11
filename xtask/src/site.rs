//! What the build does to Trunk's output so that any static host serves the lab safely and it
//! keeps working offline:
//!
//! - the code files (the page's and the worker's JavaScript and WebAssembly, the start script
//!   and the stylesheet) move under `v/<version>/`, the version being a hash of their bytes, and
//!   index.html names them there. A redeploy then never mixes an old `app.js` with a new
//!   `app_bg.wasm`: the new index.html names new paths, and an old page keeps asking for its own;
//! - the WebAssembly modules lose their name section (function names for debuggers: 10% of the
//!   page's bytes);
//! - `sw.js`, the service worker (a file of its own, so the Content-Security-Policy holds), is
//!   written from the template at the repository root with that version and the list of every
//!   file of the site and its size: it caches them all on the first visit (the page shows the
//!   bytes saved so far) and serves them from that cache, so a reload with no network works.
//!   A new version installs into a cache of its own and takes over once the old tabs are closed;
//! - the versioned code files get precompressed siblings, `<file>.br` (Brotli, best) and
//!   `<file>.gz` (gzip, best), which a static host serves in their place to a browser that
//!   accepts them (nginx `gzip_static`/`brotli_static`, Caddy `precompressed`, the e2e server),
//!   so no host compresses on the fly and none needs to. Only the code: it never changes under
//!   its version, while lessons and data are files an instructor may edit on the host, and a
//!   stale sibling would be served in place of the edit. The course bundle and the search
//!   index, which the build writes from the lessons, get them too (the CLI commands that write
//!   them again on a host delete their siblings). None is in the service worker's list: the
//!   browser decodes what it fetches.

use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Trunk's code files, moved under `v/<version>/`.
pub const CODE_FILES: [&str; 15] = [
    "start.js",
    "app.js",
    "app_bg.wasm",
    "style.css",
    "worker_loader.js",
    "worker.js",
    "worker_bg.wasm",
    "assistant_worker_loader.js",
    "assistant_worker.js",
    "assistant_worker_bg.wasm",
    "course_worker_loader.js",
    "course_worker.js",
    "course_worker_bg.wasm",
    "instructor.js",
    "instructor_bg.wasm",
];

/// The course bundle (`mlsec_core::course::Bundle::FILE`): the build writes it, index.html
/// preloads it.
pub const COURSE_BUNDLE: &str = "course.json";

/// What the build writes from the lessons beside them: the search index and the course bundle.
pub const BUILT_DATA: [&str; 2] = ["search-index.json", COURSE_BUNDLE];

/// The files index.html names, which must now be named under `v/<version>/`.
const NAMED_BY_INDEX: [&str; 4] = ["start.js", "app.js", "app_bg.wasm", "style.css"];

/// Versions the code in `dist` and writes its service worker from `template`; returns the
/// version.
pub fn finish(dist: &Path, template: &str) -> Result<String> {
    let mut hash = Sha256::new();
    for name in CODE_FILES {
        let mut bytes =
            std::fs::read(dist.join(name)).with_context(|| format!("{name} is not in dist/"))?;
        for (_, crates, why) in MUST_NOT_LINK.iter().filter(|(m, ..)| *m == name) {
            let linked =
                linked_crates(&bytes, crates).with_context(|| format!("reading {name}"))?;
            if !linked.is_empty() {
                bail!("{name} links {}: {why}", linked.join(", "));
            }
        }
        // A profiling build keeps the function names (MLSEC_KEEP_WASM_NAMES=1).
        if name.ends_with(".wasm") && std::env::var_os("MLSEC_KEEP_WASM_NAMES").is_none() {
            bytes = without_name_section(&bytes).with_context(|| format!("reading {name}"))?;
            std::fs::write(dist.join(name), &bytes)?;
        }
        hash.update(name.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let version: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let code = dist.join("v").join(&version);
    std::fs::create_dir_all(&code)?;
    for name in CODE_FILES {
        std::fs::rename(dist.join(name), code.join(name))?;
    }
    let index_path = dist.join("index.html");
    let mut index = std::fs::read_to_string(&index_path)?;
    for name in NAMED_BY_INDEX {
        let (old, new) = (format!("\"./{name}\""), format!("\"./v/{version}/{name}\""));
        if !index.contains(&old) {
            bail!("index.html does not name {old}: has Trunk's output changed?");
        }
        index = index.replace(&old, &new);
    }
    // After the code, the first render waits for the course bundle: let the browser fetch it
    // while the code downloads and compiles (the page's own fetch then takes this copy; the
    // same CORS mode and credentials, or the browser would fetch it twice). Only a build that
    // wrote the bundle names it, so a development build logs no failed preload.
    if dist.join(COURSE_BUNDLE).is_file() {
        if !index.contains("</head>") {
            bail!("index.html has no </head>: has Trunk's output changed?");
        }
        index = index.replacen(
            "</head>",
            &format!("<link rel=\"preload\" href=\"./{COURSE_BUNDLE}\" as=\"fetch\" crossorigin=\"anonymous\"></head>"),
            1,
        );
    }
    std::fs::write(&index_path, index)?;
    let mut files = vec![];
    list(dist, dist, &mut files)?;
    files.sort();
    // The site's root answers navigations (index.html under its directory's own address).
    let index_bytes = std::fs::metadata(&index_path)?.len();
    let mut entries = vec![serde_json::json!(["./", index_bytes])];
    entries.extend(
        files
            .iter()
            .map(|(p, b)| serde_json::json!([format!("./{p}"), b])),
    );
    if !template.contains("__VERSION__") || !template.contains("__FILES__") {
        bail!("the service-worker template lacks __VERSION__ or __FILES__");
    }
    let sw = template
        .replace("__VERSION__", &version)
        .replace("__FILES__", &serde_json::to_string(&entries)?);
    std::fs::write(dist.join("sw.js"), sw)?;
    Ok(version)
}

/// A WebAssembly module without its `name` custom section: the function names only debuggers
/// and profilers show, 10% of the page's module (540 KB raw, 128 KB gzip, measured on the
/// `dist` build of issue 13's end). Panics keep their messages; a stack trace shows function
/// numbers instead of names (build with MLSEC_KEEP_WASM_NAMES=1 to profile).
pub fn without_name_section(module: &[u8]) -> Result<Vec<u8>> {
    let sections = sections(module)?;
    let mut out = module[..8].to_vec();
    for (section, is_names) in sections {
        if !is_names {
            out.extend_from_slice(&module[section]);
        }
    }
    Ok(out)
}

/// Crates the page's module must not link: the engine (candle and its kernels, the training
/// pool) and the parsers the course worker keeps to itself. Function names say which crate
/// code comes from, so the build reads them before it strips them.
pub const NOT_IN_THE_PAGE: [&str; 7] = [
    "candle_core",
    "candle_nn",
    "gemm_common",
    "rayon_core",
    "safetensors",
    "pulldown_cmark",
    "toml",
];

/// The modules that must not link some crates, and why (ARCHITECTURE.md's invariants).
const MUST_NOT_LINK: [(&str, &[&str], &str); 4] = [
    (
        "app_bg.wasm",
        &NOT_IN_THE_PAGE,
        "a type the page uses holds one of theirs, or it calls into the engine; keep the page \
         to what describes and edits exercises",
    ),
    (
        "instructor_bg.wasm",
        &NOT_IN_THE_PAGE,
        "the instructors' pages reach the engine; they describe and edit exercises as the page \
         does, and re-grade in the workers",
    ),
    (
        "app_bg.wasm",
        &INSTRUCTORS_ONLY,
        "the page reaches an instructors' page; those are the instructors' module's \
         (src/instructor.rs), which the page loads when one opens",
    ),
    (
        "worker_bg.wasm",
        &NOT_IN_THE_CLASSIFIERS_WORKER,
        "the classifiers' worker reaches Track E's engines or the assistant model; only the \
         assistants' worker runs those (mlsec_core::session::Serves)",
    ),
];

/// The instructors' pages, which only their own module (bin `instructor`) links.
pub const INSTRUCTORS_ONLY: [&str; 4] = [
    "mlsec_lab::class_view::ClassView",
    "mlsec_lab::class_view::ReceiptCheck",
    "mlsec_lab::workshop::WorkshopMaker",
    "mlsec_core::class::Class",
];

/// Code the classifiers' worker must not link: Track E's model (its type's methods and trait
/// impls) and what only it uses (candle's layers, its matrix kernels and thread pool). The
/// worker does link the rest of `mlsec_assistant` (the conversation world, the tokenizer and
/// the token search's settings check, which describe Track E's kinds with every exercise, as on
/// the page; the model's trace and error types) and candle's tensors and safetensors (the
/// digits MLP's format).
pub const NOT_IN_THE_CLASSIFIERS_WORKER: [&str; 4] = [
    "mlsec_assistant::model::Gpt",
    "candle_nn",
    "gemm_common",
    "rayon_core",
];

/// Which of `crates` the module's function names (its `name` section) come from. A crate
/// shows in a name as a mangled path segment, `<length><name>` (`11candle_core`), or as a
/// path, `candle_core::` (wasm-bindgen demangles the names) or `candle_core..` (inside a type
/// in a mangled name). A path to an item (`crate::module::Type`) names that item's functions
/// and trait impls, but not its drop code, which any struct that holds one links.
pub fn linked_crates<'c>(module: &[u8], crates: &[&'c str]) -> Result<Vec<&'c str>> {
    let names = function_names(module)?;
    let contains = |name: &[u8], p: &str| name.windows(p.len()).any(|w| w == p.as_bytes());
    // `p` in `name` as a whole path (not the start of a longer identifier).
    let names_item = |name: &[u8], p: &str| {
        name.windows(p.len()).enumerate().any(|(at, w)| {
            w == p.as_bytes()
                && name
                    .get(at + p.len())
                    .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        })
    };
    Ok(crates
        .iter()
        .copied()
        .filter(|c| {
            let segments: String = c.split("::").map(|s| format!("{}{s}", s.len())).collect();
            if c.contains("::") {
                let dotted = c.replace("::", "..");
                names.iter().any(|name| {
                    !contains(name, "drop_in_place")
                        && (contains(name, &segments)
                            || names_item(name, c)
                            || names_item(name, &dotted))
                })
            } else {
                let forms = [segments, format!("{c}::"), format!("{c}..")];
                names
                    .iter()
                    .any(|name| forms.iter().any(|form| contains(name, form)))
            }
        })
        .collect())
}

/// The function names of the module's `name` section (none without one).
fn function_names(module: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = vec![];
    for (section, is_names) in sections(module)? {
        if !is_names {
            continue;
        }
        let body = &module[section];
        // Past the section's id and size, then its name ("name").
        let (_, at) = leb(body, 1)?;
        let (len, at) = leb(body, at)?;
        let mut at = at + len;
        while at < body.len() {
            let id = body[at];
            let (size, start) = leb(body, at + 1)?;
            let end = start
                .checked_add(size)
                .filter(|&e| e <= body.len())
                .context("a name subsection runs past the end")?;
            if id == 1 {
                let (count, mut p) = leb(body, start)?;
                for _ in 0..count {
                    let (_, q) = leb(body, p)?;
                    let (len, q) = leb(body, q)?;
                    let name = body
                        .get(q..q + len)
                        .filter(|_| q + len <= end)
                        .context("a function name runs past its subsection")?;
                    out.push(name);
                    p = q + len;
                }
            }
            at = end;
        }
    }
    Ok(out)
}

/// The LEB128 number at `at` in `bytes`, and where the next thing starts.
fn leb(bytes: &[u8], mut at: usize) -> Result<(usize, usize)> {
    let (mut value, mut shift) = (0usize, 0);
    loop {
        let byte = *bytes.get(at).context("a section runs past the end")?;
        at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte < 0x80 {
            return Ok((value, at));
        }
        if shift > 35 {
            bail!("a section size is not a valid LEB128 number");
        }
    }
}

/// The module's sections, each as its byte range (id and size included) and whether it is
/// the `name` custom section. An error for what is not a whole module.
fn sections(module: &[u8]) -> Result<Vec<(std::ops::Range<usize>, bool)>> {
    if module.get(..4) != Some(b"\0asm".as_slice()) || module.len() < 8 {
        bail!("not a WebAssembly module");
    }
    let mut out = vec![];
    let mut at = 8;
    while at < module.len() {
        let (size, body) = leb(module, at + 1)?;
        let end = body
            .checked_add(size)
            .filter(|&e| e <= module.len())
            .context("a section runs past the end")?;
        let is_names = module[at] == 0 && {
            let (len, name) = leb(module, body)?;
            module.get(name..name + len) == Some(b"name".as_slice())
        };
        out.push((at..end, is_names));
        at = end;
    }
    Ok(out)
}

/// Every file under `dir`, as a '/'-separated path relative to `root`, with its size.
fn list(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            list(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root)?;
            let rel: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            let rel = rel.join("/");
            let precompressed = [".br", ".gz"].iter().any(|ext| {
                rel.strip_suffix(ext)
                    .is_some_and(|original| root.join(original).is_file())
            });
            if rel != "sw.js" && !precompressed {
                out.push((rel, entry.metadata()?.len()));
            }
        }
    }
    Ok(())
}

/// File kinds a static host would compress (what the e2e server and common hosts serve
/// precompressed); data files (`.gz`, `.safetensors`) are compressed already or barely shrink.
const COMPRESSIBLE: [&str; 9] = [
    "html",
    "js",
    "css",
    "wasm",
    "json",
    "md",
    "toml",
    "svg",
    "webmanifest",
];

/// `bytes` gzipped at the best level (what the site ships and the benchmark reports).
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// Precompresses the site's versioned code (`v/<version>/`, see [`precompress`]) and nothing
/// else of `dist`.
pub fn precompress_code(dist: &Path) -> Result<(u64, u64, u64)> {
    precompress(&code_dir(dist)?)
}

/// Writes `<file>.br` and `<file>.gz` beside every compressible file of at least 1 KB under
/// `dist` (where the compressed file is smaller). Returns (original, gzip, brotli) bytes summed
/// over the files compressed.
pub fn precompress(dist: &Path) -> Result<(u64, u64, u64)> {
    let mut files = vec![];
    list(dist, dist, &mut files)?;
    let mut sums = (0u64, 0u64, 0u64);
    for (rel, bytes) in files {
        let ext = rel.rsplit_once('.').map_or("", |(_, e)| e);
        if bytes < 1024 || !COMPRESSIBLE.contains(&ext) {
            continue;
        }
        let (raw, gz, br) = precompress_file(&dist.join(&rel))?;
        sums = (sums.0 + raw, sums.1 + gz, sums.2 + br);
    }
    Ok(sums)
}

/// The files the build writes from the lessons (the course bundle and the search index) get
/// siblings too: nobody edits them by hand, and `mlsec course-bundle` and `mlsec search-index`
/// delete a file's siblings when they write it again on a host.
pub fn precompress_built_data(dist: &Path) -> Result<()> {
    for file in BUILT_DATA {
        precompress_file(&dist.join(file))?;
    }
    Ok(())
}

/// Writes `<file>.br` and `<file>.gz` beside `file` where they are smaller than it. Returns
/// (original, gzip, brotli) bytes, counting the original for a coding that did not shrink it.
fn precompress_file(path: &Path) -> Result<(u64, u64, u64)> {
    let original = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let gzip = gzip(&original)?;
    let mut brotli = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut original.as_slice(), &mut brotli, &params)?;
    let mut kept = [0u64; 2];
    for ((suffix, packed), total) in [(".gz", &gzip), (".br", &brotli)]
        .into_iter()
        .zip(&mut kept)
    {
        *total = if packed.len() < original.len() {
            let mut sibling = path.as_os_str().to_owned();
            sibling.push(suffix);
            std::fs::write(sibling, packed)?;
            packed.len()
        } else {
            original.len()
        } as u64;
    }
    Ok((original.len() as u64, kept[0], kept[1]))
}

/// The folder that holds the code of the site in `dist` (`v/<version>/`).
pub fn code_dir(dist: &Path) -> Result<PathBuf> {
    let versions: Vec<PathBuf> = std::fs::read_dir(dist.join("v"))
        .context("dist/ has no v/ folder: build it with `cargo xtask build` or `dist`")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("dist/v/ holds {} versions, not one", versions.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module of a header and a name section that names its functions `names`.
    fn named(names: &[&str]) -> Vec<u8> {
        fn leb(mut v: usize, out: &mut Vec<u8>) {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        let mut functions = vec![];
        leb(names.len(), &mut functions);
        for (i, name) in names.iter().enumerate() {
            leb(i, &mut functions);
            leb(name.len(), &mut functions);
            functions.extend_from_slice(name.as_bytes());
        }
        let mut body = vec![4];
        body.extend_from_slice(b"name");
        body.push(1);
        leb(functions.len(), &mut body);
        body.extend(functions);
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.push(0);
        leb(body.len(), &mut module);
        module.extend(body);
        module
    }

    #[test]
    fn the_name_section_goes_and_every_other_section_stays() {
        let custom = |name: &[u8], body: &[u8]| {
            let mut s = vec![0u8, (1 + name.len() + body.len()) as u8, name.len() as u8];
            s.extend_from_slice(name);
            s.extend_from_slice(body);
            s
        };
        let header = b"\0asm\x01\0\0\0".to_vec();
        let types = vec![1u8, 1, 0]; // a type section with no types
        let names = named(&["f"])[8..].to_vec();
        let producers = custom(b"producers", &[9]);
        let module = [header.clone(), types.clone(), names, producers.clone()].concat();
        let stripped = without_name_section(&module).unwrap();
        assert_eq!(stripped, [header, types, producers].concat());
        // The crates a module links, read from its function names, mangled (as cargo writes
        // them) or not (as wasm-bindgen leaves them).
        let page = named(&[
            "_ZN11candle_core6tensor3add17h0E",
            "yew::html::render::h1",
            "custom_tomlike",
            "bottomline",
        ]);
        assert_eq!(
            linked_crates(&page, &NOT_IN_THE_PAGE).unwrap(),
            ["candle_core"]
        );
        let page = named(&["<candle_nn::Linear as candle_core::Module>::forward::h2"]);
        assert_eq!(
            linked_crates(&page, &NOT_IN_THE_PAGE).unwrap(),
            ["candle_core", "candle_nn"]
        );
        assert!(linked_crates(&module, &NOT_IN_THE_PAGE).unwrap().is_empty());
        // An item's path names its functions and trait impls, not its drop code, nor a longer
        // name it starts.
        let model = ["mlsec_assistant::model::Gpt"];
        for linked in [
            "_ZN15mlsec_assistant5model3Gpt7forward17h0E",
            "_ZN60_$LT$mlsec_assistant..model..Gpt$u20$as$u20$Module$GT$7forward17h1E",
            "mlsec_assistant::model::Gpt::forward::h3",
            "<mlsec_assistant::model::Gpt as candle_nn::Module>::forward::h4",
        ] {
            let module = named(&["core::ptr::drop_in_place<x>::h5", linked]);
            assert_eq!(linked_crates(&module, &model).unwrap(), model, "{linked}");
        }
        for not_linked in [
            "_ZN4core3ptr52drop_in_place$LT$mlsec_assistant..model..Gpt$GT$17h0E",
            "core::ptr::drop_in_place<mlsec_assistant::model::Gpt>::h6",
            "mlsec_assistant::model::GptConfig::new::h7",
            "<mlsec_assistant::model::TokenTrace as serde::Serialize>::serialize::h8",
        ] {
            let module = named(&[not_linked]);
            assert!(
                linked_crates(&module, &model).unwrap().is_empty(),
                "{not_linked}"
            );
        }
        // The page has two lists; the instructors' pages are found by their components.
        let pages = named(&[
            "<mlsec_lab::class_view::ClassView as yew::html::component::Component>::view::h9",
            "<yew::functional::FunctionComponent<mlsec_lab::workshop::WorkshopMaker>>::run::h10",
            "mlsec_lab::workshop::WorkshopShell::run::h11",
        ]);
        assert_eq!(
            linked_crates(&pages, &INSTRUCTORS_ONLY).unwrap(),
            [
                "mlsec_lab::class_view::ClassView",
                "mlsec_lab::workshop::WorkshopMaker"
            ]
        );
        assert_eq!(
            MUST_NOT_LINK
                .iter()
                .filter(|(m, ..)| *m == "app_bg.wasm")
                .count(),
            2
        );
        // Stripping twice changes nothing; damaged input is an error, not a panic.
        assert_eq!(without_name_section(&stripped).unwrap(), stripped);
        assert!(without_name_section(b"not wasm at all").is_err());
        assert!(without_name_section(&module[..module.len() - 2]).is_err());
    }

    #[test]
    fn the_code_moves_under_its_version_and_the_worker_lists_every_file() {
        let dist = std::env::temp_dir().join(format!("xtask-site-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dist);
        std::fs::create_dir_all(dist.join("lessons/a")).unwrap();
        // A module is a header and a name section, which the build drops.
        let wasm = |marker: u8| named(&[&format!("f{marker}")]);
        for name in CODE_FILES {
            let bytes = if name.ends_with(".wasm") {
                wasm(1)
            } else {
                name.as_bytes().to_vec()
            };
            std::fs::write(dist.join(name), bytes).unwrap();
        }
        std::fs::write(dist.join("lessons/a/lesson.md"), "# A").unwrap();
        std::fs::write(dist.join("course.json"), "{}").unwrap();
        std::fs::write(
            dist.join("index.html"),
            r#"<head><link href="./style.css"><script src="./start.js"></script><link href="./app.js"><link href="./app_bg.wasm"></head>"#,
        )
        .unwrap();
        let version = finish(&dist, "const V = '__VERSION__'; const F = __FILES__;").unwrap();
        assert_eq!(version.len(), 12);
        assert_eq!(code_dir(&dist).unwrap(), dist.join("v").join(&version));
        assert!(dist
            .join("v")
            .join(&version)
            .join("worker_bg.wasm")
            .is_file());
        assert!(!dist.join("app.js").exists());
        let shipped = std::fs::read(dist.join("v").join(&version).join("app_bg.wasm")).unwrap();
        assert_eq!(shipped, b"\0asm\x01\0\0\0", "the name section was shipped");
        let index = std::fs::read_to_string(dist.join("index.html")).unwrap();
        assert!(
            index.contains(&format!("\"./v/{version}/start.js\"")),
            "{index}"
        );
        assert!(
            index.ends_with(r#"<link rel="preload" href="./course.json" as="fetch" crossorigin="anonymous"></head>"#),
            "{index}"
        );
        let sw = std::fs::read_to_string(dist.join("sw.js")).unwrap();
        assert!(sw.contains(&format!("'{version}'")), "{sw}");
        assert!(sw.contains("[\"./lessons/a/lesson.md\",3]"), "{sw}");
        assert!(sw.contains(&format!("\"./v/{version}/app.js\"")), "{sw}");
        assert!(sw.contains("[\"./\","), "{sw}");
        assert!(
            !sw.contains("sw.js"),
            "the worker does not cache itself: {sw}"
        );
        // Other code, another version.
        let _ = std::fs::remove_dir_all(&dist);
        std::fs::create_dir_all(&dist).unwrap();
        for name in CODE_FILES {
            let bytes = if name.ends_with(".wasm") {
                [b"\0asm\x01\0\0\0".as_slice(), &[1, 1, 0]].concat()
            } else {
                format!("{name} v2").into_bytes()
            };
            std::fs::write(dist.join(name), bytes).unwrap();
        }
        std::fs::write(
            dist.join("index.html"),
            r#""./style.css" "./start.js" "./app.js" "./app_bg.wasm""#,
        )
        .unwrap();
        assert_ne!(finish(&dist, "__VERSION__ __FILES__").unwrap(), version);
        // A classifiers' worker that reaches the assistants is refused, by name.
        let _ = std::fs::remove_dir_all(&dist);
        std::fs::create_dir_all(&dist).unwrap();
        for name in CODE_FILES {
            let bytes = match name {
                "worker_bg.wasm" => named(&["mlsec_assistant::model::Gpt::forward::h0"]),
                _ if name.ends_with(".wasm") => wasm(3),
                _ => name.as_bytes().to_vec(),
            };
            std::fs::write(dist.join(name), bytes).unwrap();
        }
        std::fs::write(
            dist.join("index.html"),
            r#""./style.css" "./start.js" "./app.js" "./app_bg.wasm""#,
        )
        .unwrap();
        let refused = finish(&dist, "__VERSION__ __FILES__")
            .unwrap_err()
            .to_string();
        assert!(
            refused.starts_with("worker_bg.wasm links mlsec_assistant::model::Gpt: "),
            "{refused}"
        );
        let _ = std::fs::remove_dir_all(&dist);
    }

    /// Text and WebAssembly files of 1 KB or more get .br and .gz siblings that decode to
    /// them; small files and data files get none; the service worker's list leaves them out.
    #[test]
    fn precompressed_siblings_decode_to_the_original_and_stay_off_the_offline_list() {
        use std::io::Read;
        let dist = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dist);
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        let js = "export const lesson = 'a line of text';\n".repeat(100);
        std::fs::write(dist.join("app.js"), &js).unwrap();
        std::fs::write(dist.join("tiny.css"), "p{}").unwrap();
        std::fs::write(dist.join("assets").join("data.csv.gz"), vec![7u8; 4096]).unwrap();
        let (raw, gz, br) = precompress(&dist).unwrap();
        assert_eq!(raw, js.len() as u64);
        assert!(br < gz && gz < raw, "{raw} {gz} {br}");
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(dist.join("app.js.gz")).unwrap())
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, js);
        let mut unbrotli = String::new();
        brotli::Decompressor::new(std::fs::File::open(dist.join("app.js.br")).unwrap(), 4096)
            .read_to_string(&mut unbrotli)
            .unwrap();
        assert_eq!(unbrotli, js);
        assert!(!dist.join("tiny.css.gz").exists());
        assert!(!dist.join("assets").join("data.csv.gz.gz").exists());
        let mut files = vec![];
        list(&dist, &dist, &mut files).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&"assets/data.csv.gz") && names.contains(&"app.js"));
        let _ = std::fs::remove_dir_all(dist);
    }

    /// A built site's code and the data the build writes from the lessons get siblings; its
    /// lessons (which an instructor may edit on the host, where a stale sibling would hide the
    /// edit) get none.
    #[test]
    fn only_the_versioned_code_and_the_built_data_are_precompressed() {
        let dist = std::env::temp_dir().join(format!("xtask-code-only-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dist);
        let text = "some words that compress well\n".repeat(100);
        std::fs::create_dir_all(dist.join("v").join("abc123")).unwrap();
        std::fs::create_dir_all(dist.join("lessons").join("fgsm")).unwrap();
        std::fs::write(dist.join("v").join("abc123").join("app.js"), &text).unwrap();
        std::fs::write(dist.join("lessons").join("fgsm").join("lesson.md"), &text).unwrap();
        std::fs::write(dist.join("index.html"), &text).unwrap();
        for file in BUILT_DATA {
            std::fs::write(dist.join(file), &text).unwrap();
        }
        precompress_code(&dist).unwrap();
        precompress_built_data(&dist).unwrap();
        assert!(dist.join("v").join("abc123").join("app.js.br").is_file());
        for file in BUILT_DATA {
            let packed = std::fs::read(dist.join(format!("{file}.gz"))).unwrap();
            let mut unpacked = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(&packed[..]),
                &mut unpacked,
            )
            .unwrap();
            assert_eq!(unpacked, text);
            assert!(dist.join(format!("{file}.br")).is_file());
        }
        assert!(!dist
            .join("lessons")
            .join("fgsm")
            .join("lesson.md.gz")
            .exists());
        assert!(!dist.join("index.html.br").exists());
        let _ = std::fs::remove_dir_all(dist);
    }
}
