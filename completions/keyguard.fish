# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_keyguard_global_optspecs
    string join \n h/help V/version
end

function __fish_keyguard_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_keyguard_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_keyguard_using_subcommand
    set -l cmd (__fish_keyguard_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c keyguard -n "__fish_keyguard_needs_command" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_needs_command" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "scan" -d 'Scan files and directories for secrets'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "init" -d 'Set a repository up so keys stay out: .gitignore, .env.example, the pre-commit hook'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "hook" -d 'Install or remove the git pre-commit hook that runs `keyguard scan staged`'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "rules" -d 'List the rule catalogue (what keyguard finds)'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "key" -d 'Keep API keys in the OS keychain instead of files'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "run" -d 'Run a command with keys from the keychain in its environment'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "verify" -d 'Check whether keys are live, by asking their providers (read-only, free calls)'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "rotate" -d 'After a leak: replace a key, revoke the old one, prove it dead, and keep a record'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "serve" -d 'Run the backend proxy: clients call it with a keyguard token, it adds the provider key'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "token" -d 'Issue, list and revoke the client tokens of `keyguard serve` (the proxy\'s users)'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "completions" -d 'Print a shell completion script to standard output'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l max-file-size -d 'Skip files larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l format -d 'Report format' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -s o -l output -d 'Write the report to FILE (created 0600, replaced atomically) instead of standard output' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l baseline -d 'Hide findings whose rule and secret appear in this earlier JSON report' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l config -d 'Read this keyguard.toml instead of looking in the scanned directory and here' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l color -d 'When to use colour (NO_COLOR is honoured in auto mode)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -s j -l threads -d 'Number of threads [default: number of CPUs]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l follow -d 'Follow symbolic links (loops are detected and skipped)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l no-ignore -d 'Don\'t honour .gitignore, .ignore and .keyguardignore'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l all-rules -d 'Also run optional rules (identifiers such as bucket names and ARNs; see `keyguard rules`)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l show-secrets -d 'Print secrets in full instead of redacted (keep such reports private)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -s q -l quiet -d 'Print no summary or warnings on standard error'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l exit-zero -d 'Exit 0 even when secrets are found (errors still exit 2)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -l verify -d 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -a "git" -d 'Scan a repository\'s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -a "staged" -d 'Scan what `git commit` would record now, reporting only keys on added lines'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -a "bundle" -d 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and not __fish_seen_subcommand_from git staged bundle help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l range -d 'Only commits in this range (`A..B`: reachable from B, not from A) and the blobs they add' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l since -d 'Only commits made on or after DATE (2024-01-31, an RFC 3339 time, or `90 days ago`)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l branch -d 'Only this branch, tag or other ref (repeatable) instead of every ref' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l max-file-size -d 'Skip blobs larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l format -d 'Report format' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -s o -l output -d 'Write the report to FILE (created 0600, replaced atomically) instead of standard output' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l baseline -d 'Hide findings whose rule and secret appear in this earlier JSON report' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l config -d 'Read this keyguard.toml instead of looking in the scanned directory and here' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l color -d 'When to use colour (NO_COLOR is honoured in auto mode)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -s j -l threads -d 'Number of threads [default: number of CPUs]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l reachable-only -d 'Skip objects that no ref reaches (dangling commits and blobs)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l submodules -d 'Also scan the histories of submodules that are checked out'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l all-rules -d 'Also run optional rules (identifiers such as bucket names and ARNs)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l show-secrets -d 'Print secrets in full instead of redacted (keep such reports private)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -s q -l quiet -d 'Print no summary or warnings on standard error'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l exit-zero -d 'Exit 0 even when secrets are found (errors still exit 2)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -l verify -d 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from git" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -s C -l repo -d 'The repository [default: as git finds it: GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE, else the current directory\'s; with -C those variables are ignored]' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l max-file-size -d 'Skip staged files larger than this [default: 64MiB, or [scan] max_file_size]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l format -d 'Report format' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -s o -l output -d 'Write the report to FILE (created 0600, replaced atomically) instead of standard output' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l baseline -d 'Hide findings whose rule and secret appear in this earlier JSON report' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l config -d 'Read this keyguard.toml instead of looking in the scanned directory and here' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l color -d 'When to use colour (NO_COLOR is honoured in auto mode)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -s j -l threads -d 'Number of threads [default: number of CPUs]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l all-rules -d 'Also run optional rules (identifiers such as bucket names and ARNs)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l show-secrets -d 'Print secrets in full instead of redacted (keep such reports private)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -s q -l quiet -d 'Print no summary or warnings on standard error'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l exit-zero -d 'Exit 0 even when secrets are found (errors still exit 2)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -l verify -d 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from staged" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l max-file-size -d 'Skip files larger than this [default: 64MiB, or [scan] max_file_size]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l format -d 'Report format' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -s o -l output -d 'Write the report to FILE (created 0600, replaced atomically) instead of standard output' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l baseline -d 'Hide findings whose rule and secret appear in this earlier JSON report' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l config -d 'Read this keyguard.toml instead of looking in the scanned directory and here' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l color -d 'When to use colour (NO_COLOR is honoured in auto mode)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -s j -l threads -d 'Number of threads [default: number of CPUs]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l all-rules -d 'Also run optional rules (identifiers such as bucket names and ARNs)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l show-secrets -d 'Print secrets in full instead of redacted (keep such reports private)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -s q -l quiet -d 'Print no summary or warnings on standard error'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l exit-zero -d 'Exit 0 even when secrets are found (errors still exit 2)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -l verify -d 'Ask each provider whether the keys found are live, and fill `validation` in the report (the only way a scan touches the network)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from bundle" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from help" -f -a "git" -d 'Scan a repository\'s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from help" -f -a "staged" -d 'Scan what `git commit` would record now, reporting only keys on added lines'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from help" -f -a "bundle" -d 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand init" -l dir -d 'The repository to set up [default: the one the current directory is in]' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand init" -s y -l yes -d 'Apply every change without asking (needed when there is no terminal)'
complete -c keyguard -n "__fish_keyguard_using_subcommand init" -l dry-run -d 'Print the plan and change nothing'
complete -c keyguard -n "__fish_keyguard_using_subcommand init" -s q -l quiet -d 'Print nothing but errors'
complete -c keyguard -n "__fish_keyguard_using_subcommand init" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand init" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall help" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall help" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall help" -f -a "install" -d 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall help" -f -a "uninstall" -d 'Remove keyguard\'s pre-commit hook and restore the hook that was there before'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from install" -s C -l repo -d 'The repository [default: the one the current directory is in]' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print nothing but errors'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -s C -l repo -d 'The repository [default: the one the current directory is in]' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -s q -l quiet -d 'Print nothing but errors'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove keyguard\'s pre-commit hook and restore the hook that was there before'
complete -c keyguard -n "__fish_keyguard_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -l provider -d 'Only rules of this provider (e.g. openai)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -l config -d 'Also load extra rules from this keyguard.toml' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and not __fish_seen_subcommand_from set get list rm import help" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and not __fish_seen_subcommand_from set get list rm import help" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and not __fish_seen_subcommand_from set get list rm import help" -f -a "set" -d 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and not __fish_seen_subcommand_from set get list rm import help" -f -a "get" -d 'Print a key: in full into a pipe or with --reveal, redacted on a terminal'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and not __fish_seen_subcommand_from set get list rm import help" -f -a "list" -d 'List stored keys: name, provider, redacted form, when set and rotated (no values)'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and not __fish_seen_subcommand_from set get list rm import help" -f -a "rm" -d 'Delete a key from the keychain'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and not __fish_seen_subcommand_from set get list rm import help" -f -a "import" -d 'Move the secrets of an env file into the keychain and remove them from the file'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and not __fish_seen_subcommand_from set get list rm import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from set" -l from-env -d 'Read the key from this environment variable' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from set" -s p -l profile -d 'Namespace of keys (dev, staging, prod, ...): each profile\'s keys are separate entries' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from set" -l stdin -d 'Read the key from standard input'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from get" -s p -l profile -d 'Namespace of keys (dev, staging, prod, ...): each profile\'s keys are separate entries' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from get" -l reveal -d 'Print the key in full even on a terminal (it stays in the scroll-back)'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from get" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from list" -s p -l profile -d 'Only this profile [default: every profile]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from rm" -s p -l profile -d 'Namespace of keys (dev, staging, prod, ...): each profile\'s keys are separate entries' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from import" -s p -l profile -d 'Namespace of keys (dev, staging, prod, ...): each profile\'s keys are separate entries' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from import" -s y -l yes -d 'Don\'t ask for confirmation'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from import" -l force -d 'Replace keys already stored with a different value, and accept a variable set twice in the file (the last line wins)'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "set" -d 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "get" -d 'Print a key: in full into a pipe or with --reveal, redacted on a terminal'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "list" -d 'List stored keys: name, provider, redacted form, when set and rotated (no values)'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete a key from the keychain'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "import" -d 'Move the secrets of an env file into the keychain and remove them from the file'
complete -c keyguard -n "__fish_keyguard_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand run" -s p -l profile -d 'Namespace of keys (dev, staging, prod, ...): each profile\'s keys are separate entries' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand run" -l env-file -d 'Also read variables from this env file; values `keyguard:NAME` come from the keychain' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand run" -l config -d 'Read this keyguard.toml instead of the one in the current directory' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand run" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand run" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand verify" -l key -d 'Check this keychain entry instead of reading standard input (repeatable)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand verify" -s p -l profile -d 'Namespace of keys (dev, staging, prod, ...): each profile\'s keys are separate entries' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand verify" -l provider -d 'Check every key with this provider\'s adapter instead of recognising it by format' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand verify" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand verify" -l timeout -d 'Deadline for each call to a provider, in seconds' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand verify" -l color -d 'When to use colour (NO_COLOR is honoured in auto mode)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand verify" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand verify" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l key -d 'Keychain entry holding the old key; the new key is stored there' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -s p -l profile -d 'Namespace of keys (dev, staging, prod, ...): each profile\'s keys are separate entries' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l secret-hash -d 'Find the old key by the secret_hash of a scan finding (scans --repo: files and history)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l new-key-env -d 'Read the new key from this environment variable' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l admin-key -d 'Keychain entry holding the provider\'s admin credential (else its environment variable)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l param -d 'A provider setting, e.g. --param project=proj_abc (also KEYGUARD_<PROVIDER>_<NAME>)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l deploy -d 'Print the commands that update these deployments: vercel, netlify, fly, render, railway, heroku, aws-secrets-manager, gcp-secret-manager, doppler, vault, github-actions' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l env-name -d 'The variable the app reads the key from [default: from keyguard.toml [env], else the provider\'s usual name, e.g. OPENAI_API_KEY]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l resume -d 'Continue an interrupted rotation (the newest unfinished one, or ID)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l record-dir -d 'Where the incident record (and the run\'s state) is written' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l repo -d 'The repository to audit for the old key (and to search with --secret-hash)' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l prove-timeout -d 'How long step 6 checks that the old key is dead' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l timeout -d 'Deadline of one request to the provider' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l list -d 'List the providers, what each can do by API, and the settings they need'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l old-key-stdin -d 'Read the old key from standard input instead of the keychain'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l new-key-stdin -d 'Read the new key from standard input'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l revoke-first -d 'Revoke the old key before the new one is in place (it is being abused right now)'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l dry-run -d 'Print the plan; read no key, make no request, change nothing'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -s y -l yes -d 'Answer yes to every confirmation (deployments updated, revoke, revoked by hand)'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l no-input -d 'Never prompt, even on a terminal: every answer comes from flags, environment or stdin'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -l no-audit -d 'Skip step 7 (where the old key still sits)'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand rotate" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand serve" -l config -d 'Read this configuration file instead of ./keyguard.toml' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand serve" -l listen -d 'Address to listen on [default: [serve] listen, else 127.0.0.1:8787]. The only way to listen beyond this machine (0.0.0.0:8787, a LAN address): put it behind TLS, a reverse proxy' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand serve" -l store -d 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand serve" -l log-bodies -d 'Log request and response bodies (prompts and answers) on each request\'s log line, with provider keys, client tokens and anything the rule catalogue recognises replaced. Streamed answers are not logged, their requests are'
complete -c keyguard -n "__fish_keyguard_using_subcommand serve" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand serve" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and not __fish_seen_subcommand_from issue list revoke help" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and not __fish_seen_subcommand_from issue list revoke help" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and not __fish_seen_subcommand_from issue list revoke help" -f -a "issue" -d 'Create a token for a user and print it once, alone on standard output'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and not __fish_seen_subcommand_from issue list revoke help" -f -a "list" -d 'List tokens: id, user, created, expires, status (never a token or its hash)'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and not __fish_seen_subcommand_from issue list revoke help" -f -a "revoke" -d 'Revoke the token with this id, or every token of this user'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and not __fish_seen_subcommand_from issue list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from issue" -l user -d 'The user the token acts for (limits are counted per user)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from issue" -l expires -d 'Lifetime, such as 90m, 12h, 30d or 2w [default: never expires]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from issue" -l store -d 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from issue" -l config -d 'Read this configuration file instead of ./keyguard.toml' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from issue" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from issue" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from list" -l store -d 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from list" -l config -d 'Read this configuration file instead of ./keyguard.toml' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from revoke" -l id -d 'Revoke only the token with this id' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from revoke" -l user -d 'Revoke every token of this user' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from revoke" -l store -d 'Store URL: memory, sqlite:PATH or redis://HOST:PORT/DB [default: [serve] store, else sqlite:.keyguard/serve.db]. A URL with a Redis password belongs in KEYGUARD_STORE, not on the command line, where every user of the machine can read it' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from revoke" -l config -d 'Read this configuration file instead of ./keyguard.toml' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "issue" -d 'Create a token for a user and print it once, alone on standard output'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "list" -d 'List tokens: id, user, created, expires, status (never a token or its hash)'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke the token with this id, or every token of this user'
complete -c keyguard -n "__fish_keyguard_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand completions" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand completions" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "scan" -d 'Scan files and directories for secrets'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "init" -d 'Set a repository up so keys stay out: .gitignore, .env.example, the pre-commit hook'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "hook" -d 'Install or remove the git pre-commit hook that runs `keyguard scan staged`'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "rules" -d 'List the rule catalogue (what keyguard finds)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "key" -d 'Keep API keys in the OS keychain instead of files'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "run" -d 'Run a command with keys from the keychain in its environment'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "verify" -d 'Check whether keys are live, by asking their providers (read-only, free calls)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "rotate" -d 'After a leak: replace a key, revoke the old one, prove it dead, and keep a record'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "serve" -d 'Run the backend proxy: clients call it with a keyguard token, it adds the provider key'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "token" -d 'Issue, list and revoke the client tokens of `keyguard serve` (the proxy\'s users)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "completions" -d 'Print a shell completion script to standard output'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan init hook rules key run verify rotate serve token completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from scan" -f -a "git" -d 'Scan a repository\'s whole history: every commit, branch, tag, note and stash, commit messages, and objects no ref reaches any more'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from scan" -f -a "staged" -d 'Scan what `git commit` would record now, reporting only keys on added lines'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from scan" -f -a "bundle" -d 'Scan built front-end output (minified JS, CSS, HTML, source maps) for keys that would ship to the browser'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from hook" -f -a "install" -d 'Install a pre-commit hook running `keyguard scan staged` (an existing hook is kept and still runs first)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from hook" -f -a "uninstall" -d 'Remove keyguard\'s pre-commit hook and restore the hook that was there before'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "set" -d 'Store a key (read from a hidden prompt, --stdin or --from-env; never from the command line)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "get" -d 'Print a key: in full into a pipe or with --reveal, redacted on a terminal'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "list" -d 'List stored keys: name, provider, redacted form, when set and rotated (no values)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "rm" -d 'Delete a key from the keychain'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "import" -d 'Move the secrets of an env file into the keychain and remove them from the file'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "issue" -d 'Create a token for a user and print it once, alone on standard output'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "list" -d 'List tokens: id, user, created, expires, status (never a token or its hash)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "revoke" -d 'Revoke the token with this id, or every token of this user'
