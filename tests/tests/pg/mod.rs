//! A throwaway PostgreSQL server for the tests that need one: `initdb` into a temporary
//! directory, `pg_ctl start` on a free 127.0.0.1 port, stopped and removed on drop. It uses
//! the PostgreSQL binaries installed on the machine (Debian's `postgresql` package puts them
//! in `/usr/lib/postgresql/VERSION/bin`; `PG_BIN` overrides) and no system service.
//!
//! PostgreSQL refuses to run as root: run as root (as CI does), the cluster belongs to
//! `nobody`, which every Debian system has, and the server runs as that user.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The unprivileged user a root test process runs PostgreSQL as (uid, gid of `nobody`).
const NOBODY: (u32, u32) = (65534, 65534);

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`.
pub(crate) fn binaries() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no /usr/lib/postgresql ({e}): apt-get install postgresql"))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no /usr/lib/postgresql/*/bin/pg_ctl: apt-get install postgresql".into())
}

/// A running server; dropping it stops the server and removes its files.
pub(crate) struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_nobody: bool,
}

impl Postgres {
    /// Creates a cluster and starts it; panics with what is missing if it cannot.
    pub(crate) fn start() -> Postgres {
        let bin = binaries().unwrap_or_else(|why| panic!("PostgreSQL is not installed: {why}"));
        // pg_ctl hands its options to a shell: a path of letters, digits and dashes only.
        static CLUSTERS: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ghesta-pg-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("socket")).expect("a temporary directory");
        let as_nobody = is_root();
        if as_nobody {
            for path in [dir.clone(), dir.join("socket")] {
                std::os::unix::fs::chown(&path, Some(NOBODY.0), Some(NOBODY.1))
                    .expect("the directory given to nobody");
            }
        }
        let port = crate::shop_process::free_port().port();
        let pg = Postgres {
            bin,
            dir,
            port,
            as_nobody,
        };
        pg.run(
            "initdb",
            &[
                "--pgdata",
                &pg.data().display().to_string(),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--no-sync",
                "--encoding",
                "UTF8",
            ],
        );
        pg.run("pg_ctl", &pg.ctl_args("start"));
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `pg_ctl ACTION`, waiting until it is done, on 127.0.0.1 only (and a socket in the
    /// temporary directory, not the system's). Durability is PostgreSQL's default: the
    /// figures measured against it include committing to disk.
    fn ctl_args(&self, action: &str) -> Vec<String> {
        vec![
            action.into(),
            "--wait".into(),
            "--pgdata".into(),
            self.data().display().to_string(),
            "--log".into(),
            self.dir.join("log").display().to_string(),
            "-o".into(),
            format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=100",
                self.port,
                self.dir.join("socket").display()
            ),
            "-m".into(),
            "fast".into(),
        ]
    }

    fn run(&self, tool: &str, args: &[impl AsRef<std::ffi::OsStr>]) -> Output {
        let mut command = Command::new(self.bin.join(tool));
        command.args(args).current_dir(&self.dir);
        if self.as_nobody {
            command.uid(NOBODY.0).gid(NOBODY.1);
        }
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("{tool} could not run: {e}"));
        assert!(
            output.status.success(),
            "{tool} failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
        output
    }

    /// The URL the shop connects with.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A connection for the test's own checks.
    pub(crate) fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls).expect("the test connects")
    }

    /// A connection, or `None` while the server is down.
    pub(crate) fn try_client(&self) -> Option<postgres::Client> {
        postgres::Client::connect(&self.url(), postgres::NoTls).ok()
    }

    /// `pg_ctl restart` (fast: open connections are cut), returning once it accepts again.
    pub(crate) fn restart(&self) {
        self.run("pg_ctl", &self.ctl_args("restart"));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut stop = Command::new(self.bin.join("pg_ctl"));
        stop.args(["stop", "--wait", "-m", "immediate", "--pgdata"])
            .arg(self.data());
        if self.as_nobody {
            stop.uid(NOBODY.0).gid(NOBODY.1);
        }
        let _ = stop.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this process runs as root (PostgreSQL refuses to).
fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// CPU seconds process `pid` has used, with its waited-for children (Linux `/proc`).
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // After the command name (which may hold spaces), fields 3...: utime is the 14th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = (11..15)
        .filter_map(|i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0 // USER_HZ, 100 on Linux
}

impl Postgres {
    /// CPU seconds the server has used: the postmaster, its exited children, and its
    /// running ones (one per connection).
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let Some(postmaster) = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
        else {
            return 0.0;
        };
        let children: f64 = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit_once(')')?
                            .1
                            .split_whitespace()
                            .nth(1)?
                            .parse::<u32>()
                            .ok()
                    })
                    == Some(postmaster)
            })
            .map(cpu_seconds)
            .sum();
        cpu_seconds(postmaster) + children
    }
}
