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
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "rules" -d 'List the rule catalogue (what keyguard finds)'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "completions" -d 'Print a shell completion script to standard output'
complete -c keyguard -n "__fish_keyguard_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l max-file-size -d 'Skip files larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l format -d 'Report format' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -s o -l output -d 'Write the report to FILE (created 0600, replaced atomically) instead of standard output' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l baseline -d 'Hide findings whose rule and secret appear in this earlier JSON report' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l config -d 'Read this keyguard.toml instead of looking in the scanned directory and here' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l color -d 'When to use colour (NO_COLOR is honoured in auto mode)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -s j -l threads -d 'Number of threads [default: number of CPUs]' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l follow -d 'Follow symbolic links (loops are detected and skipped)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l no-ignore -d 'Don\'t honour .gitignore, .ignore and .keyguardignore'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l all-rules -d 'Also run optional rules (identifiers such as bucket names and ARNs; see `keyguard rules`)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l show-secrets -d 'Print secrets in full instead of redacted (keep such reports private)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -s q -l quiet -d 'Print no summary or warnings on standard error'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -l exit-zero -d 'Exit 0 even when secrets are found (errors still exit 2)'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand scan" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -l provider -d 'Only rules of this provider (e.g. openai)' -r
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -l config -d 'Also load extra rules from this keyguard.toml' -r -F
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand rules" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand completions" -s h -l help -d 'Print help'
complete -c keyguard -n "__fish_keyguard_using_subcommand completions" -s V -l version -d 'Print version'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan rules completions help" -f -a "scan" -d 'Scan files and directories for secrets'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan rules completions help" -f -a "rules" -d 'List the rule catalogue (what keyguard finds)'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan rules completions help" -f -a "completions" -d 'Print a shell completion script to standard output'
complete -c keyguard -n "__fish_keyguard_using_subcommand help; and not __fish_seen_subcommand_from scan rules completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
