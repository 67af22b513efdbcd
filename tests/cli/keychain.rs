//! `keyguard key` and `keyguard run` against real stores. The `secret_service_*` tests need a
//! Secret Service: scripts/test runs them inside scripts/with-secret-service.sh (a private D-Bus
//! session with an unlocked GNOME Keyring); elsewhere they skip, or fail under
//! KEYGUARD_REQUIRE_ALL=1. The `keyutils_*` test needs `keyctl` for a session keyring.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::keystore::{kg, run_with, secret_service};
use crate::support::{Fakes, skip_missing, write};

fn fake_openai(seed: u64) -> String {
    let mut f = Fakes::new(seed);
    format!("sk-proj-{}T3BlbkFJ{}", f.alnum(74), f.alnum(74))
}

/// A name no other test (or earlier run against the same keyring) uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[test]
fn set_without_a_terminal_or_flag_names_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(kg(dir.path(), &[]), &["key", "set", "openai"], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--stdin"), "{}", r.stderr);
    assert!(r.stderr.contains("--from-env VAR"), "{}", r.stderr);
}

#[test]
fn an_empty_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(
        kg(dir.path(), &[]),
        &["key", "set", "openai", "--stdin"],
        Some(b"\n"),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("empty"), "{}", r.stderr);
}

#[test]
fn a_missing_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(
        kg(dir.path(), &[]),
        &["key", "set", "openai", "--from-env", "NOT_SET_HERE"],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("NOT_SET_HERE is not set"), "{}", r.stderr);
}

#[cfg(target_os = "linux")]
#[test]
fn a_missing_secret_service_is_named_with_a_next_step() {
    let dir = tempfile::tempdir().unwrap();
    // keyguard() clears the environment: no session bus to find.
    let vars = [(
        "KEYGUARD_KEYSTORE".to_string(),
        "secret-service".to_string(),
    )];
    let r = run_with(kg(dir.path(), &vars), &["key", "get", "openai"], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("Secret Service"), "{}", r.stderr);
    assert!(r.stderr.contains("not available"), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(!r.stderr.contains("No matching credential"), "{}", r.stderr);
}

#[test]
fn run_passes_plain_env_file_values_and_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app.env", "GREETING=\"hello there\"\n");
    let r = run_with(
        kg(dir.path(), &[]),
        &[
            "run",
            "--env-file",
            "app.env",
            "--",
            "sh",
            "-c",
            "printf '%s' \"$GREETING\"; exit 7",
        ],
        None,
    );
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert_eq!(r.stdout, "hello there");
}

#[test]
fn run_never_echoes_a_key_written_where_a_key_name_belongs() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("ghp_{}", Fakes::new(9).alnum(36));
    write(
        dir.path(),
        "keyguard.toml",
        format!("[env]\nGITHUB_TOKEN = \"{key}\"\n"),
    );
    let r = run_with(kg(dir.path(), &[]), &["run", "--", "env"], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains(&key), "{}", r.stderr);
    assert!(!r.stdout.contains(&key), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("[env] GITHUB_TOKEN: the value is not a key name"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("which is not in profile"),
        "{}",
        r.stderr
    );

    write(dir.path(), "keyguard.toml", "");
    write(dir.path(), "app.env", format!("T=keyguard:{key}=\n"));
    let r = run_with(
        kg(dir.path(), &[]),
        &["run", "--env-file", "app.env", "--", "env"],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains(&key), "{}", r.stderr);
    assert!(r.stderr.contains("app.env line 1"), "{}", r.stderr);
}

#[test]
fn run_exits_127_or_126_when_the_command_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(
        kg(dir.path(), &[]),
        &["run", "--", "no-such-command-kg-test"],
        None,
    );
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(r.stderr.contains("command not found"), "{}", r.stderr);
    #[cfg(unix)]
    {
        write(dir.path(), "script.sh", "#!/bin/sh\nexit 0\n");
        let r = run_with(kg(dir.path(), &[]), &["run", "--", "./script.sh"], None);
        assert_eq!(r.code, 126, "{}", r.stderr);
        assert!(r.stderr.contains("not executable"), "{}", r.stderr);
    }
}

#[test]
fn run_without_a_command_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(kg(dir.path(), &[]), &["run"], None);
    assert_eq!(r.code, 2);
}

