//! The `ghesta-sandbox` binary: its flags and its first line.

use super::*;

/// The sandbox binary as a child process, killed when dropped (a failing test must not
/// leave it running).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the binary with `args` to its exit and returns what it printed; a binary still
/// running after 20 s (one that started serving instead of refusing) fails the test.
fn run_binary(args: &[&str]) -> std::process::Output {
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_ghesta-sandbox"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut status = None;
    wait_for(
        &format!("ghesta-sandbox {args:?} exits"),
        Duration::from_secs(20),
        || {
            status = child.0.try_wait().unwrap();
            status.is_some()
        },
    );
    // It has exited: what it printed (a few lines) is all in the pipes.
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    std::process::Output {
        status: status.unwrap(),
        stdout,
        stderr,
    }
}

#[test]
fn binary_prints_the_listening_line() {
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_ghesta-sandbox"))
            .args(["--listen", "127.0.0.1:0", "--token", "bin-token"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Read on a thread, so that a binary that never prints fails the test instead of
    // hanging it.
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the binary printed no line within 20 s")
        .unwrap();
    let addr = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .trim_end();
    assert!(addr.starts_with("127.0.0.1:"));
    let url = format!("http://{addr}/v2/pay");
    let body = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/"});
    let a = try_call(&agent(), "POST", &url, Some("bin-token"), Some(&body)).unwrap();
    drop(child);
    assert_eq!(a.status, 200, "{}", a.body);

    let out = run_binary(&["--listen", "0.0.0.0:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
    let out = run_binary(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--verify-window-secs"));
}
