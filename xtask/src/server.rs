//! A tiny static file server (std::net only) for the end-to-end tests.
//!
//! It serves one folder under a sub-path (`/lab/`), and nothing else: a page that asks for
//! `/index.js` instead of `./index.js` gets a 404, so the tests prove that the built site works
//! from any sub-path. Data files are sent as they are: `.gz` files are `application/octet-stream`
//! with no `Content-Encoding`, and `X-Content-Type-Options: nosniff` makes wrong types visible.
//! Like a production static host, it sends a file's precompressed sibling (`<file>.br`,
//! `<file>.gz`, written by `cargo xtask build`) with its `Content-Encoding` when the browser
//! accepts it, so the tests and the benchmark load what a visitor's browser would.

use anyhow::{Context as _, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct StaticServer {
    addr: SocketAddr,
    prefix: &'static str,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StaticServer {
    /// Serve `dir` at `http://127.0.0.1:<free port><prefix>` (`prefix` starts and ends with `/`).
    pub fn start(dir: PathBuf, prefix: &'static str) -> Result<Self> {
        Self::start_on(dir, prefix, 0)
    }

    /// Like [`StaticServer::start`] on a given port (0: any free one).
    pub fn start_on(dir: PathBuf, prefix: &'static str, port: u16) -> Result<Self> {
        assert!(prefix.starts_with('/') && prefix.ends_with('/'));
        let listener = TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &dir, prefix);
                });
            }
        });
        Ok(Self {
            addr,
            prefix,
            stop,
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so that it sees the flag.
            let _ = TcpStream::connect(self.addr);
            let _ = thread.join();
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What to answer for a request path.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    File(PathBuf),
    Redirect(String),
    NotFound,
}

/// Map a request target (`/lab/a/b.js?x=1`) to a file under `dir`, refusing anything outside
/// `prefix` and any `..`.
pub fn route(target: &str, dir: &Path, prefix: &str) -> Route {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let Some(path) = percent_decode(path) else {
        return Route::NotFound;
    };
    if path == prefix.trim_end_matches('/') {
        return Route::Redirect(prefix.to_string());
    }
    let Some(rest) = path.strip_prefix(prefix) else {
        return Route::NotFound;
    };
    let mut file = dir.to_path_buf();
    for segment in rest.split('/') {
        match segment {
            "" => {}
            "." | ".." => return Route::NotFound,
            s if s.contains('\\') || s.contains('\0') => return Route::NotFound,
            s => file.push(s),
        }
    }
    if file.is_dir() {
        if !path.ends_with('/') {
            return Route::Redirect(format!("{path}/"));
        }
        file.push("index.html");
    }
    if file.is_file() {
        Route::File(file)
    } else {
        Route::NotFound
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value of the request header `name` (lower case), if the request has it.
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

/// The file to send for `file` given the request's `Accept-Encoding`: its Brotli sibling when
/// the browser accepts `br`, else its gzip sibling when it accepts `gzip`, else the file itself;
/// with the `Content-Encoding` to send.
pub fn precompressed(file: &Path, accept: &str) -> (PathBuf, Option<&'static str>) {
    let accepts = |coding: &str| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            // q=0 (or 0.0, 0.000) means "not acceptable".
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            name.eq_ignore_ascii_case(coding) && !refused
        })
    };
    for (coding, suffix) in [("br", "br"), ("gzip", "gz")] {
        let mut sibling = file.as_os_str().to_owned();
        sibling.push(format!(".{suffix}"));
        let sibling = PathBuf::from(sibling);
        if accepts(coding) && sibling.is_file() {
            return (sibling, Some(coding));
        }
    }
    (file.to_path_buf(), None)
}

pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "toml" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "woff2" => "font/woff2",
        // Data files, sent as they are (never with a Content-Encoding).
        "gz" | "safetensors" | "bin" => "application/octet-stream",
        _ => "application/octet-stream",
    }
}

