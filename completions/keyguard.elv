
use builtin;
use str;

set edit:completion:arg-completer[keyguard] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'keyguard'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'keyguard'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand scan 'Scan files and directories for secrets'
            cand init 'Set a repository up so keys stay out: .gitignore, .env.example, the pre-commit hook'
            cand hook 'Install or remove the git pre-commit hook that runs `keyguard scan staged`'
            cand rules 'List the rule catalogue (what keyguard finds)'
            cand key 'Keep API keys in the OS keychain instead of files'
            cand run 'Run a command with keys from the keychain in its environment'
            cand verify 'Check whether keys are live, by asking their providers (read-only, free calls)'
            cand rotate 'After a leak: replace a key, revoke the old one, prove it dead, and keep a record'
            cand serve 'Run the backend proxy: clients call it with a keyguard token, it adds the provider key'
            cand token 'Issue, list and revoke the client tokens of `keyguard serve` (the proxy''s users)'
            cand completions 'Print a shell completion script to standard output'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;scan'= {
            cand --max-file-size 'Skip files larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]'
            cand --format 'Report format'
            cand -o 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --output 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --baseline 'Hide findings whose rule and secret appear in this earlier JSON report'
            cand --config 'Read this keyguard.toml instead of looking in the scanned directory and here'
            cand --color 'When to use colour (NO_COLOR is honoured in auto mode)'
            cand -j 'Number of threads [default: number of CPUs]'
            cand --threads 'Number of threads [default: number of CPUs]'
            cand --follow 'Follow symbolic links (loops are detected and skipped)'
            cand --no-ignore 'Don''t honour .gitignore, .ignore and .keyguardignore'
            cand --all-rules 'Also run optional rules (identifiers such as bucket names and ARNs; see `keyguard rules`)'
            cand --show-secrets 'Print secrets in full instead of redacted (keep such reports private)'
            cand -q 'Print no summary or warnings on standard error'
            cand --quiet 'Print no summary or warnings on standard error'
            cand --exit-zero 'Exit 0 even when secrets are found (errors still exit 2)'
            cand --verify 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand git 'Scan a repository''s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more'
            cand staged 'Scan what `git commit` would record now, reporting only keys on added lines'
            cand bundle 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;scan;git'= {
            cand --range 'Only commits in this range (`A..B`: reachable from B, not from A) and the blobs they add'
            cand --since 'Only commits made on or after DATE (2024-01-31, an RFC 3339 time, or `90 days ago`)'
            cand --branch 'Only this branch, tag or other ref (repeatable) instead of every ref'
            cand --max-file-size 'Skip blobs larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]'
            cand --format 'Report format'
            cand -o 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --output 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --baseline 'Hide findings whose rule and secret appear in this earlier JSON report'
            cand --config 'Read this keyguard.toml instead of looking in the scanned directory and here'
            cand --color 'When to use colour (NO_COLOR is honoured in auto mode)'
            cand -j 'Number of threads [default: number of CPUs]'
            cand --threads 'Number of threads [default: number of CPUs]'
            cand --reachable-only 'Skip objects that no ref reaches (dangling commits and blobs)'
            cand --submodules 'Also scan the histories of submodules that are checked out'
            cand --all-rules 'Also run optional rules (identifiers such as bucket names and ARNs)'
            cand --show-secrets 'Print secrets in full instead of redacted (keep such reports private)'
            cand -q 'Print no summary or warnings on standard error'
            cand --quiet 'Print no summary or warnings on standard error'
            cand --exit-zero 'Exit 0 even when secrets are found (errors still exit 2)'
            cand --verify 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;scan;staged'= {
            cand -C 'The repository [default: as git finds it: GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE, else the current directory''s; with -C those variables are ignored]'
            cand --repo 'The repository [default: as git finds it: GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE, else the current directory''s; with -C those variables are ignored]'
            cand --max-file-size 'Skip staged files larger than this [default: 64MiB, or [scan] max_file_size]'
            cand --format 'Report format'
            cand -o 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --output 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --baseline 'Hide findings whose rule and secret appear in this earlier JSON report'
            cand --config 'Read this keyguard.toml instead of looking in the scanned directory and here'
            cand --color 'When to use colour (NO_COLOR is honoured in auto mode)'
            cand -j 'Number of threads [default: number of CPUs]'
            cand --threads 'Number of threads [default: number of CPUs]'
            cand --all-rules 'Also run optional rules (identifiers such as bucket names and ARNs)'
            cand --show-secrets 'Print secrets in full instead of redacted (keep such reports private)'
            cand -q 'Print no summary or warnings on standard error'
            cand --quiet 'Print no summary or warnings on standard error'
            cand --exit-zero 'Exit 0 even when secrets are found (errors still exit 2)'
            cand --verify 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;scan;bundle'= {
            cand --max-file-size 'Skip files larger than this [default: 64MiB, or [scan] max_file_size]'
            cand --format 'Report format'
            cand -o 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --output 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --baseline 'Hide findings whose rule and secret appear in this earlier JSON report'
            cand --config 'Read this keyguard.toml instead of looking in the scanned directory and here'
            cand --color 'When to use colour (NO_COLOR is honoured in auto mode)'
            cand -j 'Number of threads [default: number of CPUs]'
            cand --threads 'Number of threads [default: number of CPUs]'
            cand --all-rules 'Also run optional rules (identifiers such as bucket names and ARNs)'
            cand --show-secrets 'Print secrets in full instead of redacted (keep such reports private)'
            cand -q 'Print no summary or warnings on standard error'
            cand --quiet 'Print no summary or warnings on standard error'
            cand --exit-zero 'Exit 0 even when secrets are found (errors still exit 2)'
            cand --verify 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;scan;help'= {
            cand git 'Scan a repository''s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more'
            cand staged 'Scan what `git commit` would record now, reporting only keys on added lines'
            cand bundle 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;scan;help;git'= {
        }
        &'keyguard;scan;help;staged'= {
        }
        &'keyguard;scan;help;bundle'= {
        }
        &'keyguard;scan;help;help'= {
        }
        &'keyguard;init'= {
            cand --dir 'The repository to set up [default: the one the current directory is in]'
            cand -y 'Apply every change without asking (needed when there is no terminal)'
            cand --yes 'Apply every change without asking (needed when there is no terminal)'
            cand --dry-run 'Print the plan and change nothing'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;hook'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand install 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)'
            cand uninstall 'Remove keyguard''s pre-commit hook and restore the hook that was there before'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;hook;install'= {
            cand -C 'The repository [default: the one the current directory is in]'
            cand --repo 'The repository [default: the one the current directory is in]'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;hook;uninstall'= {
            cand -C 'The repository [default: the one the current directory is in]'
            cand --repo 'The repository [default: the one the current directory is in]'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;hook;help'= {
            cand install 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)'
            cand uninstall 'Remove keyguard''s pre-commit hook and restore the hook that was there before'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;hook;help;install'= {
        }
        &'keyguard;hook;help;uninstall'= {
        }
        &'keyguard;hook;help;help'= {
        }
        &'keyguard;rules'= {
            cand --format 'Output format'
            cand --provider 'Only rules of this provider (e.g. openai)'
            cand --config 'Also load extra rules from this keyguard.toml'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;key'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)'
            cand get 'Print a key: in full into a pipe or with --reveal, redacted on a terminal'
            cand list 'List stored keys: name, provider, redacted form, when set and rotated (no values)'
            cand rm 'Delete a key from the keychain'
            cand import 'Move the secrets of an env file into the keychain and remove them from the file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;key;set'= {
            cand --from-env 'Read the key from this environment variable'
            cand -p 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --profile 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --stdin 'Read the key from standard input'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;key;get'= {
            cand -p 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --profile 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --reveal 'Print the key in full even on a terminal (it stays in the scroll-back)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;key;list'= {
            cand -p 'Only this profile [default: every profile]'
            cand --profile 'Only this profile [default: every profile]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;key;rm'= {
            cand -p 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --profile 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;key;import'= {
            cand -p 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --profile 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand -y 'Don''t ask for confirmation'
            cand --yes 'Don''t ask for confirmation'
            cand --force 'Replace keys already stored with a different value, and accept a variable set twice in the file (the last line wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;key;help'= {
            cand set 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)'
            cand get 'Print a key: in full into a pipe or with --reveal, redacted on a terminal'
            cand list 'List stored keys: name, provider, redacted form, when set and rotated (no values)'
            cand rm 'Delete a key from the keychain'
            cand import 'Move the secrets of an env file into the keychain and remove them from the file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;key;help;set'= {
        }
        &'keyguard;key;help;get'= {
        }
        &'keyguard;key;help;list'= {
        }
        &'keyguard;key;help;rm'= {
        }
        &'keyguard;key;help;import'= {
        }
        &'keyguard;key;help;help'= {
        }
        &'keyguard;run'= {
            cand -p 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --profile 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --env-file 'Also read variables from this env file; values `keyguard:NAME` come from the keychain'
            cand --config 'Read this keyguard.toml instead of the one in the current directory'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;verify'= {
            cand --key 'Check this keychain entry instead of reading standard input (repeatable)'
            cand -p 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --profile 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --provider 'Check every key with this provider''s adapter instead of recognising it by format'
            cand --format 'Output format'
            cand --timeout 'Deadline for each call to a provider, in seconds'
            cand --color 'When to use colour (NO_COLOR is honoured in auto mode)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;rotate'= {
            cand --key 'Keychain entry holding the old key; the new key is stored there'
            cand -p 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --profile 'Namespace of keys (dev, staging, prod, ...): each profile''s keys are separate entries'
            cand --secret-hash 'Find the old key by the secret_hash of a scan finding (scans --repo: files and history)'
            cand --new-key-env 'Read the new key from this environment variable'
            cand --admin-key 'Keychain entry holding the provider''s admin credential (else its environment variable)'
            cand --param 'A provider setting, e.g. --param project=proj_abc (also KEYGUARD_<PROVIDER>_<NAME>)'
            cand --deploy 'Print the commands that update these deployments: vercel, netlify, fly, render, railway, heroku, aws-secrets-manager, gcp-secret-manager, doppler, vault, github-actions'
            cand --env-name 'The variable the app reads the key from [default: from keyguard.toml [env], else the provider''s usual name, e.g. OPENAI_API_KEY]'
            cand --resume 'Continue an interrupted rotation (the newest unfinished one, or ID)'
            cand --record-dir 'Where the incident record (and the run''s state) is written'
            cand --repo 'The repository to audit for the old key (and to search with --secret-hash)'
            cand --prove-timeout 'How long step 6 checks that the old key is dead'
            cand --timeout 'Deadline of one request to the provider'
            cand --list 'List the providers, what each can do by API, and the settings they need'
            cand --old-key-stdin 'Read the old key from standard input instead of the keychain'
            cand --new-key-stdin 'Read the new key from standard input'
            cand --revoke-first 'Revoke the old key before the new one is in place (it is being abused right now)'
            cand --dry-run 'Print the plan; read no key, make no request, change nothing'
            cand -y 'Answer yes to every confirmation (deployments updated, revoke, revoked by hand)'
            cand --yes 'Answer yes to every confirmation (deployments updated, revoke, revoked by hand)'
            cand --no-input 'Never prompt, even on a terminal: every answer comes from flags, environment or stdin'
            cand --no-audit 'Skip step 7 (where the old key still sits)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;serve'= {
            cand --config 'Read this configuration file instead of ./keyguard.toml'
            cand --listen 'Address to listen on [default: [serve] listen, else 127.0.0.1:8787]. The only way to listen beyond this machine (0.0.0.0:8787, a LAN address): put it behind TLS, a reverse proxy'
            cand --store 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]'
            cand --log-bodies 'Log request and response bodies (prompts and answers) on each request''s log line, with provider keys, client tokens and anything the rule catalogue recognises replaced. Streamed answers are not logged, their requests are'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;token'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand issue 'Create a token for a user and print it once, alone on standard output'
            cand list 'List tokens: id, user, created, expires, status (never a token or its hash)'
            cand revoke 'Revoke the token with this id, or every token of this user'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;token;issue'= {
            cand --user 'The user the token acts for (limits are counted per user)'
            cand --expires 'Lifetime, such as 90m, 12h, 30d or 2w [default: never expires]'
            cand --store 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it'
            cand --config 'Read this configuration file instead of ./keyguard.toml'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;token;list'= {
            cand --store 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it'
            cand --config 'Read this configuration file instead of ./keyguard.toml'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;token;revoke'= {
            cand --id 'Revoke only the token with this id'
            cand --user 'Revoke every token of this user'
            cand --store 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it'
            cand --config 'Read this configuration file instead of ./keyguard.toml'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;token;help'= {
            cand issue 'Create a token for a user and print it once, alone on standard output'
            cand list 'List tokens: id, user, created, expires, status (never a token or its hash)'
            cand revoke 'Revoke the token with this id, or every token of this user'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;token;help;issue'= {
        }
        &'keyguard;token;help;list'= {
        }
        &'keyguard;token;help;revoke'= {
        }
        &'keyguard;token;help;help'= {
        }
        &'keyguard;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;help'= {
            cand scan 'Scan files and directories for secrets'
            cand init 'Set a repository up so keys stay out: .gitignore, .env.example, the pre-commit hook'
            cand hook 'Install or remove the git pre-commit hook that runs `keyguard scan staged`'
            cand rules 'List the rule catalogue (what keyguard finds)'
            cand key 'Keep API keys in the OS keychain instead of files'
            cand run 'Run a command with keys from the keychain in its environment'
            cand verify 'Check whether keys are live, by asking their providers (read-only, free calls)'
            cand rotate 'After a leak: replace a key, revoke the old one, prove it dead, and keep a record'
            cand serve 'Run the backend proxy: clients call it with a keyguard token, it adds the provider key'
            cand token 'Issue, list and revoke the client tokens of `keyguard serve` (the proxy''s users)'
            cand completions 'Print a shell completion script to standard output'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;help;scan'= {
            cand git 'Scan a repository''s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more'
            cand staged 'Scan what `git commit` would record now, reporting only keys on added lines'
            cand bundle 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser'
        }
        &'keyguard;help;scan;git'= {
        }
        &'keyguard;help;scan;staged'= {
        }
        &'keyguard;help;scan;bundle'= {
        }
        &'keyguard;help;init'= {
        }
        &'keyguard;help;hook'= {
            cand install 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)'
            cand uninstall 'Remove keyguard''s pre-commit hook and restore the hook that was there before'
        }
        &'keyguard;help;hook;install'= {
        }
        &'keyguard;help;hook;uninstall'= {
        }
        &'keyguard;help;rules'= {
        }
        &'keyguard;help;key'= {
            cand set 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)'
            cand get 'Print a key: in full into a pipe or with --reveal, redacted on a terminal'
            cand list 'List stored keys: name, provider, redacted form, when set and rotated (no values)'
            cand rm 'Delete a key from the keychain'
            cand import 'Move the secrets of an env file into the keychain and remove them from the file'
        }
        &'keyguard;help;key;set'= {
        }
        &'keyguard;help;key;get'= {
        }
        &'keyguard;help;key;list'= {
        }
        &'keyguard;help;key;rm'= {
        }
        &'keyguard;help;key;import'= {
        }
        &'keyguard;help;run'= {
        }
        &'keyguard;help;verify'= {
        }
        &'keyguard;help;rotate'= {
        }
        &'keyguard;help;serve'= {
        }
        &'keyguard;help;token'= {
            cand issue 'Create a token for a user and print it once, alone on standard output'
            cand list 'List tokens: id, user, created, expires, status (never a token or its hash)'
            cand revoke 'Revoke the token with this id, or every token of this user'
        }
        &'keyguard;help;token;issue'= {
        }
        &'keyguard;help;token;list'= {
        }
        &'keyguard;help;token;revoke'= {
        }
        &'keyguard;help;completions'= {
        }
        &'keyguard;help;help'= {
        }
    ]
    $completions[$command]
}
