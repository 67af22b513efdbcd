
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'keyguard' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'keyguard'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'keyguard' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Scan files and directories for secrets')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Set a repository up so keys stay out: .gitignore, .env.example, the pre-commit hook')
            [CompletionResult]::new('hook', 'hook', [CompletionResultType]::ParameterValue, 'Install or remove the git pre-commit hook that runs `keyguard scan staged`')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List the rule catalogue (what keyguard finds)')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Keep API keys in the OS keychain instead of files')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command with keys from the keychain in its environment')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check whether keys are live, by asking their providers (read-only, free calls)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'After a leak: replace a key, revoke the old one, prove it dead, and keep a record')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the backend proxy: clients call it with a keyguard token, it adds the provider key')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Issue, list and revoke the client tokens of `keyguard serve` (the proxy''s users)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to standard output')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;scan' {
            [CompletionResult]::new('--max-file-size', '--max-file-size', [CompletionResultType]::ParameterName, 'Skip files larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the report to FILE (created 0600, replaced atomically) instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the report to FILE (created 0600, replaced atomically) instead of standard output')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Hide findings whose rule and secret appear in this earlier JSON report')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this keyguard.toml instead of looking in the scanned directory and here')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured in auto mode)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Number of threads [default: number of CPUs]')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Number of threads [default: number of CPUs]')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Follow symbolic links (loops are detected and skipped)')
            [CompletionResult]::new('--no-ignore', '--no-ignore', [CompletionResultType]::ParameterName, 'Don''t honour .gitignore, .ignore and .keyguardignore')
            [CompletionResult]::new('--all-rules', '--all-rules', [CompletionResultType]::ParameterName, 'Also run optional rules (identifiers such as bucket names and ARNs; see `keyguard rules`)')
            [CompletionResult]::new('--show-secrets', '--show-secrets', [CompletionResultType]::ParameterName, 'Print secrets in full instead of redacted (keep such reports private)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no summary or warnings on standard error')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no summary or warnings on standard error')
            [CompletionResult]::new('--exit-zero', '--exit-zero', [CompletionResultType]::ParameterName, 'Exit 0 even when secrets are found (errors still exit 2)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('git', 'git', [CompletionResultType]::ParameterValue, 'Scan a repository''s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more')
            [CompletionResult]::new('staged', 'staged', [CompletionResultType]::ParameterValue, 'Scan what `git commit` would record now, reporting only keys on added lines')
            [CompletionResult]::new('bundle', 'bundle', [CompletionResultType]::ParameterValue, 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;scan;git' {
            [CompletionResult]::new('--range', '--range', [CompletionResultType]::ParameterName, 'Only commits in this range (`A..B`: reachable from B, not from A) and the blobs they add')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only commits made on or after DATE (2024-01-31, an RFC 3339 time, or `90 days ago`)')
            [CompletionResult]::new('--branch', '--branch', [CompletionResultType]::ParameterName, 'Only this branch, tag or other ref (repeatable) instead of every ref')
            [CompletionResult]::new('--max-file-size', '--max-file-size', [CompletionResultType]::ParameterName, 'Skip blobs larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the report to FILE (created 0600, replaced atomically) instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the report to FILE (created 0600, replaced atomically) instead of standard output')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Hide findings whose rule and secret appear in this earlier JSON report')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this keyguard.toml instead of looking in the scanned directory and here')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured in auto mode)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Number of threads [default: number of CPUs]')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Number of threads [default: number of CPUs]')
            [CompletionResult]::new('--reachable-only', '--reachable-only', [CompletionResultType]::ParameterName, 'Skip objects that no ref reaches (dangling commits and blobs)')
            [CompletionResult]::new('--submodules', '--submodules', [CompletionResultType]::ParameterName, 'Also scan the histories of submodules that are checked out')
            [CompletionResult]::new('--all-rules', '--all-rules', [CompletionResultType]::ParameterName, 'Also run optional rules (identifiers such as bucket names and ARNs)')
            [CompletionResult]::new('--show-secrets', '--show-secrets', [CompletionResultType]::ParameterName, 'Print secrets in full instead of redacted (keep such reports private)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no summary or warnings on standard error')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no summary or warnings on standard error')
            [CompletionResult]::new('--exit-zero', '--exit-zero', [CompletionResultType]::ParameterName, 'Exit 0 even when secrets are found (errors still exit 2)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;scan;staged' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'The repository [default: as git finds it: GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE, else the current directory''s; with -C those variables are ignored]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository [default: as git finds it: GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE, else the current directory''s; with -C those variables are ignored]')
            [CompletionResult]::new('--max-file-size', '--max-file-size', [CompletionResultType]::ParameterName, 'Skip staged files larger than this [default: 64MiB, or [scan] max_file_size]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the report to FILE (created 0600, replaced atomically) instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the report to FILE (created 0600, replaced atomically) instead of standard output')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Hide findings whose rule and secret appear in this earlier JSON report')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this keyguard.toml instead of looking in the scanned directory and here')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured in auto mode)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Number of threads [default: number of CPUs]')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Number of threads [default: number of CPUs]')
            [CompletionResult]::new('--all-rules', '--all-rules', [CompletionResultType]::ParameterName, 'Also run optional rules (identifiers such as bucket names and ARNs)')
            [CompletionResult]::new('--show-secrets', '--show-secrets', [CompletionResultType]::ParameterName, 'Print secrets in full instead of redacted (keep such reports private)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no summary or warnings on standard error')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no summary or warnings on standard error')
            [CompletionResult]::new('--exit-zero', '--exit-zero', [CompletionResultType]::ParameterName, 'Exit 0 even when secrets are found (errors still exit 2)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;scan;bundle' {
            [CompletionResult]::new('--max-file-size', '--max-file-size', [CompletionResultType]::ParameterName, 'Skip files larger than this [default: 64MiB, or [scan] max_file_size]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the report to FILE (created 0600, replaced atomically) instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the report to FILE (created 0600, replaced atomically) instead of standard output')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Hide findings whose rule and secret appear in this earlier JSON report')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this keyguard.toml instead of looking in the scanned directory and here')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured in auto mode)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Number of threads [default: number of CPUs]')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Number of threads [default: number of CPUs]')
            [CompletionResult]::new('--all-rules', '--all-rules', [CompletionResultType]::ParameterName, 'Also run optional rules (identifiers such as bucket names and ARNs)')
            [CompletionResult]::new('--show-secrets', '--show-secrets', [CompletionResultType]::ParameterName, 'Print secrets in full instead of redacted (keep such reports private)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no summary or warnings on standard error')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no summary or warnings on standard error')
            [CompletionResult]::new('--exit-zero', '--exit-zero', [CompletionResultType]::ParameterName, 'Exit 0 even when secrets are found (errors still exit 2)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;scan;help' {
            [CompletionResult]::new('git', 'git', [CompletionResultType]::ParameterValue, 'Scan a repository''s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more')
            [CompletionResult]::new('staged', 'staged', [CompletionResultType]::ParameterValue, 'Scan what `git commit` would record now, reporting only keys on added lines')
            [CompletionResult]::new('bundle', 'bundle', [CompletionResultType]::ParameterValue, 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;scan;help;git' {
            break
        }
        'keyguard;scan;help;staged' {
            break
        }
        'keyguard;scan;help;bundle' {
            break
        }
        'keyguard;scan;help;help' {
            break
        }
        'keyguard;init' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The repository to set up [default: the one the current directory is in]')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply every change without asking (needed when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply every change without asking (needed when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;hook' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove keyguard''s pre-commit hook and restore the hook that was there before')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;hook;install' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'The repository [default: the one the current directory is in]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository [default: the one the current directory is in]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;hook;uninstall' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'The repository [default: the one the current directory is in]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository [default: the one the current directory is in]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;hook;help' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove keyguard''s pre-commit hook and restore the hook that was there before')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;hook;help;install' {
            break
        }
        'keyguard;hook;help;uninstall' {
            break
        }
        'keyguard;hook;help;help' {
            break
        }
        'keyguard;rules' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Only rules of this provider (e.g. openai)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Also load extra rules from this keyguard.toml')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;key' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print a key: in full into a pipe or with --reveal, redacted on a terminal')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored keys: name, provider, redacted form, when set and rotated (no values)')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a key from the keychain')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Move the secrets of an env file into the keychain and remove them from the file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;key;set' {
            [CompletionResult]::new('--from-env', '--from-env', [CompletionResultType]::ParameterName, 'Read the key from this environment variable')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--stdin', '--stdin', [CompletionResultType]::ParameterName, 'Read the key from standard input')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;key;get' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Print the key in full even on a terminal (it stays in the scroll-back)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;key;list' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only this profile [default: every profile]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Only this profile [default: every profile]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;key;rm' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;key;import' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Don''t ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Don''t ask for confirmation')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace keys already stored with a different value, and accept a variable set twice in the file (the last line wins)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;key;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print a key: in full into a pipe or with --reveal, redacted on a terminal')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored keys: name, provider, redacted form, when set and rotated (no values)')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a key from the keychain')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Move the secrets of an env file into the keychain and remove them from the file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;key;help;set' {
            break
        }
        'keyguard;key;help;get' {
            break
        }
        'keyguard;key;help;list' {
            break
        }
        'keyguard;key;help;rm' {
            break
        }
        'keyguard;key;help;import' {
            break
        }
        'keyguard;key;help;help' {
            break
        }
        'keyguard;run' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Also read variables from this env file; values `keyguard:NAME` come from the keychain')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this keyguard.toml instead of the one in the current directory')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;verify' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Check this keychain entry instead of reading standard input (repeatable)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Check every key with this provider''s adapter instead of recognising it by format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for each call to a provider, in seconds')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured in auto mode)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;rotate' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Keychain entry holding the old key; the new key is stored there')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries')
            [CompletionResult]::new('--secret-hash', '--secret-hash', [CompletionResultType]::ParameterName, 'Find the old key by the secret_hash of a scan finding (scans --repo: files and history)')
            [CompletionResult]::new('--new-key-env', '--new-key-env', [CompletionResultType]::ParameterName, 'Read the new key from this environment variable')
            [CompletionResult]::new('--admin-key', '--admin-key', [CompletionResultType]::ParameterName, 'Keychain entry holding the provider''s admin credential (else its environment variable)')
            [CompletionResult]::new('--param', '--param', [CompletionResultType]::ParameterName, 'A provider setting, e.g. --param project=proj_abc (also KEYGUARD_<PROVIDER>_<NAME>)')
            [CompletionResult]::new('--deploy', '--deploy', [CompletionResultType]::ParameterName, 'Print the commands that update these deployments: vercel, netlify, fly, render, railway, heroku, aws-secrets-manager, gcp-secret-manager, doppler, vault, github-actions')
            [CompletionResult]::new('--env-name', '--env-name', [CompletionResultType]::ParameterName, 'The variable the app reads the key from [default: from keyguard.toml [env], else the provider''s usual name, e.g. OPENAI_API_KEY]')
            [CompletionResult]::new('--resume', '--resume', [CompletionResultType]::ParameterName, 'Continue an interrupted rotation (the newest unfinished one, or ID)')
            [CompletionResult]::new('--record-dir', '--record-dir', [CompletionResultType]::ParameterName, 'Where the incident record (and the run''s state) is written')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository to audit for the old key (and to search with --secret-hash)')
            [CompletionResult]::new('--prove-timeout', '--prove-timeout', [CompletionResultType]::ParameterName, 'How long step 6 checks that the old key is dead')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to the provider')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List the providers, what each can do by API, and the settings they need')
            [CompletionResult]::new('--old-key-stdin', '--old-key-stdin', [CompletionResultType]::ParameterName, 'Read the old key from standard input instead of the keychain')
            [CompletionResult]::new('--new-key-stdin', '--new-key-stdin', [CompletionResultType]::ParameterName, 'Read the new key from standard input')
            [CompletionResult]::new('--revoke-first', '--revoke-first', [CompletionResultType]::ParameterName, 'Revoke the old key before the new one is in place (it is being abused right now)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan; read no key, make no request, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to every confirmation (deployments updated, revoke, revoked by hand)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to every confirmation (deployments updated, revoke, revoked by hand)')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt, even on a terminal: every answer comes from flags, environment or stdin')
            [CompletionResult]::new('--no-audit', '--no-audit', [CompletionResultType]::ParameterName, 'Skip step 7 (where the old key still sits)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;serve' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this configuration file instead of ./keyguard.toml')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on [default: [serve] listen, else 127.0.0.1:8787]. The only way to listen beyond this machine (0.0.0.0:8787, a LAN address): put it behind TLS, a reverse proxy')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]')
            [CompletionResult]::new('--log-bodies', '--log-bodies', [CompletionResultType]::ParameterName, 'Log request and response bodies (prompts and answers) on each request''s log line, with provider keys, client tokens and anything the rule catalogue recognises replaced. Streamed answers are not logged, their requests are')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;token' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('issue', 'issue', [CompletionResultType]::ParameterValue, 'Create a token for a user and print it once, alone on standard output')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List tokens: id, user, created, expires, status (never a token or its hash)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke the token with this id, or every token of this user')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;token;issue' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user the token acts for (limits are counted per user)')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Lifetime, such as 90m, 12h, 30d or 2w [default: never expires]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this configuration file instead of ./keyguard.toml')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;token;list' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this configuration file instead of ./keyguard.toml')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;token;revoke' {
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'Revoke only the token with this id')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Revoke every token of this user')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this configuration file instead of ./keyguard.toml')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;token;help' {
            [CompletionResult]::new('issue', 'issue', [CompletionResultType]::ParameterValue, 'Create a token for a user and print it once, alone on standard output')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List tokens: id, user, created, expires, status (never a token or its hash)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke the token with this id, or every token of this user')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;token;help;issue' {
            break
        }
        'keyguard;token;help;list' {
            break
        }
        'keyguard;token;help;revoke' {
            break
        }
        'keyguard;token;help;help' {
            break
        }
        'keyguard;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keyguard;help' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Scan files and directories for secrets')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Set a repository up so keys stay out: .gitignore, .env.example, the pre-commit hook')
            [CompletionResult]::new('hook', 'hook', [CompletionResultType]::ParameterValue, 'Install or remove the git pre-commit hook that runs `keyguard scan staged`')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List the rule catalogue (what keyguard finds)')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Keep API keys in the OS keychain instead of files')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command with keys from the keychain in its environment')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check whether keys are live, by asking their providers (read-only, free calls)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'After a leak: replace a key, revoke the old one, prove it dead, and keep a record')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the backend proxy: clients call it with a keyguard token, it adds the provider key')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Issue, list and revoke the client tokens of `keyguard serve` (the proxy''s users)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to standard output')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'keyguard;help;scan' {
            [CompletionResult]::new('git', 'git', [CompletionResultType]::ParameterValue, 'Scan a repository''s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more')
            [CompletionResult]::new('staged', 'staged', [CompletionResultType]::ParameterValue, 'Scan what `git commit` would record now, reporting only keys on added lines')
            [CompletionResult]::new('bundle', 'bundle', [CompletionResultType]::ParameterValue, 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser')
            break
        }
        'keyguard;help;scan;git' {
            break
        }
        'keyguard;help;scan;staged' {
            break
        }
        'keyguard;help;scan;bundle' {
            break
        }
        'keyguard;help;init' {
            break
        }
        'keyguard;help;hook' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove keyguard''s pre-commit hook and restore the hook that was there before')
            break
        }
        'keyguard;help;hook;install' {
            break
        }
        'keyguard;help;hook;uninstall' {
            break
        }
        'keyguard;help;rules' {
            break
        }
        'keyguard;help;key' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print a key: in full into a pipe or with --reveal, redacted on a terminal')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored keys: name, provider, redacted form, when set and rotated (no values)')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a key from the keychain')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Move the secrets of an env file into the keychain and remove them from the file')
            break
        }
        'keyguard;help;key;set' {
            break
        }
        'keyguard;help;key;get' {
            break
        }
        'keyguard;help;key;list' {
            break
        }
        'keyguard;help;key;rm' {
            break
        }
        'keyguard;help;key;import' {
            break
        }
        'keyguard;help;run' {
            break
        }
        'keyguard;help;verify' {
            break
        }
        'keyguard;help;rotate' {
            break
        }
        'keyguard;help;serve' {
            break
        }
        'keyguard;help;token' {
            [CompletionResult]::new('issue', 'issue', [CompletionResultType]::ParameterValue, 'Create a token for a user and print it once, alone on standard output')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List tokens: id, user, created, expires, status (never a token or its hash)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke the token with this id, or every token of this user')
            break
        }
        'keyguard;help;token;issue' {
            break
        }
        'keyguard;help;token;list' {
            break
        }
        'keyguard;help;token;revoke' {
            break
        }
        'keyguard;help;completions' {
            break
        }
        'keyguard;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
