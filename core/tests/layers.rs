//! The import graph of `core/src`: which file names which, read from the source.
//!
//! The wire modules are the floor the steps stand on: they spell PayPing's bytes and hand
//! typed values up, so nothing under `wire/` may reach back up into a step, and v3 is not
//! built from v2's parts. The only cycle allowed is the callback dispatcher's: the callback
//! types (`callback.rs`) ask `wire/callback.rs` which protocol a form speaks, and each
//! protocol's reader builds those types.
//!
//! `cargo test -p ghesta-core --test layers -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside the crate (`["wire", "v3", "errors"]`; the root is empty).
type ModPath = Vec<String>;

/// The files of the callback dispatcher, whose cycle is allowed.
const DISPATCHER: &[&str] = &[
    "callback.rs",
    "wire/callback.rs",
    "wire/v2/callback.rs",
    "wire/v3/callback.rs",
    "wire/form.rs",
];

/// The step files: what a step means and checks. The wire never imports them.
const STEPS: &[&str] = &[
    "create.rs",
    "verify.rs",
    "cancel.rs",
    "report.rs",
    "refund.rs",
    "recover.rs",
    "exchange.rs",
];

struct Graph {
    /// file (relative to src/) -> files it imports
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(rel: &str) -> ModPath {
    let trimmed = rel.trim_end_matches(".rs");
    let mut parts: ModPath = trimmed.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The source without comments, string and char literals, and `#[cfg(test)]` modules.
fn code_only(source: &str) -> String {
    let b = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if c == b'r'
            && matches!(b.get(i + 1), Some(b'#' | b'"'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&b'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // A char literal ('x', '\n', '{') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if let Some(len) = source[i + 1..].chars().next().map(char::len_utf8)
                && b.get(i + 1 + len) == Some(&b'\'')
            {
                i += 2 + len;
                out.push_str("' '");
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            let ch = source[i..].chars().next().expect("a char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    strip_test_modules(&out)
}

fn strip_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // The item after the attribute: skip to its end (`;`, or its balanced `{ }`).
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, ch) in after.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every path in `code` (`a::b::{c, d::e}` expanded), as its segments.
fn paths(code: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_ident(&tokens[i])
            && tokens.get(i + 1).map(String::as_str) == Some("::")
            && (i == 0 || tokens[i - 1] != "::")
        {
            let (expanded, next) = path_at(&tokens, i);
            out.extend(expanded);
            i = next;
        } else {
            i += 1;
        }
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = code.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_ascii_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_ascii_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(code[i..end].to_owned());
        } else if c == ':' && chars.peek().map(|&(_, d)| d) == Some(':') {
            chars.next();
            tokens.push("::".to_owned());
        } else if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// The paths starting at `tokens[i]`, and the index after them.
fn path_at(tokens: &[String], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        prefix.push(tokens[i].clone());
        i += 1;
        if tokens.get(i).map(String::as_str) != Some("::") {
            return (vec![prefix], i);
        }
        i += 1;
        match tokens.get(i).map(String::as_str) {
            Some("{") => {
                i += 1;
                let mut all = Vec::new();
                while i < tokens.len() && tokens[i] != "}" {
                    if tokens[i] == "," {
                        i += 1;
                        continue;
                    }
                    let (inner, next) = path_at(tokens, i);
                    for p in inner {
                        let mut full = prefix.clone();
                        full.extend(p);
                        all.push(full);
                    }
                    i = next;
                    // `as alias`
                    if tokens.get(i).map(String::as_str) == Some("as") {
                        i += 2;
                    }
                }
                return (all, i + 1);
            }
            Some(t) if is_ident(t) => continue,
            _ => return (vec![prefix], i),
        }
    }
}

fn build() -> Graph {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules: BTreeMap<ModPath, String> = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        modules.insert(module_of(&rel), rel.clone());
        let source = std::fs::read_to_string(file).expect("read source");
        sources.insert(rel, code_only(&source));
    }
    // What the crate root re-exports: `crate::Name` is the file that defines it.
    let mut reexports: BTreeMap<String, ModPath> = BTreeMap::new();
    for path in paths(&sources["lib.rs"]) {
        if path.len() >= 2 && modules.contains_key(&path[..path.len() - 1]) {
            reexports.insert(
                path.last().expect("non-empty").clone(),
                path[..path.len() - 1].to_vec(),
            );
        }
    }
    let resolve = |path: &[String]| -> Option<String> {
        (1..=path.len())
            .rev()
            .find_map(|n| modules.get(&path[..n]).cloned())
            .filter(|file| file != "lib.rs")
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, code) in &sources {
        let me = module_of(rel);
        let parent: ModPath = me[..me.len().saturating_sub(1)].to_vec();
        let found = paths(code);
        // Names a `use` brought in that are modules: `use crate::wire;` then `wire::v2::..`.
        let mut aliases: BTreeMap<String, ModPath> = BTreeMap::new();
        let absolute = |p: &[String]| -> Option<ModPath> {
            match p.first().map(String::as_str) {
                Some("crate") => Some(p[1..].to_vec()),
                Some("super") => {
                    let mut full = parent.clone();
                    full.extend(p[1..].iter().cloned());
                    Some(full)
                }
                Some("self") => {
                    let mut full = me.clone();
                    full.extend(p[1..].iter().cloned());
                    Some(full)
                }
                _ => None,
            }
        };
        for p in &found {
            if let Some(mut abs) = absolute(p) {
                if abs.last().map(String::as_str) == Some("self") {
                    abs.pop();
                }
                if let Some(name) = abs.last()
                    && modules.contains_key(&abs)
                {
                    aliases.insert(name.clone(), abs.clone());
                }
            }
        }
        let targets = edges.entry(rel.clone()).or_default();
        for p in &found {
            let abs = match absolute(p) {
                Some(mut abs) => {
                    if abs.last().map(String::as_str) == Some("self") {
                        abs.pop();
                    }
                    if abs.len() == 1
                        && let Some(module) = reexports.get(&abs[0])
                    {
                        module.clone()
                    } else {
                        abs
                    }
                }
                None => match aliases.get(&p[0]) {
                    Some(module) => {
                        let mut full = module.clone();
                        full.extend(p[1..].iter().cloned());
                        full
                    }
                    None => continue,
                },
            };
            if let Some(file) = resolve(&abs)
                && file != *rel
            {
                targets.insert(file);
            }
        }
    }
    Graph { edges }
}

impl Graph {
    /// The strongly connected components of more than one file: each holds a cycle.
    fn cycles(&self) -> Vec<BTreeSet<String>> {
        let nodes: Vec<&String> = self.edges.keys().collect();
        let reach = |from: &String| -> BTreeSet<String> {
            let mut seen = BTreeSet::new();
            let mut stack = vec![from.clone()];
            while let Some(n) = stack.pop() {
                for next in self.edges.get(&n).into_iter().flatten() {
                    if seen.insert(next.clone()) {
                        stack.push(next.clone());
                    }
                }
            }
            seen
        };
        let reached: BTreeMap<&String, BTreeSet<String>> =
            nodes.iter().map(|n| (*n, reach(n))).collect();
        let mut components: Vec<BTreeSet<String>> = Vec::new();
        for n in &nodes {
            if components.iter().any(|c| c.contains(*n)) {
                continue;
            }
            let component: BTreeSet<String> = nodes
                .iter()
                .filter(|m| reached[*n].contains(**m) && reached[*m].contains(*n))
                .map(|m| (*m).clone())
                .collect();
            if component.len() > 1 {
                components.push(component);
            }
        }
        components
    }

    /// Imports from a file under `wire/` to one outside it that imports `wire/` itself,
    /// directly or not: the wire reaching back up.
    fn upward(&self) -> Vec<(String, String)> {
        let imports_wire = |from: &String| -> bool {
            let mut seen = BTreeSet::new();
            let mut stack = vec![from.clone()];
            while let Some(n) = stack.pop() {
                for next in self.edges.get(&n).into_iter().flatten() {
                    if next.starts_with("wire/") {
                        return true;
                    }
                    if seen.insert(next.clone()) {
                        stack.push(next.clone());
                    }
                }
            }
            false
        };
        let mut up = Vec::new();
        for (from, targets) in &self.edges {
            if !from.starts_with("wire/") {
                continue;
            }
            for to in targets {
                if !to.starts_with("wire/") && imports_wire(to) {
                    up.push((from.clone(), to.clone()));
                }
            }
        }
        up
    }

    fn print(&self) {
        println!("import graph of core/src (file -> files it imports):");
        for (from, targets) in &self.edges {
            let list: Vec<&str> = targets.iter().map(String::as_str).collect();
            println!("  {from} -> {}", list.join(", "));
        }
        let cycles = self.cycles();
        println!(
            "{} import cycle(s) (strongly connected files):",
            cycles.len()
        );
        for c in &cycles {
            let list: Vec<&str> = c.iter().map(String::as_str).collect();
            println!("  {{{}}}", list.join(", "));
        }
        let up = self.upward();
        println!("{} import(s) from wire/ back up into core/src:", up.len());
        for (from, to) in &up {
            println!("  {from} -> {to}");
        }
    }
}

#[test]
fn the_only_cycle_is_the_callback_dispatchers() {
    let graph = build();
    graph.print();
    let allowed: BTreeSet<String> = DISPATCHER.iter().map(|s| (*s).to_owned()).collect();
    for cycle in graph.cycles() {
        assert!(
            cycle.is_subset(&allowed),
            "an import cycle outside the callback dispatcher: {cycle:?}"
        );
    }
}

#[test]
fn the_wire_imports_no_step_and_v3_nothing_of_v2() {
    let graph = build();
    for (from, targets) in &graph.edges {
        if !from.starts_with("wire/") {
            continue;
        }
        for to in targets {
            assert!(
                !STEPS.contains(&to.as_str()),
                "{from} imports the step file {to}: the wire hands typed values up, the step \
                 imports the wire"
            );
            assert!(
                !(from.starts_with("wire/v3/") && to.starts_with("wire/v2/")),
                "{from} imports {to}: v3 is not built from v2's parts"
            );
        }
    }
}

#[test]
fn the_wire_reaches_back_up_only_in_the_dispatcher() {
    let graph = build();
    for (from, to) in graph.upward() {
        assert!(
            DISPATCHER.contains(&from.as_str()) && DISPATCHER.contains(&to.as_str()),
            "{from} imports {to}, which imports the wire: an import back up"
        );
    }
}

#[test]
fn the_reader_sees_imports_of_every_form() {
    // The rules above are only as good as the reading: each form of import is seen.
    let code = code_only(
        "use crate::a::{b, c::{d, e as f}};\nuse crate::w;\nfn x() { w::v2::g(); \
         super::h::i(); let _ = \"crate::z::y\"; } // crate::q\n#[cfg(test)]\nmod tests { \
         use crate::t; }",
    );
    let found = paths(&code);
    let has = |p: &[&str]| {
        found
            .iter()
            .any(|f| f.iter().map(String::as_str).eq(p.iter().copied()))
    };
    assert!(has(&["crate", "a", "b"]));
    assert!(has(&["crate", "a", "c", "d"]));
    assert!(has(&["crate", "a", "c", "e"]));
    assert!(has(&["crate", "w"]));
    assert!(has(&["w", "v2", "g"]));
    assert!(has(&["super", "h", "i"]));
    assert!(
        !found.iter().any(|f| f.contains(&"z".to_owned())),
        "strings are not code"
    );
    assert!(
        !found.iter().any(|f| f.contains(&"q".to_owned())),
        "comments are not code"
    );
    assert!(
        !found.iter().any(|f| f.contains(&"t".to_owned())),
        "tests are not the graph"
    );
}