#[test]
fn secret_service_set_get_list_rm() {
    let Some(vars) = secret_service() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = fake_openai(1);
    let name = unique("openai");
    let mut input = key.clone().into_bytes();
    input.push(b'\n');
    let r = run_with(
        kg(dir.path(), &vars),
        &["key", "set", &name, "--stdin"],
        Some(&input),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("trailing newline"), "{}", r.stderr);
    assert!(r.stderr.contains("(openai)"), "{}", r.stderr);
    assert!(r.stderr.contains("Secret Service"), "{}", r.stderr);
    assert!(!r.stderr.contains(&key) && !r.stdout.contains(&key));

    // Into a pipe: the key in full.
    let r = run_with(kg(dir.path(), &vars), &["key", "get", &name], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("{key}\n"));

    let r = run_with(kg(dir.path(), &vars), &["key", "list"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("store: secret-service"),
        "{}",
        r.stdout
    );
    let row = r.stdout.lines().find(|l| l.contains(&name)).unwrap();
    assert!(row.contains("openai"), "{row}");
    assert!(row.contains("sk-proj-…"), "{row}");
    assert!(!r.stdout.contains(&key));

    let index = dir.path().join("config/keyguard/keys.json");
    let text = std::fs::read_to_string(&index).unwrap();
    assert!(text.contains(&name) && !text.contains(&key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&index).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let r = run_with(kg(dir.path(), &vars), &["key", "rm", &name], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_with(kg(dir.path(), &vars), &["key", "get", &name], None);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!("no key `{name}`")),
        "{}",
        r.stderr
    );
}

#[test]
fn secret_service_profiles_are_separate() {
    let Some(vars) = secret_service() else { return };
    let dir = tempfile::tempdir().unwrap();
    let name = unique("groq");
    for (profile, value) in [("dev", "dev-value-1234"), ("prod", "prod-value-5678")] {
        let cmd = kg(dir.path(), &vars);
        let r = run_with(
            cmd,
            &["key", "set", &name, "--profile", profile, "--stdin"],
            Some(value.as_bytes()),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    for (profile, value) in [("dev", "dev-value-1234"), ("prod", "prod-value-5678")] {
        let r = run_with(
            kg(dir.path(), &vars),
            &["key", "get", &name, "--profile", profile],
            None,
        );
        assert_eq!(r.stdout, format!("{value}\n"), "{}", r.stderr);
    }
    let r = run_with(kg(dir.path(), &vars), &["key", "get", &name], None);
    assert_eq!(r.code, 2, "the default profile has no such key");
    let r = run_with(
        kg(dir.path(), &vars),
        &["key", "list", "--profile", "prod"],
        None,
    );
    assert!(
        r.stdout.contains("prod") && !r.stdout.contains("dev "),
        "{}",
        r.stdout
    );
    for profile in ["dev", "prod"] {
        run_with(
            kg(dir.path(), &vars),
            &["key", "rm", &name, "--profile", profile],
            None,
        );
    }
}

#[test]
fn secret_service_run_maps_keys_and_refuses_unknown_ones() {
    let Some(vars) = secret_service() else { return };
    let dir = tempfile::tempdir().unwrap();
    let name = unique("anthropic");
    let mut cmd = kg(dir.path(), &vars);
    cmd.env("THE_KEY", "value-from-env-9876");
    let r = run_with(
        cmd,
        &[
            "key",
            "set",
            &name,
            "--from-env",
            "THE_KEY",
            "-p",
            "staging",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    write(
        dir.path(),
        "keyguard.toml",
        format!("[env]\nFROM_CONFIG = \"{name}\"\n"),
    );
    write(
        dir.path(),
        "app.env",
        format!("FROM_FILE=keyguard:{name}\n"),
    );
    let r = run_with(
        kg(dir.path(), &vars),
        &[
            "run",
            "--profile",
            "staging",
            "--env-file",
            "app.env",
            "--",
            "sh",
            "-c",
            "printf '%s,%s' \"$FROM_CONFIG\" \"$FROM_FILE\"; exit 3",
        ],
        None,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stdout, "value-from-env-9876,value-from-env-9876");

    // An unknown name: named, exit 2, the command never starts.
    write(dir.path(), "bad.env", "OTHER=keyguard:no-such-key\n");
    let marker = dir.path().join("started");
    let r = run_with(
        kg(dir.path(), &vars),
        &[
            "run",
            "-p",
            "staging",
            "--env-file",
            "bad.env",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("`no-such-key`"), "{}", r.stderr);
    assert!(!marker.exists(), "the command must not start");
    run_with(
        kg(dir.path(), &vars),
        &["key", "rm", &name, "-p", "staging"],
        None,
    );
}

#[test]
fn secret_service_import_moves_env_file_secrets() {
    let Some(vars) = secret_service() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = fake_openai(7);
    let profile = unique("imp");
    let profile = &profile[..profile.len().min(60)];
    let original = format!("# app settings\nDEBUG=true\nOPENAI_API_KEY=\"{key}\"\n");
    write(dir.path(), ".env", &original);
    // No terminal to confirm on: --yes is required.
    let r = run_with(
        kg(dir.path(), &vars),
        &["key", "import", ".env", "-p", profile],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env")).unwrap(),
        original
    );

    let r = run_with(
        kg(dir.path(), &vars),
        &["key", "import", ".env", "-p", profile, "--yes"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains(&key));
    let rewritten = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert_eq!(
        rewritten,
        "# app settings\nDEBUG=true\nOPENAI_API_KEY=keyguard:OPENAI_API_KEY\n"
    );
    let backup = std::fs::read_to_string(dir.path().join(".env.keyguard-backup")).unwrap();
    assert_eq!(backup, original);

    let r = run_with(
        kg(dir.path(), &vars),
        &[
            "run",
            "-p",
            profile,
            "--env-file",
            ".env",
            "--",
            "sh",
            "-c",
            "printf '%s %s' \"$DEBUG\" \"$OPENAI_API_KEY\"",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("true {key}"));
    run_with(
        kg(dir.path(), &vars),
        &["key", "rm", "OPENAI_API_KEY", "-p", profile],
        None,
    );
}

#[test]
fn secret_service_import_never_replaces_a_key_or_a_backup_unasked() {
    let Some(vars) = secret_service() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (fake_openai(21), fake_openai(22));
    let profile = unique("imp2");
    let profile = &profile[..profile.len().min(60)];
    let import = |extra: &[&str]| {
        let mut args = vec!["key", "import", ".env", "-p", profile, "--yes"];
        args.extend_from_slice(extra);
        run_with(kg(dir.path(), &vars), &args, None)
    };
    let get = || {
        run_with(
            kg(dir.path(), &vars),
            &["key", "get", "OPENAI_API_KEY", "-p", profile],
            None,
        )
        .stdout
    };
    let original = format!("OPENAI_API_KEY={first}\n");
    write(dir.path(), ".env", &original);
    let r = import(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The same variable with another value: refused, naming the variable only.
    let again = format!("OPENAI_API_KEY={second}\n");
    write(dir.path(), ".env", &again);
    let r = import(&[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("OPENAI_API_KEY"), "{}", r.stderr);
    assert!(r.stderr.contains("different value"), "{}", r.stderr);
    assert!(!r.stderr.contains(&first) && !r.stderr.contains(&second));
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env")).unwrap(),
        again
    );
    assert!(!dir.path().join(".env.keyguard-backup.1").exists());
    assert_eq!(get(), format!("{first}\n"));

    // --force replaces, says so, and keeps the first backup beside a new one.
    let r = import(&["--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("replaced OPENAI_API_KEY"), "{}", r.stderr);
    assert_eq!(get(), format!("{second}\n"));
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(read(".env.keyguard-backup"), original);
    assert_eq!(read(".env.keyguard-backup.1"), again);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(".env.keyguard-backup.1"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    run_with(
        kg(dir.path(), &vars),
        &["key", "rm", "OPENAI_API_KEY", "-p", profile],
        None,
    );
}

#[test]
fn import_refuses_a_variable_set_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (fake_openai(31), fake_openai(32));
    let original = format!("D={a}\nD={b}\n");
    write(dir.path(), "dup.env", &original);
    let r = run_with(
        kg(dir.path(), &[]),
        &["key", "import", "dup.env", "--yes"],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("D set more than once"), "{}", r.stderr);
    assert!(!r.stderr.contains(&a) && !r.stderr.contains(&b));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("dup.env")).unwrap(),
        original
    );
    assert!(!dir.path().join("dup.env.keyguard-backup").exists());
}

#[test]
fn secret_service_set_warns_when_the_key_sits_in_the_repository() {
    let Some(vars) = secret_service() else { return };
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init(dir.path()).unwrap();
    let key = fake_openai(11);
    write(
        dir.path(),
        "src/config.js",
        format!("const k = \"{key}\";\n"),
    );
    let name = unique("leaked");
    let r = run_with(
        kg(dir.path(), &vars),
        &["key", "set", &name, "--stdin"],
        Some(key.as_bytes()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("src/config.js"), "{}", r.stderr);
    assert!(!r.stderr.contains("trailing newline"), "{}", r.stderr);
    assert!(!r.stderr.contains(&key));
    run_with(kg(dir.path(), &vars), &["key", "rm", &name], None);
}

#[cfg(target_os = "linux")]
#[test]
fn keyutils_set_and_get_in_one_session_keyring() {
    if Command::new("keyctl").arg("--version").output().is_err() {
        skip_missing("keyctl (package keyutils), for a session keyring");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_keyguard");
    // One session keyring for both commands: `keyctl session - CMD` makes one and runs CMD in it.
    let script = format!(
        "set -e; '{bin}' key set ku --from-env KU_VALUE; '{bin}' key get ku; '{bin}' key list"
    );
    let out = keyguard_env(dir.path())
        .env("KEYGUARD_KEYSTORE", "keyutils")
        .env("KU_VALUE", "keyutils-value-4321")
        .args(["session", "-", "sh", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("keyutils-value-4321\n"), "{stdout}");
    assert!(stdout.contains("store: keyutils"), "{stdout}");
}

/// `keyctl` with keyguard's clean test environment.
#[cfg(target_os = "linux")]
fn keyguard_env(dir: &Path) -> Command {
    let mut cmd = Command::new("keyctl");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .current_dir(dir);
    cmd
}

/// The hidden prompt and the terminal-only behaviours, through a pseudo-terminal.
#[cfg(unix)]
mod pty {
    use super::*;
    use rexpect::session::spawn_command;

    /// The exit code, read from the `Exited(pid, code)` status (rexpect keeps nix's type private).
    fn exit_code(p: &mut rexpect::session::PtySession) -> i32 {
        let status = format!("{:?}", p.process_mut().wait().unwrap());
        status
            .strip_prefix("Exited(")
            .and_then(|s| s.strip_suffix(')'))
            .and_then(|s| s.rsplit(", ").next())
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("keyguard did not exit: {status}"))
    }

    #[test]
    fn secret_service_pty_prompt_hides_input_and_get_redacts_on_a_terminal() {
        let Some(vars) = secret_service() else { return };
        let dir = tempfile::tempdir().unwrap();
        let key = fake_openai(21);
        let name = unique("pty");

        let mut cmd = kg(dir.path(), &vars);
        cmd.args(["key", "set", &name]);
        let mut p = spawn_command(cmd, Some(20_000)).unwrap();
        p.exp_string("input is hidden): ").unwrap();
        p.send_line(&key).unwrap();
        let shown = p.exp_eof().unwrap();
        assert!(shown.contains("stored key"), "{shown}");
        assert!(shown.contains("(openai)"), "{shown}");
        assert!(!shown.contains(&key), "the typed key was echoed: {shown}");
        assert_eq!(exit_code(&mut p), 0);

        let mut cmd = kg(dir.path(), &vars);
        cmd.args(["key", "get", &name]);
        let mut p = spawn_command(cmd, Some(20_000)).unwrap();
        let shown = p.exp_eof().unwrap();
        // rexpect reads bytes as Latin-1: the ellipsis arrives mangled, so look at both ends.
        assert!(shown.contains("sk-proj-"), "{shown}");
        assert!(shown.contains(&key[key.len() - 4..]), "{shown}");
        assert!(shown.contains("--reveal"), "{shown}");
        assert!(!shown.contains(&key), "{shown}");
        assert_eq!(exit_code(&mut p), 0);

        let mut cmd = kg(dir.path(), &vars);
        cmd.args(["key", "get", &name, "--reveal"]);
        let mut p = spawn_command(cmd, Some(20_000)).unwrap();
        let shown = p.exp_eof().unwrap();
        assert!(shown.contains(&key), "{shown}");
        run_with(kg(dir.path(), &vars), &["key", "rm", &name], None);
    }

    #[test]
    fn secret_service_pty_import_asks_first() {
        let Some(vars) = secret_service() else { return };
        let dir = tempfile::tempdir().unwrap();
        let original = format!("OPENAI_API_KEY={}\n", fake_openai(22));
        write(dir.path(), ".env", &original);
        let mut cmd = kg(dir.path(), &vars);
        cmd.args(["key", "import", ".env", "-p", "ptyimport"]);
        let mut p = spawn_command(cmd, Some(20_000)).unwrap();
        p.exp_string("[y/N]").unwrap();
        p.send_line("n").unwrap();
        let shown = p.exp_eof().unwrap();
        assert!(shown.contains("nothing changed"), "{shown}");
        assert_eq!(exit_code(&mut p), 0);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".env")).unwrap(),
            original
        );
        assert!(!dir.path().join(".env.keyguard-backup").exists());
    }
}

/// `run` replaces itself with the command: the command has keyguard's process id.
#[cfg(unix)]
#[test]
fn run_execs_the_command_in_its_own_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = kg(dir.path(), &[]);
    cmd.args(["run", "--", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pid.to_string());
}