fn handle(mut stream: TcpStream, dir: &Path, prefix: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            &[],
            b"",
            true,
        );
    }
    let body_wanted = method == "GET";
    match route(target, dir, prefix) {
        Route::File(file) => {
            let accept = header(&head, "accept-encoding").unwrap_or_default();
            let (sent, encoding) = precompressed(&file, &accept);
            let body = std::fs::read(&sent)?;
            let mut headers = vec![("Vary", "Accept-Encoding")];
            if let Some(encoding) = encoding {
                headers.push(("Content-Encoding", encoding));
            }
            respond(
                &mut stream,
                "200 OK",
                content_type(&file),
                &headers,
                &body,
                body_wanted,
            )
        }
        Route::Redirect(location) => respond(
            &mut stream,
            "301 Moved Permanently",
            "text/plain",
            &[("Location", &location)],
            b"",
            body_wanted,
        ),
        Route::NotFound => {
            eprintln!("static server: 404 {target}");
            respond(
                &mut stream,
                "404 Not Found",
                "text/plain; charset=utf-8",
                &[],
                b"not found\n",
                body_wanted,
            )
        }
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small site in a folder of its own (tests run in parallel).
    fn site(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><p>hi</p>").unwrap();
        std::fs::write(dir.join("app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(dir.join("assets").join("digits.csv.gz"), b"\x1f\x8b").unwrap();
        dir
    }

    #[test]
    fn routes_only_under_the_prefix() {
        let dir = site("routes");
        let p = "/lab/";
        assert_eq!(route("/lab", &dir, p), Route::Redirect("/lab/".into()));
        assert_eq!(route("/lab/", &dir, p), Route::File(dir.join("index.html")));
        assert_eq!(
            route("/lab/?x=1", &dir, p),
            Route::File(dir.join("index.html"))
        );
        assert_eq!(
            route("/lab/app_bg.wasm", &dir, p),
            Route::File(dir.join("app_bg.wasm"))
        );
        assert_eq!(
            route("/lab/assets/digits%2Ecsv.gz", &dir, p),
            Route::File(dir.join("assets").join("digits.csv.gz"))
        );
        assert_eq!(
            route("/lab/assets", &dir, p),
            Route::Redirect("/lab/assets/".into())
        );
        assert_eq!(route("/", &dir, p), Route::NotFound);
        assert_eq!(route("/app_bg.wasm", &dir, p), Route::NotFound);
        assert_eq!(route("/lab/../etc/passwd", &dir, p), Route::NotFound);
        assert_eq!(route("/lab/%2e%2e/x", &dir, p), Route::NotFound);
        assert_eq!(route("/lab/missing.js", &dir, p), Route::NotFound);
        assert_eq!(route("/lab/%zz", &dir, p), Route::NotFound);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn mime_types() {
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
        assert!(content_type(Path::new("a.js")).starts_with("text/javascript"));
        assert!(content_type(Path::new("a.css")).starts_with("text/css"));
        assert!(content_type(Path::new("index.html")).starts_with("text/html"));
        assert!(content_type(Path::new("course.toml")).starts_with("text/plain"));
        assert!(content_type(Path::new("lesson.md")).starts_with("text/markdown"));
        assert_eq!(
            content_type(Path::new("d.csv.gz")),
            "application/octet-stream"
        );
        assert_eq!(
            content_type(Path::new("m.safetensors")),
            "application/octet-stream"
        );
        assert_eq!(content_type(Path::new("p.json")), "application/json");
    }

    #[test]
    fn serves_over_http() {
        let dir = site("http");
        let server = StaticServer::start(dir.clone(), "/lab/").unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).unwrap();
            String::from_utf8_lossy(&out).into_owned()
        };
        let wasm = get("/lab/app_bg.wasm");
        assert!(wasm.starts_with("HTTP/1.1 200 OK\r\n"), "{wasm}");
        assert!(wasm.contains("Content-Type: application/wasm\r\n"));
        let gz = get("/lab/assets/digits.csv.gz");
        assert!(gz.contains("Content-Type: application/octet-stream\r\n"));
        assert!(!gz.to_ascii_lowercase().contains("content-encoding"));
        assert!(get("/index.html").starts_with("HTTP/1.1 404"));
        assert!(get("/lab").contains("Location: /lab/\r\n"));
        server.stop();
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A file's precompressed sibling goes to a browser that accepts its coding, under the
    /// file's own type; a data file that merely ends in `.gz` is never sent as an encoding.
    #[test]
    fn serves_precompressed_siblings_to_browsers_that_accept_them() {
        let dir = site("precompressed");
        std::fs::write(dir.join("app_bg.wasm.br"), b"BROTLI").unwrap();
        std::fs::write(dir.join("app_bg.wasm.gz"), b"GZIP").unwrap();
        let server = StaticServer::start(dir.clone(), "/lab/").unwrap();
        let get = |path: &str, accept: &str| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: {accept}\r\n\r\n"
            )
            .unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).unwrap();
            String::from_utf8_lossy(&out).into_owned()
        };
        let br = get("/lab/app_bg.wasm", "gzip, deflate, br, zstd");
        assert!(
            br.contains("Content-Encoding: br\r\n") && br.ends_with("BROTLI"),
            "{br}"
        );
        assert!(br.contains("Content-Type: application/wasm\r\n"));
        assert!(br.contains("Vary: Accept-Encoding\r\n"));
        // Chromium over plain http (localhost) offers no br.
        let gz = get("/lab/app_bg.wasm", "gzip, deflate");
        assert!(
            gz.contains("Content-Encoding: gzip\r\n") && gz.ends_with("GZIP"),
            "{gz}"
        );
        let refused = get("/lab/app_bg.wasm", "br;q=0, gzip; q=0.0, identity");
        assert!(!refused.contains("Content-Encoding"), "{refused}");
        assert!(refused.ends_with("\0asm\x01\0\0\0"));
        let data = get("/lab/assets/digits.csv.gz", "gzip, br");
        assert!(!data.to_ascii_lowercase().contains("content-encoding"));
        server.stop();
        let _ = std::fs::remove_dir_all(dir);
    }
}
