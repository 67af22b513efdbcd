//! What the tests of keychain-backed commands share: the variables that lead keyguard to the
//! test's Secret Service, keyguard with its own config directory, and a run with optional stdin.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{Run, keyguard, skip_missing};

/// The variables that lead keyguard to the test's Secret Service, or None (after a skip notice).
pub fn secret_service() -> Option<Vec<(String, String)>> {
    let addr = std::env::var("DBUS_SESSION_BUS_ADDRESS").ok();
    match (
        std::env::var("KEYGUARD_TEST_SECRET_SERVICE").as_deref(),
        addr,
    ) {
        (Ok("1"), Some(addr)) => {
            let mut vars = vec![
                ("DBUS_SESSION_BUS_ADDRESS".to_string(), addr),
                (
                    "KEYGUARD_KEYSTORE".to_string(),
                    "secret-service".to_string(),
                ),
            ];
            if let Ok(v) = std::env::var("XDG_RUNTIME_DIR") {
                vars.push(("XDG_RUNTIME_DIR".into(), v));
            }
            Some(vars)
        }
        _ => {
            skip_missing("a Secret Service (run these tests under scripts/with-secret-service.sh)");
            None
        }
    }
}

/// keyguard in `dir`, with its own config directory (the key index) and the store's variables.
pub fn kg(dir: &Path, vars: &[(String, String)]) -> Command {
    let mut cmd = keyguard();
    cmd.current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .envs(vars.iter().map(|(k, v)| (k, v)));
    cmd
}

pub fn run_with(mut cmd: Command, args: &[&str], stdin: Option<&[u8]>) -> Run {
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        // keyguard may refuse its arguments before it reads stdin: a closed pipe is fine.
        if let Err(e) = child.stdin.take().unwrap().write_all(input) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
